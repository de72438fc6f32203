package console

import (
	"fmt"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/verify"
	"github.com/decom-project/decom/wipe"
)

// Candidate is one row of the drive list: a drive, partition or image file the
// person may choose, with what the planner made of it for each kind of method.
type Candidate struct {
	// Device is the inventory's entry; it describes a drive the gate refused (whose
	// plans carry the path alone). Zero for an image file.
	Device inventory.Device
	// Overwrite is the plan of a catalogued overwrite method: the gate's verdict.
	// Clear and Purge are the planner's plans for nist-clear and nist-purge: their
	// Choice names the technique, their Refusal says why there is none.
	Overwrite, Clear, Purge sanitize.Plan
	// Eligible rows are the ones the a key selects.
	Eligible bool
	// Selected rows start selected.
	Selected bool
}

// Path is the candidate's device or file, as the plans name it.
func (c Candidate) Path() string {
	if c.Overwrite.Target.Path != "" {
		return c.Overwrite.Target.Path
	}
	return c.Device.Path
}

// BootMedium reports whether the candidate holds the running system (its root or
// boot filesystem): the stick decom was booted from, or the host's own disk.
func (c Candidate) BootMedium() bool {
	return slices.Contains(c.Device.InUseBy, inventory.UseRoot) || slices.Contains(c.Device.InUseBy, inventory.UseBoot)
}

// plan is the candidate's plan under method m.
func (c Candidate) plan(m wipe.Method) sanitize.Plan {
	switch m.Name {
	case wipe.MethodNISTPurge:
		return c.Purge
	case wipe.MethodNISTClear:
		return c.Clear
	}
	return c.Overwrite
}

// drive is the best description the plans and the inventory give of the drive.
func (c Candidate) drive() inventory.Device {
	for _, p := range []sanitize.Plan{c.Purge, c.Clear, c.Overwrite} {
		if p.Refusal == nil && p.Target.Drive.Path != "" {
			return p.Target.Drive
		}
	}
	return c.Device
}

// ChooseOptions are the choices offered and the ones made at the start.
type ChooseOptions struct {
	// Methods are offered in this order (the catalogue and nist-purge); Method names
	// the one chosen at the start (the first when it is not among them).
	Methods []wipe.Method
	Method  string
	// Verify is verify.ModeSample or verify.ModeFull at the start.
	Verify string
	// Rounds and Blank shape the overwrite, as decom wipe's flags say.
	Rounds int
	Blank  bool
}

// Chosen is what the person chose: the targets' paths, the method and the
// read-back's mode.
type Chosen struct {
	Targets []string
	Method  wipe.Method
	Verify  string
}

// Chooser is the drive list where drives, the method and the verification are
// chosen. Nothing it does writes anything: it quits with the choice made (Chosen)
// or without one (the person left). Make it with NewChooser.
type Chooser struct {
	o        ChooseOptions
	cands    []Candidate
	selected []bool
	cursor   int
	top      int // first candidate shown
	method   int
	verify   string
	// verifyModes are the read-back's modes the v key cycles through.
	verifyModes []string
	width       int
	height      int
	note        string
	chosen      bool
	quit        bool
}

// NewChooser returns the drive list of the candidates.
func NewChooser(cands []Candidate, o ChooseOptions) *Chooser {
	if len(o.Methods) == 0 {
		o.Methods = append(wipe.Methods(), wipe.PurgeMethod())
	}
	c := &Chooser{o: o, cands: cands, selected: make([]bool, len(cands)), width: 80, height: 25, verify: o.Verify}
	c.verifyModes = []string{verify.ModeSample, verify.ModeFull}
	if c.verify == sanitize.VerifyNone {
		// Offered only when asked for (--verify none): a wipe read back by nobody.
		c.verifyModes = append(c.verifyModes, sanitize.VerifyNone)
	} else if c.verify != verify.ModeFull {
		c.verify = verify.ModeSample
	}
	c.method = max(slices.IndexFunc(o.Methods, func(m wipe.Method) bool { return m.Name == o.Method }), 0)
	for i, cand := range cands {
		c.selected[i] = cand.Selected && c.selectable(i)
	}
	return c
}

// selectable reports whether candidate i may be chosen under the current method.
func (c *Chooser) selectable(i int) bool {
	cand := c.cands[i]
	return !cand.BootMedium() && cand.plan(c.Method()).Refusal == nil
}

// Method is the method chosen so far.
func (c *Chooser) Method() wipe.Method { return c.o.Methods[c.method] }

