package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"

	tea "charm.land/bubbletea/v2"

	"github.com/decom-project/decom/console"
	"github.com/decom-project/decom/internal/logging"
	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/station"
	"github.com/decom-project/decom/verify"
	"github.com/decom-project/decom/wipe"
)

// useConsole reports whether decom wipe shows its run full screen: a person at a
// terminal (stdout and stderr), table output, and no --plain.
func useConsole(g *globalOptions, plain bool) bool {
	return !plain && g.Output == outputTable && logging.IsTerminal(g.stdout) && logging.IsTerminal(g.stderr)
}

// consoleReporter shows the plan and the confirmation as the text reporter does,
// then the run full screen (package console) from the moment targets are confirmed,
// and prints the end screen when the run is done. Log lines go to the screen
// meanwhile, under the targets.
type consoleReporter struct {
	g      *globalOptions
	text   *textReporter
	opts   console.Options
	logs   *logSwitch
	model  *console.Model
	prog   *tea.Program
	exited chan struct{}
}

// newConsoleReporter makes the reporter; abort cancels the run. It routes g's log
// through itself, so call it before the run's logger is made.
func newConsoleReporter(g *globalOptions, abort context.CancelFunc) (*consoleReporter, error) {
	r := &consoleReporter{g: g, text: newTextReporter(g, false), logs: &logSwitch{w: g.stderr},
		opts: console.Options{ASCII: console.ASCIIOnly(os.Getenv), Abort: abort}}
	log, err := logging.New(r.logs, g.LogLevel, logging.FormatConsole)
	if err != nil {
		return nil, usageError{err}
	}
	g.log = log
	return r, nil
}

// describeRun fills in what the header and the summary say about the run.
func (r *consoleReporter) describeRun(so sanitize.Options) {
	r.text.noCert = so.Certify == nil
	r.opts.Method = so.Method.Name
	if c := so.Certify; c != nil {
		r.opts.CertificateDir, r.opts.Uploads = c.Dir, c.Registry != nil
	}
}

// start puts the run on the screen; it is called once the targets are confirmed.
func (r *consoleReporter) start(plans []sanitize.Plan) {
	if len(plans) == 0 || r.prog != nil {
		return
	}
	r.show(console.New(plans, r.opts), "run")
}

// show runs model on the terminal and sends it the log lines. Should the screen
// fail, the lines go straight to the terminal again and the work (what: the run or
// the station) goes on.
func (r *consoleReporter) show(model *console.Model, what string) {
	r.model = model
	r.prog = r.program(r.model)
	r.exited = make(chan struct{})
	go func() {
		defer close(r.exited)
		if _, err := r.prog.Run(); err != nil {
			r.logs.direct()
			r.g.log.Error().Err(err).Msgf("the full-screen view failed; the %s goes on", what)
		}
	}()
	r.logs.to(func(line string) { r.prog.Send(console.LogMsg(line)) })
}

func (r *consoleReporter) Event(ev sanitize.Event) {
	if r.prog == nil {
		r.text.Event(ev)
		return
	}
	r.prog.Send(ev)
	if _, ok := ev.(*sanitize.Done); ok {
		r.stop()
	}
}

// stop waits for the screen to close (after Done; at once when the run ended
// without one) and prints the end screen where it stays.
func (r *consoleReporter) stop() {
	if r.prog == nil {
		return
	}
	if !r.model.Done() {
		r.prog.Quit()
	}
	<-r.exited
	r.logs.direct()
	fmt.Fprint(r.g.stdout, r.model.Summary())
	r.prog = nil
}

// station puts an intake station on the screen (package console's station view)
// and returns the listener of its events; in confirmation mode, serial numbers are
// typed on the screen and its questions go to the screen's log lines. stop takes
// the screen down and prints its summary.
func (r *consoleReporter) station(st *station.Station, so sanitize.Options, auto bool) func(station.Event) {
	r.describeRun(so)
	sto := console.StationOptions{Auto: auto, Verify: string(so.Verify.Mode)}
	if !auto {
		put, read := station.Typed()
		sto.Line = put
		st.Confirm = station.Confirm(read, r.logs)
	}
	r.show(console.NewStation(r.opts, sto), "station")
	return func(ev station.Event) { r.prog.Send(ev) }
}

// logSwitch is the log's writer: stderr, or while the screen is up, its log lines.
type logSwitch struct {
	mu   sync.Mutex
	w    io.Writer
	send func(string)
}

func (s *logSwitch) to(send func(string)) {
	s.mu.Lock()
	s.send = send
	s.mu.Unlock()
}

func (s *logSwitch) direct() { s.to(nil) }

func (s *logSwitch) Write(p []byte) (int, error) {
	s.mu.Lock()
	send := s.send
	s.mu.Unlock()
	if send == nil {
		return s.w.Write(p)
	}
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		send(line)
	}
	return len(p), nil
}

