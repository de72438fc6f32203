package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/decom-project/decom/internal/logging"
	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/verify"
	"github.com/decom-project/decom/wipe"
)

// plannedMethod reports whether the method is one the planner maps onto each drive:
// nist-purge (the drive's own sanitize command) and nist-clear (an overwrite, after
// the drive's hidden areas are dealt with).
func plannedMethod(m wipe.Method) bool {
	return m.Name == wipe.MethodNISTPurge || m.Name == wipe.MethodNISTClear
}

// choosePlans runs the planner over the plans the gate let through. A drive on which
// the method's class cannot be achieved is refused, with the planner's reasons.
func choosePlans(plans []plan, m wipe.Method) {
	for i := range plans {
		p := &plans[i]
		if p.refusal != nil {
			continue
		}
		if p.target.Kind != wipe.KindDrive {
			if m.NISTClass == wipe.ClassPurge {
				p.refusal = &wipe.RefusedError{Path: p.target.Path, Reasons: []string{
					"NIST Purge applies to whole drives: a partition or an image file can only be cleared (nist-clear)"}}
			}
			continue
		}
		ch, err := wipe.Choose(&p.target.Drive, m.NISTClass)
		if err != nil {
			p.refusal = &wipe.RefusedError{Path: p.target.Path, Reasons: []string{err.Error()}}
			continue
		}
		p.choice = &ch
	}
}

// runFirmware sanitizes one drive with its own command, then reads it back: after a
// crypto erase every sampled block must differ from before, after any other erase
// every sampled block must be one repeated byte.
func runFirmware(ctx context.Context, g *globalOptions, dev *wipe.Device, p plan, m wipe.Method, vo verify.Options,
	progress func(wipe.Event)) wipeResult {
	t, ch := dev.Target, p.choice
	d := t.Drive
	rec := wipe.Record{Device: t.Path, Kind: t.Kind, Identity: t.Identity, Drive: &d, Method: m.Name, Title: m.Title,
		NISTClass: ch.Class, Rounds: 1, VerifyRequired: m.Verify, Technique: ch.Technique, Plan: ch,
		IOMode: "firmware", Passes: []wipe.PassRecord{}, Warnings: t.Warnings, Started: time.Now().UTC()}
	fail := func(err error) wipeResult {
		rec.Outcome, rec.Error, rec.Finished = wipe.OutcomeFailed, err.Error(), time.Now().UTC()
		return newWipeResult(rec, []verify.Result{}, vo.Mode != verifyNone)
	}
	drv, err := dev.Commands()
	if err != nil {
		return fail(err)
	}
	defer drv.Close()

	var (
		rd   *verify.Device
		snap *verify.Snapshot
	)
	if vo.Mode != verifyNone {
		if rd, err = verify.Open(dev.ReadPath()); err != nil {
			return fail(fmt.Errorf("open for reading back: %w", err))
		}
		defer rd.Close()
		if rd.DevNo != t.Identity.DevNo {
			return fail(fmt.Errorf("reading back: the device read is not the device to sanitize"))
		}
		coverage := vo.Coverage
		if vo.Mode == verify.ModeFull {
			coverage = 1
		}
		// Only a crypto erase's check needs the blocks' contents from before.
		if snap, err = verify.TakeSnapshot(ctx, rd.Target(), coverage, vo.Seed, ch.Technique.Crypto()); err != nil {
			return fail(fmt.Errorf("sample the drive before the sanitize: %w", err))
		}
	}

	// Hidden areas first: a sanitize must reach the sectors an HPA hides, and the
	// certificate says what was hidden before and after.
	var hpaBefore, hpaAfter *inventory.HPA
	if ch.RemoveHPA {
		before, after, err := wipe.RemoveHPA(drv)
		if err != nil {
			return fail(fmt.Errorf("remove the Host Protected Area before the sanitize: %w", err))
		}
		hpaBefore, hpaAfter = &before, &after
	} else if h := t.Drive.HPA; h != nil {
		hpaBefore, hpaAfter = h, h
	}

	logger := logging.Slog(g.log)
	logger.Info("firmware sanitize started", "device", t.Path, "technique", string(ch.Technique), "nist_class", ch.Class)
	fr := wipe.Sanitize(ctx, drv, ch.Technique, wipe.FirmwareOptions{Progress: progress, Logger: logger})
	fr.HPABefore, fr.HPAAfter = hpaBefore, hpaAfter
	rec.Firmware = &fr
	rec.Finished = time.Now().UTC()
	if !fr.Completed {
		rec.Outcome, rec.Error = wipe.OutcomeFailed, fr.Error
		if ctx.Err() != nil {
			rec.Outcome = wipe.OutcomeAborted
		}
		return newWipeResult(rec, []verify.Result{}, vo.Mode != verifyNone)
	}
	rec.Outcome = wipe.OutcomeCompleted
	rec.BytesWritten = 0
	if snap == nil {
		return newWipeResult(rec, []verify.Result{}, false)
	}
	// What the drive now holds is read from the media, not from the page cache: the
	// reader is O_DIRECT, and the kernel's cache of the device is dropped first.
	if err := dev.DropCache(); err != nil {
		logger.Warn("could not drop the kernel's cache of the device; the reads are direct anyway", "device", t.Path, "err", err)
	}
	res := verify.CheckErased(ctx, rd.Target(), snap, ch.Technique.Crypto())
	res.Pass = 1
	logger.Info("verification", "device", t.Path, "mode", res.Mode, "outcome", res.Outcome, "coverage", res.Coverage)
	return newWipeResult(rec, []verify.Result{res}, true)
}

