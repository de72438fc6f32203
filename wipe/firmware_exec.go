package wipe

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/decom-project/decom/internal/ata"
	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/nvme"
	"github.com/decom-project/decom/internal/scsi"
	"github.com/decom-project/decom/inventory"
)

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
// techniques of the planner but TechSecureDiscard (see SecureDiscard), and returns what
// was done. It never returns without a record: Completed says whether the drive reported
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
// resumes after a power cycle). SECURITY ERASE UNIT and Format NVM run to completion once
// sent. Sanitize leaves the Host Protected Area alone: run RemoveHPA first and copy its
// results into HPABefore and HPAAfter.
func Sanitize(ctx context.Context, d Drive, tech Technique, o FirmwareOptions) FirmwareRecord {
	r := &firmwareRun{ctx: ctx, d: d, tech: tech, o: o.withDefaults()}
	r.rec = FirmwareRecord{Technique: tech, Commands: []string{}, Started: time.Now().UTC()}
	r.o.Logger.Info("firmware sanitize", "device", d.Path, "technique", string(tech))
	err := r.sanitize()
	r.restoreSenseFormat()
	r.rec.Finished = time.Now().UTC()
	r.rec.Commands = r.commands()
	if err != nil {
		r.rec.Error = fmt.Sprintf("%s: %v", tech, err)
		r.o.Logger.Warn("firmware sanitize failed", "device", d.Path, "technique", string(tech), "error", err)
		return r.rec
	}
	r.rec.Completed = true
	r.o.Logger.Info("firmware sanitize completed", "device", d.Path, "technique", string(tech))
	return r.rec
}

// firmwareRun is one firmware sanitize (or HPA removal) in progress.
type firmwareRun struct {
	ctx  context.Context
	d    Drive
	tech Technique
	o    FirmwareOptions
	rec  FirmwareRecord
	sent []sentCommand

	// controlPage is the control mode page as it was before decom switched the
	// translation layer to descriptor-format sense data; nil if it did not.
	controlPage   []byte
	senseSwitched bool // the switch was tried
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
	if el := time.Since(r.rec.Started).Seconds(); e.Done > 0 && el > 0 {
		e.Rate = float64(e.Done) / el
		e.ETA = float64(e.Size-e.Done) / e.Rate
	}
	r.o.Progress(e)
}

func (r *firmwareRun) sanitize() error {
	if err := r.ctx.Err(); err != nil {
		return fmt.Errorf("not started: %w", err)
	}
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
	case TechSecureDiscard:
		return errors.New("secure discard is not a drive command: it is run on the opened block device (SecureDiscard)")
	}
	return fmt.Errorf("%q is not a firmware technique", string(r.tech))
}

// poll reads the drive's progress every PollInterval until read reports it done, an
// error, a stall, a regression or ctx's end. read returns the progress from 0 to 1, or
// a negative value when the drive did not say.
func (r *firmwareRun) poll(read func() (progress float64, done bool, err error)) error {
	t := time.NewTicker(r.o.PollInterval)
	defer t.Stop()
	last, moved := -1.0, time.Now()
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
			return fmt.Errorf("%w: decom stopped following the sanitize at %.1f%%, but the drive goes on with it by itself; it cannot be stopped, resumes after a power cycle, and the drive refuses reads and writes until it has completed",
				r.ctx.Err(), 100*max(last, 0))
		case <-t.C:
		}
	}
}

// ATA

// ataExec sends one ATA command through ATA PASS-THROUGH and notes it in the record.
func (r *firmwareRun) ataExec(name string, c ata.Command, data []byte, dir devio.Direction, timeout time.Duration) (ata.Registers, error) {
	r.send(name)
	return ata.Exec(r.d.SCSI, c, data, dir, timeout)
}

func (r *firmwareRun) identify() (ata.Identify, error) {
	buf := make([]byte, 512)
	if _, err := r.ataExec("IDENTIFY DEVICE", ata.IdentifyDevice(), buf, devio.DirFromDevice, 0); err != nil {
		return ata.Identify{}, err
	}
	return ata.ParseIdentify(buf)
}

