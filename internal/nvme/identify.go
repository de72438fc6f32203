package nvme

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/bits"
	"strings"

	"github.com/decom-project/decom/internal/devio"
)

// Controller is the part of the Identify Controller data structure (Base 2.0 §5.17.2.1,
// CNS 01h) that decides how a drive can be sanitized.
type Controller struct {
	VendorID          uint16 // VID, bytes 1:0: PCI vendor ID
	SubsystemVendorID uint16 // SSVID, bytes 3:2: PCI subsystem vendor ID
	// Serial, Model and Firmware are SN (bytes 23:4), MN (63:24) and FR (71:64): ASCII,
	// space padded. Padding is trimmed and any byte that is not printable ASCII becomes '?'.
	Serial       string
	Model        string
	Firmware     string
	ControllerID uint16  // CNTLID, bytes 79:78
	Version      Version // VER, bytes 83:80; zero from controllers older than 1.2

	// OACS is Optional Admin Command Support, bytes 257:256, as read; the flags below
	// decode the bits that matter here.
	OACS                uint16
	SecuritySendReceive bool // OACS bit 0: Security Send and Receive (TCG, ...)
	FormatNVM           bool // OACS bit 1: Format NVM
	NamespaceManagement bool // OACS bit 3: Namespace Management and Attachment

	// FNA is Format NVM Attributes, byte 524, as read; Format decodes it.
	FNA    uint8
	Format FormatAttributes

	// SANICAP is Sanitize Capabilities, bytes 331:328, as read; Sanitize decodes it.
	SANICAP  uint32
	Sanitize SanitizeCapabilities

	// NumNamespaces is NN, bytes 519:516: the largest namespace ID the controller supports.
	NumNamespaces uint32
	// TotalCapacity is the low 64 bits of TNVMCAP, bytes 295:280: the NVM capacity in bytes,
	// or 0 if the controller does not report it. TotalCapacityOverflow is set when the
	// 128-bit field does not fit in 64 bits.
	TotalCapacity         uint64
	TotalCapacityOverflow bool
}

// FormatAttributes decodes FNA (Base 2.0 §5.17.2.1, byte 524).
type FormatAttributes struct {
	// AllNamespaces (bit 0): a format of one namespace formats every namespace.
	AllNamespaces bool
	// SecureEraseAllNamespaces (bit 1): a secure erase of one namespace (Format NVM with
	// SES non-zero) erases every namespace.
	SecureEraseAllNamespaces bool
	// CryptoErase (bit 2): Format NVM supports cryptographic erase (SES 2).
	CryptoErase bool
}

// SanitizeCapabilities decodes SANICAP (Base 2.0 §5.17.2.1, bytes 331:328).
type SanitizeCapabilities struct {
	CryptoErase bool // bit 0: the Sanitize crypto erase action is supported
	BlockErase  bool // bit 1: block erase is supported
	Overwrite   bool // bit 2: overwrite is supported
	// NoDeallocateInhibited (NDI, bit 29): the controller deallocates after every sanitize;
	// a Sanitize with No-Deallocate After Sanitize set is refused or ignored.
	NoDeallocateInhibited bool
	// NoDeallocateMediaMod is NODMMAS, bits 31:30: whether media is further modified after a
	// sanitize that did not deallocate. 0: not reported; 1: not modified; 2: modified
	// (reads then do not show the sanitize's own result); 3 is reserved.
	NoDeallocateMediaMod uint8
}

// Supported reports whether the controller supports any sanitize action.
func (s SanitizeCapabilities) Supported() bool {
	return s.CryptoErase || s.BlockErase || s.Overwrite
}

// Version is the NVM Express version a controller complies with (VER in Identify Controller,
// laid out like the Version property): major in bits 31:16, minor in 15:8, tertiary in 7:0.
type Version uint32

// Major returns the major version number (bits 31:16).
func (v Version) Major() uint16 { return uint16(v >> 16) }

// Minor returns the minor version number (bits 15:8).
func (v Version) Minor() uint8 { return uint8(v >> 8) }

// Tertiary returns the tertiary version number (bits 7:0).
func (v Version) Tertiary() uint8 { return uint8(v) }

// String formats v as "major.minor.tertiary", or "unreported" for zero.

func (v Version) String() string {
	if v == 0 {
		return "unreported"
	}
	return fmt.Sprintf("%d.%d.%d", v.Major(), v.Minor(), v.Tertiary())
}