// removeHPA restores a drive's native size before an overwrite: the Host Protected
// Area is removed (volatile: until the next power cycle, which is all the wipe needs),
// the kernel is asked to read the drive's size again, and the overwrite is planned
// over the whole drive. Any failure refuses the wipe.
func removeHPA(dev *wipe.Device) (*wipe.FirmwareRecord, error) {
	drv, err := dev.Commands()
	if err != nil {
		return nil, err
	}
	defer drv.Close()
	fr := &wipe.FirmwareRecord{Technique: wipe.TechOverwrite, Started: time.Now().UTC(),
		Commands: []string{"Host Protected Area removal: READ NATIVE MAX ADDRESS EXT, then SET MAX ADDRESS EXT (volatile) to the native max"}}
	before, after, err := wipe.RemoveHPA(drv)
	fr.HPABefore, fr.HPAAfter = &before, &after
	if err != nil {
		return fr, fmt.Errorf("remove the Host Protected Area: %w", err)
	}
	name := filepath.Base(dev.Target.Node)
	if err := os.WriteFile(filepath.Join("/sys/block", name, "device", "rescan"), []byte("1"), 0); err != nil {
		return fr, fmt.Errorf("the Host Protected Area was removed, but the kernel could not be asked to re-read the size: %w", err)
	}
	if err := dev.Regeometry(); err != nil {
		return fr, err
	}
	want := (after.NativeMaxLBA + 1) * uint64(dev.Target.SectorSize)
	if dev.Target.Identity.SizeBytes != want {
		return fr, fmt.Errorf("the Host Protected Area was removed, but the kernel shows %d bytes, not the native %d", dev.Target.Identity.SizeBytes, want)
	}
	fr.Completed, fr.Finished = true, time.Now().UTC()
	return fr, nil
}

// planText is the plan column of decom wipe's table for a planned method.
func planText(p plan) string {
	if p.choice == nil {
		return "wipe"
	}
	return fmt.Sprintf("%s (%s)", p.choice.Technique, p.choice.Class)
}

// planReasons lists, under the plan table, why each drive got its technique.
func planReasons(plans []plan) string {
	var b strings.Builder
	for _, p := range plans {
		if p.choice == nil {
			continue
		}
		fmt.Fprintf(&b, "%s: %s — %s\n", p.target.Path, p.choice.Technique, p.choice.Reason)
		for _, r := range p.choice.Rejected {
			fmt.Fprintf(&b, "    passed over %s\n", r)
		}
		if p.choice.RemoveHPA {
			fmt.Fprintf(&b, "    its Host Protected Area (%d sectors) is removed first\n", p.target.Drive.HPA.HiddenSectors)
		}
	}
	return b.String()
}
