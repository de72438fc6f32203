package sanitize

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/verify"
	"github.com/decom-project/decom/wipe"
)

// runFirmware sanitizes one drive with its own command, then reads it back: after a
// crypto erase every sampled block must differ from before, after any other erase
// every sampled block must be one repeated byte.
//
// With a journal, the command is journaled before it is sent; resuming one (prior),
// the command is not sent again: the drive is asked how its sanitize went.
func runFirmware(ctx context.Context, log *slog.Logger, dev *wipe.Handle, p Plan, m wipe.Method, vo verify.Options,
	progress func(wipe.Event), jw *journalWriter, prior *Journal) Result {
	t, ch := dev.Target, p.Choice
	d := t.Drive
	rec := wipe.Record{Device: t.Path, Kind: t.Kind, Identity: t.Identity, Drive: &d, Method: m.Name, Title: m.Title,
		NISTClass: ch.Class, Rounds: 1, VerifyRequired: m.Verify, Technique: ch.Technique, Choice: ch,
		IOMode: "firmware", Passes: []wipe.PassRecord{}, Warnings: t.Warnings, Started: time.Now().UTC()}
	if jw != nil {
		rec.Interruptions = jw.j.Interruptions
	}
	if prior != nil && prior.FirmwareSent != nil {
		return resumeFirmware(ctx, log, dev, rec, *prior.FirmwareSent, vo, progress)
	}
	fail := func(err error) Result {
		rec.Outcome, rec.Error, rec.Finished = wipe.OutcomeFailed, err.Error(), time.Now().UTC()
		return newResult(rec, []verify.Result{}, vo.Mode != VerifyNone)
	}
	drv, err := dev.Commands()
	if err != nil {
		return fail(err)
	}
	defer drv.Close()

	var (
		rd   *verify.Reader
		snap *verify.Snapshot
	)
	if vo.Mode != VerifyNone {
		var coverage float64
		if rd, coverage, err = openReadBack(dev, vo); err != nil {
			return fail(err)
		}
		defer rd.Close()
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

	if jw != nil {
		sent := time.Now().UTC()
		jw.j.FirmwareSent = &sent
		if jw.save(); jw.failed != nil {
			// A sanitize the journal does not know of could be sent again after a power
			// cut: better not to send it at all.
			return fail(jw.failed)
		}
	}
	log.Info("firmware sanitize started", "device", t.Path, "technique", string(ch.Technique), "nist_class", ch.Class)
	fr := wipe.Sanitize(ctx, drv, ch.Technique, wipe.FirmwareOptions{Progress: progress, Logger: log})
	fr.HPABefore, fr.HPAAfter = hpaBefore, hpaAfter
	if res, ended := firmwareEnd(ctx, &rec, fr, vo); ended {
		return res
	}
	if snap == nil {
		return newResult(rec, []verify.Result{}, false)
	}
	return newResult(rec, []verify.Result{checkErased(ctx, log, dev, rd, snap, ch.Technique.Crypto())}, true)
}

// firmwareEnd records the end of the drive's command in rec; when it did not
// complete, the result is final.
func firmwareEnd(ctx context.Context, rec *wipe.Record, fr wipe.FirmwareRecord, vo verify.Options) (Result, bool) {
	rec.Firmware = &fr
	rec.Finished = time.Now().UTC()
	if fr.Completed {
		rec.Outcome, rec.BytesWritten = wipe.OutcomeCompleted, 0
		return Result{}, false
	}
	rec.Outcome, rec.Error = wipe.OutcomeFailed, fr.Error
	if ctx.Err() != nil {
		rec.Outcome = wipe.OutcomeAborted
	}
	return newResult(*rec, []verify.Result{}, vo.Mode != VerifyNone), true
}

// openReadBack opens the read-only descriptor a firmware sanitize is read back
// through, and says what share of the drive to sample.
func openReadBack(dev *wipe.Handle, vo verify.Options) (*verify.Reader, float64, error) {
	rd, err := verify.Open(dev.ReadPath())
	if err != nil {
		return nil, 0, fmt.Errorf("open for reading back: %w", err)
	}
	if rd.DevNo != dev.Target.Identity.DevNo {
		rd.Close()
		return nil, 0, fmt.Errorf("reading back: the device read is not the device to sanitize")
	}
	if vo.Mode == verify.ModeFull {
		return rd, 1, nil
	}
	return rd, vo.Coverage, nil
}

// checkErased reads the sampled blocks back after the drive's command. What the
// drive now holds is read from the media, not from the page cache: the reader is
// O_DIRECT, and the kernel's cache of the device is dropped first.
func checkErased(ctx context.Context, log *slog.Logger, dev *wipe.Handle, rd *verify.Reader, snap *verify.Snapshot, crypto bool) verify.Result {
	if err := dev.DropCache(); err != nil {
		log.Warn("could not drop the kernel's cache of the device; the reads are direct anyway", "device", dev.Target.Path, "err", err)
	}
	res := verify.CheckErased(ctx, rd.Target(), snap, crypto)
	res.Pass = 1
	log.Info("verification", "device", dev.Target.Path, "mode", res.Mode, "outcome", res.Outcome, "coverage", res.Coverage)
	return res
}

// resumeFirmware ends the run of a firmware sanitize that was sent before an
// interruption: it is not sent again; the drive says whether it is still running
// (then it is followed), completed or failed. The contents from before are gone with
// the interrupted run, so a crypto erase cannot be read back against them: its
// result is left unverified; any other technique's is read back as usual.
func resumeFirmware(ctx context.Context, log *slog.Logger, dev *wipe.Handle, rec wipe.Record, sent time.Time,
	vo verify.Options, progress func(wipe.Event)) Result {
	t, ch := dev.Target, rec.Choice
	fail := func(err error) Result {
		rec.Outcome, rec.Error, rec.Finished = wipe.OutcomeFailed, err.Error(), time.Now().UTC()
		return newResult(rec, []verify.Result{}, vo.Mode != VerifyNone)
	}
	drv, err := dev.Commands()
	if err != nil {
		return fail(err)
	}
	defer drv.Close()
	log.Info("an interrupted firmware sanitize: asking the drive how it went", "device", t.Path,
		"technique", string(ch.Technique), "sent", sent)
	fr := wipe.ResumeSanitize(ctx, drv, ch.Technique, sent, wipe.FirmwareOptions{Progress: progress, Logger: log})
	if res, ended := firmwareEnd(ctx, &rec, fr, vo); ended {
		return res
	}
	if vo.Mode == VerifyNone {
		return newResult(rec, []verify.Result{}, false)
	}
	if ch.Technique.Crypto() {
		rec.Warnings = append(rec.Warnings, "the crypto erase was not read back: the sample of the contents from before was lost with the interrupted run")
		return newResult(rec, []verify.Result{}, false)
	}
	rd, coverage, err := openReadBack(dev, vo)
	if err != nil {
		return fail(err)
	}
	defer rd.Close()
	snap, err := verify.TakeSnapshot(ctx, rd.Target(), coverage, vo.Seed, false)
	if err != nil {
		return fail(fmt.Errorf("sample the drive after the sanitize: %w", err))
	}
	res := checkErased(ctx, log, dev, rd, snap, false)
	return newResult(rec, []verify.Result{res}, true)
}

// removeHPA restores a drive's native size before an overwrite: the Host Protected
// Area is removed (volatile: until the next power cycle, which is all the wipe needs),
// the kernel is asked to read the drive's size again, and the overwrite is planned
// over the whole drive. Any failure refuses the wipe.
func removeHPA(dev *wipe.Handle) (*wipe.FirmwareRecord, error) {
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