// ParseController decodes Identify Controller data. b must hold at least IdentifySize bytes.
func ParseController(b []byte) (Controller, error) {
	if len(b) < IdentifySize {
		return Controller{}, fmt.Errorf("nvme: identify controller data is %d bytes, want %d", len(b), IdentifySize)
	}
	le := binary.LittleEndian
	oacs := le.Uint16(b[256:])
	fna := b[524]
	sanicap := le.Uint32(b[328:])
	return Controller{
		VendorID:          le.Uint16(b[0:]),
		SubsystemVendorID: le.Uint16(b[2:]),
		Serial:            asciiField(b[4:24]),
		Model:             asciiField(b[24:64]),
		Firmware:          asciiField(b[64:72]),
		ControllerID:      le.Uint16(b[78:]),
		Version:           Version(le.Uint32(b[80:])),

		OACS:                oacs,
		SecuritySendReceive: oacs&(1<<0) != 0,
		FormatNVM:           oacs&(1<<1) != 0,
		NamespaceManagement: oacs&(1<<3) != 0,

		FNA: fna,
		Format: FormatAttributes{
			AllNamespaces:            fna&(1<<0) != 0,
			SecureEraseAllNamespaces: fna&(1<<1) != 0,
			CryptoErase:              fna&(1<<2) != 0,
		},

		SANICAP: sanicap,
		Sanitize: SanitizeCapabilities{
			CryptoErase:           sanicap&(1<<0) != 0,
			BlockErase:            sanicap&(1<<1) != 0,
			Overwrite:             sanicap&(1<<2) != 0,
			NoDeallocateInhibited: sanicap&(1<<29) != 0,
			NoDeallocateMediaMod:  uint8(sanicap >> 30),
		},

		NumNamespaces:         le.Uint32(b[516:]),
		TotalCapacity:         le.Uint64(b[280:]),
		TotalCapacityOverflow: le.Uint64(b[288:]) != 0,
	}, nil
}

// asciiField returns a space-padded ASCII field with its padding (spaces, and the NULs some
// controllers pad with) trimmed and every other byte outside printable ASCII replaced by '?'.
func asciiField(b []byte) string {
	s := strings.Trim(string(b), " \x00")
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7E {
			return '?'
		}
		return r
	}, s)
}

// Namespace is the part of the Identify Namespace data structure for the NVM command set
// (NVM CS 1.0 §4.1.5.1, CNS 00h) that describes a namespace's size and block format. An
// inactive namespace ID yields all zeros: Size 0 and BlockSize 0.
type Namespace struct {
	Size        uint64 // NSZE, bytes 7:0: size in logical blocks
	Capacity    uint64 // NCAP, bytes 15:8: most logical blocks allocatable at once
	Utilization uint64 // NUSE, bytes 23:16: logical blocks currently allocated

	// Formats are the LBA formats the namespace supports, NLBAF+1 of them (NLBAF, byte 25,
	// is zero-based), from the 4-byte descriptors at byte 128 + 4*i.
	Formats []LBAFormat
	// FormatIndex is the format in use, from FLBAS (byte 26): bits 3:0 hold its low four
	// bits and bits 6:5 its upper two.
	FormatIndex int
	// ExtendedLBA is FLBAS bit 4: metadata travels at the end of each logical block rather
	// than in a separate buffer.
	ExtendedLBA bool
	// BlockSize is the data size of the format in use in bytes, or 0 if it is not a valid
	// size.
	BlockSize uint32

	// NGUID (bytes 119:104) and EUI64 (bytes 127:120) are the namespace's globally unique
	// identifiers as lower-case hex, or empty when the controller leaves them zero.
	NGUID string
	EUI64 string
}

// LBAFormat is one LBA Format descriptor (NVM CS 1.0 §4.1.5.1).
type LBAFormat struct {
	MetadataSize uint16 // MS, bits 15:0: metadata bytes per logical block
	// DataShift is LBADS, bits 23:16: the data size is 2^DataShift bytes.
	DataShift uint8
	// RelativePerformance is RP, bits 25:24: 0 best, 1 better, 2 good, 3 degraded.
	RelativePerformance uint8
}

// DataSize returns the format's data size in bytes, or 0 if DataShift is not a usable size
// (the specification requires at least 9, 512 bytes; beyond 31 would not fit).
func (f LBAFormat) DataSize() uint32 {
	if f.DataShift < 9 || f.DataShift > 31 {
		return 0
	}
	return 1 << f.DataShift
}

// Bytes returns the namespace's size in bytes (Size × BlockSize), and false if the block size
// is unknown or the product overflows.
func (n Namespace) Bytes() (uint64, bool) {
	if n.BlockSize == 0 {
		return 0, false
	}
	hi, lo := bits.Mul64(n.Size, uint64(n.BlockSize))
	return lo, hi == 0
}

