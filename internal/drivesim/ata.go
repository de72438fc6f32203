package drivesim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/scsi"
)

// ATAConfig describes a simulated ATA drive. The zero value of each field is the plain
// choice: no feature, no fault.
type ATAConfig struct {
	// Media holds the drive's sectors; Size is its native capacity in bytes, a multiple
	// of 512.
	Media Media
	Size  int64

	Model, Serial, Firmware string
	// RotationRate is IDENTIFY word 217: 1 for solid state, else revolutions per
	// minute; 0 means not reported.
	RotationRate uint16

	// Security: the drive implements the Security feature set. EnhancedErase: its
	// SECURITY ERASE UNIT has an enhanced mode. EraseMinutes and EnhancedEraseMinutes
	// are its time estimates (IDENTIFY words 89 and 90; 0: none given).
	Security                           bool
	EnhancedErase                      bool
	EraseMinutes, EnhancedEraseMinutes int
	// UserPassword, when not nil, is a user password set before power-on: security is
	// enabled. Locked makes the drive power up locked, as a drive with a user password
	// does. MaximumLevel sets the Master Password Capability to Maximum.
	UserPassword []byte
	Locked       bool
	MaximumLevel bool
	// MasterPassword is the factory master password; nil means "drivesim-master".
	MasterPassword []byte
	// Frozen: security is frozen at power-on, as many BIOSes leave it.
	Frozen bool
	// ErasePattern is what an enhanced SECURITY ERASE UNIT writes, repeated from the
	// start of each sector; nil means zeros. A normal erase writes zeros.
	ErasePattern []byte

	// Sanitize lists the Sanitize Device operations the drive supports; none means the
	// drive lacks the feature set. Step is how far a sanitize gets per SANITIZE STATUS
	// EXT (default 0.25).
	Sanitize Modes
	Step     float64

	// HPA: the drive implements the Host Protected Area feature set, and HiddenSectors
	// of its native capacity are hidden at power-on.
	HPA           bool
	HiddenSectors uint64

	// Sense is the format of the sense data the translation layer returns at power-on
	// (the control mode page's D_SENSE bit); MODE SELECT may change it unless
	// LockSenseFormat is set.
	Sense           SenseFormat
	LockSenseFormat bool

	// Faults of a sanitize.
	Faults Faults
	// Abort lists ATA command codes the drive aborts whatever its state (0xF4 SECURITY
	// ERASE UNIT, 0x37 SET MAX ADDRESS EXT, ...).
	Abort []uint8
	// KeepSecurityEnabled: a successful SECURITY ERASE UNIT leaves security enabled,
	// with the user password still set (a drive that forgets to disable it).
	KeepSecurityEnabled bool
	// IgnoreSetMax: SET MAX ADDRESS EXT reports success and changes nothing.
	IgnoreSetMax bool
	// IgnoreCKCond: the translation layer never returns the registers of a command
	// that succeeded, as some USB bridges do.
	IgnoreCKCond bool
}

// ATA is a simulated ATA drive behind a SCSI/ATA translation layer. It implements
// devio.SCSI: ATA PASS-THROUGH(16), INQUIRY, MODE SENSE(10) and MODE SELECT(10) of the
// control mode page, and TEST UNIT READY.
//
// The ATA commands are IDENTIFY DEVICE; the Security feature set (SECURITY SET PASSWORD,
// UNLOCK, ERASE PREPARE, ERASE UNIT, FREEZE LOCK, DISABLE PASSWORD) with the states of
// ACS-3 §4.18; the Sanitize Device feature set (CRYPTO SCRAMBLE EXT, BLOCK ERASE EXT,
// OVERWRITE EXT, SANITIZE STATUS EXT, FREEZE LOCK and ANTIFREEZE LOCK) running in
// simulated time; READ NATIVE MAX ADDRESS EXT and SET MAX ADDRESS EXT. Every other ATA
// command is aborted.
//
// Where the standard leaves a choice the simulator takes the strict one: SECURITY ERASE
// UNIT is aborted while security is disabled (many drives do so), and the 32-bit pattern
// of OVERWRITE EXT is written little-endian.
type ATA struct {
	mu    sync.Mutex
	cfg   ATAConfig
	media *medium
	log   log

	// Security feature set.
	user     *[32]byte // nil: no user password, security disabled
	master   [32]byte
	maximum  bool
	locked   bool
	frozen   bool
	attempts int  // password attempts left; 0 is count expired
	prepared bool // the previous command was a successful SECURITY ERASE PREPARE

	// Sanitize Device feature set.
	op          *operation
	failed      bool // sanitize operation failed state (SD4)
	failureMode bool // the failed operation allowed CLEAR SANITIZE OPERATION FAILED
	completedOK bool
	sanFrozen   bool
	antifreeze  bool

	// Host Protected Area, in sectors.
	native, current, persistent uint64
	nativeRead                  bool // the previous command was READ NATIVE MAX ADDRESS EXT

	dsense bool
}

