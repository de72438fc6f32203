package ata

import (
	"encoding/binary"
	"fmt"
)

// Command codes and FEATURE values (ACS-3 Table B.2, ACS-2 for HPA and DCO).
const (
	cmdReadNativeMaxAddressExt = 0x27
	cmdSetMaxAddressExt        = 0x37
	cmdAccessibleMaxAddress    = 0x78
	cmdDeviceConfiguration     = 0xB1
	cmdSanitizeDevice          = 0xB4
	cmdIdentifyDevice          = 0xEC
	cmdSecuritySetPassword     = 0xF1
	cmdSecurityUnlock          = 0xF2
	cmdSecurityErasePrepare    = 0xF3
	cmdSecurityEraseUnit       = 0xF4
	cmdSecurityDisablePassword = 0xF6

	featGetNativeMaxAddress     = 0x0000
	featSetAccessibleMaxAddress = 0x0001
	featDCOIdentify             = 0xC2

	featSanitizeStatus     = 0x0000
	featCryptoScramble     = 0x0011
	featBlockErase         = 0x0012
	featOverwrite          = 0x0014
	featSanitizeFreezeLock = 0x0020
	featSanitizeAntifreeze = 0x0040
)

// Signatures that sanitize commands must carry in the LBA field, so that a stray command
// cannot start one by accident (ACS-3 §7.36): ASCII "Cryp", "BkEr", "OW", "FrLk", "Anti".
const (
	sigCryptoScramble = 0x4372_7970
	sigBlockErase     = 0x426B_4572
	sigOverwrite      = 0x4F57 // in LBA(47:32); the pattern fills LBA(31:0)
	sigFreezeLock     = 0x4672_4C6B
	sigAntifreeze     = 0x416E_7469
)

// deviceLBA is the DEVICE field value for commands that take an LBA: bit 6 set, as ACS-2
// requires for 48-bit commands and as every later standard tolerates.
const deviceLBA = 0x40

// IdentifyDevice returns IDENTIFY DEVICE (ECh, ACS-3 §7.12): PIO data-in of one 512-byte
// block, decoded by ParseIdentify.
func IdentifyDevice() Command {
	return Command{Command: cmdIdentifyDevice, Count: 1, Protocol: PIODataIn}
}

// Password is an ATA security password (ACS-3, Security feature set).
type Password struct {
	// Master selects the master password; otherwise the user password.
	Master bool
	// Secret is at most 32 bytes. It is sent byte for byte in words 1-16 of the data block,
	// zero padded, without the byte swapping ATA strings get; hdparm does the same, so a
	// password set by one tool is accepted by the other.
	Secret []byte
}

// SecurityLevel is the Master Password Capability set together with a user password.
type SecurityLevel int

const (
	// SecurityHigh: the master password can unlock the drive as well as erase it.
	SecurityHigh SecurityLevel = iota
	// SecurityMaximum: the master password can only erase the drive (SECURITY ERASE UNIT).
	SecurityMaximum
)

// EraseMode chooses between the two SECURITY ERASE UNIT modes.
type EraseMode int

const (
	// NormalErase writes binary zeros (or ones) to the user data area.
	NormalErase EraseMode = iota
	// EnhancedErase writes a vendor-defined pattern to all user data areas, including
	// sectors no longer in use (reallocated), or destroys the encryption key of a
	// self-encrypting drive.
	EnhancedErase
)

// securityBlock builds the 512-byte data block shared by the security commands: word 0 the
// control word, words 1-16 the password.
func securityBlock(p Password, control uint16) ([]byte, error) {
	if len(p.Secret) > 32 {
		return nil, fmt.Errorf("ata: security password of %d bytes, at most 32 allowed", len(p.Secret))
	}
	b := make([]byte, 512)
	if p.Master {
		control |= 1 << 0 // IDENTIFIER: compare/set the master password
	}
	binary.LittleEndian.PutUint16(b[0:2], control)
	copy(b[2:34], p.Secret)
	return b, nil
}

// SecuritySetPassword returns SECURITY SET PASSWORD (F1h, ACS-3) and its data block:
// word 0 bit 0 IDENTIFIER (1 = master password) and bit 8 MASTER PASSWORD CAPABILITY (1 =
// Maximum, meaningful when setting the user password); words 1-16 the password. Setting the
// user password enables the Security feature set.
func SecuritySetPassword(p Password, level SecurityLevel) (Command, []byte, error) {
	var control uint16
	if level == SecurityMaximum {
		control |= 1 << 8
	}
	b, err := securityBlock(p, control)
	if err != nil {
		return Command{}, nil, err
	}
	return Command{Command: cmdSecuritySetPassword, Count: 1, Protocol: PIODataOut}, b, nil
}

