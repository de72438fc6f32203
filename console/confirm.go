package console

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/wipe"
)

// ConfirmOptions say how the confirmation is typed and what the screen says of
// the run.
type ConfirmOptions struct {
	// Serials asks for each target's serial number (an image file's path, a device
	// without one its name) instead of WIPE and the number of targets.
	Serials bool
	// Method and Verify describe the run: "dod-3 (3 passes)", "sample".
	Method string
	Verify string
}

// Confirm is the last screen before anything is written: it lists exactly what will
// be destroyed and waits for the confirmation to be typed. A wrong answer starts
// nothing; Esc leaves. Make it with NewConfirm.
type Confirm struct {
	o         ConfirmOptions
	plans     []sanitize.Plan
	input     string
	next      int // with Serials: the target whose serial is asked
	top       int
	width     int
	height    int
	note      string
	confirmed bool
}

// NewConfirm returns the confirmation of the plans (none of them refused: a run
// with a refused target stops before it asks).
func NewConfirm(plans []sanitize.Plan, o ConfirmOptions) *Confirm {
	return &Confirm{o: o, plans: plans, width: 80, height: 25}
}

// Approved returns the plans once the confirmation was typed, and nil otherwise.
func (c *Confirm) Approved() []sanitize.Plan {
	if !c.confirmed {
		return nil
	}
	return c.plans
}

// Word is what the person types: "WIPE 2", or with Serials the next target's word.
func (c *Confirm) Word() string {
	if c.o.Serials {
		if c.next < len(c.plans) {
			w, _ := ConfirmationWord(c.plans[c.next].Target)
			return w
		}
		return ""
	}
	return fmt.Sprintf("WIPE %d", len(c.plans))
}

// ConfirmationWord is what identifies a target when it is confirmed by name: its
// serial number, an image file's path, or else the device's name without /dev/.
// what names it in a sentence ("serial number").
func ConfirmationWord(t wipe.Target) (word, what string) {
	switch {
	case t.Identity.Serial != "":
		return t.Identity.Serial, "serial number"
	case t.Kind == wipe.KindFile:
		return t.Path, "path"
	}
	return strings.TrimPrefix(t.Node, "/dev/"), "device name (without /dev/)"
}

// Init does nothing: the screen waits for keys.
func (c *Confirm) Init() tea.Cmd { return nil }

// Update takes key presses, pastes and window sizes.
func (c *Confirm) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		c.width, c.height = msg.Width, msg.Height
		c.scrollTo(c.top)
	case tea.PasteMsg:
		c.input += strings.TrimRight(msg.Content, "\r\n")
	case tea.KeyPressMsg:
		return c, c.key(msg)
	}
	return c, nil
}

func (c *Confirm) key(k tea.KeyPressMsg) tea.Cmd {
	switch k.String() {
	case "esc", "ctrl+c":
		return tea.Quit
	case "enter":
		return c.submit()
	case "backspace":
		if r := []rune(c.input); len(r) > 0 {
			c.input = string(r[:len(r)-1])
		}
	case "ctrl+u":
		c.input = ""
	case "up":
		c.scrollTo(c.top - 1)
	case "down":
		c.scrollTo(c.top + 1)
	default:
		if k.Text != "" {
			c.input += k.Text
		}
	}
	return nil
}

func (c *Confirm) submit() tea.Cmd {
	typed, want := strings.TrimSpace(c.input), c.Word()
	c.input = ""
	if typed != want {
		if c.o.Serials {
			_, what := ConfirmationWord(c.plans[c.next].Target)
			c.note = fmt.Sprintf("That is not the %s of %s. Nothing was written; type it again, or Esc to leave.",
				what, c.plans[c.next].Target.Path)
		} else {
			c.note = fmt.Sprintf("That is not %q. Nothing was written; type it again, or Esc to leave.", want)
		}
		return nil
	}
	c.note = ""
	if c.o.Serials && c.next+1 < len(c.plans) {
		c.next++
		return nil
	}
	c.confirmed = true
	return tea.Quit
}

