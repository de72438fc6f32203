package drivesim

import (
	"encoding/binary"
	"fmt"

	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/scsi"
)

// sense is sense data about to be encoded.
type sense struct {
	key       scsi.SenseKey
	asc, ascq byte
	// progress, when hasProgress, goes in the sense-key specific field (SKSV set).
	progress    uint16
	hasProgress bool
	// ata, when hasATA, are the ATA output registers of an ATA PASS-THROUGH.
	ata    scsi.ATARegisters
	hasATA bool
}

// encode returns the sense data in format f (SPC-4 §4.5.2, §4.5.3; SAT-3 §12.2.2.6-7).
func (s sense) encode(f SenseFormat) []byte {
	if f == FixedSense {
		return s.fixed()
	}
	return s.descriptor()
}

func (s sense) descriptor() []byte {
	b := []byte{0x72, byte(s.key) & 0x0f, s.asc, s.ascq, 0, 0, 0, 0}
	if s.hasProgress {
		b = append(b, 0x02, 0x06, 0, 0, 0x80, byte(s.progress>>8), byte(s.progress), 0)
	}
	if s.hasATA {
		r := s.ata
		var ext byte
		if r.Extend {
			ext = 1
		}
		b = append(b, 0x09, 0x0c, ext, r.Error, byte(r.Count>>8), byte(r.Count),
			byte(r.LBA>>24), byte(r.LBA), byte(r.LBA>>32), byte(r.LBA>>8), byte(r.LBA>>40), byte(r.LBA>>16),
			r.Device, r.Status)
	}
	b[7] = byte(len(b) - 8)
	return b
}

func (s sense) fixed() []byte {
	b := make([]byte, 18)
	b[0] = 0x70
	b[2] = byte(s.key) & 0x0f
	b[7] = 10
	b[12], b[13] = s.asc, s.ascq
	if s.hasProgress {
		b[15] = 0x80
		binary.BigEndian.PutUint16(b[16:18], s.progress)
	}
	if s.hasATA {
		// SAT-4 §12.2.2.7: INFORMATION holds ERROR, STATUS, DEVICE, COUNT(7:0);
		// COMMAND-SPECIFIC INFORMATION the EXTEND and "upper non-zero" flags and LBA(23:0),
		// low byte first.
		r := s.ata
		b[0] |= 0x80 // VALID: the INFORMATION field is set
		b[3], b[4], b[5], b[6] = r.Error, r.Status, r.Device, byte(r.Count)
		if r.Extend {
			b[8] |= 0x80
		}
		if r.Count>>8 != 0 {
			b[8] |= 0x40
		}
		if r.LBA>>24 != 0 {
			b[8] |= 0x20
		}
		b[9], b[10], b[11] = byte(r.LBA), byte(r.LBA>>8), byte(r.LBA>>16)
	}
	return b
}

// checkCondition is a CHECK CONDITION answer carrying s.
func checkCondition(s sense, f SenseFormat) devio.SCSIResult {
	return devio.SCSIResult{Status: devio.StatusCheckCondition, Sense: s.encode(f)}
}

// Common sense data.
var (
	senseInvalidOpcode    = sense{key: scsi.IllegalRequest, asc: 0x20}
	senseInvalidField     = sense{key: scsi.IllegalRequest, asc: 0x24}
	senseInvalidParameter = sense{key: scsi.IllegalRequest, asc: 0x26}
	senseParameterLength  = sense{key: scsi.IllegalRequest, asc: 0x1a}
	senseSanitizeFailed   = sense{key: scsi.MediumError, asc: 0x31, ascq: 0x03}
	senseNoSense          = sense{key: scsi.NoSense}
	senseSanitizeRunning  = sense{key: scsi.NotReady, asc: 0x04, ascq: 0x1b}
	// POWER ON, RESET, OR BUS DEVICE RESET OCCURRED.
	senseUnitAttentionPowerOn = sense{key: scsi.UnitAttention, asc: 0x29}
)

// result names the outcome of a SCSI command for the log.
func result(r devio.SCSIResult) string {
	if r.Status == devio.StatusGood {
		return "ok"
	}
	if s, err := scsi.ParseSense(r.Sense); err == nil {
		return "check condition: " + s.String()
	}
	return fmt.Sprintf("status %#02x", r.Status)
}

// copyData copies b into the command's data buffer and returns the result with the
// residual count set.
func copyData(cmd *devio.SCSICommand, b []byte) devio.SCSIResult {
	n := copy(cmd.Data, b)
	return devio.SCSIResult{Status: devio.StatusGood, Resid: len(cmd.Data) - n}
}

// modeControlPage answers MODE SENSE(10) for the control mode page (SPC-4 §7.5.8) with
// the D_SENSE bit given, and MODE SELECT(10) changing it. It returns ok false when the CDB
// is neither.
func modeControlPage(cmd *devio.SCSICommand, dsense *bool, locked bool, f SenseFormat) (devio.SCSIResult, bool) {
	cdb := cmd.CDB
	switch cdb[0] {
	case opModeSense10:
		if len(cdb) < 10 || cdb[2]&0x3f != pageControl || cdb[3] != 0 {
			return checkCondition(senseInvalidField, f), true
		}
		page := controlPage(*dsense)
		if cdb[2]>>6 == 1 { // changeable values: a mask
			page = make([]byte, 12)
			page[0], page[1] = pageControl, 0x0a
			if !locked {
				page[2] = dSense
			}
		}
		b := make([]byte, 8, 8+len(page))
		b = append(b, page...)
		binary.BigEndian.PutUint16(b[0:2], uint16(len(b)-2))
		return copyData(cmd, b[:min(len(b), int(binary.BigEndian.Uint16(cdb[7:9])))]), true
	case opModeSelect10:
		if len(cdb) < 10 || cdb[1]&0x10 == 0 || cmd.Dir != devio.DirToDevice {
			return checkCondition(senseInvalidField, f), true
		}
		n := int(binary.BigEndian.Uint16(cdb[7:9]))
		if n > len(cmd.Data) || n < 8 {
			return checkCondition(senseParameterLength, f), true
		}
		p := cmd.Data[:n]
		bd := int(binary.BigEndian.Uint16(p[6:8]))
		if 8+bd+12 > n {
			return checkCondition(senseParameterLength, f), true
		}
		page := p[8+bd:]
		cur := controlPage(*dsense)
		if page[0]&0x3f != pageControl || page[1] != cur[1] {
			return checkCondition(senseInvalidParameter, f), true
		}
		want := page[2]&dSense != 0
		// Only D_SENSE may change, and only when the translation layer lets it.
		for i := 2; i < 12; i++ {
			mask := byte(0xff)
			if i == 2 {
				mask = ^byte(dSense)
			}
			if page[i]&mask != cur[i]&mask {
				return checkCondition(senseInvalidParameter, f), true
			}
		}
		if want != *dsense && locked {
			return checkCondition(senseInvalidParameter, f), true
		}
		*dsense = want
		return devio.SCSIResult{Status: devio.StatusGood}, true
	}
	return devio.SCSIResult{}, false
}

const (
	opModeSelect10 = 0x55
	opModeSense10  = 0x5a
	pageControl    = 0x0a
	dSense         = 0x04 // control mode page byte 2 bit 2
)

// controlPage is the control mode page, 12 bytes, with D_SENSE as given.
func controlPage(d bool) []byte {
	p := []byte{pageControl, 0x0a, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0}
	if d {
		p[2] |= dSense
	}
	return p
}
