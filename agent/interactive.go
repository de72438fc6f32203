package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/decom-project/decom/inventory"
)

// interactive lists the drives, asks at the console what to do with each unfinished
// wipe (resume, restart or leave it), which other drives to wipe (by serial number,
// or device name for a drive without one), asks for confirmation, and then resumes
// and wipes as auto mode would.
func (a *agent) interactive(ctx context.Context) error {
	a.out.Printf("drives of this machine:")
	targets, skipped, err := a.eligible(ctx, "no drive of this machine may be wiped")
	if err != nil || len(targets) == 0 {
		return err
	}
	pending := a.matchUnfinished(targets)
	toResume, toRestart, left, err := a.askUnfinished(ctx, pending)
	if err != nil {
		a.addSkipped(skipped)
		a.skipAll(targets, "not wiped: nothing chosen")
		return err
	}
	// A drive with an interrupted wipe is resumed, restarted or left: never in the
	// list of drives to wipe, where package sanitize would refuse it.
	var chosen []inventory.Device
	if rest := without(targets, pending); len(rest) > 0 {
		if chosen, err = a.choose(ctx, rest, skipped); err != nil {
			a.addSkipped(skipped)
			a.skipAll(targets, "not wiped: nothing chosen")
			return err
		}
	}
	var notChosen []Skipped
	for _, d := range without(targets, pending) {
		if !containsDevice(chosen, d) {
			notChosen = append(notChosen, Skipped{d, "not chosen"})
		}
	}
	a.addSkipped(append(skipped, notChosen...))
	a.skipUnfinished(left, "not wiped: its interrupted wipe was left as it is (its journal stays on the stick)")
	var fresh []inventory.Device
	for _, d := range targets {
		if containsDevice(chosen, d) || holds(toRestart, d.Path) {
			fresh = append(fresh, d)
		}
	}
	if len(fresh) == 0 && len(toResume) == 0 {
		a.out.Printf("nothing chosen: nothing wiped")
		return nil
	}
	resumed, rerr := a.resume(ctx, toResume, true)
	fresh = slices.DeleteFunc(fresh, func(d inventory.Device) bool { return resumed[d.Path] })
	if len(fresh) == 0 {
		return rerr
	}
	return errors.Join(rerr, a.wipe(ctx, fresh, len(toRestart) > 0))
}

func containsDevice(l []inventory.Device, d inventory.Device) bool {
	for _, x := range l {
		if x.Path == d.Path {
			return true
		}
	}
	return false
}

// choose asks which drives to wipe until the answer names only eligible drives, then
// asks to confirm. An empty answer chooses nothing. On the full screen (screen.go)
// the drive list also shows the drives skipped, with why.
func (a *agent) choose(ctx context.Context, targets []inventory.Device, skipped []Skipped) ([]inventory.Device, error) {
	if a.screen() != nil {
		chosen, err := a.chooseOnScreen(ctx, targets, skipped)
		if !errors.Is(err, errNoScreen) {
			return chosen, err
		}
		a.out.Printf("WARNING: %v: asking line by line", err)
	}
	for {
		a.out.Printf("drives that may be wiped:")
		for _, d := range targets {
			a.out.Printf("  %-14s %-20s %s", d.Path, dash(d.Serial), describe(d))
		}
		a.out.Printf("type the serial numbers of the drives to wipe (the device name for a drive without one), separated by spaces; \"all\" for every drive listed; Enter alone for none:")
		line, err := a.input.ReadLine(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading the console: %w", err)
		}
		chosen, bad := pick(targets, line)
		if len(bad) > 0 {
			a.out.Printf("not in the list: %s; try again", strings.Join(bad, " "))
			continue
		}
		if len(chosen) == 0 {
			return nil, nil
		}
		var names []string
		for _, d := range chosen {
			names = append(names, fmt.Sprintf("%s (%s)", d.Path, describe(d)))
		}
		a.out.Printf("ALL DATA WILL BE DESTROYED on %d drives: %s", len(chosen), strings.Join(names, ", "))
		a.out.Printf("type yes to wipe them, anything else to choose again:")
		answer, err := a.input.ReadLine(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading the console: %w", err)
		}
		if strings.TrimSpace(answer) == "yes" {
			return chosen, nil
		}
	}
}

// pick reads an answer to the question which drives to wipe: serial numbers, device
// names (sdb or /dev/sdb) for drives without a serial, or "all". It returns the drives
// named, in the list's order, and the words that name none.
func pick(targets []inventory.Device, answer string) (chosen []inventory.Device, bad []string) {
	words := strings.Fields(answer)
	if len(words) == 1 && strings.EqualFold(words[0], "all") {
		return targets, nil
	}
	want := map[string]bool{}
	for _, w := range words {
		found := false
		for _, d := range targets {
			if w == d.Serial && d.Serial != "" || d.Serial == "" && (w == d.Name || w == d.Path) {
				want[d.Path] = true
				found = true
			}
		}
		if !found {
			bad = append(bad, w)
		}
	}
	for _, d := range targets {
		if want[d.Path] {
			chosen = append(chosen, d)
		}
	}
	return chosen, bad
}

// shell explains that the image has no shell, and what to do instead.
func (a *agent) shell(_ context.Context) {
	w := a.out
	for _, l := range []string{
		"decom.mode=shell: this image has no rescue shell.",
		"What you can do:",
		"  - boot again with decom.mode=interactive to list the drives and choose which to wipe at this console;",
		"  - boot again with decom.mode=auto (the default) to wipe every eligible drive;",
		"  - switch the machine off: nothing was read from or written to any drive.",
		"Certificates on the stick's DECOM-DATA partition can be checked on any computer with decom cert verify.",
	} {
		w.Printf("%s", l)
	}
}
