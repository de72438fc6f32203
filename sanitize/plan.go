package sanitize

import (
	"context"
	"errors"
	"fmt"

	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/wipe"
)

// Plan is the sanitization of one target as decided before anything is written.
type Plan struct {
	Target wipe.Target
	// Refusal is why the target may not be sanitized; nil when it may.
	Refusal error
	// Choice is the planner's, for nist-purge and nist-clear: the technique, the
	// NIST class it reaches, why, and what was passed over.
	Choice *wipe.Choice
	// Resume is the journal of the interrupted wipe this plan continues; nil for a
	// wipe from the start.
	Resume *Journal
}

// Firmware reports whether the plan runs the drive's own sanitize command.
func (p Plan) Firmware() bool { return p.Choice != nil && p.Choice.Technique.Firmware() }

// LeftOut is a device Options.All did not take, and why.
type LeftOut struct {
	Device string `json:"device"`
	// Class is the inventory's: fixed, removable or virtual.
	Class   string   `json:"class,omitempty"`
	Reasons []string `json:"reasons"`
}

// UsesPlanner reports whether the method is one the planner maps onto each drive:
// nist-purge (the drive's own sanitize command) and nist-clear (an overwrite, after
// the drive's hidden areas are dealt with).
func UsesPlanner(m wipe.Method) bool {
	return m.Name == wipe.MethodNISTPurge || m.Name == wipe.MethodNISTClear
}

// TargetError is a run's error about one of its targets (no such device, not a
// block device, vanished): Path is the target as the run was given it. It reads as
// Err, which names the path already.
type TargetError struct {
	Path string
	Err  error
}

func (e *TargetError) Error() string { return e.Err.Error() }
func (e *TargetError) Unwrap() error { return e.Err }

// forAll splits the inventory into the drives --all takes (physical, not removable
// unless includeRemovable, and wipeable) and the devices it leaves out, with why.
func forAll(devs []inventory.Device, includeRemovable bool) (take []string, left []LeftOut) {
	for _, d := range devs {
		var why []string
		switch d.Class {
		case inventory.ClassVirtual:
			why = append(why, d.ClassReason+": not a physical drive")
		case inventory.ClassRemovable:
			if !includeRemovable {
				why = append(why, d.ClassReason+": removable (add --include-removable to take it)")
			}
		}
		if !d.Wipeable {
			why = append(why, d.Refusals...)
			if len(d.Refusals) == 0 {
				why = append(why, "the inventory says it may not be wiped")
			}
		}
		if len(why) > 0 {
			left = append(left, LeftOut{Device: d.Path, Class: d.Class, Reasons: why})
			continue
		}
		take = append(take, d.Path)
	}
	return take, left
}

// checkTargets passes every target through the gate's first check. Device errors (no
// such device) end the run; refusals are kept and reported with the plan. With all,
// the targets are the drives forAll takes, and the devices left out are returned
// with why; a drive the gate refuses (or cannot find) is one of them.
func checkTargets(ctx context.Context, gate *wipe.Gate, all, includeRemovable bool, args []string) ([]Plan, []LeftOut, error) {
	var left []LeftOut
	class := map[string]string{}
	if all {
		// The list only names the candidates; the gate's check of each (below) reads
		// what the plan needs, firmware included, and asks nothing of the other drives.
		list := gate.Inventory
		list.ProbeFirmware, list.ReadHealth = false, false
		devs, err := inventory.Scan(ctx, list)
		if err != nil {
			return nil, nil, err
		}
		for _, d := range devs {
			class[d.Path] = d.Class
		}
		args, left = forAll(devs, includeRemovable)
	}
	var plans []Plan
	seen := map[string]string{}
	for _, a := range args {
		t, err := gate.Check(ctx, a)
		if all && err != nil {
			// Busy since the scan, or gone: --all leaves out what it may not wipe.
			gate.Logger.Info("left out of --all", "device", a, "reason", err.Error())
			left = append(left, LeftOut{Device: a, Class: class[a], Reasons: RefusalReasons(err)})
			continue
		}
		if err != nil && !errors.Is(err, wipe.ErrRefused) {
			return nil, nil, &TargetError{Path: a, Err: err}
		}
		if err == nil {
			key := t.Identity.DevNo + "/" + fmt.Sprint(t.Identity.Inode)
			if prev, dup := seen[key]; dup {
				return nil, nil, invalidf("%s and %s are the same target", prev, a)
			}
			seen[key] = a
		}
		plans = append(plans, Plan{Target: t, Refusal: err})
		if err != nil {
			// The plan names what the gate judged: the path it made absolute.
			plans[len(plans)-1].Target.Path = a
			if re := (*wipe.RefusedError)(nil); errors.As(err, &re) {
				plans[len(plans)-1].Target.Path = re.Path
			}
		}
	}
	return plans, left, nil
}

// choose runs the planner over the plans the gate let through. A drive on which
// the method's class cannot be achieved is refused, with the planner's reasons.
func choose(plans []Plan, m wipe.Method) {
	for i := range plans {
		p := &plans[i]
		if p.Refusal != nil {
			continue
		}
		if p.Target.Kind != wipe.KindDrive {
			if m.NISTClass == wipe.ClassPurge {
				p.Refusal = &wipe.RefusedError{Path: p.Target.Path, Reasons: []string{
					"NIST Purge applies to whole drives: a partition or an image file can only be cleared (nist-clear)"}}
			}
			continue
		}
		ch, err := wipe.Choose(&p.Target.Drive, m.NISTClass)
		if err != nil {
			p.Refusal = &wipe.RefusedError{Path: p.Target.Path, Reasons: []string{err.Error()}}
			continue
		}
		p.Choice = &ch
	}
}

// PlanMethod is what method m would do to each of paths, refusals included: a dry run
// of run (Run when nil) with o's inventory and logger, which writes nothing. It gives
// one plan per path, in order; the front ends show these before anyone chooses.
func PlanMethod(ctx context.Context, o Options, m wipe.Method, paths []string,
	run func(context.Context, Options) ([]Result, error)) ([]Plan, error) {
	if len(paths) == 0 {
		return nil, nil
	}
	if run == nil {
		run = Run
	}
	var plans []Plan
	dry := Options{Targets: paths, Method: m, DryRun: true, Inventory: o.Inventory, Logger: o.Logger,
		Events: func(ev Event) {
			if p, ok := ev.(*Planned); ok {
				plans = p.Plans
			}
		}}
	if _, err := run(ctx, dry); err != nil && !errors.Is(err, wipe.ErrRefused) {
		return nil, err
	}
	if len(plans) != len(paths) {
		return nil, fmt.Errorf("planning %s: %d plans for %d targets", m.Name, len(plans), len(paths))
	}
	return plans, nil
}
