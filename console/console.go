// Package console is decom's full-screen view of a sanitization run, for a person at
// a terminal: one row per target with its progress bar, pass, pattern, speed, ETA,
// read-back phase and bad ranges, stalls and failures marked the moment they happen,
// and at the end what became of each target and where its certificate is.
//
// It is a bubbletea model fed by package sanitize's event stream. A front end makes
// a Model with the plans the person confirmed, runs it in a tea.Program and passes
// every event of sanitize.Options.Events to Program.Send:
//
//	m := console.New(plans, console.Options{Abort: cancel})
//	p := tea.NewProgram(m)
//	so.Events = func(ev sanitize.Event) { p.Send(ev) }
//
// The model quits by itself after sanitize.Done; Summary then renders the end
// screen as plain text, to print where it stays after the full screen is gone.
//
// The screen reads at 80×25 without colour; Options.ASCII draws the bars with
// ASCII characters for consoles whose font lacks block glyphs (the Linux VT).
package console

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"charm.land/bubbles/v2/progress"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/dustin/go-humanize"

	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/station"
	"github.com/decom-project/decom/wipe"
)

// Options say what the screen shows around the targets, and how it aborts.
type Options struct {
	// Method names the run's method in the header, such as "dod-3 (3 passes)".
	Method string
	// CertificateDir is where the certificates are written; "" when the run
	// writes none (--no-certificate).
	CertificateDir string
	// Uploads says a registry receives each certificate as it is written.
	Uploads bool
	// ASCII draws with ASCII characters only.
	ASCII bool
	// Abort stops the run (cancels its context); called at most once, after the
	// person has confirmed the abort.
	Abort func()
}

// LogMsg is a log line to show under the targets (the last few are shown).
type LogMsg string

// Phases of a target's row.
const (
	phaseWaiting = "waiting"
	phaseWrite   = "write"
	phaseVerify  = "verify"
	phaseCertify = "certify"
	phaseDone    = "done"
)

// row is one target's state on the screen.
type row struct {
	plan    sanitize.Plan
	phase   string
	pass    int
	passes  int
	pattern string
	done    int64
	size    int64
	rate    float64
	eta     float64
	verify  string // the read-back's mode (sample, full)
	bad     int    // bad ranges so far
	stalled bool
	failed  bool

	result      *sanitize.Result
	certificate string
	certStatus  string
	upload      string // "" until the upload is done

	// A station's rows (NewStation) also say:
	left     bool   // the station leaves it alone (present at start, boot medium)
	boot     bool   // it is a boot medium
	note     string // why it is left alone, or was not wiped
	checking bool   // arrived, not planned yet
	removed  bool   // pulled out while the station handled it
	pullable bool   // the station is done with it
}

// Model is the run screen. Its zero value is not usable: make it with New.
type Model struct {
	o       Options
	rows    []*row
	byPath  map[string]*row
	width   int
	height  int
	started time.Time
	now     time.Time
	logs    []string
	asking  bool // "abort? y/N" is shown
	aborted bool
	done    bool
	results []sanitize.Result
	bar     progress.Model
	st      *stationState // a station's screen (NewStation), nil for a run's
}

// New returns the screen of a run over the plans confirmed (refused plans are
// shown as refused).
func New(plans []sanitize.Plan, o Options) *Model {
	full, empty := '█', '░'
	if o.ASCII {
		full, empty = '#', '-'
	}
	m := &Model{o: o, byPath: map[string]*row{}, width: 80, height: 25, started: time.Now(),
		bar: progress.New(progress.WithFillCharacters(full, empty), progress.WithoutPercentage())}
	m.now = m.started
	for _, p := range plans {
		r := &row{plan: p, phase: phaseWaiting, size: int64(p.Target.Size())}
		if p.Refusal != nil {
			r.phase, r.failed = phaseDone, true
		}
		m.rows = append(m.rows, r)
		m.byPath[p.Target.Path] = r
	}
	return m
}

type tickMsg time.Time

func tick() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return tickMsg(t) })
}

// Init starts the clock of the header.
func (m *Model) Init() tea.Cmd { return tick() }

