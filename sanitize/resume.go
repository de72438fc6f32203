package sanitize

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/wipe"
)

// journals is what a run with a journal directory knows of the journals there.
type journals struct {
	dir   string
	files []JournalFile
	// resume are the journals a resuming run continues, by target path.
	resume map[string]*Journal
}

// loadJournals reads the run's journal directory. A resuming run that names no
// target takes the drives of the journals found as its targets, and a run that
// names no method takes the journals' method.
func (r *run) loadJournals(ctx context.Context, gate *wipe.Gate) error {
	o := &r.o
	switch {
	case (o.Resume || o.Restart) && o.JournalDir == "":
		return invalidf("resuming or restarting needs the journal directory")
	case o.Resume && o.Restart:
		return invalidf("resume or restart, not both")
	case o.Resume && o.All:
		return invalidf("a resume takes its drives from the journals, or the drives named; not all drives")
	case o.Resume && o.DryRun:
		return invalidf("a resume continues a wipe; it has no dry run (decom wipe --resume lists what it would continue before it asks)")
	}
	if o.JournalDir == "" {
		return nil
	}
	files, err := ReadJournals(o.JournalDir)
	if err != nil {
		return fmt.Errorf("read the journals in %s: %w", o.JournalDir, err)
	}
	r.journals = &journals{dir: o.JournalDir, files: files, resume: map[string]*Journal{}}
	if !o.Resume {
		for _, f := range files {
			if f.Err != nil {
				r.log.Warn("a damaged journal is ignored: its wipe cannot be resumed", "err", f.Err)
			}
		}
		return nil
	}
	for _, f := range files {
		if f.Err != nil {
			return fmt.Errorf("%w; it cannot be resumed: move it away to go on", f.Err)
		}
	}
	var mine []*Journal // the journals this run is likely to continue
	if len(o.Targets) == 0 {
		for _, f := range files {
			path, ok := r.findDrive(ctx, gate, f.Journal)
			if !ok {
				r.log.Warn("an interrupted wipe's drive is not here: its journal is left as it is",
					"journal", f.Path, "device", f.Journal.Device, "serial", f.Journal.Drive.Serial)
				continue
			}
			o.Targets = append(o.Targets, path)
			mine = append(mine, f.Journal)
		}
		if len(o.Targets) == 0 {
			return fmt.Errorf("%w: no interrupted wipe of a drive present to resume (journals in %s: %d)",
				wipe.ErrRefused, o.JournalDir, len(files))
		}
	} else {
		for _, f := range files {
			if slices.Contains(o.Targets, f.Journal.Device) {
				mine = append(mine, f.Journal)
			}
		}
	}
	if len(mine) == 0 {
		for _, f := range files {
			mine = append(mine, f.Journal)
		}
	}
	if o.Method.Name == "" && len(mine) > 0 {
		// The planner, and so the gate's probing, depend on the method: it is taken
		// before the drives are checked, and each journal is held to it after.
		m, err := mine[0].method()
		if err != nil {
			return err
		}
		for _, j := range mine[1:] {
			if j.Method != m.Name || !slices.EqualFunc(j.Passes, mine[0].Passes, samePass) {
				return invalidf("the interrupted wipes ran different methods (%s, %s): resume them one drive at a time, naming it and its --method",
					m.Name, j.Method)
			}
		}
		o.Method, o.Rounds, o.Blank = m, mine[0].Rounds, mine[0].Blank
	}
	return nil
}

// findDrive finds the drive of journal j: at the path it had, or, when that path now
// holds another drive, the one drive present with j's identity.
func (r *run) findDrive(ctx context.Context, gate *wipe.Gate, j *Journal) (string, bool) {
	same := func(path string) bool {
		t, err := gate.Check(ctx, path)
		if err != nil && !errors.Is(err, wipe.ErrRefused) {
			return false
		}
		return len(j.Drive.Differences(t)) == 0
	}
	if same(j.Device) {
		return j.Device, true
	}
	if j.Drive.Serial == "" && j.Drive.WWN == "" {
		return "", false // nothing tells it apart from a drive of the same model and size
	}
	list := gate.Inventory
	list.ProbeFirmware, list.ReadHealth = false, false
	devs, err := inventory.Scan(ctx, list)
	if err != nil {
		return "", false
	}
	var found []string
	for _, d := range devs {
		if d.Serial == j.Drive.Serial && d.Path != j.Device && same(d.Path) {
			found = append(found, d.Path)
		}
	}
	if len(found) != 1 {
		return "", false
	}
	return found[0], true
}

