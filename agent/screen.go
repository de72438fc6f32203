package agent

// The full screen on the console (package console's screens): in interactive mode
// the drive list, the confirmation, the run with a bar per drive and the end screen;
// in auto mode the plan with its countdown, the run and the end screen; in station
// mode the station's screen, a row per drive as it arrives (station.go).
//
// It is drawn on one console, the primary one: the last console= of the kernel
// command line, where /dev/console and so the agent's lines go. Its keys are read
// there, byte by byte, while a screen is up; the other consoles (the VT when the
// serial port is primary, or the reverse) show the agent's lines meanwhile, and
// their keys are ignored. decom.plain=1, or a console that is no terminal, keeps
// the line interface. The question about interrupted wipes (resume.go) and the
// signing key's passphrase stay line prompts before the screen.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/decom-project/decom/console"
	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/verify"
	"github.com/decom-project/decom/wipe"
)

// screenTerm is the console a full screen can be drawn on.
type screenTerm struct {
	in      *lineInput
	primary int       // the index of its reader in in
	out     io.Writer // where the screen is drawn
	name    string    // ttyS0, tty0
	term    string    // TERM for the screen: linux for a VT, vt220 for a serial port
	// width and height are the size when the terminal does not know its own (a
	// serial port); zero means 80×24.
	width, height int
	// raw switches the terminal to reading key by key and back; nil for a pipe.
	raw func(on bool)
	// others are the other consoles, which show the lines meanwhile.
	others     []io.Writer
	otherNames []string
}

// fullScreen is the console that can show the full screen, nil when none can.
func (in *lineInput) fullScreen() *screenTerm { return in.screen }

// termFor is the TERM the screen assumes on a console: the Linux VT's own, or a
// plain VT220 (what serial-over-LAN terminals emulate) for a serial port.
func termFor(name string) string {
	if rest, ok := strings.CutPrefix(name, "tty"); ok && rest != "" && rest[0] >= '0' && rest[0] <= '9' {
		return "linux"
	}
	return "vt220"
}

// errNoScreen says the full screen could not be shown: the agent asks line by line.
var errNoScreen = errors.New("the full screen cannot be shown")

// session is the agent's use of the full screen during one boot.
type session struct {
	a *agent
	t *screenTerm
	// The run screen while it is up (it stays up from the countdown or the first
	// run to finish).
	prog   *tea.Program
	model  *runScreen
	exited chan struct{}
	// abortCtx ends when the person aborts the run on the screen (q, y): every
	// run of this boot stops.
	abortCtx context.Context
	abort    context.CancelFunc
	// plan is auto mode's plan, for the countdown screen.
	plan   []string
	told   bool // the other consoles were told where the screen is
	shown  bool // a screen was shown: the end screen follows
	method string
}

// screen is this boot's full-screen session, nil when the console shows lines.
func (a *agent) screen() *session {
	if a.scrChecked {
		return a.scr
	}
	a.scrChecked = true
	if a.cmd.Plain || a.cmd.Mode == ModeShell {
		return nil
	}
	fs, ok := a.input.(interface{ fullScreen() *screenTerm })
	if !ok || fs.fullScreen() == nil {
		return nil
	}
	s := &session{a: a, t: fs.fullScreen()}
	s.abortCtx, s.abort = context.WithCancel(context.Background())
	a.scr = s
	return s
}

// keyQueue carries the console's bytes to one screen; Write never blocks, Close
// ends the screen's reading.
type keyQueue struct {
	mu     sync.Mutex
	cond   *sync.Cond
	buf    []byte
	closed bool
}

func newKeyQueue() *keyQueue {
	q := &keyQueue{}
	q.cond = sync.NewCond(&q.mu)
	return q
}

func (q *keyQueue) Write(b []byte) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.closed {
		q.buf = append(q.buf, b...)
		q.cond.Broadcast()
	}
	return len(b), nil
}

func (q *keyQueue) Read(p []byte) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.buf) == 0 && !q.closed {
		q.cond.Wait()
	}
	if len(q.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, q.buf)
	q.buf = q.buf[n:]
	return n, nil
}

func (q *keyQueue) Close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.cond.Broadcast()
}

