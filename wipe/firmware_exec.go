package wipe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/decom-project/decom/internal/ata"
	"github.com/decom-project/decom/internal/nvme"
	"github.com/decom-project/decom/internal/scsi"
)

// Sanitize and the run it shares between transports: the record of commands sent,
// progress events, the dispatch by technique, and the polling of a running sanitize.
// The commands themselves are one file per transport: firmware_ata.go, firmware_nvme.go,
// firmware_scsi.go; firmware_hpa.go removes an ATA drive's Host Protected Area.

// Defaults of FirmwareOptions.
const (
	DefaultPollInterval = 2 * time.Second
	DefaultStallTimeout = 30 * time.Minute
	// MinFirmwareTimeout is the least a SECURITY ERASE UNIT or Format NVM is given.
	MinFirmwareTimeout = 2 * time.Hour
)

func (o FirmwareOptions) withDefaults() FirmwareOptions {
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	if o.StallTimeout <= 0 {
		o.StallTimeout = DefaultStallTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Sanitize has drive d sanitize itself with technique tech, one of the firmware
// techniques of the planner, and returns what was done. It never returns without a record: Completed says whether the drive reported
// the sanitize done, Error why not.
//
// Each technique reads the drive's state first and refuses, before sending anything that
// changes the drive, what cannot succeed: a technique the drive does not offer, ATA
// security that is frozen or locked or holds a password decom does not know, a sanitize
// already running or frozen, a drive whose progress could not be followed.
//
//   - ATA security erase: SECURITY SET PASSWORD (user password, random, kept only in
//     memory; level High so that the master password can still unlock the drive),
//     SECURITY ERASE PREPARE immediately followed by SECURITY ERASE UNIT, then IDENTIFY
//     DEVICE to confirm that security is disabled again. Should a command fail once the
//     password is set, SECURITY DISABLE PASSWORD removes it and the error says so. A
//     drive that erased but left security enabled gets SECURITY DISABLE PASSWORD too; the
//     erase then counts as completed, with the extra command in Commands, only once
//     IDENTIFY DEVICE shows security disabled.
//   - ATA sanitize: CRYPTO SCRAMBLE EXT, BLOCK ERASE EXT or OVERWRITE EXT (one pass of
//     zeros), followed by SANITIZE STATUS EXT every PollInterval. The status lives in
//     register bits that fixed-format sense data cannot carry: if the translation layer
//     returns fixed format, descriptor format is switched on (MODE SELECT of the control
//     mode page, D_SENSE) before the sanitize starts and switched back at the end; a
//     translation layer that refuses gets no sanitize.
//   - NVMe Format NVM with SES 1 or 2, in the namespace's current LBA format and
//     protection settings; the command completes when the format has.
//   - NVMe Sanitize (block erase, crypto erase, overwrite with one pass of zeros),
//     followed by the Sanitize Status log page every PollInterval.
//   - SCSI SANITIZE with IMMED (overwrite: one pass of zeros), followed by REQUEST SENSE
//     every PollInterval.
//
// NVMe Sanitize acts on the whole NVM subsystem, and Format NVM on every namespace when
// FNA says so: both are refused on a controller with more than one active namespace,
// since decom erases only the drive it was asked to.
//
// A sanitize whose progress does not move for StallTimeout, or moves backwards, has
// failed. A sanitize cannot be stopped: when ctx is cancelled Sanitize stops polling and
// returns an incomplete record whose error says that the drive goes on by itself (and
// resumes after a power cycle; ResumeSanitize checks it afterwards). SECURITY ERASE UNIT and Format NVM run to completion once
// sent. Sanitize leaves the Host Protected Area alone: run RemoveHPA first and copy its
// results into HPABefore and HPAAfter.
func Sanitize(ctx context.Context, d DriveCommands, tech Technique, o FirmwareOptions) FirmwareRecord {
	r := &firmwareRun{ctx: ctx, d: d, tech: tech, o: o.withDefaults()}
	r.rec = FirmwareRecord{Technique: tech, Commands: []string{}, Started: time.Now().UTC()}
	r.o.Logger.Info("firmware sanitize", "device", d.Path, "technique", string(tech))
	return r.finish(r.sanitize())
}

// finish closes the record of the run with its outcome err.
func (r *firmwareRun) finish(err error) FirmwareRecord {
	r.restoreSenseFormat()
	r.rec.Finished = time.Now().UTC()
	r.rec.Commands = r.commands()
	if err != nil {
		r.rec.Error = fmt.Sprintf("%s: %v", r.tech, err)
		r.o.Logger.Warn("firmware sanitize failed", "device", r.d.Path, "technique", string(r.tech), "error", err)
		return r.rec
	}
	r.rec.Completed = true
	r.o.Logger.Info("firmware sanitize completed", "device", r.d.Path, "technique", string(r.tech))
	return r.rec
}

// firmwareRun is one firmware sanitize (or HPA removal) in progress.
type firmwareRun struct {
	ctx  context.Context
	d    DriveCommands
	tech Technique
	o    FirmwareOptions
	rec  FirmwareRecord
	sent []sentCommand

	// controlPage is the control mode page as it was before decom switched the
	// translation layer to descriptor-format sense data; nil if it did not.
	controlPage   []byte
	senseSwitched bool // the switch was tried

	// doneBefore is how far a resumed sanitize had got before decom followed it, in
	// bytes: the rate of the progress events counts only what was done since.
	doneBefore int64
}

// sentCommand is a run of identical commands in the record.
type sentCommand struct {
	name  string
	times int
}

// send notes a command in the record; repeats of the same command (status polls) are
// counted rather than listed.
func (r *firmwareRun) send(name string) {
	if n := len(r.sent); n > 0 && r.sent[n-1].name == name {
		r.sent[n-1].times++
		return
	}
	r.sent = append(r.sent, sentCommand{name: name, times: 1})
}

func (r *firmwareRun) commands() []string {
	out := make([]string, 0, len(r.sent))
	for _, c := range r.sent {
		if c.times > 1 {
			out = append(out, fmt.Sprintf("%s (%d times)", c.name, c.times))
			continue
		}
		out = append(out, c.name)
	}
	return out
}

// progress reports the drive's progress p (0 to 1) as an event.
func (r *firmwareRun) progress(p float64, final bool) {
	if r.o.Progress == nil {
		return
	}
	e := Event{Device: r.d.Path, Pass: 1, Passes: 1, Pattern: string(r.tech),
		Done: int64(p * float64(r.d.Size)), Size: r.d.Size, Final: final}
	if final {
		e.Done = r.d.Size
	}
	if el := time.Since(r.rec.Started).Seconds(); e.Done > r.doneBefore && el > 0 {
		e.Rate = float64(e.Done-r.doneBefore) / el
		e.ETA = float64(e.Size-e.Done) / e.Rate
	}
	r.o.Progress(e)
}

func (r *firmwareRun) sanitize() error {
	if err := r.ctx.Err(); err != nil {
		return fmt.Errorf("not started: %w", err)
	}
	if err := r.checkInterface(); err != nil {
		return err
	}
	return r.dispatch()
}

// checkInterface refuses a technique whose command interface the drive lacks.
func (r *firmwareRun) checkInterface() error {
	switch r.tech {
	case TechATASecurityErase, TechATASecurityEraseEnhanced, TechATASanitizeCrypto, TechATASanitizeBlock,
		TechATASanitizeOverwrite, TechSCSISanitizeCrypto, TechSCSISanitizeBlock, TechSCSISanitizeOverwrite:
		if r.d.SCSI == nil {
			return errors.New("the drive has no SCSI/ATA command interface")
		}
	case TechNVMeFormatUserData, TechNVMeFormatCrypto, TechNVMeSanitizeCrypto, TechNVMeSanitizeBlock,
		TechNVMeSanitizeOverwrite:
		if r.d.NVMe == nil {
			return errors.New("the drive has no NVMe command interface")
		}
	}
	return nil
}

// dispatch runs the technique.
func (r *firmwareRun) dispatch() error {
	switch r.tech {
	case TechATASecurityErase:
		return r.ataSecurityErase(ata.NormalErase)
	case TechATASecurityEraseEnhanced:
		return r.ataSecurityErase(ata.EnhancedErase)
	case TechATASanitizeCrypto:
		return r.ataSanitize("CRYPTO SCRAMBLE EXT", ata.CryptoScrambleExt(0), func(s ata.Sanitize) bool { return s.CryptoScramble })
	case TechATASanitizeBlock:
		return r.ataSanitize("BLOCK ERASE EXT", ata.BlockEraseExt(0), func(s ata.Sanitize) bool { return s.BlockErase })
	case TechATASanitizeOverwrite:
		c, err := ata.OverwriteExt(ata.Overwrite{Pattern: 0, Passes: 1}, 0)
		if err != nil {
			return err
		}
		return r.ataSanitize("OVERWRITE EXT", c, func(s ata.Sanitize) bool { return s.Overwrite })
	case TechNVMeFormatUserData:
		return r.nvmeFormat(nvme.UserDataErase)
	case TechNVMeFormatCrypto:
		return r.nvmeFormat(nvme.CryptographicErase)
	case TechNVMeSanitizeCrypto:
		return r.nvmeSanitize(nvme.SanitizeCryptoErase)
	case TechNVMeSanitizeBlock:
		return r.nvmeSanitize(nvme.SanitizeBlockErase)
	case TechNVMeSanitizeOverwrite:
		return r.nvmeSanitize(nvme.SanitizeOverwrite)
	case TechSCSISanitizeCrypto:
		return r.scsiSanitize(scsi.SanitizeCryptoErase)
	case TechSCSISanitizeBlock:
		return r.scsiSanitize(scsi.SanitizeBlockErase)
	case TechSCSISanitizeOverwrite:
		return r.scsiSanitize(scsi.SanitizeOverwrite)
	}
	return fmt.Errorf("%q is not a firmware technique", string(r.tech))
}

// poll reads the drive's progress every PollInterval until read reports it done, an
// error, a stall, a regression or ctx's end. read returns the progress from 0 to 1, or
// a negative value when the drive did not say.
func (r *firmwareRun) poll(read func() (progress float64, done bool, err error)) error {
	return r.pollFrom(-1, read)
}

// pollFrom is poll of a sanitize whose progress was last read as last (negative: not
// read yet), already reported.
func (r *firmwareRun) pollFrom(last float64, read func() (progress float64, done bool, err error)) error {
	t := time.NewTicker(r.o.PollInterval)
	defer t.Stop()
	moved := time.Now()
	for {
		p, done, err := read()
		if err != nil {
			return err
		}
		if done {
			r.progress(1, true)
			return nil
		}
		switch {
		case p < 0:
			// No progress indication this time: nothing to judge.
		case p < last:
			return fmt.Errorf("the drive's progress went backwards, from %.1f%% to %.1f%%: the drive is misbehaving, and its sanitize cannot be trusted",
				100*last, 100*p)
		case p > last:
			last, moved = p, time.Now()
			r.progress(p, false)
		case time.Since(moved) >= r.o.StallTimeout:
			return fmt.Errorf("the drive's progress has not moved from %.1f%% for %s: the sanitize is stuck", 100*p, r.o.StallTimeout)
		}
		select {
		case <-r.ctx.Done():
		case <-t.C:
		}
		// A cancellation wins over a tick that was due at the same time.
		if r.ctx.Err() != nil {
			return fmt.Errorf("%w: decom stopped following the sanitize at %.1f%%, but the drive goes on with it by itself; it cannot be stopped, resumes after a power cycle, and the drive refuses reads and writes until it has completed",
				r.ctx.Err(), 100*max(last, 0))
		}
	}
}
