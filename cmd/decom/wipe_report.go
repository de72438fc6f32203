package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/internal/logging"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/verify"
	"github.com/decom-project/decom/wipe"
)

// wipeReporter shows a run's events: as tables and a live display for people
// (textReporter), or as JSON lines for programs (jsonReporter). sanitize.Run calls
// Event one event at a time.
type wipeReporter interface {
	Event(sanitize.Event)
}

// jsonReporter writes decom wipe's JSON lines: a "plan" per target, a "left_out"
// per device --all left out, "progress", "verify_progress" and "stalled" lines, and a
// "record" per target as soon as it is done. The lines are an interface: their
// bytes are held to golden files (wipe_golden_test.go).
type jsonReporter struct{ g *globalOptions }

func (r *jsonReporter) Event(ev sanitize.Event) {
	switch ev := ev.(type) {
	case *sanitize.Planned:
		passes := ev.Write.Passes()
		for _, p := range ev.Plans {
			r.line("plan", planJSON(p, ev.Write, passes))
		}
		for _, l := range sortedLeftOut(ev.LeftOut) {
			r.line("left_out", l)
		}
	case *sanitize.Progress:
		r.line("progress", ev.Event)
	case *sanitize.VerifyProgress:
		r.line("verify_progress", ev)
	case *sanitize.Stalled:
		r.line("stalled", ev.Stall)
	case *sanitize.Finished:
		r.line("record", ev.Result)
	}
}

func (r *jsonReporter) line(typ string, v any) {
	if err := writeJSONLine(r.g.stdout, typ, v); err != nil {
		r.g.log.Error().Err(err).Msg("cannot write to stdout")
	}
}

func sortedLeftOut(left []sanitize.LeftOut) []sanitize.LeftOut {
	left = slices.Clone(left)
	slices.SortStableFunc(left, func(a, b sanitize.LeftOut) int { return strings.Compare(a.Device, b.Device) })
	return left
}

// planLine is a "plan" JSON line.
type planLine struct {
	// Device is the target's absolute path, Node what it resolves to.
	Device     string         `json:"device"`
	Node       string         `json:"node,omitempty"`
	Kind       string         `json:"kind"`
	Identity   wipe.Identity  `json:"identity"`
	Method     string         `json:"method"`
	Passes     []wipe.Pattern `json:"passes"`
	Estimate   float64        `json:"estimated_seconds,omitempty"`
	Refused    bool           `json:"refused"`
	Refusals   []string       `json:"refusals,omitempty"`
	Warnings   []string       `json:"warnings,omitempty"`
	SizeBytes  uint64         `json:"size_bytes"`
	Model      string         `json:"model,omitempty"`
	Serial     string         `json:"serial,omitempty"`
	Transport  string         `json:"transport,omitempty"`
	MediaClass string         `json:"media,omitempty"`
	// Plan is the planner's choice for nist-purge and nist-clear: technique, class, why.
	Plan *wipe.Choice `json:"plan,omitempty"`
	// Resumes says where the interrupted wipe this run continues stands.
	Resumes *resumeLine `json:"resumes,omitempty"`
}

// resumeLine is the interrupted wipe a plan continues.
type resumeLine struct {
	At             string    `json:"at"`
	Pass           int       `json:"pass"`
	Offset         int64     `json:"offset"`
	LastCheckpoint time.Time `json:"last_checkpoint"`
	Interruptions  int       `json:"interruptions_before"`
}

func resumeOf(j *sanitize.Journal) *resumeLine {
	if j == nil {
		return nil
	}
	r := &resumeLine{At: j.Describe(), Pass: len(j.Done) + 1, LastCheckpoint: j.Updated, Interruptions: len(j.Interruptions)}
	if c := j.Current; c != nil {
		r.Pass, r.Offset = c.Pass, c.Offset
	}
	return r
}

func planJSON(p sanitize.Plan, wp wipe.PassPlan, passes []wipe.Pattern) *planLine {
	t := p.Target
	pl := &planLine{Device: t.Path, Node: t.Node, Kind: t.Kind, Identity: t.Identity, Method: wp.Method.Name, Passes: passes,
		Warnings: t.Warnings, SizeBytes: t.Identity.SizeBytes, Model: t.Drive.Model, Serial: t.Identity.Serial,
		Transport: t.Drive.Transport, MediaClass: t.Drive.Media, Plan: p.Choice, Resumes: resumeOf(p.Resume)}
	if p.Refusal != nil {
		pl.Refused = true
		var re *wipe.RefusedError
		if errors.As(p.Refusal, &re) {
			pl.Refusals = re.Reasons
		}
	} else {
		pl.Estimate = wipe.Estimate(t, len(passes)).Seconds()
	}
	return pl
}

