package nvme

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/decom-project/decom/internal/devio"
)

// Admin command opcodes this package builds (Base 2.0 §5, "Opcodes for Admin Commands").
const (
	OpGetLogPage uint8 = 0x02
	OpIdentify   uint8 = 0x06
	OpFormatNVM  uint8 = 0x80
	OpSanitize   uint8 = 0x84
)

// NSIDAll is the broadcast namespace ID: with Format NVM it selects every namespace attached
// to the controller, with Get Log Page the controller-wide copy of a log.
const NSIDAll uint32 = 0xFFFFFFFF

// IdentifySize is the length of every Identify data structure (Base 2.0 §5.17).
const IdentifySize = 4096

// CNS selects the data structure an Identify command returns (Base 2.0 §5.17, the CNS field
// in bits 7:0 of Command Dword 10).
type CNS uint8

const (
	// CNSNamespace returns the Identify Namespace structure of the namespace in NSID.
	CNSNamespace CNS = 0x00
	// CNSController returns the Identify Controller structure. NSID is unused.
	CNSController CNS = 0x01
	// CNSActiveNamespaces returns up to 1024 active namespace IDs greater than NSID, in
	// increasing order, zero-filled after the last.
	CNSActiveNamespaces CNS = 0x02
)

// Identify builds an Identify command for the structure cns selects. The returned command
// carries an IdentifySize buffer for the answer. CNTID, CSI and the UUID index are left zero:
// the controller the command is sent to, and the NVM command set.
func Identify(cns CNS, nsid uint32) *devio.NVMeAdminCommand {
	return &devio.NVMeAdminCommand{
		Opcode: OpIdentify,
		NSID:   nsid,
		CDW10:  uint32(cns),
		Dir:    devio.DirFromDevice,
		Data:   make([]byte, IdentifySize),
	}
}

// Log page identifiers (Base 2.0 §5.16, "Log Page Identifiers").
const (
	// LogSMART is the SMART / Health Information log page.
	LogSMART uint8 = 0x02
	// LogSanitizeStatus is the Sanitize Status log page.
	LogSanitizeStatus uint8 = 0x81
)

// Lengths of the log pages this package reads.
const (
	SMARTLogSize    = 512
	SanitizeLogSize = 512
)

// GetLogPage builds a Get Log Page command reading length bytes of log page lid from byte
// offset. Both length and offset must be multiples of four: the command counts dwords.
//
// Base 2.0 §5.16 lays the command out as: CDW10 bits 7:0 LID, bits 31:16 NUMDL; CDW11
// bits 15:0 NUMDU, where NUMDU:NUMDL is the zero-based number of dwords to transfer; CDW12 and
// CDW13 the low and high halves of the byte offset (LPOL, LPOU). LSP, RAE, LSI, the UUID index
// and CSI are left zero.
func GetLogPage(lid uint8, nsid uint32, offset uint64, length int) (*devio.NVMeAdminCommand, error) {
	if length <= 0 || length%4 != 0 {
		return nil, fmt.Errorf("nvme get log page 0x%02x: length %d is not a positive multiple of 4", lid, length)
	}
	if offset%4 != 0 {
		return nil, fmt.Errorf("nvme get log page 0x%02x: offset %d is not a multiple of 4", lid, offset)
	}
	numd := uint64(length/4 - 1)
	if numd > math.MaxUint32 {
		return nil, fmt.Errorf("nvme get log page 0x%02x: length %d exceeds the 2^32 dwords a command can transfer", lid, length)
	}
	return &devio.NVMeAdminCommand{
		Opcode: OpGetLogPage,
		NSID:   nsid,
		CDW10:  uint32(lid) | uint32(numd&0xFFFF)<<16,
		CDW11:  uint32(numd >> 16),
		CDW12:  uint32(offset),
		CDW13:  uint32(offset >> 32),
		Dir:    devio.DirFromDevice,
		Data:   make([]byte, length),
	}, nil
}

// SecureErase is the Secure Erase Settings (SES) field of Format NVM (Base 2.0 §5.14).
type SecureErase uint8

const (
	// NoSecureErase asks for no secure erase: the controller may leave old data readable
	// in places the new format does not reach.
	NoSecureErase SecureErase = 0
	// UserDataErase erases all user data; afterwards reads return the namespace's
	// deallocated-block value, or whatever the controller chooses (vendor specific).
	UserDataErase SecureErase = 1
	// CryptographicErase destroys the key the user data is encrypted with. The controller
	// advertises support in FNA bit 2 (Controller.Format.CryptoErase).
	CryptographicErase SecureErase = 2
)