// Update takes sanitize events, key presses, window sizes and log lines.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
	case tickMsg:
		m.now = time.Time(msg)
		if !m.done {
			return m, tick()
		}
	case tea.KeyPressMsg:
		if m.st != nil {
			return m, m.stationKey(msg)
		}
		return m, m.key(msg.String())
	case LogMsg:
		m.logs = append(m.logs, string(msg))
		if len(m.logs) > 20 {
			m.logs = slices.Clone(m.logs[len(m.logs)-20:])
		}
	case sanitize.Event:
		m.event(msg)
		if m.done {
			return m, tea.Quit
		}
	case station.Event:
		if m.st != nil {
			return m, m.stationEvent(msg)
		}
	}
	return m, nil
}

func (m *Model) key(k string) tea.Cmd {
	if m.done {
		return nil
	}
	switch {
	case k == "ctrl+c":
		// Like SIGINT at a line terminal: stop now.
		m.asking = false
		m.abort()
	case m.asking:
		m.asking = false
		if k == "y" || k == "Y" {
			m.abort()
		}
	case k == "q" && !m.aborted:
		m.asking = true
	}
	return nil
}

func (m *Model) abort() {
	if m.aborted {
		return
	}
	m.aborted = true
	if m.o.Abort != nil {
		m.o.Abort()
	}
}

func (m *Model) row(path string) *row {
	r, ok := m.byPath[path]
	if !ok {
		// A target the plans did not list (never expected): show it anyway.
		r = &row{plan: sanitize.Plan{Target: wipe.Target{Path: path}}, phase: phaseWaiting}
		m.rows = append(m.rows, r)
		m.byPath[path] = r
	}
	return r
}

func (m *Model) event(ev sanitize.Event) {
	switch ev := ev.(type) {
	case *sanitize.PassStarted:
		r := m.row(ev.Device)
		r.phase, r.pass, r.passes, r.pattern, r.done = phaseWrite, ev.Pass, ev.Passes, ev.Pattern.String(), 0
	case *sanitize.Progress:
		r := m.row(ev.Device)
		r.phase, r.pass, r.passes, r.pattern = phaseWrite, ev.Pass, ev.Passes, ev.Pattern
		r.done, r.size, r.rate, r.eta, r.stalled = ev.Done, ev.Size, ev.Rate, ev.ETA, ev.Stalled
	case *sanitize.VerifyProgress:
		r := m.row(ev.Device)
		r.phase, r.pass, r.verify = phaseVerify, ev.Pass, ev.Mode
		r.done, r.size, r.rate, r.stalled = ev.Done, ev.Total, ev.Rate, ev.Stalled
		if ev.Final {
			r.phase = phaseCertify
		}
	case *sanitize.PassFinished:
		r := m.row(ev.Device)
		r.bad += len(ev.Pass.BadRanges)
	case *sanitize.Stalled:
		r := m.row(ev.Device)
		r.stalled = true
		if ev.GivenUp {
			r.failed = true
		}
	case *sanitize.CertificateWritten:
		r := m.row(ev.Device)
		r.certificate, r.certStatus = ev.Path, ev.Status
	case *sanitize.Uploaded:
		r := m.row(ev.Device)
		r.upload = "uploaded"
		if ev.Err != nil {
			r.upload = "waiting for decom cert push"
		}
	case *sanitize.Finished:
		m.finish(ev.Result)
	case *sanitize.Done:
		for _, res := range ev.Results {
			m.finish(res)
		}
		m.results, m.done = ev.Results, true
	}
}

func (m *Model) finish(res sanitize.Result) {
	r := m.row(res.Device)
	r.result, r.phase = &res, phaseDone
	r.stalled = false
	r.failed = res.Outcome == wipe.OutcomeFailed || res.Outcome == wipe.OutcomeRefused || res.VerificationFailed()
	bad := 0
	for _, p := range res.Passes {
		bad += len(p.BadRanges)
	}
	r.bad = bad
	if res.Certificate != "" {
		r.certificate, r.certStatus = res.Certificate, res.CertificateStatus
	}
	switch {
	case res.RegistryReceipt != nil:
		r.upload = "uploaded"
	case res.RegistryError != "":
		r.upload = "waiting for decom cert push"
	}
}