const passwordAttempts = 5

// NewATA returns a simulated ATA drive, powered on.
func NewATA(cfg ATAConfig) (*ATA, error) {
	m, err := newMedium(cfg.Media, cfg.Size, 512)
	if err != nil {
		return nil, err
	}
	native := uint64(cfg.Size / 512)
	if cfg.HiddenSectors >= native {
		return nil, fmt.Errorf("drivesim: %d hidden sectors on a drive of %d", cfg.HiddenSectors, native)
	}
	if cfg.Locked && cfg.UserPassword == nil {
		return nil, errors.New("drivesim: a locked drive needs a user password")
	}
	a := &ATA{cfg: cfg, media: m, native: native}
	a.persistent = native - cfg.HiddenSectors
	if cfg.UserPassword != nil {
		p := paddedPassword(cfg.UserPassword)
		a.user = &p
	}
	a.maximum = cfg.MaximumLevel
	master := cfg.MasterPassword
	if master == nil {
		master = []byte("drivesim-master")
	}
	a.master = paddedPassword(master)
	a.powerOn()
	a.locked = cfg.Locked
	a.frozen = cfg.Frozen
	return a, nil
}

// powerOn is what a power cycle resets.
func (a *ATA) powerOn() {
	a.locked = a.user != nil
	a.frozen = false
	a.attempts = passwordAttempts
	a.prepared = false
	a.nativeRead = false
	a.current = a.persistent
	a.sanFrozen = false
	a.antifreeze = false
	a.dsense = a.cfg.Sense == DescriptorSense
}

// PowerCycle simulates removing and restoring power: security is locked if a user
// password is set and no longer frozen, the password attempt counter is reset, a
// volatile SET MAX ADDRESS is forgotten, the sense format is back to its power-on one. A
// sanitize in progress goes on (ACS-3: it resumes after a power cycle).
func (a *ATA) PowerCycle() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.powerOn()
}

// Freeze freezes security, as a BIOS does with SECURITY FREEZE LOCK.
func (a *ATA) Freeze() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.frozen = true
}

// SetFaults replaces the faults of the sanitizes started from now on.
func (a *ATA) SetFaults(f Faults) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.cfg.Faults = f
}

// Log returns the commands received so far.
func (a *ATA) Log() []Entry {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.log.entries)
}

// Commands returns the names of the commands received so far.
func (a *ATA) Commands() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.log.commands()
}

// ATAState is a simulated ATA drive's state, for tests to check.
type ATAState struct {
	SecurityEnabled, Locked, Frozen, CountExpired bool
	// PasswordAttempts is what is left of the password attempt counter.
	PasswordAttempts int
	// Sanitize state: one of them at most is set; Progress is meaningful in progress.
	SanitizeInProgress, SanitizeFailed, SanitizeCompleted bool
	SanitizeProgress                                      float64
	// CurrentMaxLBA and NativeMaxLBA are the last accessible and the last native sector.
	CurrentMaxLBA, NativeMaxLBA uint64
	// DescriptorSense is the D_SENSE bit of the translation layer.
	DescriptorSense bool
}