// securityRefusal says why the drive's security state forbids a security erase by decom,
// or "" if it allows one.
func securityRefusal(s ata.Security, mode ata.EraseMode) string {
	switch {
	case !s.Supported:
		return "the drive does not implement the ATA Security feature set"
	case s.Frozen:
		return "security is frozen: suspend/resume or power-cycle the drive (unplug and replug its power while the machine runs), then try again"
	case s.Locked:
		return "the drive is locked with a password decom does not know: unlock it and disable the password (hdparm --security-unlock, --security-disable), then try again"
	case s.CountExpired:
		return "the drive's password attempt counter has expired: power-cycle the drive, then try again"
	case s.Enabled:
		return "the drive already has a user password, which decom does not know: disable it (hdparm --security-disable), then try again"
	case mode == ata.EnhancedErase && !s.EnhancedEraseSupported:
		return "the drive does not offer the enhanced SECURITY ERASE UNIT"
	}
	return ""
}

// eraseTimeout is how long SECURITY ERASE UNIT is given: o.Timeout, else twice the
// drive's estimate (four times when the drive only says "longer than") plus half an
// hour, and never less than MinFirmwareTimeout.
func eraseTimeout(o FirmwareOptions, est ata.EraseTime) time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	factor := time.Duration(2)
	if est.Longer {
		factor = 4
	}
	return max(factor*est.Duration+30*time.Minute, MinFirmwareTimeout)
}

func (r *firmwareRun) ataSecurityErase(mode ata.EraseMode) error {
	id, err := r.identify()
	if err != nil {
		return fmt.Errorf("reading the drive's security state: %w", err)
	}
	if why := securityRefusal(id.Security, mode); why != "" {
		return errors.New(why)
	}
	est, modeName := id.Security.EraseTime, "normal"
	if mode == ata.EnhancedErase {
		est, modeName = id.Security.EnhancedEraseTime, "enhanced"
	}

	secret := make([]byte, 16)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	pw := ata.Password{Secret: []byte(hex.EncodeToString(secret))}
	c, block, err := ata.SecuritySetPassword(pw, ata.SecurityHigh)
	if err != nil {
		return err
	}
	if _, err := r.ataExec("SECURITY SET PASSWORD", c, block, devio.DirToDevice, 0); err != nil {
		if errors.Is(err, ata.ErrAborted) {
			return fmt.Errorf("the drive refused to set a password: %w", err)
		}
		// The command may have reached the drive: the password may be set.
		return r.removePassword(pw, fmt.Errorf("setting a password: %w", err))
	}

	// ERASE PREPARE must immediately precede ERASE UNIT: nothing is sent in between.
	if _, err := r.ataExec("SECURITY ERASE PREPARE", ata.SecurityErasePrepare(), nil, devio.DirNone, 0); err != nil {
		return r.removePassword(pw, fmt.Errorf("SECURITY ERASE PREPARE: %w", err))
	}
	c, block, err = ata.SecurityEraseUnit(pw, mode)
	if err != nil {
		return r.removePassword(pw, err)
	}
	timeout := eraseTimeout(r.o, est)
	r.o.Logger.Info("SECURITY ERASE UNIT sent; the drive answers when it has erased", "device", r.d.Path,
		"mode", modeName, "estimate", est.Duration, "timeout", timeout)
	r.progress(0, false)
	if _, err := r.ataExec("SECURITY ERASE UNIT ("+modeName+")", c, block, devio.DirToDevice, timeout); err != nil {
		return r.removePassword(pw, fmt.Errorf("SECURITY ERASE UNIT: %w", err))
	}

	// A successful erase leaves security disabled (ACS-3 §4.18.11): check.
	id, err = r.identify()
	if err != nil {
		return fmt.Errorf("the drive reported the erase done, but reading IDENTIFY DEVICE afterwards failed, so it is not known whether the temporary password is gone: %w", err)
	}
	if id.Security.Enabled || id.Security.Locked {
		r.o.Logger.Warn("the drive left security enabled after SECURITY ERASE UNIT; removing the temporary password", "device", r.d.Path)
		if err := r.disablePassword(pw); err != nil {
			return fmt.Errorf("the drive reported the erase done but left security enabled, and removing the temporary password failed: %w; %s",
				err, lockedHint)
		}
		if id, err = r.identify(); err != nil {
			return fmt.Errorf("the drive reported the erase done but left security enabled; after SECURITY DISABLE PASSWORD, IDENTIFY DEVICE failed: %w", err)
		}
		if id.Security.Enabled {
			return fmt.Errorf("the drive reported the erase done but keeps security enabled even after SECURITY DISABLE PASSWORD; %s", lockedHint)
		}
	}
	r.progress(1, true)
	return nil
}

