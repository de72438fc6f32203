package sanitize

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/verify"
	"github.com/decom-project/decom/wipe"
)

// Options are what a front end decides for a run.
type Options struct {
	// Targets are the devices, partitions or image files to sanitize, as paths
	// (relative ones name files in the working directory). With All they must be
	// empty: the targets are the physical, non-removable drives the inventory marks
	// wipeable (and removable ones too with IncludeRemovable).
	Targets          []string
	All              bool
	IncludeRemovable bool

	// Method, Rounds (0 means 1) and Blank are the overwrite (see wipe.PassPlan);
	// nist-purge and nist-clear are planned per drive.
	Method wipe.Method
	Rounds int
	Blank  bool
	// Write tunes the overwrite engine: block size, queue depth, progress interval,
	// stall timeout. Its callbacks are the run's own.
	Write wipe.Options
	// Verify says how the result is read back (Mode sample, full or VerifyNone);
	// VerifyEachPass reads back every pass, not only the last.
	Verify         verify.Options
	VerifyEachPass bool

	// Inventory says where the machine's devices are described (Root, for tests).
	Inventory inventory.Options
	// DryRun plans and reports the plan, and writes nothing.
	DryRun bool
	// Confirm is asked, after the plan, which targets may be sanitized: it returns
	// those approved (a subset of plans). Nil approves every plan, which only an
	// automation that was told so (--yes) may do.
	Confirm func(ctx context.Context, plans []Plan) ([]Plan, error)
	// Certify writes the certificates; nil writes none.
	Certify *Certifier
	// JournalDir, when not empty, is where each target's journal is kept while it
	// is sanitized (see Journal), so that a wipe cut off by a power loss, a crash or
	// a kill can be resumed; the directory must exist. A run there refuses a
	// target whose journal holds an interrupted wipe, unless it resumes or restarts.
	JournalDir string
	// Resume continues the interrupted wipes of the journals in JournalDir: of the
	// targets named, or with none named, of every drive present that has one. The
	// method is the journal's (a different one is refused; none named takes it).
	Resume bool
	// Restart starts afresh on targets whose journal holds an interrupted wipe.
	Restart bool
	// Events receives the run's events, one at a time (never concurrently). Nil
	// discards them.
	Events func(Event)
	Logger *slog.Logger
	// Removed, when not nil, is asked about a target whose overwrite stopped short
	// (failed or aborted) whether its drive was pulled out (a hot-swap station
	// knows from the kernel's uevents); it may wait a little for the news. If so,
	// the record says the wipe was aborted because the drive was removed.
	Removed func(ctx context.Context, device string) bool
}

// Run sanitizes the targets: check, plan, confirm, sanitize in parallel, read back,
// certify. It returns the result of every target it started, and an error whose
// kind is the run's most severe outcome. Errors before anything is written
// (ErrInvalid, a device that does not exist, refusals, a confirmation that approves
// nothing) return no results.
func Run(ctx context.Context, o Options) ([]Result, error) {
	r := &run{o: o, log: o.Logger}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	return r.run(ctx)
}

type run struct {
	o        Options
	log      *slog.Logger
	mu       sync.Mutex // one event at a time
	journals *journals  // nil without a journal directory
}

func (r *run) emit(ev Event) {
	if r.o.Events == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.o.Events(ev)
}

