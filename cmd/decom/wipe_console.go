package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	tea "charm.land/bubbletea/v2"

	"github.com/decom-project/decom/console"
	"github.com/decom-project/decom/internal/logging"
	"github.com/decom-project/decom/sanitize"
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
	r.model = console.New(plans, r.opts)
	r.prog = tea.NewProgram(r.model, tea.WithInput(r.g.stdin), tea.WithOutput(r.g.stdout),
		tea.WithoutSignalHandler())
	r.exited = make(chan struct{})
	go func() {
		defer close(r.exited)
		if _, err := r.prog.Run(); err != nil {
			r.logs.direct()
			r.g.log.Error().Err(err).Msg("the full-screen view failed; the run goes on")
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