// Result is the choice, and whether one was made (false when the person left).
func (c *Chooser) Result() (Chosen, bool) {
	if !c.chosen {
		return Chosen{}, false
	}
	ch := Chosen{Method: c.Method(), Verify: c.verify}
	for i, cand := range c.cands {
		if c.selected[i] {
			ch.Targets = append(ch.Targets, cand.Path())
		}
	}
	return ch, true
}

// Init does nothing: the list waits for keys.
func (c *Chooser) Init() tea.Cmd { return nil }

// Update takes key presses and window sizes.
func (c *Chooser) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		c.width, c.height = msg.Width, msg.Height
		c.scroll()
	case tea.KeyPressMsg:
		return c, c.key(msg.String())
	}
	return c, nil
}

func (c *Chooser) key(k string) tea.Cmd {
	c.note = ""
	switch k {
	case "up", "k":
		c.cursor = max(c.cursor-1, 0)
	case "down", "j":
		c.cursor = min(c.cursor+1, max(len(c.cands)-1, 0))
	case "pgup":
		c.cursor = max(c.cursor-c.rowsShown(), 0)
	case "pgdown":
		c.cursor = min(c.cursor+c.rowsShown(), max(len(c.cands)-1, 0))
	case "home", "g":
		c.cursor = 0
	case "end", "G":
		c.cursor = max(len(c.cands)-1, 0)
	case "space", " ", "x":
		if len(c.cands) == 0 {
			break
		}
		if !c.selectable(c.cursor) {
			c.note = c.cands[c.cursor].Path() + " cannot be chosen: " + c.why(c.cursor)
			break
		}
		c.selected[c.cursor] = !c.selected[c.cursor]
		c.note = "selected: " + c.cands[c.cursor].Path()
		if !c.selected[c.cursor] {
			c.note = "deselected: " + c.cands[c.cursor].Path()
		}
	case "a":
		n := 0
		for i, cand := range c.cands {
			if cand.Eligible && c.selectable(i) {
				c.selected[i] = true
				n++
			}
		}
		c.note = fmt.Sprintf("a: %d eligible selected", n)
	case "n":
		clear(c.selected)
	case "m", "M", "tab", "shift+tab":
		step := 1
		if k == "M" || k == "shift+tab" {
			step = len(c.o.Methods) - 1
		}
		c.method = (c.method + step) % len(c.o.Methods)
		dropped := 0
		for i := range c.cands {
			if c.selected[i] && !c.selectable(i) {
				c.selected[i] = false
				dropped++
			}
		}
		if dropped > 0 {
			c.note = fmt.Sprintf("%s cannot be applied to %d of the drives selected: they were deselected", c.Method().Name, dropped)
		}
	case "v":
		i := slices.Index(c.verifyModes, c.verify)
		c.verify = c.verifyModes[(i+1)%len(c.verifyModes)]
	case "enter":
		if c.count() == 0 {
			c.note = "nothing selected: space selects the drive under the cursor"
			break
		}
		c.chosen = true
		return tea.Quit
	case "q", "esc", "ctrl+c":
		c.quit = true
		return tea.Quit
	}
	c.scroll()
	return nil
}

func (c *Chooser) count() int {
	n := 0
	for _, s := range c.selected {
		if s {
			n++
		}
	}
	return n
}

// why is the reason candidate i cannot be chosen.
func (c *Chooser) why(i int) string {
	cand := c.cands[i]
	if cand.BootMedium() {
		return "it is the boot medium (it holds the running system)"
	}
	if p := cand.plan(c.Method()); p.Refusal != nil {
		why := strings.Join(sanitize.RefusalReasons(p.Refusal), "; ")
		return strings.TrimPrefix(why, wipe.ErrUnachievable.Error()+": ")
	}
	return ""
}

// Each candidate takes two lines; the header three, the footer (scroll, method,
// verification, plan, two lines of details, note, keys) eight.
const (
	chooseHeader = 3
	chooseFooter = 8
)

func (c *Chooser) rowsShown() int { return max((c.height-chooseHeader-chooseFooter)/2, 1) }

// scroll keeps the cursor on the screen.
func (c *Chooser) scroll() {
	n := c.rowsShown()
	if c.cursor < c.top {
		c.top = c.cursor
	}
	if c.cursor >= c.top+n {
		c.top = c.cursor - n + 1
	}
	c.top = max(min(c.top, len(c.cands)-n), 0)
}

// View draws the list full screen.
func (c *Chooser) View() tea.View {
	v := tea.NewView(c.Render())
	v.AltScreen = true
	v.WindowTitle = "decom wipe: choose"
	return v
}