// DefaultFormatTimeout bounds a Format NVM command whose options set no timeout. Format NVM
// completes only when the format has, and a user data erase of a large drive may take an hour
// or more.
const DefaultFormatTimeout = 2 * time.Hour

// FormatOptions are the settings of a Format NVM command. The zero value formats to LBA
// format 0 with no secure erase and no protection information.
type FormatOptions struct {
	// LBAFormat is the index of the LBA format to use (0 to 63), from Namespace.Formats.
	// Indexes above 15 need the host to have enabled LBA Format Extension (Host Behavior
	// Support feature, LBAFEE) first.
	LBAFormat uint8
	// SecureErase is the SES field. When FNA bit 1 is set (Controller.Format.
	// SecureEraseAllNamespaces) a secure erase covers every namespace, whatever NSID says.
	SecureErase SecureErase
	// ExtendedMetadata sets MSET: metadata is transferred at the end of each logical block
	// rather than in a separate buffer. Meaningful only for formats with metadata.
	ExtendedMetadata bool
	// ProtectionType is the PI field: 0 for none, or end-to-end protection Type 1, 2 or 3.
	ProtectionType uint8
	// ProtectionFirst sets PIL: protection information in the first bytes of the metadata
	// rather than the last.
	ProtectionFirst bool
	// Timeout bounds the command; zero means DefaultFormatTimeout.
	Timeout time.Duration
}

// FormatNVM builds a Format NVM command for namespace nsid (NSIDAll for every namespace).
//
// Command Dword 10 (Base 2.0 §5.14; NVM CS 1.0 for MSET, PI and PIL): bits 3:0 LBAFL, the
// low four bits of the format index; bit 4 MSET; bits 7:5 PI; bit 8 PIL; bits 11:9 SES;
// bits 13:12 LBAFU, the index's upper two bits. The command moves no data.
func FormatNVM(nsid uint32, o FormatOptions) (*devio.NVMeAdminCommand, error) {
	if nsid == 0 {
		return nil, errors.New("nvme format nvm: namespace ID 0 is not valid; use a namespace's ID or NSIDAll")
	}
	if o.LBAFormat > 63 {
		return nil, fmt.Errorf("nvme format nvm: LBA format %d out of range 0-63", o.LBAFormat)
	}
	if o.SecureErase > CryptographicErase {
		return nil, fmt.Errorf("nvme format nvm: secure erase setting %d is reserved", o.SecureErase)
	}
	if o.ProtectionType > 3 {
		return nil, fmt.Errorf("nvme format nvm: protection information type %d is reserved", o.ProtectionType)
	}
	cdw10 := uint32(o.LBAFormat&0x0F) | uint32(o.LBAFormat>>4)<<12
	if o.ExtendedMetadata {
		cdw10 |= 1 << 4
	}
	cdw10 |= uint32(o.ProtectionType) << 5
	if o.ProtectionFirst {
		cdw10 |= 1 << 8
	}
	cdw10 |= uint32(o.SecureErase) << 9
	timeout := o.Timeout
	if timeout == 0 {
		timeout = DefaultFormatTimeout
	}
	return &devio.NVMeAdminCommand{
		Opcode:  OpFormatNVM,
		NSID:    nsid,
		CDW10:   cdw10,
		Dir:     devio.DirNone,
		Timeout: timeout,
	}, nil
}

// SanitizeAction is the Sanitize Action (SANACT) field of a Sanitize command (Base 2.0 §5.24).
type SanitizeAction uint8

const (
	// SanitizeExitFailureMode leaves the failure state a failed sanitize operation left the
	// subsystem in, without sanitizing (allowed only after an unrestricted failure).
	SanitizeExitFailureMode SanitizeAction = 1
	// SanitizeBlockErase starts a block erase: a low-level erase of every media block.
	SanitizeBlockErase SanitizeAction = 2
	// SanitizeOverwrite starts an overwrite with the pattern in Command Dword 11.
	SanitizeOverwrite SanitizeAction = 3
	// SanitizeCryptoErase starts a crypto erase: the media encryption keys are changed.
	SanitizeCryptoErase SanitizeAction = 4
)