// SecurityUnlock returns SECURITY UNLOCK (F2h, ACS-3) and its data block (word 0 bit 0
// IDENTIFIER, words 1-16 the password). A drive left locked by an interrupted erase needs it
// before SecurityDisablePassword.
func SecurityUnlock(p Password) (Command, []byte, error) {
	b, err := securityBlock(p, 0)
	if err != nil {
		return Command{}, nil, err
	}
	return Command{Command: cmdSecurityUnlock, Count: 1, Protocol: PIODataOut}, b, nil
}

// SecurityErasePrepare returns SECURITY ERASE PREPARE (F3h, ACS-3), which must come
// immediately before SECURITY ERASE UNIT.
func SecurityErasePrepare() Command {
	return Command{Command: cmdSecurityErasePrepare, Protocol: NonData}
}

// SecurityEraseUnit returns SECURITY ERASE UNIT (F4h, ACS-3) and its data block: word 0
// bit 0 IDENTIFIER, bit 1 ENHANCED; words 1-16 the password. The command runs for the time
// IDENTIFY words 89/90 estimate (Security.EraseTime, EnhancedEraseTime); give Exec a timeout
// to match.
func SecurityEraseUnit(p Password, mode EraseMode) (Command, []byte, error) {
	var control uint16
	if mode == EnhancedErase {
		control |= 1 << 1
	}
	b, err := securityBlock(p, control)
	if err != nil {
		return Command{}, nil, err
	}
	return Command{Command: cmdSecurityEraseUnit, Count: 1, Protocol: PIODataOut}, b, nil
}

// SecurityDisablePassword returns SECURITY DISABLE PASSWORD (F6h, ACS-3) and its data
// block (word 0 bit 0 IDENTIFIER, words 1-16 the password). With the user password it
// disables the Security feature set.
func SecurityDisablePassword(p Password) (Command, []byte, error) {
	b, err := securityBlock(p, 0)
	if err != nil {
		return Command{}, nil, err
	}
	return Command{Command: cmdSecurityDisablePassword, Count: 1, Protocol: PIODataOut}, b, nil
}

// SanitizeFlags are option bits of the COUNT field of the sanitize operation commands.
type SanitizeFlags uint16

const (
	// SanitizeFailureMode sets FAILURE MODE (COUNT bit 4): if the operation fails, a later
	// SanitizeStatusClearFailure may take the device out of the failed state. Without it
	// only a successful sanitize does.
	SanitizeFailureMode SanitizeFlags = 1 << 4
	// SanitizeZonedNoReset sets ZONED NO RESET (COUNT bit 15, ACS-4) for zoned devices.
	SanitizeZonedNoReset SanitizeFlags = 1 << 15
)

func sanitize(feature uint16, count uint16, lba uint64) Command {
	return Command{
		Command:  cmdSanitizeDevice,
		Features: feature,
		Count:    count,
		LBA:      lba,
		Device:   deviceLBA,
		Protocol: NonData,
		Ext:      true,
	}
}

// CryptoScrambleExt returns CRYPTO SCRAMBLE EXT (B4h/0011h, ACS-3 §7.36.3): the device
// changes its internal encryption keys. LBA(31:0) carries the signature 4372_7970h.
func CryptoScrambleExt(f SanitizeFlags) Command {
	return sanitize(featCryptoScramble, uint16(f&(SanitizeFailureMode|SanitizeZonedNoReset)), sigCryptoScramble)
}

// BlockEraseExt returns BLOCK ERASE EXT (B4h/0012h, ACS-3 §7.36.2): the device erases its
// media blocks. LBA(31:0) carries the signature 426B_4572h.
func BlockEraseExt(f SanitizeFlags) Command {
	return sanitize(featBlockErase, uint16(f&(SanitizeFailureMode|SanitizeZonedNoReset)), sigBlockErase)
}

// Overwrite describes an OVERWRITE EXT sanitize operation.
type Overwrite struct {
	// Pattern is the 32-bit pattern written over the media (OVERWRITE PATTERN, LBA(31:0)).
	Pattern uint32
	// Passes is 1 to 16 (OVERWRITE LOOP COUNT, COUNT bits 3:0, where 0 means 16).
	Passes int
	// Invert inverts the pattern between passes (COUNT bit 7).
	Invert bool
}

// OverwriteExt returns OVERWRITE EXT (B4h/0014h, ACS-3 §7.36.4): LBA(47:32) carries the
// signature 4F57h and LBA(31:0) the pattern; COUNT holds INVERT PATTERN BETWEEN OVERWRITE
// PASSES (bit 7), FAILURE MODE (bit 4) and OVERWRITE LOOP COUNT (bits 3:0).
func OverwriteExt(o Overwrite, f SanitizeFlags) (Command, error) {
	if o.Passes < 1 || o.Passes > 16 {
		return Command{}, fmt.Errorf("ata: overwrite ext: %d passes, want 1 to 16", o.Passes)
	}
	count := uint16(f&(SanitizeFailureMode|SanitizeZonedNoReset)) | uint16(o.Passes&0x0f)
	if o.Invert {
		count |= 1 << 7
	}
	return sanitize(featOverwrite, count, sigOverwrite<<32|uint64(o.Pattern)), nil
}

