package console

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/verify"
	"github.com/decom-project/decom/wipe"
)

var update = flag.Bool("update", false, "rewrite the golden screens in testdata/")

// golden compares a screen (styles stripped) with testdata/name.golden.
func golden(t *testing.T, name, text string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if string(want) != text {
		t.Errorf("%s differs from %s:\n--- got\n%s\n--- want\n%s", name, path, text, want)
	}
}

// render is a model's screen without styles, checked to fit w×h and to draw with
// ASCII alone (the Linux VT's font lacks most other glyphs).
func render(t *testing.T, text string, w, h int) string {
	t.Helper()
	text = ansi.Strip(text)
	lines := strings.Split(text, "\n")
	if len(lines) > h {
		t.Errorf("%d lines on a screen of %d:\n%s", len(lines), h, text)
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw > w {
			t.Errorf("line %d is %d columns wide, the screen %d: %q", i+1, lw, w, l)
		}
		if strings.IndexFunc(l, func(r rune) bool { return r > 0x7e }) >= 0 {
			t.Errorf("line %d is not ASCII: %q", i+1, l)
		}
	}
	return text
}

// --verify none is kept when asked for, and v cycles through it.
func TestChooseVerifyNone(t *testing.T) {
	o := chooseOptions()
	o.Verify = sanitize.VerifyNone
	c := NewChooser(candidates(), o)
	contains(t, render(t, c.Render(), 80, 25), "Verify (v): none")
	press(c, "v")
	contains(t, render(t, c.Render(), 80, 25), "Verify (v): sample")
	press(c, "v", "v")
	contains(t, render(t, c.Render(), 80, 25), "Verify (v): none")
	c = NewChooser(candidates(), chooseOptions())
	press(c, "v", "v")
	contains(t, render(t, c.Render(), 80, 25), "Verify (v): sample")
}

func key(s string) tea.KeyPressMsg {
	switch s {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	}
	r := []rune(s)[0]
	return tea.KeyPressMsg{Code: r, Text: s}
}

// press sends key presses (a string of several runes is typed rune by rune) and
// returns the last command.
func press(m tea.Model, keys ...string) tea.Cmd {
	var cmd tea.Cmd
	for _, k := range keys {
		if len([]rune(k)) > 1 && k != "enter" && k != "esc" && k != "down" && k != "up" && k != "space" && k != "backspace" {
			for _, r := range k {
				_, cmd = m.Update(key(string(r)))
			}
			continue
		}
		_, cmd = m.Update(key(k))
	}
	return cmd
}

func quits(cmd tea.Cmd) bool {
	if cmd == nil {
		return false
	}
	_, ok := cmd().(tea.QuitMsg)
	return ok
}

func refusal(path string, reasons ...string) error {
	return &wipe.RefusedError{Path: path, Reasons: reasons}
}

func u64(v uint64) *uint64 { return &v }