// attach makes a program of m on the console: its keys come from the primary
// console, and the agent's lines go to the screen's log and the other consoles.
// detach gives the console back to the lines.
func (s *session) attach(m tea.Model) (p *tea.Program, detach func()) {
	t := s.t
	w, h := t.width, t.height
	if w <= 0 || h <= 0 {
		w, h = 80, 24
	}
	q := newKeyQueue()
	p = tea.NewProgram(m, tea.WithInput(q), tea.WithOutput(t.out), tea.WithoutSignalHandler(), tea.WithoutSignals(),
		tea.WithWindowSize(w, h),
		tea.WithEnvironment([]string{"TERM=" + t.term, fmt.Sprintf("COLUMNS=%d", w), fmt.Sprintf("LINES=%d", h)}))
	if !s.told {
		s.told = true
		for _, o := range t.others {
			io.WriteString(o, fmt.Sprintf("decom: the full screen is on %s (the primary console, the last console= of the kernel command line); this console shows the log\r\n", t.name))
		}
	}
	t.in.mu.Lock()
	t.in.divert, t.in.divertFrom = q, t.primary
	t.in.mu.Unlock()
	if t.raw != nil {
		t.raw(true)
	}
	s.a.out.setDivert(func(line string) {
		p.Send(console.LogMsg(line))
		for _, o := range t.others {
			io.WriteString(o, line+"\r\n")
		}
	})
	s.shown = true
	return p, func() {
		s.a.out.setDivert(nil)
		if t.raw != nil {
			t.raw(false)
		}
		t.in.mu.Lock()
		t.in.divert = nil
		t.in.mu.Unlock()
		q.Close()
	}
}

// show runs a screen until it quits (the drive list, the confirmation).
func (s *session) show(m tea.Model) error {
	s.stopRun()
	p, detach := s.attach(m)
	defer detach()
	_, err := p.Run()
	return err
}

// startRun puts the run screen up; it stays until stopRun.
func (s *session) startRun(m *runScreen) {
	s.stopRun()
	p, detach := s.attach(m)
	s.prog, s.model, s.exited = p, m, make(chan struct{})
	go func(done chan struct{}) {
		defer close(done)
		defer detach()
		if _, err := p.Run(); err != nil {
			s.a.out.Printf("WARNING: the full screen failed: %v; the run goes on", err)
		}
	}(s.exited)
}

// stopRun takes the run screen down, if it is up.
func (s *session) stopRun() {
	if s.prog == nil {
		return
	}
	s.prog.Send(endMsg{})
	<-s.exited
	s.prog, s.model = nil, nil
}

// runOptions are what the run screen says of a run.
func (a *agent) runOptions(opts sanitize.Options) console.Options {
	o := console.Options{Method: opts.Method.Name, ASCII: true, Abort: a.scr.abort}
	if o.Method == "" {
		o.Method = "each journal's method"
	}
	if c := opts.Certify; c != nil {
		o.CertificateDir, o.Uploads = a.display(c.Dir), c.Registry != nil
	}
	return o
}

// screenRun puts the run screen up for a run (when the console shows the full
// screen) and returns the run's context, which an abort on the screen ends.
func (a *agent) screenRun(ctx context.Context, opts sanitize.Options) (context.Context, context.CancelFunc) {
	s := a.screen()
	if s == nil {
		return ctx, func() {}
	}
	o := a.runOptions(opts)
	if s.prog == nil {
		s.startRun(newRunScreen(o, nil))
	} else {
		s.prog.Send(runOptionsMsg(o))
	}
	rctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(s.abortCtx, cancel)
	return rctx, func() { stop(); cancel() }
}

// screenEvent passes a run's event to the run screen, when it is up.
func (a *agent) screenEvent(ev sanitize.Event) {
	if a.scr != nil && a.scr.prog != nil {
		a.scr.prog.Send(ev)
	}
}

