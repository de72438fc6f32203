package wipe

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/decom-project/decom/internal/ata"
	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/scsi"
)

// ATA security erase and ATA sanitize, sent through ATA PASS-THROUGH; and switching a
// SCSI/ATA translation layer to descriptor-format sense data, without which neither a
// sanitize's status nor the native max address (firmware_hpa.go) can be read.

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
	return r.poll(r.ataSanitizeProgress)
}

// ataSanitizeProgress reads the progress of a running ATA sanitize for poll: Sanitize
// and ResumeSanitize follow it alike.
func (r *firmwareRun) ataSanitizeProgress() (float64, bool, error) {
	st, err := r.ataSanitizeStatus()
	switch {
	case errors.Is(err, ata.ErrAborted):
		return 0, false, ataSanitizeFailed(err)
	case err != nil:
		return 0, false, fmt.Errorf("reading the sanitize status: %w", err)
	case st.InProgress:
		return st.Progress, false, nil
	case st.CompletedWithoutError:
		return 1, true, nil
	}
	return 0, false, errors.New("the drive reports no sanitize in progress and none completed without error")
}

// ataSanitizeFailed is the error of a SANITIZE STATUS EXT that the drive aborted: its
// last sanitize failed, for the reason in the error outputs.
func ataSanitizeFailed(err error) error {
	why := sanitizeReason(err)
	if why == "" {
		why = "no reason given"
	}
	return fmt.Errorf("the drive reports that the sanitize failed (%s): %w", why, err)
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