// Render is the screen's text (styled) at the model's size.
func (c *Chooser) Render() string {
	right := fmt.Sprintf("%d of %d selected", c.count(), len(c.cands))
	left := "decom wipe - choose the drives to wipe"
	lines := []string{bold.Render(left) + pad(c.width-ansi.StringWidth(left)-len(right)) + right,
		fmt.Sprintf("      %-14s %-16s %-14s %8s %-6s %s", "DEVICE", "MODEL", "SERIAL", "SIZE", "BUS", "HEALTH"), ""}
	n := c.rowsShown()
	end := min(c.top+n, len(c.cands))
	for i := c.top; i < end; i++ {
		lines = append(lines, c.rowLines(i)...)
	}
	if len(c.cands) == 0 {
		lines = append(lines, "  No drive was found.")
	}
	more := ""
	if c.top > 0 || end < len(c.cands) {
		more = fmt.Sprintf("rows %d-%d of %d (arrows scroll)", c.top+1, end, len(c.cands))
	}
	for len(lines) < c.height-chooseFooter {
		lines = append(lines, "")
	}
	lines = append(lines, more)
	lines = append(lines, c.footer()...)
	if len(lines) > c.height {
		lines = lines[:c.height]
	}
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, c.width, "")
	}
	return strings.Join(lines, "\n")
}

// rowLines are candidate i's two lines: its identity with the check box and its
// health, then its plan under the chosen method, or why it cannot be chosen.
func (c *Chooser) rowLines(i int) []string {
	cand := c.cands[i]
	d := cand.drive()
	cursor := " "
	if i == c.cursor {
		cursor = ">"
	}
	box := "[ ]"
	switch {
	case !c.selectable(i):
		box = "---"
	case c.selected[i]:
		box = "[x]"
	}
	model, serial, sz, bus := c.identity(cand)
	health := "-"
	if d.Health != nil {
		health = d.Health.Status
		if health == inventory.HealthFailing {
			health = "FAILING"
		}
		if c.width >= 100 {
			health = d.Health.Summary()
		}
	}
	first := fmt.Sprintf("%s %s %s %s %s %8s %-6s %s", cursor, box, cut(cand.Path(), 14), cut(dashed(model), 16),
		cut(dashed(serial), 14), size(sz), cut(dashed(bus), 6), health)
	var second string
	switch {
	case cand.BootMedium():
		second = "      " + alarm.Render("BOOT MEDIUM") + " " + strings.Join(sanitize.RefusalReasons(cand.Overwrite.Refusal), "; ")
	case cand.Overwrite.Refusal != nil:
		second = "      " + alarm.Render("REFUSED") + " " + c.why(i)
	case !c.selectable(i):
		second = fmt.Sprintf("      %s %s", alarm.Render("NO "+strings.ToUpper(c.Method().Name)), c.why(i))
	case cand.plan(c.Method()).Firmware():
		second = "      plan: " + c.planText(cand)
	default:
		second = "      plan: " + c.planText(cand) + " | " + c.purgeBrief(cand)
	}
	if !c.selectable(i) {
		first = dimmed.Render(first)
	} else if i == c.cursor {
		first = bold.Render(first)
	}
	return []string{first, second}
}

// identity is a candidate's model, serial, size and bus, from its plan or the
// inventory.
func (c *Chooser) identity(cand Candidate) (model, serial string, sz uint64, bus string) {
	d := cand.drive()
	t := cand.Overwrite.Target
	model, serial, sz, bus = d.Model, d.Serial, d.SizeBytes, d.Transport
	switch t.Kind {
	case wipe.KindFile:
		model, bus = "image file", "file"
	case wipe.KindPartition:
		model = fmt.Sprintf("partition %d", t.Partition)
	}
	if t.Identity.Serial != "" {
		serial = t.Identity.Serial
	}
	if t.Identity.SizeBytes != 0 {
		sz = t.Identity.SizeBytes
	}
	return model, serial, sz, bus
}

// purgeBrief says in a few words whether the drive's firmware can purge it.
func (c *Chooser) purgeBrief(cand Candidate) string {
	if cand.Purge.Refusal == nil && cand.Purge.Choice != nil {
		return "purge: " + string(cand.Purge.Choice.Technique)
	}
	return "purge: none (below)"
}