func (a SanitizeAction) String() string {
	switch a {
	case SanitizeExitFailureMode:
		return "exit failure mode"
	case SanitizeBlockErase:
		return "block erase"
	case SanitizeOverwrite:
		return "overwrite"
	case SanitizeCryptoErase:
		return "crypto erase"
	}
	return fmt.Sprintf("sanitize action %d", uint8(a))
}

// SanitizeOptions are the settings of a Sanitize command.
type SanitizeOptions struct {
	// Action is the sanitize action; it must be set.
	Action SanitizeAction
	// AllowUnrestrictedExit sets AUSE: if the operation fails, the host may leave the failure
	// state with SanitizeExitFailureMode. Without it, only a successful sanitize clears it.
	AllowUnrestrictedExit bool
	// NoDeallocate sets NDAS: do not deallocate user data afterwards, so that reads show
	// what the sanitize left on the media. Controllers may refuse it (SANICAP bit 29).
	NoDeallocate bool
	// OverwritePasses is the number of overwrite passes, 1 to 16; overwrite only.
	OverwritePasses int
	// InvertPattern sets OIPBP: invert the pattern between passes; overwrite only.
	InvertPattern bool
	// Pattern is the 32-bit overwrite pattern (Command Dword 11); overwrite only.
	Pattern uint32
}

// Sanitize builds a Sanitize command. The command only starts the operation: the controller
// completes it at once and sanitizes in the background; poll ReadSanitizeStatus for progress.
// A sanitize covers the whole NVM subsystem, so the command carries no namespace ID.
//
// Command Dword 10 (Base 2.0 §5.24): bits 2:0 SANACT; bit 3 AUSE; bits 7:4 OWPASS, where 0
// stands for 16 passes; bit 8 OIPBP; bit 9 NDAS. Command Dword 11 is the overwrite pattern.
func Sanitize(o SanitizeOptions) (*devio.NVMeAdminCommand, error) {
	if o.Action < SanitizeExitFailureMode || o.Action > SanitizeCryptoErase {
		return nil, fmt.Errorf("nvme sanitize: action %d is not one of exit failure mode (1), block erase (2), overwrite (3) or crypto erase (4)", o.Action)
	}
	cdw10 := uint32(o.Action)
	if o.AllowUnrestrictedExit {
		cdw10 |= 1 << 3
	}
	if o.NoDeallocate {
		cdw10 |= 1 << 9
	}
	var cdw11 uint32
	if o.Action == SanitizeOverwrite {
		if o.OverwritePasses < 1 || o.OverwritePasses > 16 {
			return nil, fmt.Errorf("nvme sanitize: %d overwrite passes; choose 1 to 16", o.OverwritePasses)
		}
		cdw10 |= uint32(o.OverwritePasses&0x0F) << 4 // 16 wraps to 0, which means 16
		if o.InvertPattern {
			cdw10 |= 1 << 8
		}
		cdw11 = o.Pattern
	} else if o.OverwritePasses != 0 || o.InvertPattern || o.Pattern != 0 {
		return nil, fmt.Errorf("nvme sanitize: overwrite passes, pattern and inversion apply only to overwrite, not %v", o.Action)
	}
	return &devio.NVMeAdminCommand{
		Opcode: OpSanitize,
		CDW10:  cdw10,
		CDW11:  cdw11,
		Dir:    devio.DirNone,
	}, nil
}

// Exec sends cmd to d and returns the completion's command-specific result (DW0). A non-zero
// completion status comes back as a *StatusError, which matches this package's sentinels
// (ErrInvalidOpcode, ...) and *devio.NVMeStatusError with errors.Is and errors.As. Other
// transport errors are returned wrapped, prefixed with the command's name.
func Exec(d devio.NVMe, cmd *devio.NVMeAdminCommand) (uint32, error) {
	dw0, err := d.Admin(cmd)
	if err == nil {
		return dw0, nil
	}
	var se *devio.NVMeStatusError
	if errors.As(err, &se) {
		return dw0, &StatusError{Command: commandName(cmd.Opcode), Status: se}
	}
	return dw0, fmt.Errorf("nvme %s: %w", commandName(cmd.Opcode), err)
}

func commandName(op uint8) string {
	switch op {
	case OpGetLogPage:
		return "get log page"
	case OpIdentify:
		return "identify"
	case OpFormatNVM:
		return "format nvm"
	case OpSanitize:
		return "sanitize"
	}
	return fmt.Sprintf("admin command 0x%02x", op)
}