// screenPlan keeps auto mode's plan for the countdown screen.
func (a *agent) screenPlan(pending []*unfinished, targets []inventory.Device, skipped []Skipped) {
	s := a.screen()
	if s == nil {
		return
	}
	method, verify := a.methodVerify()
	var lines []string
	if len(pending) > 0 {
		lines = append(lines, fmt.Sprintf("Resume %d interrupted wipes first, each with its journal's method:", len(pending)))
		for _, u := range pending {
			lines = append(lines, fmt.Sprintf("  %-14s %-20s %s", u.drive.Path, cutText(dash(u.drive.Serial), 20), u.journal.Method))
		}
		lines = append(lines, "")
	}
	if len(targets) > 0 {
		then := "Wipe"
		if len(pending) > 0 {
			then = "Then wipe"
		}
		lines = append(lines, fmt.Sprintf("%s %d drives with %s, then read back: %s", then, len(targets), method, verify),
			fmt.Sprintf("  %-14s %-22s %-20s %9s", "DEVICE", "MODEL", "SERIAL", "SIZE"))
		for _, d := range targets {
			lines = append(lines, fmt.Sprintf("  %-14s %-22s %-20s %9s", d.Path, cutText(dash(d.Model), 22),
				cutText(dash(d.Serial), 20), size(d.SizeBytes)))
		}
	}
	if len(skipped) > 0 {
		lines = append(lines, "", "Never wiped:")
		for _, sk := range skipped {
			lines = append(lines, fmt.Sprintf("  %-14s %s", sk.Device.Path, sk.Reason))
		}
	}
	s.plan = lines
	s.method = method
}

// screenApproved keeps auto mode's approved plan for the countdown screen; others
// are the drives it leaves alone.
func (a *agent) screenApproved(p string, run *approvedRun, others []inventory.Device) {
	s := a.screen()
	if s == nil {
		return
	}
	lines := []string{"Approved plan " + p, "  sha256 " + run.sha256, "  for " + hostLine(run.section.Host), "",
		fmt.Sprintf("Wipe %d drives with %s, as the plan says:", len(run.section.Targets), run.write.Method.Name),
		fmt.Sprintf("  %-14s %-22s %-20s %9s", "DEVICE", "MODEL", "SERIAL", "SIZE")}
	if run.section.All {
		lines = append(lines, "  every drive --all takes (a drive added since the plan refuses the run)")
	}
	for _, t := range run.section.Targets {
		lines = append(lines, fmt.Sprintf("  %-14s %-22s %-20s %9s", t.Path, cutText(dash(t.Model), 22),
			cutText(dash(t.Serial), 20), size(t.SizeBytes)))
	}
	if len(others) > 0 {
		lines = append(lines, "", "Never wiped (not in the plan):")
		for _, d := range others {
			lines = append(lines, fmt.Sprintf("  %-14s %s", d.Path, describe(d)))
		}
	}
	s.plan, s.method = lines, run.write.Method.Name
}

// screenCountdown is auto mode's countdown on the screen: the plan, and the time
// left; a key switches to interactive mode (keyed). When the time is up the
// screen stays, for the run.
func (a *agent) screenCountdown(ctx context.Context, d time.Duration) (keyed bool, err error) {
	s := a.scr
	m := newRunScreen(console.Options{Method: s.method, ASCII: true, Abort: s.abort}, s.plan)
	m.left = d
	s.startRun(m)
	a.out.Printf("wiping in %v: press any key at %s to choose the drives instead (interactive mode)", d, s.t.name)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	timeUp := make(chan struct{})
	p := s.prog
	go func() {
		defer close(timeUp)
		for left := d; left > 0; {
			step := min(left, time.Second)
			if a.clk.Sleep(wctx, step) != nil {
				return
			}
			left -= step
			p.Send(countdownMsg(left))
		}
	}()
	select {
	case <-m.keyed:
		cancel()
		<-timeUp
		s.stopRun()
		return true, nil
	case <-timeUp:
		if ctx.Err() != nil {
			s.stopRun()
			return false, ctx.Err()
		}
		// A key may have come with the last second.
		select {
		case <-m.keyed:
			s.stopRun()
			return true, nil
		default:
		}
		return false, nil
	case <-ctx.Done():
		cancel()
		<-timeUp
		s.stopRun()
		return false, ctx.Err()
	}
}

