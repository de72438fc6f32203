package ata

import (
	"errors"
	"fmt"
	"time"

	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/scsi"
)

var (
	// ErrAborted matches a *CommandError whose ERROR register has ABORT set: the device
	// refused the command (not supported, invalid parameters, wrong security or sanitize
	// state, wrong password).
	ErrAborted = errors.New("ata: command aborted by the device")

	// ErrNoRegisters is returned when a command sent with CheckCondition completed but its
	// output registers did not come back; some SCSI-ATA translation layers ignore CK_COND.
	ErrNoRegisters = errors.New("ata: the translation layer did not return the ATA registers")
)

// CommandError is an ATA command that the device completed with ERR or DEVICE FAULT set in
// the STATUS register. Registers holds all the outputs; for sanitize commands LBA(7:0) is the
// SANITIZE DEVICE ERROR REASON.
type CommandError struct {
	Command   uint8
	Features  uint16
	Registers Registers
	// Translated: the registers did not come back; the translation layer's sense data
	// (ABORTED COMMAND) said the drive aborted the command, and Registers says no more.
	Translated bool
}

func (e *CommandError) Error() string {
	what := "failed"
	switch {
	case e.Registers.Status&statusDF != 0:
		what = "failed with a device fault"
	case e.Registers.Error&errorABRT != 0:
		what = "aborted by the device"
	}
	if e.Translated {
		return fmt.Sprintf("ata: %s %s (ABORTED COMMAND from the translation layer, no registers)", commandName(e.Command, e.Features), what)
	}
	return fmt.Sprintf("ata: %s %s (status %#02x, error %#02x)", commandName(e.Command, e.Features), what, e.Registers.Status, e.Registers.Error)
}

// Is reports whether target is ErrAborted and the ERROR register has ABORT set.
func (e *CommandError) Is(target error) bool {
	return target == ErrAborted && e.Registers.Status&statusERR != 0 && e.Registers.Error&errorABRT != 0
}

// Exec runs c over d inside an ATA PASS-THROUGH(16) and returns the ATA output registers.
// data is the buffer the command reads into (dir devio.DirFromDevice) or sends (dir
// devio.DirToDevice); its length must be 512 × c.Count. timeout zero means
// devio.DefaultTimeout.
//
// The registers come from the sense data, in either format (see scsi.Sense.ATARegisters), and
// are only present when c.CheckCondition is set or the command failed; otherwise Exec returns
// zero Registers on success. Errors:
//   - the device reported ERR or DEVICE FAULT: a *CommandError (errors.Is(err, ErrAborted)
//     when ABORT is set);
//   - ILLEGAL REQUEST with INVALID COMMAND OPERATION CODE or INVALID FIELD IN CDB and no ATA
//     error: the pass-through itself is not available on this path; the error wraps a
//     *scsi.StatusError and matches devio.ErrUnsupported;
//   - any other CHECK CONDITION or SCSI status: a wrapped *scsi.StatusError;
//   - c.CheckCondition set but no registers returned: ErrNoRegisters;
//   - a transport failure from d: wrapped as is.
func Exec(d devio.SCSI, c Command, data []byte, dir devio.Direction, timeout time.Duration) (Registers, error) {
	name := commandName(c.Command, c.Features)
	cdb, err := c.CDB(dir)
	if err != nil {
		return Registers{}, err
	}
	if want := 512 * int(c.Count); c.Protocol != NonData && len(data) != want {
		return Registers{}, fmt.Errorf("ata: %s: %d-byte buffer for a %d-block transfer", name, len(data), c.Count)
	}
	if c.Protocol == NonData && len(data) != 0 {
		return Registers{}, fmt.Errorf("ata: %s: data buffer for a non-data command", name)
	}

	res, err := d.Exec(&devio.SCSICommand{CDB: cdb, Dir: dir, Data: data, Timeout: timeout})
	if err != nil {
		return Registers{}, fmt.Errorf("ata: %s: %w", name, err)
	}
	if res.Status != devio.StatusGood && res.Status != devio.StatusCheckCondition {
		return Registers{}, fmt.Errorf("ata: %s: %w", name, &scsi.StatusError{Status: res.Status})
	}

	var (
		sense     scsi.Sense
		haveSense bool
		regs      Registers
		haveRegs  bool
	)
	if len(res.Sense) > 0 {
		if s, err := scsi.ParseSense(res.Sense); err == nil {
			sense, haveSense = s, true
		}
	}
	if res.Status == devio.StatusCheckCondition && !haveSense {
		return Registers{}, fmt.Errorf("ata: %s: %w", name, &scsi.StatusError{Status: res.Status})
	}
	if haveSense && !sense.Deferred() {
		regs, haveRegs = sense.ATARegisters()
	}

	// The device's own verdict comes first: a failed ATA command is a CommandError whatever
	// sense key the translation layer chose for it.
	if haveRegs && regs.Status&(statusERR|statusDF) != 0 {
		return regs, &CommandError{Command: c.Command, Features: c.Features, Registers: regs}
	}
	if haveSense && !haveRegs && !sense.Deferred() && sense.Key == scsi.AbortedCommand && sense.ASC == 0 && sense.ASCQ == 0 {
		// libata translates the drive's ABRT into ABORTED COMMAND, 00h/00h; when its error
		// handler made that sense data itself, the ATA registers are left out. (Seen from
		// QEMU's AHCI disk under Linux 6.1, for SANITIZE STATUS EXT.)
		return Registers{}, &CommandError{Command: c.Command, Features: c.Features, Translated: true,
			Registers: Registers{Status: statusERR, Error: errorABRT}}
	}
	if res.Status == devio.StatusCheckCondition && sense.Unsupported() {
		return Registers{}, fmt.Errorf("ata: %s: ATA PASS-THROUGH rejected: %w", name,
			&scsi.StatusError{Status: res.Status, Sense: sense, HasSense: true})
	}
	if res.Status == devio.StatusCheckCondition {
		// With CK_COND a successful command ends in CHECK CONDITION with RECOVERED ERROR
		// (SAT-3) or, from older translation layers, NO SENSE.
		ok := haveRegs && !sense.Deferred() && (sense.Key == scsi.RecoveredError || sense.Key == scsi.NoSense)
		if !ok {
			return Registers{}, fmt.Errorf("ata: %s: %w", name,
				&scsi.StatusError{Status: res.Status, Sense: sense, HasSense: true})
		}
	}
	if c.CheckCondition && !haveRegs {
		return Registers{}, fmt.Errorf("ata: %s: %w", name, ErrNoRegisters)
	}
	if c.Protocol != NonData && res.Resid != 0 {
		return regs, fmt.Errorf("ata: %s: short transfer: %d of %d bytes", name, len(data)-res.Resid, len(data))
	}
	return regs, nil
}

