package console

import (
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/wipe"
)

func confirmPlans() []sanitize.Plan {
	var out []sanitize.Plan
	for _, c := range candidates()[:2] {
		out = append(out, c.Purge)
	}
	return out
}

// The confirmation lists what will be destroyed; a wrong answer starts nothing,
// the right one (WIPE and the number of drives) approves every plan.
func TestConfirmScreens(t *testing.T) {
	for _, size := range []tea.WindowSizeMsg{{Width: 80, Height: 25}, {Width: 120, Height: 40}} {
		t.Run(fmt.Sprintf("%dx%d", size.Width, size.Height), func(t *testing.T) {
			c := NewConfirm(confirmPlans(), ConfirmOptions{Method: "nist-purge (the drives' own sanitize commands)", Verify: "sample"})
			c.Update(size)
			text := render(t, c.Render(), size.Width, size.Height)
			contains(t, text, "ALL DATA ON THESE 2 TARGETS WILL BE DESTROYED", "/dev/sda", "ST4000NM0035", "ZC1A2B3C",
				"4.0 TB", "/dev/nvme0n1", "Samsung SSD 970 EVO", "S4EWNX0M", "500 GB", "Type WIPE 2 and press Enter")
			golden(t, fmt.Sprintf("confirm-%dx%d", size.Width, size.Height), text)

			for _, wrong := range []string{"WIPE", "WIPE 1", "wipe 2", "yes"} {
				if quits(press(c, wrong, "enter")) || c.Approved() != nil {
					t.Fatalf("%q confirmed the wipe", wrong)
				}
			}
			text = render(t, c.Render(), size.Width, size.Height)
			contains(t, text, `That is not "WIPE 2". Nothing was written`)
			golden(t, fmt.Sprintf("confirm-wrong-%dx%d", size.Width, size.Height), text)

			press(c, "WIPE 3", "backspace", "2")
			if !quits(press(c, "enter")) {
				t.Fatal("WIPE 2 did not end the confirmation")
			}
			if got := c.Approved(); len(got) != 2 || got[0].Target.Path != "/dev/sda" {
				t.Fatalf("approved %v", got)
			}
		})
	}
}

// Esc leaves with nothing approved.
func TestConfirmEscape(t *testing.T) {
	c := NewConfirm(confirmPlans(), ConfirmOptions{Method: "zero"})
	press(c, "WIPE 2")
	if !quits(press(c, "esc")) || c.Approved() != nil {
		t.Fatal("Esc did not leave with nothing approved")
	}
}

// With Serials each target's serial is typed in turn; a wrong one is asked again.
func TestConfirmSerials(t *testing.T) {
	c := NewConfirm(confirmPlans(), ConfirmOptions{Serials: true, Method: "dod-3 (3 passes)"})
	text := render(t, c.Render(), 80, 25)
	contains(t, text, "Type the serial number of /dev/sda (1 of 2)")
	if quits(press(c, "WIPE 2", "enter")) {
		t.Fatal("WIPE 2 confirmed a confirmation by serials")
	}
	contains(t, render(t, c.Render(), 80, 25), "That is not the serial number of /dev/sda")
	press(c, "ZC1A2B3C", "enter")
	contains(t, render(t, c.Render(), 80, 25), "Type the serial number of /dev/nvme0n1 (2 of 2)")
	if quits(press(c, "ZC1A2B3C", "enter")) || c.Approved() != nil {
		t.Fatal("the first drive's serial confirmed the second")
	}
	if !quits(press(c, "S4EWNX0M", "enter")) || len(c.Approved()) != 2 {
		t.Fatal("both serials typed did not confirm")
	}
	file := wipe.Target{Path: "/tmp/x.img", Kind: wipe.KindFile}
	if w, what := ConfirmationWord(file); w != "/tmp/x.img" || what != "path" {
		t.Errorf("an image file is confirmed by %q (%s)", w, what)
	}
}

// Many targets: the list scrolls, the prompt stays on the screen.
func TestConfirmManyTargets(t *testing.T) {
	var many []sanitize.Plan
	for i := range 40 {
		many = append(many, sanitize.Plan{Target: target(fmt.Sprintf("/dev/sd%c%c", 'a'+i/26, 'a'+i%26), "M", fmt.Sprint("S", i), 1e12)})
	}
	c := NewConfirm(many, ConfirmOptions{Method: "zero"})
	c.Update(tea.WindowSizeMsg{Width: 80, Height: 25})
	text := render(t, c.Render(), 80, 25)
	contains(t, text, "targets 1-13 of 40", "Type WIPE 40")
	for range 40 {
		press(c, "down")
	}
	text = render(t, c.Render(), 80, 25)
	contains(t, text, "/dev/sdbn", "targets 28-40 of 40")
	if !strings.Contains(text, "> _") {
		t.Errorf("the prompt left the screen:\n%s", text)
	}
}