// chooseOnScreen is interactive mode's choice on the screen: the drive list of the
// eligible drives and the ones refused (the boot medium marked), then the
// confirmation; Esc there goes back to the list. It returns the drives confirmed,
// none when the person left the list, and an error wrapping errNoScreen when the
// screen cannot be shown (the agent then asks line by line).
func (a *agent) chooseOnScreen(ctx context.Context, targets []inventory.Device, skipped []Skipped) ([]inventory.Device, error) {
	s := a.scr
	opts, _, err := a.begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoScreen, err)
	}
	cands, err := a.candidates(ctx, opts, targets, skipped)
	if err != nil {
		return nil, fmt.Errorf("%w: planning: %v", errNoScreen, err)
	}
	methods := append(wipe.Methods(), wipe.PurgeMethod())
	if !slices.ContainsFunc(methods, func(m wipe.Method) bool { return m.Name == opts.Method.Name }) && opts.Method.Name != "" {
		methods = append([]wipe.Method{opts.Method}, methods...)
	}
	method, verifyMode := opts.Method.Name, opts.Verify.Mode
	for {
		chooser := console.NewChooser(cands, console.ChooseOptions{Methods: methods, Method: method, Verify: verifyMode,
			Rounds: opts.Rounds, Blank: opts.Blank})
		if err := s.show(chooser); err != nil {
			return nil, fmt.Errorf("%w: %v", errNoScreen, err)
		}
		chosen, ok := chooser.Result()
		if !ok {
			return nil, nil
		}
		method, verifyMode = chosen.Method.Name, chosen.Verify
		var plans []sanitize.Plan
		for i := range cands {
			cands[i].Selected = slices.Contains(chosen.Targets, cands[i].Path())
			if cands[i].Selected {
				plans = append(plans, candidatePlan(cands[i], chosen.Method))
			}
		}
		what := chosen.Method.Name
		if chosen.Method.Name == wipe.MethodNISTPurge {
			what += " (the drives' own sanitize commands)"
		} else {
			n := len((wipe.PassPlan{Method: chosen.Method, Rounds: max(opts.Rounds, 1), Blank: opts.Blank}).Passes())
			what += fmt.Sprintf(" (%d passes)", n)
			if n == 1 {
				what = strings.TrimSuffix(what, "es)") + ")"
			}
		}
		confirm := console.NewConfirm(plans, console.ConfirmOptions{Method: what, Verify: chosen.Verify})
		if err := s.show(confirm); err != nil {
			return nil, fmt.Errorf("%w: %v", errNoScreen, err)
		}
		if confirm.Approved() == nil {
			a.out.Printf("not confirmed: back to the drive list")
			continue
		}
		// The run takes the method and the read-back chosen.
		a.prepared.Method = chosen.Method
		if chosen.Verify != a.prepared.Verify.Mode {
			a.prepared.Verify.Mode = chosen.Verify
			if chosen.Verify == verify.ModeSample {
				a.prepared.Verify.Coverage = 0 // the default share
			}
		}
		var out []inventory.Device
		for _, d := range targets {
			if slices.Contains(chosen.Targets, d.Path) {
				out = append(out, d)
			}
		}
		var names []string
		for _, d := range out {
			names = append(names, fmt.Sprintf("%s (%s)", d.Path, describe(d)))
		}
		a.out.Printf("confirmed on the screen: %s with %s, verification %s: %s", plural(len(out), "drive"), chosen.Method.Name,
			chosen.Verify, strings.Join(names, ", "))
		return out, nil
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// candidatePlan is a candidate's plan under method m.
func candidatePlan(c console.Candidate, m wipe.Method) sanitize.Plan {
	switch m.Name {
	case wipe.MethodNISTPurge:
		return c.Purge
	case wipe.MethodNISTClear:
		return c.Clear
	}
	return c.Overwrite
}

// candidates are the drive list's rows: the eligible drives with the planner's
// plans for an overwrite, nist-clear and nist-purge (dry runs: nothing is
// written), and the drives the agent refuses, with why; the boot medium is marked.
func (a *agent) candidates(ctx context.Context, opts sanitize.Options, targets []inventory.Device, skipped []Skipped) ([]console.Candidate, error) {
	paths := make([]string, len(targets))
	for i, d := range targets {
		paths[i] = d.Path
	}
	zero, _ := wipe.LookupMethod("zero")
	clear, _ := wipe.LookupMethod(wipe.MethodNISTClear)
	var plans [3][]sanitize.Plan
	for i, m := range []wipe.Method{zero, clear, wipe.PurgeMethod()} {
		p, err := sanitize.PlanMethod(ctx, opts, m, paths, a.o.Sanitize)
		if err != nil {
			return nil, err
		}
		plans[i] = p
	}
	var cands []console.Candidate
	for i, d := range targets {
		cands = append(cands, console.Candidate{Device: d, Overwrite: plans[0][i], Clear: plans[1][i], Purge: plans[2][i],
			Eligible: true})
	}
	for _, sk := range skipped {
		d := sk.Device
		if strings.HasPrefix(sk.Reason, "boot medium") {
			d.InUseBy = append(slices.Clone(d.InUseBy), inventory.UseBoot)
		}
		p := sanitize.Plan{Target: wipe.Target{Path: d.Path}, Refusal: &wipe.RefusedError{Path: d.Path, Reasons: []string{sk.Reason}}}
		cands = append(cands, console.Candidate{Device: d, Overwrite: p, Clear: p, Purge: p})
	}
	slices.SortStableFunc(cands, func(x, y console.Candidate) int { return strings.Compare(x.Path(), y.Path()) })
	return cands, nil
}

// Messages of the run screen.
type (
	countdownMsg  time.Duration // the countdown's time left
	runOptionsMsg console.Options
	endMsg        struct{} // the agent is done with the screen
)

// runScreen is the screen from auto mode's plan and countdown, or from the
// first run, to the end of the last run: the plan while it counts down, then
// package console's run screen for each run (a new one at each run's plan).
type runScreen struct {
	o      console.Options
	plan   []string
	left   time.Duration
	keyed  chan struct{} // closed on a key during the countdown
	once   sync.Once
	run    *console.Model
	width  int
	height int
}

func newRunScreen(o console.Options, plan []string) *runScreen {
	return &runScreen{o: o, plan: plan, keyed: make(chan struct{}), width: 80, height: 24}
}

func (m *runScreen) Init() tea.Cmd {
	if m.run != nil {
		return m.run.Init() // a station's screen, from the start (station.go)
	}
	return nil
}

func (m *runScreen) counting() bool { return m.left > 0 && m.run == nil }

func (m *runScreen) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case endMsg:
		return m, tea.Quit
	case countdownMsg:
		m.left = time.Duration(msg)
		return m, nil
	case runOptionsMsg:
		m.o = console.Options(msg)
		return m, nil
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case tea.KeyPressMsg:
		if m.counting() {
			m.once.Do(func() { close(m.keyed) })
			return m, tea.Quit
		}
	case *sanitize.Planned:
		// A run begins: its own screen.
		m.run = console.New(msg.Plans, m.o)
		m.run.Update(tea.WindowSizeMsg{Width: m.width, Height: m.height})
		m.run.Update(msg)
		return m, m.run.Init()
	case sanitize.Event:
		if m.run != nil {
			// The run's screen quits at the run's end; this one stays until
			// the agent is done (endMsg).
			m.run.Update(msg)
		}
		return m, nil
	}
	if m.run == nil {
		return m, nil
	}
	_, cmd := m.run.Update(msg)
	return m, cmd
}