// choose shows the drive list (package console) and returns the targets chosen;
// it sets the method and the read-back chosen in so. The list is the devices
// named, selected; with none named (or --all) the machine's drives (not virtual
// devices: name those), with --all the ones it would take selected. Each row
// shows the planner's plans from dry runs: nothing is written here.
func (r *consoleReporter) choose(ctx context.Context, opts wipeOptions, so *sanitize.Options, args []string) ([]string, error) {
	cands, err := candidates(ctx, opts, *so, args)
	if err != nil {
		return nil, err
	}
	methods := append(wipe.Methods(), wipe.PurgeMethod())
	if so.Method.Name == "custom" {
		methods = append([]wipe.Method{so.Method}, methods...)
	}
	chooser := console.NewChooser(cands, console.ChooseOptions{Methods: methods, Method: so.Method.Name,
		Verify: so.Verify.Mode, Rounds: so.Rounds, Blank: so.Blank})
	if _, err := r.program(chooser).Run(); err != nil {
		return nil, fmt.Errorf("the drive list failed: %w", err)
	}
	chosen, ok := chooser.Result()
	if !ok {
		return nil, fmt.Errorf("%w: no drive chosen; nothing was written", wipe.ErrRefused)
	}
	if chosen.Method.Name == wipe.MethodNISTPurge && (so.Rounds > 1 || so.Blank) {
		return nil, usageErrorf("--rounds and --blank are for overwrites; nist-purge runs the drive's own command once")
	}
	so.Method = chosen.Method
	if chosen.Verify != so.Verify.Mode {
		so.Verify.Mode = chosen.Verify
		if chosen.Verify == verify.ModeSample && so.Verify.Coverage == 0 {
			_, so.Verify.Coverage, _ = parseCoverage("10%")
		}
	}
	r.opts.Method = so.Method.Name
	return chosen.Targets, nil
}

// candidates are the drive list's rows: each path with its plans for an
// overwrite, nist-clear and nist-purge, made by dry runs of package sanitize.
func candidates(ctx context.Context, opts wipeOptions, so sanitize.Options, args []string) ([]console.Candidate, error) {
	var devs []inventory.Device
	named := len(args) > 0
	if !named {
		list := so.Inventory
		list.ReadHealth = true
		all, err := inventory.Scan(ctx, list)
		if err != nil {
			return nil, err
		}
		for _, d := range all {
			if d.Class != inventory.ClassVirtual {
				devs = append(devs, d)
				args = append(args, d.Path)
			}
		}
		if len(args) == 0 {
			return nil, fmt.Errorf("%w: no drive found (name a device or image file to wipe it)", inventory.ErrNotFound)
		}
	}
	zero, _ := wipe.LookupMethod("zero")
	clear, _ := wipe.LookupMethod(wipe.MethodNISTClear)
	// A drive of the list the gate cannot find (gone since the scan, no device
	// node) is shown refused, with why, rather than ending the list.
	missing := map[string]error{}
	var plans [3][]sanitize.Plan
	for i, m := range []wipe.Method{zero, clear, wipe.PurgeMethod()} {
		for {
			var paths []string
			for _, a := range args {
				if missing[a] == nil {
					paths = append(paths, a)
				}
			}
			got, err := sanitize.PlanMethod(ctx, so, m, paths, nil)
			var te *sanitize.TargetError
			if !named && errors.As(err, &te) && missing[te.Path] == nil && slices.Contains(args, te.Path) {
				missing[te.Path] = te
				continue
			}
			if errors.Is(err, sanitize.ErrInvalid) {
				return nil, usageError{err}
			}
			if err != nil {
				return nil, err
			}
			for _, a := range args {
				if why := missing[a]; why != nil {
					plans[i] = append(plans[i], sanitize.Plan{Target: wipe.Target{Path: a},
						Refusal: &wipe.RefusedError{Path: a, Reasons: []string{why.Error()}}})
					continue
				}
				plans[i] = append(plans[i], got[0])
				got = got[1:]
			}
			break
		}
	}
	cands := make([]console.Candidate, len(args))
	for i := range args {
		c := console.Candidate{Overwrite: plans[0][i], Clear: plans[1][i], Purge: plans[2][i]}
		switch {
		case named:
			c.Eligible = c.Overwrite.Refusal == nil
			c.Selected = c.Eligible
		default:
			c.Device = devs[i]
			c.Eligible = devs[i].Wipeable && (devs[i].Class == inventory.ClassFixed || opts.IncludeRemovable)
			c.Selected = opts.All && c.Eligible
		}
		cands[i] = c
	}
	return cands, nil
}

// confirm shows the confirmation screen (package console) and returns the plans
// approved: all of them once WIPE and their number (or with --confirm-serials
// each serial) was typed, none otherwise.
func (r *consoleReporter) confirm(so sanitize.Options, serials bool, plans []sanitize.Plan) ([]sanitize.Plan, error) {
	method := so.Method.Name
	if method != wipe.MethodNISTPurge {
		wp := wipe.PassPlan{Method: so.Method, Rounds: max(so.Rounds, 1), Blank: so.Blank}
		method += fmt.Sprintf(" (%s)", plural(len(wp.Passes()), "pass", "passes"))
	} else {
		method += " (the drives' own sanitize commands)"
	}
	c := console.NewConfirm(plans, console.ConfirmOptions{Serials: serials, Method: method, Verify: so.Verify.Mode})
	if _, err := r.program(c).Run(); err != nil {
		return nil, fmt.Errorf("the confirmation screen failed: %w", err)
	}
	return c.Approved(), nil
}

// program runs a screen on the terminal, signals left to the run.
func (r *consoleReporter) program(m tea.Model) *tea.Program {
	return tea.NewProgram(m, tea.WithInput(r.g.stdin), tea.WithOutput(r.g.stdout), tea.WithoutSignalHandler())
}
