// Package ata builds the ATA commands decom sends to SATA drives, carries them inside the SCSI
// ATA PASS-THROUGH(16) command (SAT-3) and decodes what comes back: the ATA output
// registers, IDENTIFY DEVICE data, DEVICE CONFIGURATION IDENTIFY data and the answers of
// SANITIZE STATUS EXT and the max-address commands.
//
// Builders return a Command (and, for data-out commands, the 512-byte block to send); Exec
// runs it over a devio.SCSI (ExampleExec runs this against a simulated drive):
//
//	func identify(dev devio.SCSI) (ata.Identify, error) {
//		buf := make([]byte, 512)
//		if _, err := ata.Exec(dev, ata.IdentifyDevice(), buf, devio.DirFromDevice, 10*time.Second); err != nil {
//			return ata.Identify{}, err
//		}
//		return ata.ParseIdentify(buf)
//	}
//
// Parsers are pure functions over bytes. References are to ACS-3 (T13/2161-D, INCITS 522) for
// the command set and the IDENTIFY DEVICE data (§7.12.7), to ACS-2 (T13/2015-D) for the Host
// Protected Area and Device Configuration Overlay, which ACS-3 made obsolete but drives still
// implement, and to SAT-3/SAT-4 for the pass-through.
package ata

import (
	"fmt"

	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/scsi"
)

// Protocol is the PROTOCOL field of ATA PASS-THROUGH: how the translation layer moves the
// command and its data (SAT-3 table "PROTOCOL field").
type Protocol uint8

// Protocols used by decom.
const (
	NonData    Protocol = 3
	PIODataIn  Protocol = 4
	PIODataOut Protocol = 5
	DMA        Protocol = 6
)

// Command is one ATA command: its input registers and how it is transferred.
type Command struct {
	Command  uint8
	Features uint16
	Count    uint16
	LBA      uint64
	Device   uint8
	Protocol Protocol
	// Ext marks a 48-bit command (EXTEND): all 16 bits of Features and Count and 48 bits of
	// LBA are sent. Otherwise Features and Count must fit in 8 bits and LBA in 28; LBA(27:24)
	// travels in Device bits 3:0.
	Ext bool
	// CheckCondition sets CK_COND, asking the translation layer to return the output
	// registers even when the command succeeds. Exec then fails with ErrNoRegisters if they
	// do not come back. Some USB bridges never return them; set it only when the outputs
	// matter.
	CheckCondition bool
}

// Registers are the ATA output registers of a completed command, as returned in sense data.
// When Partial is set (fixed-format sense data) only COUNT(7:0) and LBA(23:0) are known.
type Registers = scsi.ATARegisters

// ATA STATUS and ERROR register bits (ACS-3 clause 6, Normal and Error Outputs).
const (
	statusERR = 0x01 // ERROR: the command failed; the ERROR register says how
	statusDF  = 0x20 // DEVICE FAULT
	errorABRT = 0x04 // ABORT: the command was aborted (unsupported, bad parameters, wrong state)
)

// ATA PASS-THROUGH(16) CDB bits (SAT-3).
const (
	ptExtend     = 0x01 // byte 1 bit 0
	ptCKCond     = 0x20 // byte 2 bit 5
	ptTDirIn     = 0x08 // byte 2 bit 3: transfer from the device
	ptBytBlok    = 0x04 // byte 2 bit 2: transfer length counted in blocks, not bytes
	ptLenInCount = 0x02 // byte 2 bits 1:0 T_LENGTH = 10b: the length is in the COUNT field
)

