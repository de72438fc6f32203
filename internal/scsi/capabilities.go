package scsi

import (
	"encoding/binary"
	"fmt"
)

// CommandSupport is the one_command parameter data of REPORT SUPPORTED OPERATION CODES
// (SPC-4), the answer to ReportOpcode and ReportServiceAction.
type CommandSupport struct {
	// Support is the SUPPORT field (byte 1 bits 2:0): 000b data not currently available,
	// 001b not supported, 011b supported as a T10 standard says, 101b supported in a
	// vendor-specific manner.
	Support byte
	// CDBUsage is the CDB USAGE DATA: the opcode, then for each further CDB byte a mask of
	// the bits the device looks at. For SANITIZE, byte 1 shows whether IMMED (80h) and AUSE
	// (20h) are honoured.
	CDBUsage []byte
}

// Supported reports support as a standard says or in a vendor-specific manner.
func (c CommandSupport) Supported() bool { return c.Support == 0x3 || c.Support == 0x5 }

// ParseOneCommand decodes one_command parameter data: byte 1 SUPPORT, bytes 2-3 CDB SIZE,
// then the CDB usage data.
func ParseOneCommand(b []byte) (CommandSupport, error) {
	if len(b) < 4 {
		return CommandSupport{}, fmt.Errorf("scsi: report supported operation codes: %d bytes, need 4", len(b))
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if len(b) < 4+n {
		return CommandSupport{}, fmt.Errorf("scsi: report supported operation codes truncated: %d of %d bytes", len(b), 4+n)
	}
	return CommandSupport{
		Support:  b[1] & 0x07,
		CDBUsage: append([]byte(nil), b[4:4+n]...),
	}, nil
}

// CommandDescriptor is one entry of the all_commands parameter data of REPORT SUPPORTED
// OPERATION CODES (SPC-4).
type CommandDescriptor struct {
	Opcode byte
	// ServiceAction is meaningful when HasServiceAction (SERVACTV) is set.
	ServiceAction    uint16
	HasServiceAction bool
	CDBLength        uint16
}

// ParseAllCommands decodes all_commands parameter data: bytes 0-3 COMMAND DATA LENGTH, then
// command descriptors of 8 bytes (byte 0 OPERATION CODE, bytes 2-3 SERVICE ACTION, byte 5 bit 1
// CTDP and bit 0 SERVACTV, bytes 6-7 CDB LENGTH), each followed by a 12-byte command timeouts
// descriptor when its CTDP bit is set. A list cut short by the allocation length is an error,
// since a missing entry would read as an unsupported command.
func ParseAllCommands(b []byte) ([]CommandDescriptor, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("scsi: report supported operation codes: %d bytes, need 4", len(b))
	}
	n := binary.BigEndian.Uint32(b[0:4])
	if uint64(len(b)-4) < uint64(n) {
		return nil, fmt.Errorf("scsi: report supported operation codes truncated: %d of %d bytes", len(b), uint64(n)+4)
	}
	p := b[4 : 4+int(n)]
	var out []CommandDescriptor
	for len(p) > 0 {
		if len(p) < 8 {
			return nil, fmt.Errorf("scsi: report supported operation codes: %d stray bytes at the end", len(p))
		}
		size := 8
		if p[5]&0x02 != 0 { // CTDP: a command timeouts descriptor follows
			size += 12
		}
		if len(p) < size {
			return nil, fmt.Errorf("scsi: report supported operation codes: descriptor of %d bytes overruns the list", size)
		}
		out = append(out, CommandDescriptor{
			Opcode:           p[0],
			ServiceAction:    binary.BigEndian.Uint16(p[2:4]),
			HasServiceAction: p[5]&0x01 != 0,
			CDBLength:        binary.BigEndian.Uint16(p[6:8]),
		})
		p = p[size:]
	}
	return out, nil
}

// Capacity is the READ CAPACITY(16) parameter data (SBC-4).
type Capacity struct {
	// LastLBA is the RETURNED LOGICAL BLOCK ADDRESS: the address of the last logical block.
	LastLBA uint64
	// BlockSize is the LOGICAL BLOCK LENGTH IN BYTES.
	BlockSize uint32
	// ProtectionEnabled is PROT_EN: logical blocks carry protection information.
	ProtectionEnabled bool
	// PhysicalExponent is LOGICAL BLOCKS PER PHYSICAL BLOCK EXPONENT: a physical block holds
	// 1<<PhysicalExponent logical blocks.
	PhysicalExponent uint8
	// LBPME (logical block provisioning management enabled) means the device is thin
	// provisioned: it accepts UNMAP, and unmapped blocks may not be stored anywhere.
	LBPME bool
	// LBPRZ means unmapped blocks read back as zeros.
	LBPRZ bool
	// LowestAlignedLBA is the first logical block that starts a physical block.
	LowestAlignedLBA uint16
}

// Blocks is the number of logical blocks.
func (c Capacity) Blocks() uint64 { return c.LastLBA + 1 }

// ParseReadCapacity16 decodes READ CAPACITY(16) parameter data: bytes 0-7 RETURNED LOGICAL
// BLOCK ADDRESS, 8-11 LOGICAL BLOCK LENGTH IN BYTES, byte 12 bit 0 PROT_EN, byte 13 bits 3:0
// the physical block exponent, byte 14 bit 7 LBPME and bit 6 LBPRZ, bytes 14-15 bits 13:0
// LOWEST ALIGNED LOGICAL BLOCK ADDRESS. The answer is 32 bytes; bytes 16-31 are reserved and
// not needed.
func ParseReadCapacity16(b []byte) (Capacity, error) {
	if len(b) < 16 {
		return Capacity{}, fmt.Errorf("scsi: read capacity(16) data too short: %d bytes, need 16", len(b))
	}
	c := Capacity{
		LastLBA:           binary.BigEndian.Uint64(b[0:8]),
		BlockSize:         binary.BigEndian.Uint32(b[8:12]),
		ProtectionEnabled: b[12]&0x01 != 0,
		PhysicalExponent:  b[13] & 0x0f,
		LBPME:             b[14]&0x80 != 0,
		LBPRZ:             b[14]&0x40 != 0,
		LowestAlignedLBA:  binary.BigEndian.Uint16(b[14:16]) & 0x3fff,
	}
	if c.BlockSize == 0 {
		return Capacity{}, fmt.Errorf("scsi: read capacity(16) reports a logical block length of zero")
	}
	if c.LastLBA == ^uint64(0) {
		return Capacity{}, fmt.Errorf("scsi: read capacity(16) reports an impossible last lba %#x", c.LastLBA)
	}
	return c, nil
}