// State returns the drive's state.
func (a *ATA) State() ATAState {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := ATAState{
		SecurityEnabled:   a.user != nil,
		Locked:            a.locked,
		Frozen:            a.frozen,
		CountExpired:      a.attempts == 0,
		PasswordAttempts:  a.attempts,
		SanitizeFailed:    a.failed,
		SanitizeCompleted: a.completedOK,
		CurrentMaxLBA:     a.current - 1,
		NativeMaxLBA:      a.native - 1,
		DescriptorSense:   a.dsense,
	}
	if a.op != nil && a.op.state == opRunning {
		s.SanitizeInProgress = true
		s.SanitizeProgress = float64(a.op.progress) / full
	}
	return s
}

// Exec runs one SCSI command: see ATA.
func (a *ATA) Exec(cmd *devio.SCSICommand) (devio.SCSIResult, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(cmd.CDB) == 0 {
		return devio.SCSIResult{}, errors.New("drivesim: empty CDB")
	}
	f := a.format()
	var (
		r    devio.SCSIResult
		name string
	)
	switch op := cmd.CDB[0]; op {
	case scsi.OpATAPassThrough16:
		return a.passThrough(cmd)
	case scsi.OpInquiry:
		name = "INQUIRY"
		r = inquiry(cmd, a.inquiryData(), a.vpdPages(), f)
	case opModeSense10, opModeSelect10:
		name = map[byte]string{opModeSense10: "MODE SENSE(10)", opModeSelect10: "MODE SELECT(10)"}[op]
		r, _ = modeControlPage(cmd, &a.dsense, a.cfg.LockSenseFormat, f)
	case scsi.OpTestUnitReady:
		name = "TEST UNIT READY"
		r = devio.SCSIResult{Status: devio.StatusGood}
	default:
		name = fmt.Sprintf("operation code %#02x", op)
		r = checkCondition(senseInvalidOpcode, f)
	}
	a.log.add(name, result(r), cmd.Timeout)
	return r, nil
}

func (a *ATA) format() SenseFormat {
	if a.dsense {
		return DescriptorSense
	}
	return FixedSense
}

// ATA command codes and features (ACS-3, ACS-2).
const (
	ataReadNativeMaxExt   = 0x27
	ataSetMaxExt          = 0x37
	ataSanitize           = 0xB4
	ataIdentify           = 0xEC
	ataSetPassword        = 0xF1
	ataUnlock             = 0xF2
	ataErasePrepare       = 0xF3
	ataEraseUnit          = 0xF4
	ataFreezeLock         = 0xF5
	ataDisablePassword    = 0xF6
	sanStatus             = 0x0000
	sanCryptoScramble     = 0x0011
	sanBlockErase         = 0x0012
	sanOverwrite          = 0x0014
	sanFreezeLock         = 0x0020
	sanAntifreeze         = 0x0040
	ataStatusOK           = 0x50 // DRDY, DSC
	ataStatusErr          = 0x51 // DRDY, DSC, ERR
	ataErrorAbort         = 0x04
	ataErrorIDNF          = 0x10
	sanReasonUnsuccessful = 1
	sanReasonFrozen       = 3
	sanReasonAntifreeze   = 4
)

// ataCommand is a decoded ATA PASS-THROUGH(16) CDB.
type ataCommand struct {
	command  uint8
	features uint16
	count    uint16
	lba      uint64
	device   uint8
	protocol uint8
	ext      bool
	ckCond   bool
}