// commandName names a command for error messages.
func commandName(cmd uint8, features uint16) string {
	switch cmd {
	case cmdIdentifyDevice:
		return "IDENTIFY DEVICE"
	case cmdReadNativeMaxAddressExt:
		return "READ NATIVE MAX ADDRESS EXT"
	case cmdSetMaxAddressExt:
		return "SET MAX ADDRESS EXT"
	case cmdAccessibleMaxAddress:
		switch features {
		case featGetNativeMaxAddress:
			return "GET NATIVE MAX ADDRESS EXT"
		case featSetAccessibleMaxAddress:
			return "SET ACCESSIBLE MAX ADDRESS EXT"
		}
		return fmt.Sprintf("ACCESSIBLE MAX ADDRESS CONFIGURATION (feature %#04x)", features)
	case cmdDeviceConfiguration:
		if features == featDCOIdentify {
			return "DEVICE CONFIGURATION IDENTIFY"
		}
		return fmt.Sprintf("DEVICE CONFIGURATION OVERLAY (feature %#02x)", features)
	case cmdSanitizeDevice:
		switch features {
		case featSanitizeStatus:
			return "SANITIZE STATUS EXT"
		case featCryptoScramble:
			return "CRYPTO SCRAMBLE EXT"
		case featBlockErase:
			return "BLOCK ERASE EXT"
		case featOverwrite:
			return "OVERWRITE EXT"
		case featSanitizeFreezeLock:
			return "SANITIZE FREEZE LOCK EXT"
		case featSanitizeAntifreeze:
			return "SANITIZE ANTIFREEZE LOCK EXT"
		}
		return fmt.Sprintf("SANITIZE DEVICE (feature %#04x)", features)
	case cmdSMART:
		switch features {
		case featSMARTReadData:
			return "SMART READ DATA"
		case featSMARTReadThresholds:
			return "SMART READ THRESHOLDS"
		case featSMARTReturnStatus:
			return "SMART RETURN STATUS"
		}
		return fmt.Sprintf("SMART (feature %#02x)", features)
	case cmdSecuritySetPassword:
		return "SECURITY SET PASSWORD"
	case cmdSecurityUnlock:
		return "SECURITY UNLOCK"
	case cmdSecurityErasePrepare:
		return "SECURITY ERASE PREPARE"
	case cmdSecurityEraseUnit:
		return "SECURITY ERASE UNIT"
	case cmdSecurityDisablePassword:
		return "SECURITY DISABLE PASSWORD"
	}
	return fmt.Sprintf("command %#02x", cmd)
}
