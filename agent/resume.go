package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/wipe"
)

// A wipe cut off by a power loss, a crash or a reset leaves its journal on the data
// partition, beside the certificates (package sanitize keeps one per target while it
// is sanitized and removes it once the certificate is written). At the next boot,
// before anything is planned, the agent reads the journals and shows each unfinished
// wipe; auto mode resumes those whose drive is here by itself, before the rest of
// its run, and interactive mode asks whether to resume, restart or leave each one.
// Without a data partition no journal is kept: a power loss costs the whole wipe.

// unfinished is an interrupted wipe whose journal is on the data partition.
type unfinished struct {
	file    string // the journal, as the boot image names it
	journal *sanitize.Journal
	// drive is the drive of this machine the wipe was begun on; nil when it is not
	// among the drives that may be wiped now.
	drive *inventory.Device
}

// describe says which drive the wipe is of, by which method, and where it stands.
func (u *unfinished) describe() string {
	j := u.journal
	return fmt.Sprintf("%s (serial %s, %s), %s: %s, last recorded %s (journal %s)", j.Device, dash(j.Drive.Serial),
		size(j.Drive.SizeBytes), j.Method, j.Describe(), j.Updated.UTC().Format(time.RFC3339), u.file)
}

// journalDir is where the journals are kept: the data partition's certificate
// directory; none without a data partition (a journal in RAM would be lost with the
// wipe it records).
func (a *agent) journalDir() string {
	if a.data == nil {
		return ""
	}
	return a.certDir()
}

// readJournals reads the data partition's journals and shows the unfinished wipes.
// A journal that cannot be read keeps every interrupted wipe from being resumed
// (package sanitize refuses to resume beside it): that is a problem of the boot.
func (a *agent) readJournals() error {
	dir := a.journalDir()
	if dir == "" {
		a.out.Printf("journals: none kept: without a %s partition a wipe cut off by a power loss or a crash cannot be resumed (it starts over)", DataLabel)
		return nil
	}
	files, err := sanitize.ReadJournals(dir)
	if err != nil {
		a.damagedJournal = true
		return fmt.Errorf("%v: no interrupted wipe is resumed", err)
	}
	for _, f := range files {
		if f.Err != nil {
			a.damagedJournal = true
			why := f.Err
			if u := errors.Unwrap(f.Err); u != nil {
				why = u
			}
			a.problem("journal %s: %v: no interrupted wipe is resumed while it is on the stick; move it off the stick (on another computer) to go on",
				a.display(f.Path), why)
			continue
		}
		u := &unfinished{file: a.display(f.Path), journal: f.Journal}
		a.unfinished = append(a.unfinished, u)
		a.out.Printf("unfinished wipe: %s", u.describe())
	}
	if len(files) == 0 {
		a.out.Printf("journals: no unfinished wipe in %s", a.display(dir))
	}
	return nil
}

// matchUnfinished finds each unfinished wipe's drive among the targets and returns
// those found. Package sanitize checks each drive's whole identity again before it
// writes a byte.
func (a *agent) matchUnfinished(targets []inventory.Device) []*unfinished {
	var found []*unfinished
	for _, u := range a.unfinished {
		u.drive = findDrive(u.journal, targets)
		if u.drive == nil {
			a.out.Printf("unfinished wipe of %s (serial %s): its drive is not among the drives that may be wiped here: its journal is left as it is",
				u.journal.Device, dash(u.journal.Drive.Serial))
			continue
		}
		found = append(found, u)
	}
	return found
}

// findDrive is the target that is the journal's drive: the one at the journal's path
// with its serial number and size, else the only target with its serial number (or
// WWN) and size.
func findDrive(j *sanitize.Journal, targets []inventory.Device) *inventory.Device {
	k := j.Drive
	for _, d := range targets {
		if d.Path == j.Device && d.SizeBytes == k.SizeBytes && d.Serial == k.Serial && (k.WWN == "" || d.WWN == k.WWN) {
			return &d
		}
	}
	var found []inventory.Device
	for _, d := range targets {
		if d.SizeBytes == k.SizeBytes && (k.Serial != "" && d.Serial == k.Serial || k.WWN != "" && d.WWN == k.WWN) {
			found = append(found, d)
		}
	}
	if len(found) != 1 {
		return nil
	}
	return &found[0]
}

// without are the targets that are none of the unfinished wipes' drives.
func without(targets []inventory.Device, list []*unfinished) []inventory.Device {
	var rest []inventory.Device
	for _, d := range targets {
		if !holds(list, d.Path) {
			rest = append(rest, d)
		}
	}
	return rest
}