// decodePassThrough decodes an ATA PASS-THROUGH(16) CDB (SAT-3 §12.2.2.1) and checks that
// its transfer agrees with the command's buffer.
func decodePassThrough(cmd *devio.SCSICommand) (ataCommand, error) {
	cdb := cmd.CDB
	if len(cdb) != 16 {
		return ataCommand{}, fmt.Errorf("CDB of %d bytes", len(cdb))
	}
	c := ataCommand{
		protocol: cdb[1] >> 1 & 0x0f,
		ext:      cdb[1]&0x01 != 0,
		ckCond:   cdb[2]&0x20 != 0,
		device:   cdb[13],
		command:  cdb[14],
	}
	if c.ext {
		c.features = uint16(cdb[3])<<8 | uint16(cdb[4])
		c.count = uint16(cdb[5])<<8 | uint16(cdb[6])
		c.lba = uint64(cdb[8]) | uint64(cdb[10])<<8 | uint64(cdb[12])<<16 |
			uint64(cdb[7])<<24 | uint64(cdb[9])<<32 | uint64(cdb[11])<<40
	} else {
		c.features = uint16(cdb[4])
		c.count = uint16(cdb[6])
		c.lba = uint64(cdb[8]) | uint64(cdb[10])<<8 | uint64(cdb[12])<<16 | uint64(c.device&0x0f)<<24
	}
	tdirIn := cdb[2]&0x08 != 0
	tlength := cdb[2] & 0x03
	switch c.protocol {
	case 3: // non-data
		if cmd.Dir != devio.DirNone || tlength != 0 {
			return c, errors.New("non-data protocol with a data transfer")
		}
	case 4, 5: // PIO data-in, data-out
		in := c.protocol == 4
		want := devio.DirToDevice
		if in {
			want = devio.DirFromDevice
		}
		if cmd.Dir != want || tdirIn != in || tlength != 2 || cdb[2]&0x04 == 0 {
			return c, errors.New("transfer direction or length fields disagree with the protocol")
		}
		if len(cmd.Data) != 512*int(c.count) {
			return c, fmt.Errorf("%d-byte buffer for %d blocks", len(cmd.Data), c.count)
		}
	default:
		return c, fmt.Errorf("protocol %d not simulated", c.protocol)
	}
	return c, nil
}

// ataOutput are the output registers of an ATA command.
type ataOutput struct {
	status, error byte
	count         uint16
	lba           uint64
}

func okOutput() ataOutput    { return ataOutput{status: ataStatusOK} }
func abortOutput() ataOutput { return ataOutput{status: ataStatusErr, error: ataErrorAbort} }

func (a *ATA) passThrough(cmd *devio.SCSICommand) (devio.SCSIResult, error) {
	f := a.format()
	c, err := decodePassThrough(cmd)
	name := ataName(c.command, c.features)
	if err != nil {
		r := checkCondition(senseInvalidField, f)
		a.log.add(name, "invalid ATA PASS-THROUGH: "+err.Error(), cmd.Timeout)
		return r, nil
	}
	out := a.run(c, cmd.Data)
	regs := scsi.ATARegisters{
		Error: out.error, Status: out.status, Device: c.device,
		Count: out.count, LBA: out.lba, Extend: c.ext,
	}
	res := "ok"
	var r devio.SCSIResult
	switch {
	case out.status&0x01 != 0:
		// libata: ABORT maps to ABORTED COMMAND with no additional sense code.
		r = checkCondition(sense{key: scsi.AbortedCommand, ata: regs, hasATA: true}, f)
		res = "aborted"
		if out.error&ataErrorIDNF != 0 {
			res = "id not found"
		}
	case c.ckCond && !a.cfg.IgnoreCKCond:
		r = checkCondition(sense{key: scsi.RecoveredError, asc: 0x00, ascq: 0x1d, ata: regs, hasATA: true}, f)
	default:
		r = devio.SCSIResult{Status: devio.StatusGood}
	}
	a.log.add(name, res, cmd.Timeout)
	return r, nil
}

// run executes an ATA command against the drive's state.
func (a *ATA) run(c ataCommand, data []byte) ataOutput {
	prepared, nativeRead := a.prepared, a.nativeRead
	a.prepared, a.nativeRead = false, false
	if slices.Contains(a.cfg.Abort, c.command) {
		return abortOutput()
	}
	status := c.command == ataSanitize && c.features == sanStatus
	switch {
	case a.op != nil && a.op.state == opRunning:
		// ACS-3 §7.36: while a sanitize runs only IDENTIFY and SANITIZE STATUS EXT (of
		// the commands simulated) are processed.
		if c.command != ataIdentify && !status {
			return abortOutput()
		}
	case a.failed:
		// Sanitize Operation Failed: sanitize commands and IDENTIFY only.
		if c.command != ataIdentify && c.command != ataSanitize {
			return abortOutput()
		}
	}
	switch c.command {
	case ataIdentify:
		copy(data, a.identify())
		return okOutput()
	case ataSanitize:
		return a.sanitize(c)
	case ataReadNativeMaxExt:
		if !a.cfg.HPA || !c.ext {
			return abortOutput()
		}
		a.nativeRead = true
		return ataOutput{status: ataStatusOK, lba: a.native - 1}
	case ataSetMaxExt:
		switch {
		case !a.cfg.HPA || !c.ext || !nativeRead:
			return abortOutput()
		case c.lba >= a.native:
			return ataOutput{status: ataStatusErr, error: ataErrorIDNF}
		}
		if !a.cfg.IgnoreSetMax {
			a.current = c.lba + 1
			if c.count&0x01 != 0 {
				a.persistent = a.current
			}
		}
		return okOutput()
	case ataSetPassword, ataUnlock, ataErasePrepare, ataEraseUnit, ataFreezeLock, ataDisablePassword:
		out := a.security(c, data, prepared)
		if c.command == ataErasePrepare && out.status == ataStatusOK {
			a.prepared = true
		}
		return out
	}
	return abortOutput()
}