// lockedHint tells the user what to do about a drive left with decom's temporary password.
const lockedHint = "the drive may keep a user password that decom does not store and lock itself at the next power-on; its master password (from the vendor) can unlock it, since decom sets the password at security level High"

func (r *firmwareRun) disablePassword(pw ata.Password) error {
	c, block, err := ata.SecurityDisablePassword(pw)
	if err != nil {
		return err
	}
	_, err = r.ataExec("SECURITY DISABLE PASSWORD", c, block, devio.DirToDevice, 0)
	return err
}

// removePassword tries to take the temporary password off the drive after cause made the
// security erase fail, and says in the error how that went.
func (r *firmwareRun) removePassword(pw ata.Password, cause error) error {
	if err := r.disablePassword(pw); err != nil {
		return fmt.Errorf("%w; removing the temporary password failed too (%v): %s", cause, err, lockedHint)
	}
	return fmt.Errorf("%w; the temporary password was removed again (SECURITY DISABLE PASSWORD)", cause)
}

// sanitizeReason explains the SANITIZE DEVICE ERROR REASON of a failed sanitize command
// (ACS-3 §7.36: LBA(7:0) of the error outputs).
func sanitizeReason(err error) string {
	var ce *ata.CommandError
	if !errors.As(err, &ce) {
		return ""
	}
	switch ce.Registers.LBA & 0xff {
	case 1:
		return "the sanitize did not complete: user data areas may not be sanitized"
	case 2:
		return "the drive does not support a value of the command"
	case 3:
		return "sanitize is frozen (SANITIZE FREEZE LOCK EXT): power-cycle the drive, then try again"
	case 4:
		return "a SANITIZE ANTIFREEZE LOCK EXT is in effect"
	}
	return ""
}