// Done reports whether the run has ended (sanitize.Done arrived).
func (m *Model) Done() bool { return m.done }

// View draws the screen: the run while it goes on, the summary at its end.
func (m *Model) View() tea.View {
	v := tea.NewView(m.Render())
	v.AltScreen = true
	v.WindowTitle = "decom wipe"
	return v
}

// Render is the screen's text (styled) at the model's size.
func (m *Model) Render() string {
	var lines []string
	if m.done {
		lines = m.summaryLines()
	} else {
		lines = m.runLines()
	}
	if len(lines) > m.height {
		lines = lines[:m.height]
	}
	for i, l := range lines {
		lines[i] = ansi.Truncate(l, m.width, "")
	}
	return strings.Join(lines, "\n")
}

// Summary is the end screen as plain text, as wide as the screen, for printing
// after the full screen has closed.
func (m *Model) Summary() string {
	var b strings.Builder
	for _, l := range m.summaryLines() {
		b.WriteString(ansi.Truncate(ansi.Strip(l), m.width, ""))
		b.WriteByte('\n')
	}
	return b.String()
}

var (
	bold   = lipgloss.NewStyle().Bold(true)
	alarm  = lipgloss.NewStyle().Bold(true).Reverse(true)
	dimmed = lipgloss.NewStyle().Faint(true)
)

func (m *Model) header() string {
	elapsed := m.now.Sub(m.started).Round(time.Second)
	if elapsed < 0 {
		elapsed = 0
	}
	left := "decom wipe"
	if m.o.Method != "" {
		left += " - " + m.o.Method
	}
	right := fmt.Sprintf("%d targets", len(m.rows))
	if m.st != nil {
		left, right = m.stationTitle()
	}
	right += "  " + clock(elapsed)
	return bold.Render(left) + pad(m.width-ansi.StringWidth(left)-len(right)) + right
}

func (m *Model) runLines() []string {
	lines := []string{m.header(), ""}
	if m.st != nil {
		lines = m.stationTop()
	}
	footer := m.footer()
	logLines := m.logLines()
	logs := len(logLines)
	room := m.height - len(lines) - len(footer) - logs
	perRow := 3 // identity, bar, blank
	if len(m.rows)*perRow > room {
		perRow = 2
	}
	if len(m.rows)*perRow > room {
		perRow = 1
	}
	shown := len(m.rows)
	if perRow == 1 && shown > room {
		shown = max(room-1, 0)
	}
	rows, more := m.rows[:shown], ""
	if m.st != nil {
		rows, more = m.stationRows(shown)
	}
	for _, r := range rows {
		if perRow > 1 {
			lines = append(lines, m.identity(r))
		}
		lines = append(lines, m.progressLine(r, perRow == 1))
		if perRow == 3 {
			lines = append(lines, "")
		}
	}
	switch {
	case more != "":
		lines = append(lines, more)
	case shown < len(m.rows):
		lines = append(lines, fmt.Sprintf("... %d more targets (enlarge the terminal to see them)", len(m.rows)-shown))
	}
	for len(lines) < m.height-len(footer)-logs {
		lines = append(lines, "")
	}
	for _, l := range logLines {
		lines = append(lines, dimmed.Render(l))
	}
	return append(lines, footer...)
}

// maxLogLines is the most screen lines the last messages take when the newest
// fits in fewer.
const maxLogLines = 4

// logLines are the last messages (at most 3) wrapped to the screen's width, the
// newest always whole: it may be a question (the station's "type its serial
// number"), which must be read to its end on an 80-column console too. Older ones
// are shown while they fit within maxLogLines.
func (m *Model) logLines() []string {
	var out []string
	for i := len(m.logs) - 1; i >= 0 && i >= len(m.logs)-3; i-- {
		wrapped := []string{m.logs[i]}
		if m.width > 0 {
			wrapped = strings.Split(ansi.Wrap(m.logs[i], m.width, ""), "\n")
		}
		if len(out) > 0 && len(out)+len(wrapped) > maxLogLines {
			break
		}
		out = append(wrapped, out...)
	}
	return out
}