// candidates: a SATA HDD and an NVMe SSD the firmware can purge, a drive refused
// because it is mounted, the boot stick, and a USB disk no Purge reaches.
func candidates() []Candidate {
	hdd := inventory.Device{Path: "/dev/sda", Model: "ST4000NM0035", Serial: "ZC1A2B3C", SizeBytes: 4_000_787_030_016,
		Transport: inventory.TransportSATA, Media: inventory.MediaHDD, Class: inventory.ClassFixed, Wipeable: true,
		Health: &inventory.Health{Status: inventory.HealthOK, PowerOnHours: u64(31000)}}
	nvme := inventory.Device{Path: "/dev/nvme0n1", Model: "Samsung SSD 970 EVO", Serial: "S4EWNX0M", SizeBytes: 500_107_862_016,
		Transport: inventory.TransportNVMe, Media: inventory.MediaSSD, Class: inventory.ClassFixed, Wipeable: true,
		Health: &inventory.Health{Status: inventory.HealthWarning, Reasons: []string{"percentage used 97%"}}}
	busy := inventory.Device{Path: "/dev/sdb", Model: "WDC WD20EFRX", Serial: "WD-WCC4M0", SizeBytes: 2_000_398_934_016,
		Transport: inventory.TransportSATA, Media: inventory.MediaHDD, Class: inventory.ClassFixed,
		Refusals: []string{"mounted: /dev/sdb1 on /data"}, InUseBy: []string{inventory.UseMounted},
		Health: &inventory.Health{Status: inventory.HealthFailing, Reasons: []string{"8 pending sectors"}}}
	boot := inventory.Device{Path: "/dev/sdc", Model: "DataTraveler 3.0", Serial: "E0D55EA5", SizeBytes: 15_518_924_800,
		Transport: inventory.TransportUSB, Media: inventory.MediaFlash, Class: inventory.ClassRemovable,
		Refusals: []string{"holds the running system's root filesystem (/ on /dev/sdc2)"},
		InUseBy:  []string{inventory.UseMounted, inventory.UseRoot}}
	usb := inventory.Device{Path: "/dev/sdd", Model: "Elements 25A2", Serial: "WX11D3", SizeBytes: 1_000_170_586_112,
		Transport: inventory.TransportUSB, Media: inventory.MediaHDD, Class: inventory.ClassRemovable, Wipeable: true}

	ok := func(d inventory.Device, purge *wipe.Choice, purgeWhy error) Candidate {
		t := wipe.Target{Path: d.Path, Node: d.Path, Kind: wipe.KindDrive, Drive: d,
			Identity: wipe.Identity{Serial: d.Serial, SizeBytes: d.SizeBytes}}
		clearChoice := wipe.Choice{Technique: wipe.TechOverwrite, Class: wipe.ClassClear}
		c := Candidate{Device: d, Overwrite: sanitize.Plan{Target: t}, Clear: sanitize.Plan{Target: t, Choice: &clearChoice},
			Purge: sanitize.Plan{Target: t, Choice: purge, Refusal: purgeWhy}, Eligible: d.Class == inventory.ClassFixed}
		return c
	}
	refused := func(d inventory.Device) Candidate {
		p := sanitize.Plan{Target: wipe.Target{Path: d.Path}, Refusal: refusal(d.Path, d.Refusals...)}
		return Candidate{Device: d, Overwrite: p, Clear: p, Purge: p}
	}
	_, usbWhy := wipe.Choose(&usb, wipe.ClassPurge)
	return []Candidate{
		ok(hdd, &wipe.Choice{Technique: wipe.TechATASanitizeOverwrite, Class: wipe.ClassPurge}, nil),
		ok(nvme, &wipe.Choice{Technique: wipe.TechNVMeSanitizeCrypto, Class: wipe.ClassPurge}, nil),
		refused(busy),
		refused(boot),
		ok(usb, nil, refusal(usb.Path, usbWhy.Error())),
	}
}

func chooseOptions() ChooseOptions {
	return ChooseOptions{Methods: append(wipe.Methods(), wipe.PurgeMethod()), Method: "dod-3", Verify: verify.ModeSample}
}

// The list at 80×25 and 120×40: a refused drive and the boot medium greyed and
// never selectable, a purge plan, the method and verification chosen.
func TestChooseScreens(t *testing.T) {
	for _, size := range []tea.WindowSizeMsg{{Width: 80, Height: 25}, {Width: 120, Height: 40}} {
		t.Run(fmt.Sprintf("%dx%d", size.Width, size.Height), func(t *testing.T) {
			c := NewChooser(candidates(), chooseOptions())
			c.Update(size)
			scr := func() string { return render(t, c.Render(), size.Width, size.Height) }
			text := scr()
			contains(t, text, "/dev/sda", "ST4000NM0035", "ZC1A2B3C", "4.0 TB", "sata", " ok",
				"plan: 3 passes ~22h14m | purge: ata-sanitize-overwrite", "warning", "FAILING",
				"REFUSED mounted: /dev/sdb1 on /data", "BOOT MEDIUM holds the running system's root",
				"purge: none (below)", "/dev/sda: health ok, 31000 power-on hours",
				"0 of 5 selected", "Method (m): dod-3 - DoD 5220.22-M (E), 3 passes: 0x00,0xff,random")
			press(c, "down")
			contains(t, scr(), "/dev/nvme0n1: health warning: percentage used 97%", "purge by nvme-sanitize-crypto-erase")
			press(c, "up")
			golden(t, fmt.Sprintf("choose-%dx%d", size.Width, size.Height), text)

			// Space on the refused drive and on the boot medium selects nothing.
			press(c, "down", "down", "space", "down", "space")
			if n := c.count(); n != 0 {
				t.Fatalf("the refused drive or the boot medium was selected (%d selected)", n)
			}
			contains(t, scr(), "/dev/sdc cannot be chosen: it is the boot medium")
			press(c, "down")
			contains(t, scr(), "no purge: Purge needs the drive's own sanitize commands")
			press(c, "up", "up", "up", "up")

			// a takes the eligible drives (fixed, not refused), not the USB disk.
			press(c, "a")
			if ch, _ := c.chosenPaths(); ch != "/dev/sda /dev/nvme0n1" {
				t.Fatalf("a selected %q", ch)
			}
			// nist-purge: the per-drive technique; the USB disk stays unselectable.
			for c.Method().Name != wipe.MethodNISTPurge {
				press(c, "m")
			}
			press(c, "v", "G", "space")
			text = scr()
			contains(t, text, "plan: ata-sanitize-overwrite, read back full",
				"plan: nvme-sanitize-crypto-erase", "NO NIST-PURGE", "Verify (v): full", "2 of 5 selected")
			if c.selected[4] {
				t.Fatal("the USB disk was selected under nist-purge")
			}
			golden(t, fmt.Sprintf("choose-purge-%dx%d", size.Width, size.Height), text)

			if !quits(press(c, "enter")) {
				t.Fatal("enter did not end the list")
			}
			ch, ok := c.Result()
			if !ok || ch.Method.Name != wipe.MethodNISTPurge || ch.Verify != verify.ModeFull ||
				strings.Join(ch.Targets, " ") != "/dev/sda /dev/nvme0n1" {
				t.Fatalf("result %+v, %v", ch, ok)
			}
		})
	}
}