// textReporter shows a run to people: the plan and the devices left out as tables
// on stdout, progress redrawn in place on a terminal (else a log line every 10 s),
// and a summary table at the end.
type textReporter struct {
	g       *globalOptions
	live    bool // redraw progress lines on the terminal
	noCert  bool // the run writes no certificate (--no-certificate)
	lines   map[string]int
	order   []string
	lastLog map[string]time.Time
	drawn   int
}

func newTextReporter(g *globalOptions, noCert bool) *textReporter {
	return &textReporter{g: g, live: logging.IsTerminal(g.stderr), noCert: noCert,
		lines: map[string]int{}, lastLog: map[string]time.Time{}}
}

func (r *textReporter) Event(ev sanitize.Event) {
	switch ev := ev.(type) {
	case *sanitize.Planned:
		if len(ev.Plans) > 0 {
			r.plans(ev.Plans, ev.Write)
		}
		r.leftOut(ev.LeftOut)
	case *sanitize.Progress:
		r.showProgress(ev.Event)
	case *sanitize.VerifyProgress:
		r.showVerifyProgress(ev.Device, ev.Pass, ev.Event)
	case *sanitize.Done:
		if r.live && r.drawn > 0 {
			fmt.Fprintln(r.g.stderr)
		}
		if r.noCert {
			r.g.log.Warn().Msg("--no-certificate: no certificate was written for this wipe")
		}
		r.summary(ev.Results)
	}
}