func (r *run) run(ctx context.Context) ([]Result, error) {
	o := r.o
	switch {
	case o.All && len(o.Targets) > 0:
		return nil, invalidf("all wipeable drives or named targets, not both")
	case !o.All && len(o.Targets) == 0 && !o.Resume:
		return nil, invalidf("no target named")
	case o.Rounds < 0:
		return nil, invalidf("%d rounds: want 1 or more", o.Rounds)
	case o.Method.Name == "" && !o.Resume:
		return nil, invalidf("no method: take one from wipe.LookupMethod or wipe.CustomMethod")
	}
	gate := &wipe.Gate{Inventory: o.Inventory, Logger: r.log}
	gate.Inventory.Logger = r.log
	if err := r.loadJournals(ctx, gate); err != nil {
		return nil, err
	}
	o = r.o // the journals may have named the targets and the method
	if o.Method.Name == "" {
		return nil, invalidf("no method, and no journal of the targets to take it from")
	}
	if o.Rounds == 0 {
		o.Rounds = 1
	}
	method := o.Method
	planner := UsesPlanner(method)
	// The planner needs what the drives' firmware can do; the gate's inventory asks.
	gate.Inventory.ProbeFirmware = planner
	// The certificate records the drives' health as measured before the wipe.
	gate.Inventory.ReadHealth = true
	plans, left, err := checkTargets(ctx, gate, o.All, o.IncludeRemovable, o.Targets)
	if err != nil {
		return nil, err
	}
	if planner {
		choose(plans, method)
		if o.All && len(plans) > 0 {
			// All takes the drives the method can be applied to, as it takes the
			// wipeable ones; the others are named, not silently dropped.
			kept := plans[:0]
			for _, p := range plans {
				if p.Refusal != nil {
					r.log.Warn(fmt.Sprintf("left out of --all: %s cannot be applied", method.Name),
						"device", p.Target.Path, "reason", refusalText(p.Refusal))
					left = append(left, LeftOut{Device: p.Target.Path, Class: p.Target.Drive.Class,
						Reasons: []string{method.Name + " cannot be applied: " + refusalText(p.Refusal)}})
					continue
				}
				kept = append(kept, p)
			}
			if plans = kept; len(plans) == 0 {
				r.emit(&Planned{LeftOut: left})
				return nil, refusals(fmt.Sprintf("no drive of this machine can take %s (see decom wipe --dry-run with the drives named)", method.Name))
			}
		}
	}
	if o.All && len(plans) == 0 {
		r.emit(&Planned{LeftOut: left})
		return nil, refusals("--all found no drive to wipe: it takes physical, non-removable drives that may be wiped (every device left out is listed with why)")
	}
	if err := r.matchJournals(plans); err != nil {
		return nil, err
	}
	o = r.o
	wplan := wipe.PassPlan{Method: o.Method, Rounds: max(o.Rounds, 1), Blank: o.Blank}
	r.emit(&Planned{Write: wplan, Plans: plans, LeftOut: left})
	for _, p := range plans {
		for _, w := range p.Target.Warnings {
			r.log.Warn(w, "device", p.Target.Path)
		}
	}
	if o.DryRun {
		return nil, refusalsError(plans)
	}
	approved, err := r.confirm(ctx, plans)
	if err != nil {
		return nil, err
	}
	if c := o.Certify; c != nil && c.Host == (inventory.Host{}) {
		cc := *c
		cc.Host = inventory.ReadHost(inventory.Options{Root: o.Inventory.Root})
		r.o.Certify = &cc
	}
	results, certErrs := r.sanitize(ctx, gate, approved, wplan)
	r.emit(&Done{Results: results})
	if err := outcomeError(ctx, results, plans); err != nil {
		return results, err
	}
	return results, errors.Join(certErrs...)
}

// confirm returns the plans a person (or the automation's approval) accepted. When
// any target named was refused, nothing is approved: whoever named it was wrong
// about that drive and may be wrong about others.
func (r *run) confirm(ctx context.Context, plans []Plan) ([]Plan, error) {
	if err := refusalsError(plans); err != nil {
		return nil, fmt.Errorf("%w (nothing was written to any target)", err)
	}
	if r.o.Confirm == nil {
		return plans, nil
	}
	approved, err := r.o.Confirm(ctx, plans)
	if err != nil {
		return nil, err
	}
	if len(approved) == 0 {
		return nil, fmt.Errorf("%w: nothing confirmed; nothing was written", wipe.ErrRefused)
	}
	for _, a := range approved {
		if !slices.ContainsFunc(plans, func(p Plan) bool { return p.Target.Path == a.Target.Path && p.Refusal == nil }) {
			return nil, fmt.Errorf("%w: %s was approved but is not in the plan", ErrInvalid, a.Target.Path)
		}
	}
	return approved, nil
}