// maxLBAFormats is the most LBA formats a namespace may list: NLBAF is at most 63 (the list
// runs from byte 128 to byte 383).
const maxLBAFormats = 64

// ParseNamespace decodes Identify Namespace data. b must hold at least IdentifySize bytes.
func ParseNamespace(b []byte) (Namespace, error) {
	if len(b) < IdentifySize {
		return Namespace{}, fmt.Errorf("nvme: identify namespace data is %d bytes, want %d", len(b), IdentifySize)
	}
	le := binary.LittleEndian
	nformats := int(b[25]) + 1
	if nformats > maxLBAFormats {
		return Namespace{}, fmt.Errorf("nvme: identify namespace lists %d LBA formats, at most %d are defined", nformats, maxLBAFormats)
	}
	flbas := b[26]
	index := int(flbas&0x0F) | int(flbas>>5&0x03)<<4
	if index >= nformats {
		return Namespace{}, fmt.Errorf("nvme: identify namespace: format in use is %d, but only %d formats are listed", index, nformats)
	}
	n := Namespace{
		Size:        le.Uint64(b[0:]),
		Capacity:    le.Uint64(b[8:]),
		Utilization: le.Uint64(b[16:]),
		Formats:     make([]LBAFormat, nformats),
		FormatIndex: index,
		ExtendedLBA: flbas&(1<<4) != 0,
		NGUID:       hexID(b[104:120]),
		EUI64:       hexID(b[120:128]),
	}
	for i := range n.Formats {
		d := le.Uint32(b[128+4*i:])
		n.Formats[i] = LBAFormat{
			MetadataSize:        uint16(d),
			DataShift:           uint8(d >> 16),
			RelativePerformance: uint8(d>>24) & 0x03,
		}
	}
	n.BlockSize = n.Formats[index].DataSize()
	return n, nil
}

// hexID formats an identifier as hex, or returns "" if it is all zeros (not reported).
func hexID(b []byte) string {
	for _, c := range b {
		if c != 0 {
			return hex.EncodeToString(b)
		}
	}
	return ""
}

// ParseNamespaceList decodes an active namespace ID list (Base 2.0 §5.17.2.2, CNS 02h): up to
// 1024 namespace IDs in increasing order, ended by a zero entry or the end of the structure.
func ParseNamespaceList(b []byte) ([]uint32, error) {
	if len(b) < IdentifySize {
		return nil, fmt.Errorf("nvme: namespace list is %d bytes, want %d", len(b), IdentifySize)
	}
	var ids []uint32
	for off := 0; off < IdentifySize; off += 4 {
		id := binary.LittleEndian.Uint32(b[off:])
		if id == 0 {
			break
		}
		if len(ids) > 0 && id <= ids[len(ids)-1] {
			return nil, fmt.Errorf("nvme: namespace list is not in increasing order (%d after %d)", id, ids[len(ids)-1])
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// IdentifyController sends Identify (CNS 01h) to d and parses the answer.
func IdentifyController(d devio.NVMe) (Controller, error) {
	cmd := Identify(CNSController, 0)
	if _, err := Exec(d, cmd); err != nil {
		return Controller{}, err
	}
	return ParseController(cmd.Data)
}

// IdentifyNamespace sends Identify (CNS 00h) for namespace nsid to d and parses the answer.
func IdentifyNamespace(d devio.NVMe, nsid uint32) (Namespace, error) {
	if nsid == 0 {
		return Namespace{}, fmt.Errorf("nvme identify: namespace ID 0 is not valid")
	}
	cmd := Identify(CNSNamespace, nsid)
	if _, err := Exec(d, cmd); err != nil {
		return Namespace{}, err
	}
	return ParseNamespace(cmd.Data)
}

// ActiveNamespaces returns the IDs of the namespaces attached to the controller behind d, in
// increasing order. It pages through the list 1024 IDs at a time.
func ActiveNamespaces(d devio.NVMe) ([]uint32, error) {
	var all []uint32
	var after uint32
	for {
		cmd := Identify(CNSActiveNamespaces, after)
		if _, err := Exec(d, cmd); err != nil {
			return nil, err
		}
		ids, err := ParseNamespaceList(cmd.Data)
		if err != nil {
			return nil, err
		}
		if len(ids) > 0 && ids[0] <= after {
			return nil, fmt.Errorf("nvme identify: active namespace list asked for IDs above %d returned %d", after, ids[0])
		}
		all = append(all, ids...)
		if len(ids) < IdentifySize/4 {
			return all, nil
		}
		after = ids[len(ids)-1]
	}
}