func holds(list []*unfinished, path string) bool {
	for _, u := range list {
		if u.drive != nil && u.drive.Path == path {
			return true
		}
	}
	return false
}

// skipUnfinished puts the wipes of list in the summary as not wiped, with why.
func (a *agent) skipUnfinished(list []*unfinished, why string) {
	for _, u := range list {
		a.addSkipped([]Skipped{{Device: *u.drive, Reason: why}})
	}
}

// resume continues the interrupted wipes of list, each with its journal's method,
// and adds their results to the summary; it returns the drives it resumed, by path.
// Unless named, package sanitize finds the journals' drives itself (auto mode);
// named resumes the drives of list only (those chosen at the console). Wipes begun
// with different methods are resumed one method after the other.
func (a *agent) resume(ctx context.Context, list []*unfinished, named bool) (map[string]bool, error) {
	resumed := map[string]bool{}
	if len(list) == 0 {
		return resumed, nil
	}
	if a.damagedJournal {
		a.skipUnfinished(list, "not wiped: its interrupted wipe cannot be resumed while a damaged journal is on the stick (see above)")
		return resumed, nil
	}
	opts, note, err := a.begin(ctx)
	if err != nil {
		a.skipUnfinished(list, note)
		return resumed, err
	}
	groups := byMethod(list)
	var errs []error
	for _, g := range groups {
		o := opts
		// No method: each journal's own (a different one would be refused).
		o.Method, o.Rounds, o.Blank, o.Resume, o.Restart = wipe.Method{}, 0, false, true, false
		var devices []string
		for _, u := range g {
			devices = append(devices, u.drive.Path)
		}
		var targets []string
		if named || len(groups) > 1 {
			targets = devices
		}
		a.out.Printf("resuming %d interrupted wipes with their journal's method %s, verification %s: %s", len(g),
			g[0].journal.Method, o.Verify.Mode, strings.Join(devices, " "))
		results, refused, err := a.sanitize(ctx, o, targets)
		a.runFailed(err)
		got := a.record(results)
		for d := range got {
			resumed[d] = true
		}
		for _, u := range g {
			if got[u.drive.Path] {
				continue
			}
			why := "no result"
			if r, ok := refused[u.drive.Path]; ok {
				why = "refused: " + r
			} else if err != nil {
				why = err.Error()
			}
			a.skipUnfinished([]*unfinished{u}, "not resumed: "+why+"; its journal stays on the stick")
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("resume: %w", err))
		}
	}
	return resumed, errors.Join(errs...)
}

// byMethod groups the wipes by the method (and the passes) their journals record, in
// the order first met: one run resumes wipes of one method.
func byMethod(list []*unfinished) [][]*unfinished {
	var groups [][]*unfinished
	index := map[string]int{}
	for _, u := range list {
		key := u.journal.Method + " " + fmt.Sprint(u.journal.Passes)
		i, ok := index[key]
		if !ok {
			i = len(groups)
			index[key] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], u)
	}
	return groups
}

// Answers to the question what to do with an unfinished wipe.
const (
	answerResume  = "resume"
	answerRestart = "restart"
)

// askUnfinished asks at the console, for each unfinished wipe of list, whether to
// resume it, start it over, or leave it (an empty answer): a drive left keeps its
// journal and is not wiped at this boot.
func (a *agent) askUnfinished(ctx context.Context, list []*unfinished) (resume, restart, leave []*unfinished, err error) {
	for _, u := range list {
		d := u.drive
		a.out.Printf("unfinished wipe of %s (%s): %s, %s", d.Path, describe(*d), u.journal.Method, u.journal.Describe())
		question := "type resume to continue it, restart to wipe it afresh from the first pass, or Enter alone to leave it as it is (not wiped now; its journal stays on the stick):"
		if a.damagedJournal {
			question = "it cannot be resumed while a damaged journal is on the stick (see above): type restart to wipe it afresh from the first pass, or Enter alone to leave it as it is:"
		}
		for {
			a.out.Printf("%s", question)
			line, err := a.input.ReadLine(ctx)
			if err != nil {
				return nil, nil, nil, fmt.Errorf("reading the console: %w", err)
			}
			switch answer := strings.ToLower(strings.TrimSpace(line)); {
			case answer == answerResume && !a.damagedJournal:
				resume = append(resume, u)
			case answer == answerRestart:
				restart = append(restart, u)
			case answer == "":
				leave = append(leave, u)
			default:
				a.out.Printf("%q: not an answer; try again", answer)
				continue
			}
			break
		}
	}
	return resume, restart, leave, nil
}