// sanitize runs every approved plan in parallel, and certifies each target's result
// the moment it is done, whatever the others are doing: a finished drive's evidence
// must not wait for a stalled one.
func (r *run) sanitize(ctx context.Context, gate *wipe.Gate, approved []Plan, wplan wipe.PassPlan) ([]Result, []error) {
	o := r.o
	results := make([]Result, len(approved))
	certErrs := make([]error, len(approved))
	done := func(i int, res Result, jw *journalWriter) {
		if jw != nil && jw.failed != nil {
			res.Warnings = append(res.Warnings, jw.failed.Error())
		}
		if o.Certify != nil && res.Outcome != wipe.OutcomeRefused {
			if err := o.Certify.certify(ctx, &res, o.Verify.Mode, r.log, r.emit); err != nil {
				r.log.Error("certificate not written", "device", res.Device, "err", err)
				certErrs[i] = fmt.Errorf("%s: certificate not written: %w", res.Device, err)
			}
		}
		r.closeJournal(jw, res, certErrs[i])
		results[i] = res
		r.emit(&Finished{Result: res})
	}
	progress := func(ev wipe.Event) { r.emit(&Progress{ev}) }
	var wg sync.WaitGroup
	targets := make([]wipe.Target, len(approved))
	for i, p := range approved {
		targets[i] = p.Target
	}
	devs, errs := gate.OpenAll(ctx, targets)
	for i, p := range approved {
		dev, err := devs[i], errs[i]
		if err != nil {
			done(i, Result{Record: refusedRecord(p.Target, wplan, err), Verification: []verify.Result{}}, nil)
			continue
		}
		jw, prior := r.journalFor(p, wplan)
		if p.Firmware() {
			wg.Go(func() {
				res := runFirmware(ctx, r.log, dev, p, wplan.Method, o.Verify, progress, jw, prior)
				dev.Close()
				done(i, res, jw)
			})
			continue
		}
		var hpa *wipe.FirmwareRecord
		switch {
		case prior != nil:
			hpa = prior.HPA // removed before the interruption (and again at this boot, if need be: below)
			if p.Choice != nil && p.Choice.RemoveHPA && p.Target.Drive.HPA != nil && p.Target.Drive.HPA.Enabled {
				if _, err := removeHPA(dev); err != nil {
					dev.Close()
					rec := refusedRecord(p.Target, wplan, err)
					done(i, Result{Record: rec, Verification: []verify.Result{}}, nil)
					continue
				}
			}
		case p.Choice != nil && p.Choice.RemoveHPA:
			if hpa, err = removeHPA(dev); err != nil {
				dev.Close()
				rec := refusedRecord(p.Target, wplan, err)
				rec.Firmware = hpa
				done(i, Result{Record: rec, Verification: []verify.Result{}}, nil)
				continue
			}
			if jw != nil {
				jw.j.HPA = hpa
			}
		}
		wg.Go(func() { done(i, r.overwrite(ctx, dev, p, wplan, hpa, jw, prior), jw) })
	}
	wg.Wait()
	return results, certErrs
}