func (m *Model) footer() []string {
	if m.st != nil {
		return m.stationFooter()
	}
	switch {
	case m.asking:
		return []string{"Every target stops where it is; its record says at which pass and offset,",
			"and is no certificate of sanitization. " + alarm.Render("Abort the run? y/N")}
	case m.aborted:
		return []string{alarm.Render("ABORTING: waiting for the targets to stop and their records to be written")}
	}
	return []string{dimmed.Render("q: abort the run")}
}

// identity is a row's first line: device, model, serial, size, and its mark.
func (m *Model) identity(r *row) string {
	t := r.plan.Target
	parts := []string{bold.Render(t.Path)}
	if t.Kind == wipe.KindFile {
		parts = append(parts, "image file")
	}
	if t.Drive.Model != "" {
		parts = append(parts, t.Drive.Model)
	}
	if t.Identity.Serial != "" {
		parts = append(parts, "SN "+t.Identity.Serial)
	}
	if t.Size() > 0 || m.st == nil {
		parts = append(parts, size(uint64(t.Size())))
	}
	left := strings.Join(parts, "  ")
	mark := m.mark(r)
	if room := m.width - ansi.StringWidth(mark) - 1; ansi.StringWidth(left) > room {
		// The mark must stay in view: cut the identity instead.
		left = ansi.Truncate(left, max(room, 0), "~")
	}
	return left + pad(m.width-ansi.StringWidth(left)-ansi.StringWidth(mark)) + mark
}

// mark is what a row says about its state at a glance.
func (m *Model) mark(r *row) string {
	if m.st != nil {
		if mark := m.stationMark(r); mark != "" {
			return mark
		}
	}
	switch {
	case r.plan.Refusal != nil:
		return alarm.Render("REFUSED")
	case r.failed:
		return alarm.Render("FAILED")
	case r.stalled:
		return alarm.Render("STALLED")
	case r.result != nil:
		return bold.Render(strings.ToUpper(r.result.Outcome))
	}
	return ""
}

// progressLine is a row's bar and figures; compact puts the device first, for
// screens too small for two lines per target.
func (m *Model) progressLine(r *row, compact bool) string {
	var status string
	pct := 0.0
	if r.size > 0 {
		pct = float64(r.done) / float64(r.size)
	}
	switch r.phase {
	case phaseWaiting:
		status = "waiting to start"
	case phaseWrite:
		when := "ETA " + eta(r.eta)
		switch {
		case r.failed:
			when = alarm.Render("FAILED")
		case r.stalled:
			when = alarm.Render("STALLED")
		}
		status = fmt.Sprintf("pass %d/%d %-8s %5.1f%% %9s/s  %s", r.pass, r.passes, r.pattern, 100*pct, size(uint64(r.rate)), when)
		status += pad(statusWidth-8-ansi.StringWidth(status)) + fmt.Sprintf("bad %d", r.bad)
	case phaseVerify:
		status = fmt.Sprintf("verify %d %-6s %5.1f%% %9s/s", r.pass, r.verify, 100*pct, size(uint64(r.rate)))
		switch {
		case r.failed:
			status += "  " + alarm.Render("FAILED")
		case r.stalled:
			status += "  " + alarm.Render("STALLED")
		}
		status += pad(statusWidth-8-ansi.StringWidth(status)) + fmt.Sprintf("bad %d", r.bad)
	case phaseCertify:
		status, pct = "read back; writing the record", 1
	case phaseDone:
		pct = 1
		switch {
		case r.plan.Refusal != nil:
			status, pct = "refused: "+strings.Join(sanitize.RefusalReasons(r.plan.Refusal), "; "), 0
		case r.result != nil:
			status = fmt.Sprintf("%s, verified %s", r.result.Outcome, r.result.VerificationBrief())
			if r.result.Outcome != wipe.OutcomeCompleted && r.result.Outcome != wipe.OutcomeExceptions {
				pct = 0
				if a := r.result.AbortedAt; a != nil {
					status = fmt.Sprintf("%s in pass %d at %s", r.result.Outcome, a.Pass, size(uint64(a.Offset)))
				}
			}
		}
	}
	if r.removed && r.result != nil {
		status += " (removed)"
	}
	prefix := "  "
	if compact {
		prefix = fmt.Sprintf("%-16s ", ansi.Truncate(r.plan.Target.Path, 16, "~"))
	}
	if m.st != nil {
		if s, whole := m.stationStatus(r); whole {
			return prefix + s
		}
	}
	barWidth := m.width - ansi.StringWidth(prefix) - statusWidth - 1
	if barWidth < 8 {
		return prefix + status
	}
	bar := m.bar
	bar.SetWidth(barWidth)
	return prefix + bar.ViewAs(max(0, min(pct, 1))) + " " + status
}