// CDB returns the ATA PASS-THROUGH(16) CDB for c, whose data (if any) moves in direction dir.
//
// Layout (SAT-3, ATA PASS-THROUGH(16)): byte 0 85h; byte 1 PROTOCOL in bits 4:1, EXTEND in
// bit 0; byte 2 CK_COND bit 5, T_TYPE bit 4 (zero: 512-byte blocks), T_DIR bit 3, BYT_BLOK
// bit 2, T_LENGTH bits 1:0; bytes 3-4 FEATURES(15:8), (7:0); bytes 5-6 COUNT(15:8), (7:0);
// then the LBA with each register's upper byte first: byte 7 LBA(31:24), 8 LBA(7:0), 9
// LBA(39:32), 10 LBA(15:8), 11 LBA(47:40), 12 LBA(23:16); byte 13 DEVICE; byte 14 COMMAND;
// byte 15 CONTROL.
//
// A data transfer is described as COUNT blocks of 512 bytes (T_LENGTH 10b, BYT_BLOK 1, T_TYPE
// 0), so data commands must carry their block count in Count, even those for which ACS calls
// the COUNT field N/A.
func (c Command) CDB(dir devio.Direction) ([]byte, error) {
	var tdir byte
	switch c.Protocol {
	case NonData:
		if dir != devio.DirNone {
			return nil, fmt.Errorf("ata: command %#02x: non-data protocol with a data transfer", c.Command)
		}
	case PIODataIn:
		if dir != devio.DirFromDevice {
			return nil, fmt.Errorf("ata: command %#02x: PIO data-in needs direction from device", c.Command)
		}
		tdir = ptTDirIn
	case PIODataOut:
		if dir != devio.DirToDevice {
			return nil, fmt.Errorf("ata: command %#02x: PIO data-out needs direction to device", c.Command)
		}
	case DMA:
		switch dir {
		case devio.DirFromDevice:
			tdir = ptTDirIn
		case devio.DirToDevice:
		default:
			return nil, fmt.Errorf("ata: command %#02x: DMA protocol without a data transfer", c.Command)
		}
	default:
		return nil, fmt.Errorf("ata: command %#02x: unsupported protocol %d", c.Command, c.Protocol)
	}

	if c.Protocol != NonData && c.Count == 0 {
		// ATA reads a zero count as 256 or 65536 blocks; this CDB would describe none.
		return nil, fmt.Errorf("ata: command %#02x: data transfer of zero blocks", c.Command)
	}

	device := c.Device
	if c.Ext {
		if c.LBA >= 1<<48 {
			return nil, fmt.Errorf("ata: command %#02x: LBA %#x does not fit in 48 bits", c.Command, c.LBA)
		}
	} else {
		if c.Features > 0xff || c.Count > 0xff || c.LBA >= 1<<28 {
			return nil, fmt.Errorf("ata: command %#02x: 28-bit command with features %#x, count %#x, LBA %#x", c.Command, c.Features, c.Count, c.LBA)
		}
		if c.Device&0x0f != 0 && c.LBA>>24 != 0 {
			return nil, fmt.Errorf("ata: command %#02x: LBA(27:24) given both in LBA and in DEVICE", c.Command)
		}
		device |= byte(c.LBA>>24) & 0x0f
	}

	cdb := make([]byte, 16)
	cdb[0] = scsi.OpATAPassThrough16
	cdb[1] = byte(c.Protocol) << 1
	if c.Ext {
		cdb[1] |= ptExtend
	}
	if c.Protocol != NonData {
		cdb[2] = tdir | ptBytBlok | ptLenInCount
	}
	if c.CheckCondition {
		cdb[2] |= ptCKCond
	}
	cdb[3], cdb[4] = byte(c.Features>>8), byte(c.Features)
	cdb[5], cdb[6] = byte(c.Count>>8), byte(c.Count)
	lba := c.LBA
	if !c.Ext {
		lba &= 0x00ffffff // bits 27:24 went to DEVICE
	}
	cdb[7], cdb[8] = byte(lba>>24), byte(lba)
	cdb[9], cdb[10] = byte(lba>>32), byte(lba>>8)
	cdb[11], cdb[12] = byte(lba>>40), byte(lba>>16)
	cdb[13] = device
	cdb[14] = c.Command
	return cdb, nil
}