// security runs the Security feature set commands (ACS-3 §4.18, Table 19).
func (a *ATA) security(c ataCommand, data []byte, prepared bool) ataOutput {
	if !a.cfg.Security {
		return abortOutput()
	}
	if c.command == ataFreezeLock {
		if a.locked {
			return abortOutput()
		}
		a.frozen = true
		return okOutput()
	}
	if a.frozen {
		// SEC2 and SEC6: every security command but FREEZE LOCK is aborted.
		return abortOutput()
	}
	if c.command == ataErasePrepare {
		return okOutput()
	}
	control := binary.LittleEndian.Uint16(data[0:2])
	master := control&0x0001 != 0
	pw := paddedPassword(data[2:34])
	matches := func() bool {
		if master {
			return pw == a.master
		}
		return a.user != nil && pw == *a.user
	}
	switch c.command {
	case ataSetPassword:
		if a.locked {
			return abortOutput()
		}
		if master {
			a.master = pw
			return okOutput()
		}
		a.user = &pw
		a.maximum = control&0x0100 != 0
		return okOutput()
	case ataUnlock:
		switch {
		case a.attempts == 0, a.user == nil, master && a.maximum:
			return abortOutput()
		case !matches():
			a.attempts--
			return abortOutput()
		}
		a.locked = false
		return okOutput()
	case ataEraseUnit:
		enhanced := control&0x0002 != 0
		switch {
		case !prepared, a.attempts == 0, a.user == nil, enhanced && !a.cfg.EnhancedErase:
			return abortOutput()
		case !matches():
			a.attempts--
			return abortOutput()
		}
		f := fill{kind: fillZeros}
		if enhanced && a.cfg.ErasePattern != nil {
			f = fill{kind: fillPattern, pattern: a.cfg.ErasePattern}
		}
		if err := a.media.fill(0, a.media.size, f); err != nil {
			return ataOutput{status: ataStatusErr | 0x20} // DEVICE FAULT
		}
		a.locked = false
		if !a.cfg.KeepSecurityEnabled {
			a.user = nil
			a.maximum = false
		}
		return okOutput()
	case ataDisablePassword:
		if a.locked || a.user == nil || (master && a.maximum) || !matches() {
			return abortOutput()
		}
		a.user = nil
		a.maximum = false
		return okOutput()
	}
	return abortOutput()
}