func (m *runScreen) View() tea.View {
	if m.run != nil {
		return m.run.View()
	}
	v := tea.NewView(m.Render())
	v.AltScreen = true
	return v
}

// Render is the screen before a run begins: auto mode's plan and countdown, or
// a line saying the run starts.
func (m *runScreen) Render() string {
	if m.run != nil {
		return m.run.Render()
	}
	title := "decom boot agent"
	if m.plan != nil {
		title += " - auto mode"
	}
	lines := []string{title, ""}
	lines = append(lines, m.plan...)
	var foot []string
	if m.counting() {
		foot = []string{fmt.Sprintf("WIPING IN %d s.", int((m.left+time.Second-1)/time.Second)),
			"Press any key to choose the drives instead (interactive mode)."}
	} else {
		foot = []string{"Starting: checking the drives once more before the first write..."}
	}
	for len(lines) < m.height-len(foot) {
		lines = append(lines, "")
	}
	if len(lines) > m.height-len(foot) {
		lines = lines[:max(m.height-len(foot), 0)]
	}
	lines = append(lines, foot...)
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, m.width, "")
	}
	return strings.Join(lines, "\n")
}

func cutText(s string, n int) string { return ansi.Truncate(s, n, "~") }

// endScreen replaces the screen, when one was shown, with the end of the boot:
// what became of each drive (outcome, verification, certificate, upload), where
// the certificates are, and whether the stick can be removed. It stays on the
// console; the power-off question, if any, follows under it.
func (a *agent) endScreen() {
	s := a.scr
	if s == nil || !s.shown {
		return
	}
	s.stopRun()
	io.WriteString(s.t.out, "\x1b[H\x1b[2J"+strings.ReplaceAll(a.endText(80), "\n", "\r\n"))
}