func (c *Chooser) chosenPaths() (string, int) {
	var p []string
	for i, s := range c.selected {
		if s {
			p = append(p, c.cands[i].Path())
		}
	}
	return strings.Join(p, " "), len(p)
}

// Switching to a method a selected drive cannot take deselects it; nothing
// selected, enter does not end the list; q leaves without a choice.
func TestChooseMethodDeselectsAndQuit(t *testing.T) {
	c := NewChooser(candidates(), chooseOptions())
	press(c, "enter")
	if _, ok := c.Result(); ok {
		t.Fatal("enter with nothing selected made a choice")
	}
	contains(t, render(t, c.Render(), 80, 25), "nothing selected")
	press(c, "G", "space")
	if !c.selected[4] {
		t.Fatal("the USB disk could not be selected for an overwrite")
	}
	for c.Method().Name != wipe.MethodNISTPurge {
		press(c, "m")
	}
	if c.selected[4] {
		t.Fatal("nist-purge kept the USB disk, which it cannot purge, selected")
	}
	contains(t, render(t, c.Render(), 80, 25), "cannot be applied to 1 of the drives selected")
	if !quits(press(c, "q")) {
		t.Fatal("q did not leave")
	}
	if _, ok := c.Result(); ok {
		t.Fatal("q made a choice")
	}
}

// More drives than rows: the list scrolls with the cursor; it fits when resized.
func TestChooseScrolls(t *testing.T) {
	var many []Candidate
	for i := range 30 {
		d := inventory.Device{Path: fmt.Sprintf("/dev/sd%c%c", 'a'+i/26, 'a'+i%26), Model: "M", Serial: fmt.Sprintf("S%02d", i),
			SizeBytes: 1e12, Class: inventory.ClassFixed, Wipeable: true}
		t := wipe.Target{Path: d.Path, Kind: wipe.KindDrive, Drive: d, Identity: wipe.Identity{Serial: d.Serial, SizeBytes: d.SizeBytes}}
		many = append(many, Candidate{Device: d, Overwrite: sanitize.Plan{Target: t}, Clear: sanitize.Plan{Target: t},
			Purge: sanitize.Plan{Target: t, Refusal: refusal(d.Path, "no firmware")}, Eligible: true})
	}
	c := NewChooser(many, chooseOptions())
	c.Update(tea.WindowSizeMsg{Width: 80, Height: 25})
	text := render(t, c.Render(), 80, 25)
	contains(t, text, "/dev/sdaa", "rows 1-7 of 30")
	if strings.Contains(text, "/dev/sdbd") {
		t.Fatal("the last drive is shown on a screen too small for all")
	}
	for range 29 {
		press(c, "j")
	}
	text = render(t, c.Render(), 80, 25)
	contains(t, text, "> [ ] /dev/sdbd", "rows 24-30 of 30")
	if strings.Contains(text, "/dev/sdaa") {
		t.Fatal("the list did not scroll")
	}
	for _, size := range []tea.WindowSizeMsg{{Width: 120, Height: 40}, {Width: 40, Height: 12}, {Width: 200, Height: 80}} {
		c.Update(size)
		text := render(t, c.Render(), size.Width, size.Height)
		contains(t, text, "/dev/sdbd")
	}
}