// sanitize runs the Sanitize Device feature set commands (ACS-3 §7.36).
func (a *ATA) sanitize(c ataCommand) ataOutput {
	m := a.cfg.Sanitize
	if !m.CryptoErase && !m.BlockErase && !m.Overwrite {
		return abortOutput()
	}
	if !c.ext {
		return abortOutput()
	}
	switch c.features {
	case sanStatus:
		return a.sanitizeStatus(c)
	case sanFreezeLock:
		switch {
		case uint32(c.lba) != 0x4672_4C6B:
			return abortOutput()
		case a.antifreeze:
			return ataOutput{status: ataStatusErr, error: ataErrorAbort, lba: sanReasonAntifreeze}
		}
		a.sanFrozen = true
		return okOutput()
	case sanAntifreeze:
		if uint32(c.lba) != 0x416E_7469 {
			return abortOutput()
		}
		a.antifreeze = true
		return okOutput()
	}

	var f fill
	switch {
	case c.features == sanCryptoScramble && m.CryptoErase && uint32(c.lba) == 0x4372_7970:
		f = fill{kind: fillRandom}
	case c.features == sanBlockErase && m.BlockErase && uint32(c.lba) == 0x426B_4572:
		f = fill{kind: fillZeros}
	case c.features == sanOverwrite && m.Overwrite && c.lba>>32 == 0x4F57:
		passes := int(c.count & 0x0f)
		if passes == 0 {
			passes = 16
		}
		var p [4]byte
		binary.LittleEndian.PutUint32(p[:], uint32(c.lba))
		f = fill{kind: fillPattern, pattern: overwritePattern(p[:], passes, c.count&0x80 != 0)}
	default:
		return abortOutput()
	}
	switch {
	case a.locked:
		return abortOutput()
	case a.sanFrozen:
		return ataOutput{status: ataStatusErr, error: ataErrorAbort, lba: sanReasonFrozen}
	}
	a.op = newOperation(f, a.cfg.Step, a.cfg.Faults)
	a.failed = false
	a.failureMode = c.count&0x10 != 0
	a.completedOK = false
	return okOutput()
}

// sanitizeStatus answers SANITIZE STATUS EXT; each one advances a running sanitize by a
// step of simulated time first.
func (a *ATA) sanitizeStatus(c ataCommand) ataOutput {
	if a.op != nil && a.op.state == opRunning {
		if err := a.op.tick(a.media); err != nil {
			return ataOutput{status: ataStatusErr | 0x20}
		}
		switch a.op.state {
		case opDone:
			a.completedOK = true
		case opFailed:
			a.failed = true
		}
	}
	out := ataOutput{status: ataStatusOK, lba: 0xFFFF}
	if a.completedOK {
		out.count |= 1 << 15
	}
	if a.op != nil && a.op.state == opRunning {
		out.count |= 1 << 14
		out.lba = uint64(min(a.op.progress, 0xFFFF))
	}
	if a.sanFrozen {
		out.count |= 1 << 13
	}
	if a.antifreeze {
		out.count |= 1 << 12
	}
	if a.failed {
		if c.count&0x01 != 0 && a.failureMode {
			a.failed = false // CLEAR SANITIZE OPERATION FAILED
			return out
		}
		out.status, out.error = ataStatusErr, ataErrorAbort
		out.lba = sanReasonUnsuccessful
	}
	return out
}