// endText is the end screen's text, width columns wide.
func (a *agent) endText(width int) string {
	sum := a.summary
	c := sum.Counts()
	lines := []string{"decom boot agent - finished", ""}
	res := fmt.Sprintf("%d sanitized, %d with exceptions, %d failed, %d not wiped", c.Sanitized, c.Exceptions, c.Failed, c.Skipped)
	if c.Unverified > 0 {
		res += fmt.Sprintf(", %d UNVERIFIED", c.Unverified)
	}
	lines = append(lines, res, "")
	drives := slices.Clone(sum.Drives)
	slices.SortStableFunc(drives, func(x, y DriveResult) int { return strings.Compare(x.Device, y.Device) })
	var skipped []string
	for _, d := range drives {
		if d.Outcome == OutcomeSkipped {
			// One line each, below: the drive, and why it was left alone.
			skipped = append(skipped, fmt.Sprintf("  %-13s %s", d.Device, d.Note))
			continue
		}
		mark := strings.ToUpper(dash(d.Sanitization))
		left := fmt.Sprintf("%-14s %-22s %-20s %9s", d.Device, cutText(dash(d.Model), 22), cutText(dash(d.Serial), 20), size(d.Size))
		lines = append(lines, left+strings.Repeat(" ", max(width-len(left)-len(mark), 1))+mark)
		cert := "no certificate written"
		switch {
		case d.Certificate == "":
		case d.Uploaded:
			cert = "uploaded"
		case sum.Registry != "":
			cert = "NOT uploaded: decom cert push"
		default:
			cert = "not uploaded (no registry)"
		}
		lines = append(lines, fmt.Sprintf("  %s, verified %s%s; %s", d.Outcome, dash(d.Verified), resumedAfter(d.Interruptions), cert))
		if d.Certificate != "" {
			// The file's name on a line of its own: it is long.
			lines = append(lines, "  "+cutText(baseName(d.Certificate), width-2))
		}
		if d.Note != "" && d.Note != "not uploaded" {
			lines = append(lines, "  "+d.Note)
		}
	}
	if len(skipped) > 0 {
		lines = append(lines, "Not wiped:")
		lines = append(lines, skipped...)
	}
	lines = append(lines, "")
	if sum.CertDir != "" {
		where := "Certificates: " + sum.CertDir
		if sum.OnData {
			where += fmt.Sprintf(" on the stick (%s partition %s)", DataLabel, sum.DataDev)
		} else {
			where += " in RAM: lost at power off unless uploaded"
		}
		lines = append(lines, where)
	}
	if sum.Registry != "" {
		lines = append(lines, "Registry: "+sum.Registry)
	}
	switch {
	case a.dataMount == "":
		lines = append(lines, "No data partition was mounted: the stick can be removed.")
	case a.data == nil:
		lines = append(lines, "The data partition is unmounted: THE STICK CAN BE REMOVED.")
	default:
		lines = append(lines, "Do NOT remove the stick: its data partition could not be unmounted (everything was synced).")
	}
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, width, "~")
	}
	return strings.Join(lines, "\n") + "\n"
}

func baseName(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}