// purgeWhy is the planner's full answer on purging the drive.
func (c *Chooser) purgeWhy(cand Candidate) string {
	switch {
	case cand.Purge.Refusal != nil:
		why := strings.Join(sanitize.RefusalReasons(cand.Purge.Refusal), "; ")
		return "no purge: " + strings.TrimPrefix(why, wipe.ErrUnachievable.Error()+": ")
	case cand.Purge.Choice != nil:
		why := "purge by " + string(cand.Purge.Choice.Technique)
		if r := cand.Purge.Choice.Reason; r != "" {
			why += ": " + r
		}
		return why
	}
	return "no purge: the drive's firmware was not asked"
}

// details are two lines on the candidate under the cursor: its health in full and
// what its firmware can do, or why it cannot be chosen.
func (c *Chooser) details() []string {
	if len(c.cands) == 0 {
		return []string{"", ""}
	}
	cand := c.cands[c.cursor]
	d := cand.drive()
	health := "health not read"
	if d.Health != nil {
		health = "health " + d.Health.Summary()
		if h := d.Health.PowerOnHours; h != nil {
			health += fmt.Sprintf(", %d power-on hours", *h)
		}
	}
	first := cand.Path() + ": " + health
	second := "  " + c.purgeWhy(cand)
	if !c.selectable(c.cursor) {
		second = "  cannot be chosen: " + c.why(c.cursor)
	}
	return []string{first, second}
}

// planText is the plan of a candidate under the chosen method, with its estimate.
func (c *Chooser) planText(cand Candidate) string {
	p := cand.plan(c.Method())
	if p.Firmware() {
		return string(p.Choice.Technique) + ", read back " + c.verify
	}
	passes := c.passes()
	text := fmt.Sprintf("%d pass", passes)
	if passes != 1 {
		text += "es"
	}
	if p.Choice != nil && p.Choice.RemoveHPA {
		text = "remove HPA, " + text
	}
	return text + " " + c.estimate(p.Target, passes)
}

func (c *Chooser) passes() int {
	wp := wipe.PassPlan{Method: c.Method(), Rounds: max(c.o.Rounds, 1), Blank: c.o.Blank}
	return len(wp.Passes())
}

// estimate is how long an overwrite and its read-back should take.
func (c *Chooser) estimate(t wipe.Target, passes int) string {
	reads := 0
	if c.verify == verify.ModeFull {
		reads = 1
	}
	return "~" + duration(wipe.Estimate(t, passes+reads))
}

// duration is an estimate in hours and minutes.
func duration(d time.Duration) string {
	m := int(d.Round(time.Minute).Minutes())
	switch {
	case m < 1:
		return "<1m"
	case m < 60:
		return fmt.Sprintf("%dm", m)
	}
	return fmt.Sprintf("%dh%02dm", m/60, m%60)
}

func (c *Chooser) footer() []string {
	m := c.Method()
	what := m.Title
	if m.Name != wipe.MethodNISTPurge {
		var names []string
		for _, p := range (wipe.PassPlan{Method: m, Rounds: max(c.o.Rounds, 1), Blank: c.o.Blank}).Passes() {
			names = append(names, p.String())
		}
		what += ": " + strings.Join(names, ",")
	}
	verifyText := "sample (NIST-style sampled read-back)"
	switch c.verify {
	case verify.ModeFull:
		verifyText = "full (every byte read back)"
	case sanitize.VerifyNone:
		verifyText = "none (nothing read back: a record of unverified sanitization)"
	}
	var total uint64
	var longest time.Duration
	for i, cand := range c.cands {
		if !c.selected[i] {
			continue
		}
		p := cand.plan(m)
		total += uint64(p.Target.Size())
		if !p.Firmware() {
			longest = max(longest, wipe.Estimate(p.Target, c.passes()))
		}
	}
	drives := fmt.Sprintf("%d targets", c.count())
	if c.count() == 1 {
		drives = "1 target"
	}
	plan := fmt.Sprintf("Plan: %s, %s; nothing is written before the confirmation", drives, size(total))
	if c.count() > 0 && longest > 0 {
		plan = fmt.Sprintf("Plan: %s, %s, ~%s in parallel; nothing is written before the confirmation",
			drives, size(total), duration(longest))
	}
	return []string{
		"Method (m): " + bold.Render(m.Name) + " - " + what,
		"Verify (v): " + verifyText,
		plan,
		c.details()[0], c.details()[1],
		c.note,
		dimmed.Render("space select  a all eligible  n none  m method  v verify  enter next  q quit"),
	}
}

func cut(s string, n int) string {
	s = ansi.Truncate(s, n, "~")
	return s + strings.Repeat(" ", max(n-ansi.StringWidth(s), 0))
}

func dashed(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