func (r *firmwareRun) ataSanitize(name string, c ata.Command, offered func(ata.Sanitize) bool) error {
	id, err := r.identify()
	if err != nil {
		return fmt.Errorf("reading the drive's capabilities: %w", err)
	}
	switch {
	case !id.Sanitize.Supported || !offered(id.Sanitize):
		return fmt.Errorf("the drive does not offer %s (IDENTIFY DEVICE word 59)", name)
	case id.Security.Locked:
		return errors.New("the drive is locked by its ATA security password: a locked drive refuses sanitize commands; unlock it first")
	}

	// The status is read before anything is started: decom must be able to follow the
	// sanitize (this also switches the sense format if need be), and none may be running.
	st, err := r.ataSanitizeStatus()
	switch {
	case errors.Is(err, ata.ErrAborted):
		// The last sanitize failed; the drive stays in that state until one succeeds,
		// and accepts a new one.
		r.o.Logger.Warn("the drive reports a failed earlier sanitize; starting a new one", "device", r.d.Path, "reason", sanitizeReason(err))
	case err != nil:
		return fmt.Errorf("reading the sanitize status: %w", err)
	case st.InProgress:
		return fmt.Errorf("a sanitize is already in progress on the drive (%.1f%%): let it finish, then try again", 100*st.Progress)
	case st.Frozen:
		return errors.New("sanitize is frozen (SANITIZE FREEZE LOCK EXT since power-on): power-cycle the drive, then try again")
	}

	if err := r.ctx.Err(); err != nil {
		return fmt.Errorf("not started: %w", err)
	}
	if _, err := r.ataExec(name, c, nil, devio.DirNone, 0); err != nil {
		if why := sanitizeReason(err); why != "" {
			return fmt.Errorf("the drive refused %s: %s: %w", name, why, err)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	r.progress(0, false)
	return r.poll(func() (float64, bool, error) {
		st, err := r.ataSanitizeStatus()
		switch {
		case errors.Is(err, ata.ErrAborted):
			why := sanitizeReason(err)
			if why == "" {
				why = "no reason given"
			}
			return 0, false, fmt.Errorf("the drive reports that the sanitize failed (%s): %w", why, err)
		case err != nil:
			return 0, false, fmt.Errorf("reading the sanitize status: %w", err)
		case st.InProgress:
			return st.Progress, false, nil
		case st.CompletedWithoutError:
			return 1, true, nil
		}
		return 0, false, errors.New("the drive reports no sanitize in progress and none completed without error")
	})
}

// errFixedSense explains registers decom needs but fixed-format sense data cannot carry.
var errFixedSense = errors.New("the SCSI/ATA translation layer returns fixed-format sense data, which cannot carry all of the ATA registers decom needs, and it could not be switched to descriptor format (with sdparm --set=D_SENSE=1, or a newer kernel, it can)")

// ataSanitizeStatus sends SANITIZE STATUS EXT. When the registers come back in
// fixed-format sense data, the translation layer is switched to descriptor format and the
// command sent again.
func (r *firmwareRun) ataSanitizeStatus() (ata.SanitizeStatus, error) {
	regs, err := r.ataExec("SANITIZE STATUS EXT", ata.SanitizeStatusExt(), nil, devio.DirNone, 0)
	if regs.Partial && !r.senseSwitched {
		if serr := r.descriptorSense(); serr != nil {
			return ata.SanitizeStatus{}, fmt.Errorf("%w: %v", errFixedSense, serr)
		}
		regs, err = r.ataExec("SANITIZE STATUS EXT", ata.SanitizeStatusExt(), nil, devio.DirNone, 0)
	}
	if err != nil {
		return ata.SanitizeStatus{}, err
	}
	if regs.Partial {
		return ata.SanitizeStatus{}, errFixedSense
	}
	return ata.ParseSanitizeStatus(regs)
}

// SCSI commands of the control mode page (SPC-4 §6.14, §6.12, §7.5.8), which
// internal/scsi does not build.
const (
	opModeSense10  = 0x5a
	opModeSelect10 = 0x55
	pageControl    = 0x0a
	bitDSense      = 0x04 // control mode page byte 2
)

// descriptorSense switches the translation layer to descriptor-format sense data by
// setting D_SENSE in the control mode page; restoreSenseFormat undoes it.
func (r *firmwareRun) descriptorSense() error {
	r.senseSwitched = true
	page, err := r.modeSenseControl()
	if err != nil {
		return err
	}
	if page[2]&bitDSense != 0 {
		return errors.New("D_SENSE is already set, yet the sense data came in fixed format")
	}
	want := append([]byte(nil), page...)
	want[2] |= bitDSense
	if err := r.modeSelectControl(want, "D_SENSE=1"); err != nil {
		return err
	}
	r.controlPage = page
	return nil
}

// restoreSenseFormat puts the control mode page back as it was, if descriptorSense
// changed it. A failure is only logged: the sanitize is done by then.
func (r *firmwareRun) restoreSenseFormat() {
	if r.controlPage == nil {
		return
	}
	if err := r.modeSelectControl(r.controlPage, "D_SENSE=0"); err != nil {
		r.o.Logger.Warn("could not switch the translation layer back to fixed-format sense data", "device", r.d.Path, "error", err)
	}
	r.controlPage = nil
}

// modeSenseControl reads the current control mode page with MODE SENSE(10).
func (r *firmwareRun) modeSenseControl() ([]byte, error) {
	buf := make([]byte, 64)
	cdb := []byte{opModeSense10, 0x08 /* DBD */, pageControl, 0, 0, 0, 0, 0, byte(len(buf)), 0}
	r.send("MODE SENSE(10) (control mode page)")
	res, err := r.d.SCSI.Exec(&devio.SCSICommand{CDB: cdb, Dir: devio.DirFromDevice, Data: buf})
	if err == nil {
		err = scsi.Check(res)
	}
	if err != nil {
		return nil, fmt.Errorf("MODE SENSE(10): %w", err)
	}
	b := buf[:len(buf)-res.Resid]
	if len(b) < 8 {
		return nil, fmt.Errorf("MODE SENSE(10): %d bytes of mode parameters", len(b))
	}
	off := 8 + int(binary.BigEndian.Uint16(b[6:8]))
	if off+12 > len(b) || b[off]&0x3f != pageControl || b[off+1] < 0x0a {
		return nil, errors.New("MODE SENSE(10): no control mode page in the answer")
	}
	return append([]byte(nil), b[off:off+12]...), nil
}

// modeSelectControl sets the control mode page with MODE SELECT(10).
func (r *firmwareRun) modeSelectControl(page []byte, what string) error {
	params := make([]byte, 8, 8+len(page))
	params = append(params, page...)
	params[8] &= 0x3f // PS is reserved in MODE SELECT
	cdb := []byte{opModeSelect10, 0x10 /* PF */, 0, 0, 0, 0, 0, 0, byte(len(params)), 0}
	r.send("MODE SELECT(10) (control mode page, " + what + ")")
	res, err := r.d.SCSI.Exec(&devio.SCSICommand{CDB: cdb, Dir: devio.DirToDevice, Data: params})
	if err == nil {
		err = scsi.Check(res)
	}
	if err != nil {
		return fmt.Errorf("MODE SELECT(10): %w", err)
	}
	return nil
}

// RemoveHPA removes the Host Protected Area of ATA drive d, so that an overwrite reaches
// every sector: IDENTIFY DEVICE and READ NATIVE MAX ADDRESS EXT read the current and
// native maximum addresses; if sectors are hidden, SET MAX ADDRESS EXT (volatile: the
// area comes back at the next power cycle) raises the maximum to the native one, and a
// second IDENTIFY DEVICE confirms it. before is the HPA as found and after as left; on
// error after is the last state known. An error means the hidden sectors could not be
// made reachable, and the caller must refuse the wipe.
//
// A drive without the HPA feature set has nothing to remove: before and after say so
// and the error is nil.
func RemoveHPA(d Drive) (before, after inventory.HPA, err error) {
	if d.SCSI == nil {
		return before, after, errors.New("remove HPA: the drive has no SCSI/ATA command interface")
	}
	r := &firmwareRun{ctx: context.Background(), d: d, o: FirmwareOptions{}.withDefaults()}
	defer r.restoreSenseFormat()

	id, err := r.identify()
	if err != nil {
		return before, after, fmt.Errorf("remove HPA: %w", err)
	}
	current := id.Sectors - 1
	if !id.HPASupported {
		h := inventory.HPA{CurrentMaxLBA: current}
		return h, h, nil
	}
	if !id.LBA48 {
		return before, after, errors.New("remove HPA: the drive lacks 48-bit addressing, and decom reads the Host Protected Area only with READ NATIVE MAX ADDRESS EXT")
	}
	native, err := r.readNativeMax()
	if err != nil {
		return before, after, fmt.Errorf("remove HPA: %w", err)
	}
	before = hpa(id, native)
	if before.HiddenSectors == 0 {
		return before, before, nil
	}
	// SET MAX ADDRESS EXT must immediately follow READ NATIVE MAX ADDRESS EXT (ACS-2).
	if _, err := r.ataExec("SET MAX ADDRESS EXT (volatile)", ata.SetMaxAddressExt(native, ata.Volatile), nil, devio.DirNone, 0); err != nil {
		return before, before, fmt.Errorf("remove HPA: the drive refused SET MAX ADDRESS EXT, so the %d sectors its Host Protected Area hides stay out of reach: %w",
			before.HiddenSectors, err)
	}
	id, err = r.identify()
	if err != nil {
		return before, before, fmt.Errorf("remove HPA: reading IDENTIFY DEVICE after SET MAX ADDRESS EXT: %w", err)
	}
	after = hpa(id, native)
	if after.HiddenSectors > 0 {
		return before, after, fmt.Errorf("remove HPA: after SET MAX ADDRESS EXT the drive still hides %d sectors (its maximum address is %d, the native one %d)",
			after.HiddenSectors, after.CurrentMaxLBA, native)
	}
	return before, after, nil
}

// hpa describes the Host Protected Area of a drive with IDENTIFY data id and native max
// address native.
func hpa(id ata.Identify, native uint64) inventory.HPA {
	h := inventory.HPA{Supported: id.HPASupported, Enabled: id.HPAEnabled, CurrentMaxLBA: id.Sectors - 1, NativeMaxLBA: native}
	if native > h.CurrentMaxLBA {
		h.HiddenSectors = native - h.CurrentMaxLBA
	}
	return h
}

// readNativeMax sends READ NATIVE MAX ADDRESS EXT. When fixed-format sense data drops
// the upper bits of the address, the translation layer is switched to descriptor format
// and the command sent again, so that it is the last command before a SET MAX ADDRESS.
func (r *firmwareRun) readNativeMax() (uint64, error) {
	regs, err := r.ataExec("READ NATIVE MAX ADDRESS EXT", ata.ReadNativeMaxAddressExt(), nil, devio.DirNone, 0)
	if err != nil {
		return 0, err
	}
	native, err := ata.MaxAddress(regs)
	if errors.Is(err, ata.ErrPartialRegisters) {
		if serr := r.descriptorSense(); serr != nil {
			return 0, fmt.Errorf("%w: %v", errFixedSense, serr)
		}
		if regs, err = r.ataExec("READ NATIVE MAX ADDRESS EXT", ata.ReadNativeMaxAddressExt(), nil, devio.DirNone, 0); err != nil {
			return 0, err
		}
		native, err = ata.MaxAddress(regs)
	}
	return native, err
}

// NVMe

func (r *firmwareRun) nvmeExec(name string, cmd *devio.NVMeAdminCommand) error {
	r.send(name)
	_, err := nvme.Exec(r.d.NVMe, cmd)
	return err
}

func (r *firmwareRun) nvmeController() (nvme.Controller, error) {
	cmd := nvme.Identify(nvme.CNSController, 0)
	if err := r.nvmeExec("Identify Controller", cmd); err != nil {
		return nvme.Controller{}, fmt.Errorf("reading the controller's capabilities: %w", err)
	}
	return nvme.ParseController(cmd.Data)
}

// nvmeOnlyNamespace refuses a command that reaches every namespace of the controller
// when the controller has others than the one to sanitize.
func (r *firmwareRun) nvmeOnlyNamespace(what string) error {
	cmd := nvme.Identify(nvme.CNSActiveNamespaces, 0)
	if err := r.nvmeExec("Identify Active Namespace List", cmd); err != nil {
		return fmt.Errorf("listing the controller's namespaces: %w", err)
	}
	ids, err := nvme.ParseNamespaceList(cmd.Data)
	if err != nil {
		return err
	}
	if len(ids) > 1 {
		return fmt.Errorf("the controller has %d namespaces, and %s erases all of them, not only namespace %d: decom erases only the drive it was asked to (delete the other namespaces first, or sanitize each with an overwrite)",
			len(ids), what, r.d.NSID)
	}
	return nil
}

// unsupported turns a controller's refusal of the command itself into an error naming
// the technique as unsupported.
func (r *firmwareRun) unsupported(err error) error {
	if errors.Is(err, nvme.ErrInvalidOpcode) || errors.Is(err, nvme.ErrInvalidField) || errors.Is(err, nvme.ErrInvalidFormat) {
		return fmt.Errorf("not supported by the controller, which refused it: %w", err)
	}
	return err
}

func (r *firmwareRun) nvmeFormat(ses nvme.SecureErase) error {
	if r.d.NSID == 0 || r.d.NSID == nvme.NSIDAll {
		return fmt.Errorf("namespace ID %#x: Format NVM is sent to one namespace", r.d.NSID)
	}
	c, err := r.nvmeController()
	if err != nil {
		return err
	}
	switch {
	case !c.FormatNVM:
		return errors.New("not supported by the controller: it has no Format NVM (OACS bit 1)")
	case ses == nvme.CryptographicErase && !c.Format.CryptoErase:
		return errors.New("not supported by the controller: its Format NVM has no cryptographic erase (FNA bit 2)")
	}
	if c.Format.AllNamespaces || c.Format.SecureEraseAllNamespaces {
		if err := r.nvmeOnlyNamespace("a secure-erase Format NVM on this controller (FNA)"); err != nil {
			return err
		}
	}

	// The format keeps the namespace as it is: its LBA format, metadata and protection
	// information settings (DPS, byte 29, which nvme.Namespace does not decode).
	cmd := nvme.Identify(nvme.CNSNamespace, r.d.NSID)
	if err := r.nvmeExec("Identify Namespace", cmd); err != nil {
		return fmt.Errorf("reading the namespace's format: %w", err)
	}
	ns, err := nvme.ParseNamespace(cmd.Data)
	if err != nil {
		return err
	}
	if ns.BlockSize == 0 {
		return fmt.Errorf("namespace %d is not active on the controller", r.d.NSID)
	}
	dps := cmd.Data[29]
	timeout := r.o.Timeout
	if timeout <= 0 {
		timeout = max(nvme.DefaultFormatTimeout, MinFirmwareTimeout)
	}
	f, err := nvme.FormatNVM(r.d.NSID, nvme.FormatOptions{
		LBAFormat:        uint8(ns.FormatIndex),
		SecureErase:      ses,
		ExtendedMetadata: ns.ExtendedLBA,
		ProtectionType:   dps & 0x07,
		ProtectionFirst:  dps&0x08 != 0,
		Timeout:          timeout,
	})
	if err != nil {
		return err
	}
	if err := r.ctx.Err(); err != nil {
		return fmt.Errorf("not started: %w", err)
	}
	name := map[nvme.SecureErase]string{nvme.UserDataErase: "Format NVM (user data erase)", nvme.CryptographicErase: "Format NVM (cryptographic erase)"}[ses]
	r.o.Logger.Info("Format NVM sent; the controller answers when it has formatted", "device", r.d.Path, "timeout", timeout)
	r.progress(0, false)
	if err := r.nvmeExec(name, f); err != nil {
		return r.unsupported(err)
	}
	r.progress(1, true)
	return nil
}

func (r *firmwareRun) nvmeSanitize(action nvme.SanitizeAction) error {
	c, err := r.nvmeController()
	if err != nil {
		return err
	}
	offered := map[nvme.SanitizeAction]bool{
		nvme.SanitizeCryptoErase: c.Sanitize.CryptoErase,
		nvme.SanitizeBlockErase:  c.Sanitize.BlockErase,
		nvme.SanitizeOverwrite:   c.Sanitize.Overwrite,
	}[action]
	if !offered {
		return fmt.Errorf("not supported by the controller (SANICAP %#x)", c.SANICAP)
	}
	if err := r.nvmeOnlyNamespace("Sanitize (which acts on the whole NVM subsystem)"); err != nil {
		return err
	}
	st, err := r.nvmeSanitizeStatus()
	switch {
	case err != nil:
		return fmt.Errorf("the controller's sanitize status cannot be read, so a sanitize could not be followed: %w", err)
	case st.State == nvme.SanitizeInProgress:
		return fmt.Errorf("a sanitize is already in progress on the controller (%.1f%%): let it finish, then try again", 100*st.Progress())
	}

	o := nvme.SanitizeOptions{Action: action}
	if action == nvme.SanitizeOverwrite {
		o.OverwritePasses = 1
	}
	cmd, err := nvme.Sanitize(o)
	if err != nil {
		return err
	}
	if err := r.ctx.Err(); err != nil {
		return fmt.Errorf("not started: %w", err)
	}
	if err := r.nvmeExec("Sanitize ("+action.String()+")", cmd); err != nil {
		return r.unsupported(err)
	}
	r.progress(0, false)
	return r.poll(func() (float64, bool, error) {
		st, err := r.nvmeSanitizeStatus()
		switch {
		case err != nil:
			return 0, false, fmt.Errorf("reading the sanitize status: %w", err)
		case st.State == nvme.SanitizeInProgress:
			return st.Progress(), false, nil
		case st.State.Succeeded() && st.CDW10&0x7 != 0 && nvme.SanitizeAction(st.CDW10&0x7) != action:
			// The log describes the most recent sanitize: not this one, which never ran.
			return 0, false, fmt.Errorf("the controller reports a completed sanitize, but of another kind (%s): the %s decom started never ran",
				nvme.SanitizeAction(st.CDW10&0x7), action)
		case st.State.Succeeded():
			return 1, true, nil
		case st.State == nvme.SanitizeFailed:
			return 0, false, errors.New("the controller reports that the sanitize failed")
		}
		return 0, false, fmt.Errorf("the controller reports no sanitize in progress and none completed (%s)", st.State)
	})
}

func (r *firmwareRun) nvmeSanitizeStatus() (nvme.SanitizeStatus, error) {
	r.send("Get Log Page (Sanitize Status)")
	return nvme.ReadSanitizeStatus(r.d.NVMe)
}

// SCSI

func (r *firmwareRun) scsiExec(name string, cmd *devio.SCSICommand) (devio.SCSIResult, error) {
	r.send(name)
	res, err := r.d.SCSI.Exec(cmd)
	if err != nil {
		return res, fmt.Errorf("%s: %w", name, err)
	}
	if err := scsi.Check(res); err != nil {
		return res, fmt.Errorf("%s: %w", name, err)
	}
	return res, nil
}

// requestSense fetches the drive's sense data, which carries a sanitize's progress.
func (r *firmwareRun) requestSense() (scsi.Sense, error) {
	buf := make([]byte, 252)
	res, err := r.scsiExec("REQUEST SENSE", &devio.SCSICommand{CDB: scsi.RequestSense(252), Dir: devio.DirFromDevice, Data: buf})
	if err != nil {
		return scsi.Sense{}, err
	}
	b := buf[:len(buf)-res.Resid]
	if len(b) == 0 {
		return scsi.Sense{ResponseCode: 0x70, Key: scsi.NoSense}, nil
	}
	s, err := scsi.ParseSense(b)
	if err != nil {
		return scsi.Sense{}, fmt.Errorf("REQUEST SENSE: %w", err)
	}
	return s, nil
}

func sanitizeInProgress(s scsi.Sense) bool {
	return s.Key == scsi.NotReady && s.ASC == 0x04 && s.ASCQ == 0x1b
}

func (r *firmwareRun) scsiSanitize(sa scsi.SanitizeAction) error {
	name := map[scsi.SanitizeAction]string{
		scsi.SanitizeOverwrite:   "SANITIZE (OVERWRITE, IMMED)",
		scsi.SanitizeBlockErase:  "SANITIZE (BLOCK ERASE, IMMED)",
		scsi.SanitizeCryptoErase: "SANITIZE (CRYPTOGRAPHIC ERASE, IMMED)",
	}[sa]
	buf := make([]byte, 64)
	res, err := r.scsiExec("REPORT SUPPORTED OPERATION CODES (SANITIZE)", &devio.SCSICommand{
		CDB: scsi.ReportServiceAction(scsi.OpSanitize, uint16(sa), uint32(len(buf))), Dir: devio.DirFromDevice, Data: buf})
	switch {
	case errors.Is(err, devio.ErrUnsupported):
		// Not every drive reports its commands; SANITIZE itself will tell.
		r.o.Logger.Info("the drive does not report its supported commands", "device", r.d.Path)
	case err != nil:
		return err
	default:
		cs, err := scsi.ParseOneCommand(buf[:len(buf)-res.Resid])
		if err != nil {
			return fmt.Errorf("REPORT SUPPORTED OPERATION CODES: %w", err)
		}
		if !cs.Supported() {
			return errors.New("not supported by the drive (REPORT SUPPORTED OPERATION CODES)")
		}
	}
	s, err := r.requestSense()
	if err != nil {
		return err
	}
	if sanitizeInProgress(s) {
		p, _ := s.Progress()
		return fmt.Errorf("a sanitize is already in progress on the drive (%.1f%%): let it finish, then try again", 100*p)
	}

	cmd := &devio.SCSICommand{Dir: devio.DirNone}
	if sa == scsi.SanitizeOverwrite {
		cmd.CDB, cmd.Data, err = scsi.SanitizeOverwriteCDB(scsi.Overwrite{Passes: 1, Pattern: []byte{0}}, scsi.SanitizeImmed)
		cmd.Dir = devio.DirToDevice
	} else {
		cmd.CDB, err = scsi.Sanitize(sa, scsi.SanitizeImmed)
	}
	if err != nil {
		return err
	}
	if err := r.ctx.Err(); err != nil {
		return fmt.Errorf("not started: %w", err)
	}
	if _, err := r.scsiExec(name, cmd); err != nil {
		if errors.Is(err, devio.ErrUnsupported) {
			return fmt.Errorf("not supported by the drive, which refused it: %w", err)
		}
		return err
	}
	r.progress(0, false)
	return r.poll(func() (float64, bool, error) {
		s, err := r.requestSense()
		switch {
		case err != nil:
			return 0, false, err
		case sanitizeInProgress(s):
			if p, ok := s.Progress(); ok {
				return p, false, nil
			}
			return -1, false, nil
		case s.Key == scsi.MediumError && s.ASC == 0x31 && s.ASCQ == 0x03:
			return 0, false, errors.New("the drive reports that the sanitize failed (SANITIZE COMMAND FAILED)")
		case s.Key == scsi.NoSense && !s.Deferred():
			return 1, true, nil
		}
		return 0, false, fmt.Errorf("unexpected answer to REQUEST SENSE while sanitizing: %s", s)
	})
}