// SanitizeStatusExt returns SANITIZE STATUS EXT (B4h/0000h, ACS-3 §7.36), with CK_COND set:
// its answer is in the output registers, decoded by ParseSanitizeStatus.
func SanitizeStatusExt() Command {
	c := sanitize(featSanitizeStatus, 0, 0)
	c.CheckCondition = true
	return c
}

// SanitizeStatusClearFailure returns SANITIZE STATUS EXT with CLEAR SANITIZE OPERATION FAILED
// (COUNT bit 0) set: it takes the device out of a failed sanitize if that sanitize was started
// with SanitizeFailureMode.
func SanitizeStatusClearFailure() Command {
	c := SanitizeStatusExt()
	c.Count = 1
	return c
}

// SanitizeFreezeLockExt returns SANITIZE FREEZE LOCK EXT (B4h/0020h, ACS-3 §7.36): sanitize
// commands are refused until the next power cycle. LBA(31:0) carries 4672_4C6Bh.
func SanitizeFreezeLockExt() Command {
	return sanitize(featSanitizeFreezeLock, 0, sigFreezeLock)
}

// SanitizeAntifreezeLockExt returns SANITIZE ANTIFREEZE LOCK EXT (B4h/0040h, ACS-3 §7.36.5):
// until the next power cycle SANITIZE FREEZE LOCK EXT is refused, so firmware or an OS cannot
// freeze sanitize behind decom's back. LBA(31:0) carries 416E_7469h.
func SanitizeAntifreezeLockExt() Command {
	return sanitize(featSanitizeAntifreeze, 0, sigAntifreeze)
}

// ReadNativeMaxAddressExt returns READ NATIVE MAX ADDRESS EXT (27h, ACS-2), with
// CK_COND set: the native max address (the highest LBA the drive has, host protected area
// included) comes back in the LBA register; MaxAddress reads it.
func ReadNativeMaxAddressExt() Command {
	return Command{Command: cmdReadNativeMaxAddressExt, Device: deviceLBA, Protocol: NonData, Ext: true, CheckCondition: true}
}

// Volatility says whether a SET MAX ADDRESS EXT setting survives a power cycle.
type Volatility int

const (
	// Volatile settings last until the next power-on or hardware reset.
	Volatile Volatility = iota
	// NonVolatile settings are kept by the drive.
	NonVolatile
)

// SetMaxAddressExt returns SET MAX ADDRESS EXT (37h, ACS-2): the drive then reports
// maxLBA+1 sectors, so maxLBA equal to the native max address removes the host protected
// area. COUNT bit 0 (VOLATILE VALUE) set keeps the setting over power cycles. ACS-2 requires
// the command to follow a successful READ NATIVE MAX ADDRESS EXT immediately.
func SetMaxAddressExt(maxLBA uint64, v Volatility) Command {
	c := Command{Command: cmdSetMaxAddressExt, LBA: maxLBA, Device: deviceLBA, Protocol: NonData, Ext: true}
	if v == NonVolatile {
		c.Count = 1
	}
	return c
}

// DeviceConfigurationIdentify returns DEVICE CONFIGURATION IDENTIFY (B1h/C2h, ACS-2):
// PIO data-in of one 512-byte block, decoded by ParseDCOIdentify.
func DeviceConfigurationIdentify() Command {
	return Command{Command: cmdDeviceConfiguration, Features: featDCOIdentify, Count: 1, Protocol: PIODataIn}
}

// GetNativeMaxAddressExt returns GET NATIVE MAX ADDRESS EXT (78h/0000h, ACS-3) of the
// Accessible Max Address Configuration feature set, with CK_COND set; MaxAddress reads the
// answer.
func GetNativeMaxAddressExt() Command {
	return Command{Command: cmdAccessibleMaxAddress, Features: featGetNativeMaxAddress, Device: deviceLBA,
		Protocol: NonData, Ext: true, CheckCondition: true}
}

// SetAccessibleMaxAddressExt returns SET ACCESSIBLE MAX ADDRESS EXT (78h/0001h, ACS-3): the drive then reports maxLBA+1 sectors; the setting is non-volatile.
func SetAccessibleMaxAddressExt(maxLBA uint64) Command {
	return Command{Command: cmdAccessibleMaxAddress, Features: featSetAccessibleMaxAddress, LBA: maxLBA,
		Device: deviceLBA, Protocol: NonData, Ext: true}
}