// matchJournals ties the plans to the journals. A resuming run continues, for each
// target, the journal of that very drive, by its method; it refuses a target with
// no journal and a method other than the journal's. Any other run refuses a target
// whose journal holds an interrupted wipe, unless it restarts.
func (r *run) matchJournals(plans []Plan) error {
	js := r.journals
	if js == nil {
		return nil
	}
	o := &r.o
	for i, p := range plans {
		if p.Refusal != nil {
			continue
		}
		var j *Journal
		var other []string
		for _, f := range js.files {
			if f.Journal == nil {
				continue
			}
			switch diffs := f.Journal.Drive.Differences(p.Target); {
			case len(diffs) == 0:
				j = f.Journal
			case f.Journal.Device == p.Target.Path:
				other = append(other, fmt.Sprintf("%s (%s)", f.Path, strings.Join(diffs, "; ")))
			}
		}
		switch {
		case o.Resume && j == nil && len(other) > 0:
			return journalErrorf("%s is not the drive its journal was written for: %s; --restart starts it over",
				p.Target.Path, strings.Join(other, ", "))
		case o.Resume && j == nil:
			return journalErrorf("%s: no interrupted wipe of this drive in %s to resume", p.Target.Path, js.dir)
		case o.Resume:
			if err := r.sameMethod(p.Target.Path, j); err != nil {
				return err
			}
			if j.Choice != nil {
				plans[i].Choice = j.Choice // the technique begun is the one continued
			}
			js.resume[p.Target.Path] = j
			plans[i].Resume = j
		case j != nil && !o.Restart:
			return fmt.Errorf("%w: %s has an interrupted wipe (%s, %s): --resume continues it, --restart starts over",
				wipe.ErrRefused, p.Target.Path, j.Method, j.Describe())
		}
	}
	return nil
}

// sameMethod refuses to continue journal j with another method than its own; a run
// that named none takes the journal's.
func (r *run) sameMethod(path string, j *Journal) error {
	o := &r.o
	jm, err := j.method()
	if err != nil {
		return fmt.Errorf("journal of %s: %w", path, err)
	}
	if o.Method.Name == "" {
		o.Method, o.Rounds, o.Blank = jm, j.Rounds, j.Blank
		return nil
	}
	mine := o.Method.Sequence(max(o.Rounds, 1), o.Blank)
	if o.Method.Name != j.Method || !slices.EqualFunc(mine, j.Passes, samePass) {
		return journalErrorf("%s: the interrupted wipe ran %s (%d passes); it is continued only with its own method (or --restart)",
			path, j.Method, len(j.Passes))
	}
	return nil
}

// journalFor begins (or, resuming, continues) the journal of a target about to be
// sanitized; nil without a journal directory.
func (r *run) journalFor(p Plan, wplan wipe.PassPlan) (*journalWriter, *Journal) {
	js := r.journals
	if js == nil {
		return nil, nil
	}
	w := newJournalWriter(js.dir, p.Target, func(err error) {
		r.log.Warn(err.Error(), "device", p.Target.Path)
	})
	w.log = r.log.With("device", p.Target.Path)
	prior := js.resume[p.Target.Path]
	if prior != nil {
		w.j = *prior
		w.j.Device = p.Target.Path
		w.j.Interruptions = append(slices.Clone(prior.Interruptions), interruption(prior))
		w.save()
		return w, prior
	}
	w.j.Method, w.j.MethodPasses = wplan.Method.Name, slices.Clone(wplan.Method.Passes)
	w.j.Rounds, w.j.Blank, w.j.Passes = max(wplan.Rounds, 1), wplan.Blank, wplan.Passes()
	w.j.Technique, w.j.Choice = wipe.TechOverwrite, p.Choice
	if p.Firmware() {
		w.j.Technique = p.Choice.Technique
	}
	w.j.Started = time.Now().UTC()
	return w, nil
}

// interruption is the interruption a journal's resume ends.
func interruption(j *Journal) wipe.Interruption {
	in := wipe.Interruption{Pass: len(j.Done) + 1, LastCheckpoint: j.Updated, Resumed: time.Now().UTC()}
	if c := j.Current; c != nil {
		in.Pass, in.Offset = c.Pass, c.Offset
	}
	return in
}

// closeJournal ends a target's journal once its run is over. It is kept while the
// wipe can be continued: aborted (SIGINT, SIGTERM), or an overwrite that failed
// before its last pass ended (a drive that vanished with a kicked cable comes back);
// and when the certificate could not be written, which a resume writes without
// redoing the passes. It is removed when the passes ran to their end, and when a
// firmware command ended either way (its next run asks the drive afresh).
func (r *run) closeJournal(jw *journalWriter, res Result, certErr error) {
	if jw == nil {
		return
	}
	unfinished := res.Outcome == wipe.OutcomeFailed && jw.j.Technique == wipe.TechOverwrite &&
		(len(res.Passes) < len(jw.j.Passes) || len(res.Passes) > 0 && !res.Passes[len(res.Passes)-1].Completed)
	switch {
	case res.Outcome == wipe.OutcomeAborted || unfinished:
		r.log.Info("the journal is kept: decom wipe --resume continues the wipe (--restart starts over)",
			"device", res.Device, "journal", jw.path())
		return
	case certErr != nil:
		r.log.Warn("the journal is kept: decom wipe --resume writes the certificate", "device", res.Device, "journal", jw.path())
		return
	}
	if err := jw.remove(); err != nil {
		r.log.Warn("the journal of a finished wipe could not be removed", "device", res.Device, "journal", jw.path(), "err", err)
	}
}