// overwrite runs the method's passes over one opened target and reads them back.
func (r *run) overwrite(ctx context.Context, dev *wipe.Handle, p Plan, wplan wipe.PassPlan, hpa *wipe.FirmwareRecord,
	jw *journalWriter, prior *Journal) Result {
	o := r.o
	path := p.Target.Path
	checks := []verify.Result{}
	eo := o.Write
	if prior != nil {
		eo.Resume = prior.resume()
		checks = append(checks, prior.Verification...)
		r.log.Info("wipe resumed", "device", path, "method", wplan.Method.Name, "at", prior.Describe(),
			"last_checkpoint", prior.Updated, "io_mode", ioMode(dev))
	} else {
		r.log.Info("wipe started", "device", path, "method", wplan.Method.Name, "passes", len(wplan.Passes()),
			"io_mode", ioMode(dev))
	}
	if jw != nil {
		eo.Checkpoint = jw.checkpoint
	}
	eo.Logger = r.log
	passes := len(wplan.Passes())
	eo.PassStarted = func(n int, pat wipe.Pattern) {
		r.emit(&PassStarted{Device: path, Pass: n, Passes: passes, Pattern: pat})
	}
	eo.Progress = func(ev wipe.Event) { r.emit(&Progress{ev}) }
	eo.Stalled = func(st wipe.Stall) { r.emit(&Stalled{st}) }
	eo.AfterPass = func(ctx context.Context, pr wipe.PassRecord, last bool) error {
		r.emit(&PassFinished{Device: path, Pass: pr})
		if jw != nil {
			defer func() { jw.readBack(pr.Number, checks) }()
		}
		if o.Verify.Mode == VerifyNone || (!last && !o.VerifyEachPass) {
			return nil
		}
		vo := o.Verify
		vo.Progress = func(ev verify.Event) { r.emit(&VerifyProgress{Device: path, Pass: pr.Number, Event: ev}) }
		vo.Stalled = func(st wipe.Stall) {
			r.log.Warn(fmt.Sprintf("stalled: the target has answered no read for %s", vo.StallTimeout),
				"device", st.Device, "pass", st.Pass, "offset", st.Offset, "since", st.Since, "give_up", st.GivenUp)
			r.emit(&Stalled{st})
		}
		res := verifyDevice(ctx, dev, pr, vo)
		r.log.Info("verification", "device", path, "pass", pr.Number, "mode", res.Mode, "outcome", res.Outcome,
			"coverage", res.Coverage)
		checks = append(checks, res)
		if n := len(res.Stalls); n > 0 && res.Stalls[n-1].GivenUp && res.Outcome == verify.OutcomeFailed {
			return fmt.Errorf("verification of pass %d %s", pr.Number, res.Error)
		}
		return nil
	}
	rec := wipe.Overwrite(ctx, dev, wplan, eo)
	rec.Choice, rec.Firmware = p.Choice, hpa
	if o.Removed != nil && (rec.Outcome == wipe.OutcomeFailed || rec.Outcome == wipe.OutcomeAborted) && o.Removed(ctx, path) {
		removed(&rec)
	}
	if jw != nil {
		rec.Interruptions = jw.j.Interruptions
	}
	if prior != nil {
		rec.Started = prior.Started
	}
	for _, v := range checks {
		rec.Stalls = append(rec.Stalls, v.Stalls...)
	}
	if len(rec.PendingIO) > 0 {
		// A write the kernel never returned still uses the descriptor: it is left
		// open, never reused, until the process exits.
		r.log.Warn("stopped waiting: "+wipe.DescribePending(rec.PendingIO), "device", path)
	} else {
		dev.Close()
	}
	return newResult(rec, checks, o.Verify.Mode != VerifyNone)
}

// removed makes rec the record of a wipe cut short by its drive being pulled out:
// aborted, where it stopped, and why.
func removed(rec *wipe.Record) {
	if rec.AbortedAt == nil {
		// The engine did not say where it stopped (the writes failed before the
		// cancel): the pass it was in, from 0, is the only sure lower bound.
		at := wipe.Position{Pass: 1}
		if n := len(rec.Passes); n > 0 {
			at.Pass = rec.Passes[n-1].Number
		}
		rec.AbortedAt = &at
	}
	why := "the drive was removed"
	if rec.Error != "" && rec.Error != "interrupted" {
		why += " (" + rec.Error + ")"
	}
	rec.Outcome, rec.Error = wipe.OutcomeAborted, why
}

func ioMode(d *wipe.Handle) string {
	if d.Direct {
		return wipe.IODirect
	}
	return wipe.IOBuffered
}