// Lines above and below the targets.
const (
	confirmHeader = 5
	confirmFooter = 6
)

func (c *Confirm) rowsShown() int { return max(c.height-confirmHeader-confirmFooter, 1) }

// layout says how many lines each target takes (a path too long for its column
// gets a line of its own: none is cut) and how many targets are shown at once.
func (c *Confirm) layout() (pathWidth, perTarget, shown int) {
	longest := 6
	for _, p := range c.plans {
		longest = max(longest, ansi.StringWidth(p.Target.Path))
	}
	pathWidth, perTarget = longest, 1
	if longest > c.width-56 {
		pathWidth, perTarget = 0, 2
	}
	room := c.rowsShown()
	if len(c.plans)*perTarget > room {
		room-- // for the line that says which are shown
	}
	return pathWidth, perTarget, max(room/perTarget, 1)
}

// scrollTo moves the first target shown, within bounds.
func (c *Confirm) scrollTo(top int) {
	_, _, shown := c.layout()
	c.top = max(min(top, len(c.plans)-shown), 0)
}

// View draws the confirmation full screen.
func (c *Confirm) View() tea.View {
	v := tea.NewView(c.Render())
	v.AltScreen = true
	v.WindowTitle = "decom wipe: confirm"
	return v
}

// Render is the screen's text (styled) at the model's size.
func (c *Confirm) Render() string {
	what := "THIS TARGET"
	if len(c.plans) != 1 {
		what = fmt.Sprintf("THESE %d TARGETS", len(c.plans))
	}
	pathWidth, perTarget, n := c.layout()
	head := fmt.Sprintf("%-22s %-20s %9s", "MODEL", "SERIAL", "SIZE")
	if perTarget == 1 {
		head = cut("TARGET", pathWidth) + " " + head
	}
	lines := []string{bold.Render("decom wipe - confirm"), "",
		alarm.Render("ALL DATA ON "+what+" WILL BE DESTROYED.") + " Nothing has been written yet.", "",
		"  " + head}
	end := min(c.top+n, len(c.plans))
	for i := c.top; i < end; i++ {
		t := c.plans[i].Target
		model := t.Drive.Model
		switch t.Kind {
		case wipe.KindFile:
			model = "image file"
		case wipe.KindPartition:
			model = fmt.Sprintf("partition %d of %s", t.Partition, t.Drive.Model)
		}
		mark := " "
		if c.o.Serials && i == c.next {
			mark = ">"
		}
		row := fmt.Sprintf("%s %s %9s", cut(dashed(model), 22), cut(dashed(t.Identity.Serial), 20), size(uint64(t.Size())))
		if perTarget == 1 {
			lines = append(lines, mark+" "+cut(t.Path, pathWidth)+" "+row)
		} else {
			lines = append(lines, mark+" "+t.Path, "    "+row)
		}
	}
	if end-c.top < len(c.plans) {
		lines = append(lines, fmt.Sprintf("  targets %d-%d of %d (up/down scroll)", c.top+1, end, len(c.plans)))
	}
	for len(lines) < c.height-confirmFooter {
		lines = append(lines, "")
	}
	run := "Method: " + c.o.Method
	if c.o.Verify != "" {
		run += ", then read back: " + c.o.Verify
	}
	if len(lines) > c.height-confirmFooter {
		lines = lines[:max(c.height-confirmFooter, 0)]
	}
	var ask string
	if c.o.Serials {
		t := c.plans[c.next].Target
		_, what := ConfirmationWord(t)
		ask = fmt.Sprintf("Type the %s of %s (%d of %d) and press Enter.", what, t.Path, c.next+1, len(c.plans))
	} else {
		ask = fmt.Sprintf("Type %s and press Enter to start.", bold.Render(c.Word()))
	}
	lines = append(lines, run, "", ask, "> "+c.input+"_", c.note,
		dimmed.Render("Esc: leave without writing anything"))
	if len(lines) > c.height {
		lines = lines[:c.height]
	}
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, c.width, "")
	}
	return strings.Join(lines, "\n")
}