// statusWidth is the room a row keeps right of its bar.
const statusWidth = 58

func (m *Model) summaryLines() []string {
	lines := []string{m.header(), ""}
	title := "Run finished."
	if m.aborted {
		title = "Run aborted."
	}
	if m.st != nil {
		title = "The station stopped."
	}
	lines = append(lines, bold.Render(title), "")
	for _, r := range m.rows {
		lines = append(lines, m.identity(r))
		switch {
		case r.left:
			lines = append(lines, "  left alone: "+r.note)
			continue
		case r.plan.Refusal != nil:
			lines = append(lines, "  refused, nothing written: "+strings.Join(sanitize.RefusalReasons(r.plan.Refusal), "; "))
		case r.result != nil:
			res := r.result
			lines = append(lines, fmt.Sprintf("  outcome %s   verified %s   bad ranges %d", res.Outcome, res.VerificationBrief(), r.bad))
			if a := res.AbortedAt; a != nil {
				lines = append(lines, fmt.Sprintf("  stopped in pass %d at offset %d", a.Pass, a.Offset))
			}
			if res.Error != "" && res.AbortedAt == nil {
				lines = append(lines, "  error: "+res.Error)
			}
		case r.note != "":
			lines = append(lines, "  "+r.note)
		default:
			lines = append(lines, "  no result")
		}
		if m.o.CertificateDir != "" || r.certificate != "" {
			cert := "none written"
			if r.certificate != "" {
				cert = baseName(r.certificate)
				if r.certStatus != "" {
					cert += " (" + r.certStatus + ")"
				}
			}
			lines = append(lines, "  certificate "+cert)
			if m.o.Uploads && r.certificate != "" {
				up := r.upload
				if up == "" {
					up = "not uploaded"
				}
				lines = append(lines, "  registry "+up)
			}
		}
	}
	lines = append(lines, "")
	switch {
	case m.o.CertificateDir == "":
		lines = append(lines, "No certificates were written (--no-certificate).")
	default:
		lines = append(lines, "Certificates are in "+m.o.CertificateDir)
	}
	return lines
}

func baseName(p string) string {
	if i := strings.LastIndexByte(p, os.PathSeparator); i >= 0 {
		return p[i+1:]
	}
	return p
}

func size(b uint64) string { return humanize.Bytes(b) }

func eta(s float64) string {
	if s <= 0 {
		return "-"
	}
	return clock((time.Duration(s) * time.Second).Round(time.Second))
}

// clock shows a duration as h:mm:ss (m:ss under an hour).
func clock(d time.Duration) string {
	s := int(d.Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

func pad(n int) string { return strings.Repeat(" ", max(n, 1)) }

// ASCIIOnly reports whether a terminal, from its environment (getenv), should be
// drawn in ASCII: the Linux VT and old terminals, whose fonts may lack the block
// glyphs, and locales that are not UTF-8.
func ASCIIOnly(getenv func(string) string) bool {
	switch term := getenv("TERM"); {
	case term == "linux", term == "dumb", strings.HasPrefix(term, "vt"):
		return true
	}
	for _, v := range []string{"LC_ALL", "LC_CTYPE", "LANG"} {
		if l := getenv(v); l != "" {
			l = strings.ToLower(l)
			return !strings.Contains(l, "utf-8") && !strings.Contains(l, "utf8")
		}
	}
	return true
}