func (r *textReporter) plans(plans []sanitize.Plan, wp wipe.PassPlan) {
	passes := wp.Passes()
	w := r.g.stdout
	if wp.Method.Name == wipe.MethodNISTPurge {
		fmt.Fprintf(w, "Method: %s — %s (chosen per drive)\n\n", wp.Method.Name, wp.Method.Title)
	} else {
		fmt.Fprintf(w, "Method: %s — %s (%s: %s)\n\n", wp.Method.Name, wp.Method.Title, plural(len(passes), "pass", "passes"), passList(passes))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tKIND\tSIZE\tDEVICE\tMODEL\tSERIAL\tESTIMATE\tPLAN")
	for _, p := range plans {
		t := p.Target
		verdict := planText(p)
		if p.Refusal != nil {
			verdict = "REFUSED: " + strings.Join(sanitize.RefusalReasons(p.Refusal), "; ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Path, dash(t.Kind), humanSize(t.Identity.SizeBytes),
			deviceColumn(t), dash(t.Drive.Model), dash(t.Identity.Serial), estimate(t, len(passes)), verdict)
	}
	tw.Flush()
	fmt.Fprintln(w)
	if why := planReasons(plans); why != "" {
		fmt.Fprintf(w, "%s\n", why)
	}
}

// leftOut lists the devices --all left out, and why, in a table under the plan.
func (r *textReporter) leftOut(left []sanitize.LeftOut) {
	if len(left) == 0 {
		return
	}
	left = sortedLeftOut(left)
	w := r.g.stdout
	fmt.Fprintln(w, "Left out of --all (it takes physical, non-removable drives that may be wiped):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DEVICE\tCLASS\tWHY")
	for _, l := range left {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", l.Device, dash(l.Class), strings.Join(l.Reasons, "; "))
	}
	tw.Flush()
	fmt.Fprintln(w)
}

func estimate(t wipe.Target, passes int) string {
	if t.Kind == "" {
		return "-"
	}
	d := wipe.Estimate(t, passes)
	if d < time.Minute {
		return "<1m"
	}
	return "~" + d.Round(time.Minute).String()
}

func (r *textReporter) showProgress(ev wipe.Event) {
	when := "ETA " + eta(ev.ETA)
	if ev.Stalled {
		when = "STALLED"
	}
	text := fmt.Sprintf("%-14s pass %d/%d %-9s %5.1f%%  %s/s  %s", ev.Device, ev.Pass, ev.Passes, ev.Pattern,
		100*float64(ev.Done)/float64(max(ev.Size, 1)), humanSize(uint64(ev.Rate)), when)
	if !r.live {
		if ev.Final || time.Since(r.lastLog[ev.Device]) >= 10*time.Second {
			r.lastLog[ev.Device] = time.Now()
			l := r.g.log.Info().Str("device", ev.Device).Int("pass", ev.Pass).Int("passes", ev.Passes).
				Int64("bytes_done", ev.Done).Int64("bytes_total", ev.Size).Float64("rate_bytes_per_second", ev.Rate).
				Float64("eta_seconds", ev.ETA)
			if ev.Stalled {
				l = l.Bool("stalled", true)
			}
			l.Msg("progress")
		}
		return
	}
	i, ok := r.lines[ev.Device]
	if !ok {
		i = len(r.order)
		r.lines[ev.Device] = i
		r.order = append(r.order, ev.Device)
		fmt.Fprintln(r.g.stderr)
		r.drawn++
	}
	// Move up to the device's line, rewrite it, come back down.
	up := r.drawn - i
	fmt.Fprintf(r.g.stderr, "\x1b[%dA\r\x1b[2K%s\x1b[%dB\r", up, text, up)
}

func eta(s float64) string {
	if s <= 0 {
		return "-"
	}
	return (time.Duration(s) * time.Second).Round(time.Second).String()
}

func (r *textReporter) showVerifyProgress(device string, pass int, ev verify.Event) {
	if ev.Final || !r.live {
		return
	}
	i, ok := r.lines[device]
	if !ok {
		return
	}
	up := r.drawn - i
	text := fmt.Sprintf("%-14s pass %d verify (%s) %5.1f%%  %s/s", device, pass, ev.Mode,
		100*float64(ev.Done)/float64(max(ev.Total, 1)), humanSize(uint64(ev.Rate)))
	if ev.Stalled {
		text += "  STALLED"
	}
	fmt.Fprintf(r.g.stderr, "\x1b[%dA\r\x1b[2K%s\x1b[%dB\r", up, text, up)
}

func (r *textReporter) summary(records []sanitize.Result) {
	tw := tabwriter.NewWriter(r.g.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tOUTCOME\tPASSES\tWRITTEN\tRATE\tBAD RANGES\tVERIFIED\tNOTE")
	for _, rec := range records {
		bad := 0
		done := 0
		for _, p := range rec.Passes {
			bad += len(p.BadRanges)
			if p.Completed {
				done++
			}
		}
		rate := "-" // a resumed wipe's time includes the interruption
		if secs := rec.Finished.Sub(rec.Started).Seconds(); secs > 0 && rec.BytesWritten > 0 && len(rec.Interruptions) == 0 {
			rate = humanSize(uint64(float64(rec.BytesWritten)/secs)) + "/s"
		}
		note := rec.Error
		if rec.AbortedAt != nil {
			note = fmt.Sprintf("stopped in pass %d at offset %d", rec.AbortedAt.Pass, rec.AbortedAt.Offset)
		}
		if n := len(rec.Interruptions); n > 0 && note == "" {
			note = "resumed after " + plural(n, "interruption", "interruptions")
		}
		if note == "" && rec.SanitizationOutcome == certificates.OutcomeUnverified {
			note = "not read back"
			if rec.VerifyRequired {
				note += ", although the method requires it"
			}
			if rec.Certificate != "" {
				note += "; record " + rec.Certificate
			}
		}
		if note == "" && rec.Certificate != "" {
			note = "certificate " + rec.Certificate
		}
		if note == "" && rec.VerifyRequired && len(rec.Verification) == 0 {
			note = "the method requires verification; none was done"
		}
		for _, v := range rec.Verification {
			if !v.Verified && note == "" {
				note = fmt.Sprintf("pass %d: %s", v.Pass, v.Error)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\t%d\t%s\t%s\n", rec.Device, rec.Outcome, done, len(rec.Passes),
			humanSize(rec.BytesWritten), rate, bad, rec.VerificationBrief(), dash(note))
	}
	tw.Flush()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// planText is the plan column of decom wipe's table for a planned method.
func planText(p sanitize.Plan) string {
	var s string
	if p.Choice == nil {
		s = "wipe"
	} else {
		s = fmt.Sprintf("%s (%s)", p.Choice.Technique, p.Choice.Class)
	}
	if j := p.Resume; j != nil {
		s = fmt.Sprintf("resume %s, interrupted at %s (last progress recorded %s)", s, j.Describe(),
			j.Updated.Local().Format("2006-01-02 15:04:05"))
	}
	return s
}

// planReasons lists, under the plan table, why each drive got its technique.
func planReasons(plans []sanitize.Plan) string {
	var b strings.Builder
	for _, p := range plans {
		if p.Choice == nil {
			continue
		}
		fmt.Fprintf(&b, "%s: %s — %s\n", p.Target.Path, p.Choice.Technique, p.Choice.Reason)
		for _, r := range p.Choice.Rejected {
			fmt.Fprintf(&b, "    passed over %s\n", r)
		}
		if p.Choice.RemoveHPA {
			fmt.Fprintf(&b, "    its Host Protected Area (%d sectors) is removed first\n", p.Target.Drive.HPA.HiddenSectors)
		}
	}
	return b.String()
}