// identify builds the IDENTIFY DEVICE data (ACS-3 §7.12.7) of the drive's state.
func (a *ATA) identify() []byte {
	var w [256]uint16
	putString := func(word, n int, s string) {
		b := space(s, 2*n)
		for i := 0; i < n; i++ {
			w[word+i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
		}
	}
	w[0] = 0x0040 // fixed device
	w[1], w[3], w[6] = 16383, 16, 63
	putString(10, 10, a.cfg.Serial)
	putString(23, 4, a.cfg.Firmware)
	putString(27, 20, a.cfg.Model)
	w[47] = 0x8001
	w[49] = 0x0300 // LBA, DMA
	w[50] = 0x4000
	w[53] = 0x0006
	if m := a.cfg.Sanitize; m.CryptoErase || m.BlockErase || m.Overwrite {
		w[59] = 1<<12 | 1<<11 | 1<<10
		if m.CryptoErase {
			w[59] |= 1 << 13
		}
		if m.Overwrite {
			w[59] |= 1 << 14
		}
		if m.BlockErase {
			w[59] |= 1 << 15
		}
	}
	w28 := min(a.current, 0x0FFFFFFF)
	w[60], w[61] = uint16(w28), uint16(w28>>16)
	w[80] = 0x07F0 // ATA/ATAPI-4 to ACS-3
	w[82] = 1 << 14
	w[83] = 0x4000 | 1<<13 | 1<<12 | 1<<10 // valid, FLUSH CACHE (EXT), 48-bit
	w[84] = 0x4000
	w[85] = 1 << 14
	w[86] = 1<<13 | 1<<12 | 1<<10
	w[87] = 0x4000
	if a.cfg.Security {
		w[82] |= 1 << 1
		if a.user != nil {
			w[85] |= 1 << 1
		}
	}
	if a.cfg.HPA {
		w[82] |= 1 << 10
		w[85] |= 1 << 10
	}
	w[89] = eraseTimeWord(a.cfg.EraseMinutes)
	w[90] = eraseTimeWord(a.cfg.EnhancedEraseMinutes)
	for i := range 4 {
		w[100+i] = uint16(a.current >> (16 * i))
	}
	w[106] = 0x4000
	if a.cfg.Security {
		w[128] = 1 << 0
		if a.user != nil {
			w[128] |= 1 << 1
		}
		if a.locked {
			w[128] |= 1 << 2
		}
		if a.frozen {
			w[128] |= 1 << 3
		}
		if a.attempts == 0 {
			w[128] |= 1 << 4
		}
		if a.cfg.EnhancedErase {
			w[128] |= 1 << 5
		}
		if a.maximum {
			w[128] |= 1 << 8
		}
	}
	w[217] = a.cfg.RotationRate
	b := make([]byte, 512)
	for i, v := range w {
		binary.LittleEndian.PutUint16(b[2*i:], v)
	}
	b[510] = 0xA5
	var sum byte
	for _, v := range b[:511] {
		sum += v
	}
	b[511] = -sum
	return b
}

// eraseTimeWord encodes an erase time estimate in minutes as IDENTIFY word 89 or 90:
// the legacy format (units of two minutes in bits 7:0) up to 508 minutes, the extended
// one (bit 15 set, bits 14:0) beyond.
func eraseTimeWord(minutes int) uint16 {
	switch {
	case minutes <= 0:
		return 0
	case minutes <= 508:
		return uint16((minutes + 1) / 2)
	}
	return 0x8000 | uint16(min((minutes+1)/2, 0x7FFE))
}

func (a *ATA) inquiryData() []byte {
	fw := a.cfg.Firmware
	if len(fw) > 4 {
		fw = fw[len(fw)-4:]
	}
	return standardInquiry("ATA", a.cfg.Model, fw)
}

func (a *ATA) vpdPages() map[byte][]byte {
	// ATA Information page (SAT-3 §10.3.2): the translation layer and the IDENTIFY data.
	info := make([]byte, 568)
	copy(info[4:12], space("linux", 8))
	copy(info[12:28], space("libata", 16))
	copy(info[28:32], space("3.00", 4))
	info[52] = ataIdentify
	copy(info[56:], a.identify())
	return map[byte][]byte{
		scsi.PageUnitSerialNumber:     serialPage(a.cfg.Serial),
		scsi.PageATAInformation:       vpdPage(scsi.PageATAInformation, info),
		scsi.PageBlockCharacteristics: characteristicsPage(a.cfg.RotationRate),
	}
}

// ataName names an ATA command as ACS does.
func ataName(cmd uint8, features uint16) string {
	switch cmd {
	case ataIdentify:
		return "IDENTIFY DEVICE"
	case ataReadNativeMaxExt:
		return "READ NATIVE MAX ADDRESS EXT"
	case ataSetMaxExt:
		return "SET MAX ADDRESS EXT"
	case ataSetPassword:
		return "SECURITY SET PASSWORD"
	case ataUnlock:
		return "SECURITY UNLOCK"
	case ataErasePrepare:
		return "SECURITY ERASE PREPARE"
	case ataEraseUnit:
		return "SECURITY ERASE UNIT"
	case ataFreezeLock:
		return "SECURITY FREEZE LOCK"
	case ataDisablePassword:
		return "SECURITY DISABLE PASSWORD"
	case ataSanitize:
		switch features {
		case sanStatus:
			return "SANITIZE STATUS EXT"
		case sanCryptoScramble:
			return "CRYPTO SCRAMBLE EXT"
		case sanBlockErase:
			return "BLOCK ERASE EXT"
		case sanOverwrite:
			return "OVERWRITE EXT"
		case sanFreezeLock:
			return "SANITIZE FREEZE LOCK EXT"
		case sanAntifreeze:
			return "SANITIZE ANTIFREEZE LOCK EXT"
		}
		return fmt.Sprintf("SANITIZE DEVICE (feature %#04x)", features)
	}
	return fmt.Sprintf("ATA command %#02x", cmd)
}
