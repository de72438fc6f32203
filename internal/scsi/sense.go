// Package scsi builds SCSI command descriptor blocks (CDBs) and decodes what devices send
// back: sense data, standard INQUIRY data and the vital product data (VPD) pages decom reads,
// REPORT SUPPORTED OPERATION CODES and READ CAPACITY(16) parameter data.
//
// Everything here is a pure function over bytes. Commands travel through a devio.SCSI; Check
// turns the answer (status and sense data) into an error. A typical exchange (ExampleInquiry
// runs it against a simulated disk):
//
//	func inquiry(dev devio.SCSI) (scsi.InquiryData, error) {
//		buf := make([]byte, 96)
//		res, err := dev.Exec(&devio.SCSICommand{CDB: scsi.Inquiry(96), Dir: devio.DirFromDevice, Data: buf})
//		if err == nil {
//			err = scsi.Check(res)
//		}
//		if err != nil {
//			return scsi.InquiryData{}, err
//		}
//		return scsi.ParseInquiry(buf[:len(buf)-res.Resid])
//	}
//
// References: SPC-4 (T10/BSR INCITS 513) for sense data, INQUIRY, VPD pages and REPORT
// SUPPORTED OPERATION CODES; SBC-3/SBC-4 for READ CAPACITY(16), SANITIZE and the Block Device
// Characteristics page; SAT-3/SAT-4 for the ATA Information page and for the ATA registers that
// an ATA PASS-THROUGH command returns in sense data.
package scsi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/decom-project/decom/internal/devio"
)

// SenseKey is the SENSE KEY field of sense data (SPC-4 §4.5.6).
type SenseKey uint8

// Sense keys (SPC-4 table "Sense key descriptions").
const (
	NoSense        SenseKey = 0x0
	RecoveredError SenseKey = 0x1
	NotReady       SenseKey = 0x2
	MediumError    SenseKey = 0x3
	HardwareError  SenseKey = 0x4
	IllegalRequest SenseKey = 0x5
	UnitAttention  SenseKey = 0x6
	DataProtect    SenseKey = 0x7
	BlankCheck     SenseKey = 0x8
	VendorSpecific SenseKey = 0x9
	CopyAborted    SenseKey = 0xA
	AbortedCommand SenseKey = 0xB
	VolumeOverflow SenseKey = 0xD
	Miscompare     SenseKey = 0xE
	Completed      SenseKey = 0xF
)

var senseKeyNames = [16]string{
	"NO SENSE", "RECOVERED ERROR", "NOT READY", "MEDIUM ERROR", "HARDWARE ERROR",
	"ILLEGAL REQUEST", "UNIT ATTENTION", "DATA PROTECT", "BLANK CHECK", "VENDOR SPECIFIC",
	"COPY ABORTED", "ABORTED COMMAND", "RESERVED (0xC)", "VOLUME OVERFLOW", "MISCOMPARE",
	"COMPLETED",
}

func (k SenseKey) String() string {
	if int(k) < len(senseKeyNames) {
		return senseKeyNames[k]
	}
	return fmt.Sprintf("SENSE KEY %#x", uint8(k))
}

// Response codes of sense data (SPC-4 §4.5.1).
const (
	respFixedCurrent       = 0x70
	respFixedDeferred      = 0x71
	respDescriptorCurrent  = 0x72
	respDescriptorDeferred = 0x73
)

// Sense is decoded sense data, from either the fixed format (response codes 70h/71h, SPC-4
// §4.5.3) or the descriptor format (72h/73h, SPC-4 §4.5.2).
type Sense struct {
	// ResponseCode is 0x70 or 0x72 for an error on the command that reported it, 0x71 or
	// 0x73 for a deferred error (one that belongs to an earlier command).
	ResponseCode byte
	Key          SenseKey
	// ASC and ASCQ are the additional sense code and its qualifier.
	ASC, ASCQ byte
	// Information is the INFORMATION field: bytes 3-6 of fixed sense data, or the Information
	// descriptor (type 00h) of descriptor sense data. InformationValid is its VALID bit.
	Information      uint64
	InformationValid bool
	// CommandSpecific is the COMMAND-SPECIFIC INFORMATION field: bytes 8-11 of fixed sense
	// data, or the Command-specific information descriptor (type 01h).
	CommandSpecific uint64
	// SenseKeySpecific holds the three bytes of the sense-key specific field: fixed bytes
	// 15-17, or bytes 4-6 of the Sense key specific descriptor (type 02h). Bit 7 of the first
	// byte is SKSV; the meaning of the rest depends on the sense key (SPC-4 §4.5.2.4).
	SenseKeySpecific [3]byte

	ataDesc    ATARegisters // from an ATA Status Return descriptor (type 09h)
	hasATADesc bool
}

// Descriptor reports whether the sense data came in descriptor format.
func (s Sense) Descriptor() bool {
	return s.ResponseCode == respDescriptorCurrent || s.ResponseCode == respDescriptorDeferred
}

// Deferred reports a deferred error: the condition belongs to a command that completed
// earlier, not to the one this sense data came back with.
func (s Sense) Deferred() bool {
	return s.ResponseCode == respFixedDeferred || s.ResponseCode == respDescriptorDeferred
}

// SKSV reports whether the sense-key specific field is valid.
func (s Sense) SKSV() bool { return s.SenseKeySpecific[0]&0x80 != 0 }

// Progress returns the progress indication of a long operation (FORMAT UNIT, SANITIZE,
// self-test...) as a fraction in [0, 1): the 16-bit PROGRESS INDICATION divided by 65536. It
// is present when SKSV is set and the sense key is NO SENSE or NOT READY (SPC-4 §4.5.2.4.4);
// REQUEST SENSE is the usual way to fetch it while the operation runs.
func (s Sense) Progress() (float64, bool) {
	if !s.SKSV() || (s.Key != NoSense && s.Key != NotReady) {
		return 0, false
	}
	v := binary.BigEndian.Uint16(s.SenseKeySpecific[1:3])
	return float64(v) / 65536, true
}

// Unsupported reports ILLEGAL REQUEST with INVALID COMMAND OPERATION CODE (20h/00h) or
// INVALID FIELD IN CDB (24h/00h): the device, or a translation layer in front of it, does not
// implement the command (or the service action, or the option) that was sent.
func (s Sense) Unsupported() bool {
	return s.Key == IllegalRequest && s.ASCQ == 0 && (s.ASC == 0x20 || s.ASC == 0x24)
}

// ATARegisters are the ATA output registers that an ATA PASS-THROUGH command returns in its
// sense data when CK_COND is set or the ATA command failed (SAT-3, ATA PASS-THROUGH).
type ATARegisters struct {
	Error  byte
	Status byte
	Device byte
	Count  uint16
	LBA    uint64 // 48 bits
	// Extend is the EXTEND bit: the registers are those of a 48-bit command.
	Extend bool
	// Partial is set when the registers came from fixed-format sense data, which only has
	// room for COUNT(7:0) and LBA(23:0). CountUpperNonZero and LBAUpperNonZero then say
	// whether the bits that did not fit (COUNT(15:8), LBA(47:24)) were non-zero.
	Partial           bool
	CountUpperNonZero bool
	LBAUpperNonZero   bool
}

// ATARegisters returns the ATA registers carried by sense data returned for an ATA
// PASS-THROUGH command.
//
// In descriptor format they come in the ATA Status Return descriptor (type 09h, SAT-3), which
// holds all of them. In fixed format (SAT-4 r02 §12.2.2.7; SAT-2 and later allow it, and Linux
// uses it when the control mode page's D_SENSE bit is zero) they are packed into the
// INFORMATION field (byte 3 ERROR, byte 4 STATUS, byte 5 DEVICE, byte 6 COUNT(7:0)) and the
// COMMAND-SPECIFIC INFORMATION field (byte 8: bit 7 EXTEND, bit 6 COUNT UPPER NONZERO, bit 5
// LBA UPPER NONZERO, bits 3:0 LOG INDEX; bytes 9, 10, 11: LBA(7:0), LBA(15:8), LBA(23:16)).
// Fixed-format sense data does not say whether it carries registers, so they are taken only
// when the additional sense code is ATA PASS-THROUGH INFORMATION AVAILABLE (00h/1Dh), or when
// the would-be STATUS register is non-zero: on an ATA error, SATLs such as Linux libata
// report a translated sense key (ABORTED COMMAND, MEDIUM ERROR...) and still fill the fields.
// The caller must know that the command was an ATA PASS-THROUGH.
func (s Sense) ATARegisters() (ATARegisters, bool) {
	if s.hasATADesc {
		return s.ataDesc, true
	}
	if s.ResponseCode != respFixedCurrent && s.ResponseCode != respFixedDeferred {
		return ATARegisters{}, false
	}
	info := uint32(s.Information)
	cs := uint32(s.CommandSpecific)
	r := ATARegisters{
		Error:             byte(info >> 24),
		Status:            byte(info >> 16),
		Device:            byte(info >> 8),
		Count:             uint16(info & 0xff),
		Extend:            cs&(1<<31) != 0,
		CountUpperNonZero: cs&(1<<30) != 0,
		LBAUpperNonZero:   cs&(1<<29) != 0,
		// Byte 9 holds LBA(7:0), byte 10 LBA(15:8), byte 11 LBA(23:16): the reverse of the
		// field's big-endian order.
		LBA:     uint64(cs>>16&0xff) | uint64(cs>>8&0xff)<<8 | uint64(cs&0xff)<<16,
		Partial: true,
	}
	if (s.ASC == 0x00 && s.ASCQ == 0x1D) || r.Status != 0 {
		return r, true
	}
	return ATARegisters{}, false
}

// ParseSense decodes sense data in fixed or descriptor format. Fields that lie beyond the
// ADDITIONAL SENSE LENGTH, or beyond the end of b when the device's answer was cut short, are
// left zero; descriptors this package does not know are skipped.
func ParseSense(b []byte) (Sense, error) {
	if len(b) == 0 {
		return Sense{}, errors.New("scsi: sense data is empty")
	}
	switch code := b[0] & 0x7f; code {
	case respFixedCurrent, respFixedDeferred:
		return parseFixedSense(b)
	case respDescriptorCurrent, respDescriptorDeferred:
		return parseDescriptorSense(b)
	default:
		return Sense{}, fmt.Errorf("scsi: sense data has unknown response code %#02x", code)
	}
}

func parseFixedSense(b []byte) (Sense, error) {
	if len(b) < 8 {
		return Sense{}, fmt.Errorf("scsi: fixed-format sense data too short: %d bytes", len(b))
	}
	b = b[:min(len(b), 8+int(b[7]))]
	s := Sense{
		ResponseCode:     b[0] & 0x7f,
		InformationValid: b[0]&0x80 != 0,
		Key:              SenseKey(b[2] & 0x0f),
		Information:      uint64(binary.BigEndian.Uint32(b[3:7])),
	}
	if len(b) >= 12 {
		s.CommandSpecific = uint64(binary.BigEndian.Uint32(b[8:12]))
	}
	if len(b) >= 14 {
		s.ASC, s.ASCQ = b[12], b[13]
	}
	if len(b) >= 18 {
		copy(s.SenseKeySpecific[:], b[15:18])
	}
	return s, nil
}

// Descriptor types (SPC-4 §4.5.2.1, SAT-3).
const (
	descInformation      = 0x00
	descCommandSpecific  = 0x01
	descSenseKeySpecific = 0x02
	descATAStatusReturn  = 0x09
)

func parseDescriptorSense(b []byte) (Sense, error) {
	if len(b) < 8 {
		return Sense{}, fmt.Errorf("scsi: descriptor-format sense data too short: %d bytes", len(b))
	}
	b = b[:min(len(b), 8+int(b[7]))]
	s := Sense{
		ResponseCode: b[0] & 0x7f,
		Key:          SenseKey(b[1] & 0x0f),
		ASC:          b[2],
		ASCQ:         b[3],
	}
	// Each descriptor: byte 0 type, byte 1 additional length (bytes that follow). A
	// descriptor cut off by a short buffer ends the walk; what came before stands.
	for rest := b[8:]; len(rest) >= 2; {
		n := 2 + int(rest[1])
		if n > len(rest) {
			break
		}
		d := rest[:n]
		rest = rest[n:]
		switch d[0] {
		case descInformation:
			if n >= 12 {
				s.InformationValid = d[2]&0x80 != 0
				s.Information = binary.BigEndian.Uint64(d[4:12])
			}
		case descCommandSpecific:
			if n >= 12 {
				s.CommandSpecific = binary.BigEndian.Uint64(d[4:12])
			}
		case descSenseKeySpecific:
			if n >= 7 {
				copy(s.SenseKeySpecific[:], d[4:7])
			}
		case descATAStatusReturn:
			if n >= 14 {
				s.ataDesc = parseATAStatusReturn(d)
				s.hasATADesc = true
			}
		}
	}
	return s, nil
}

// parseATAStatusReturn decodes the ATA Status Return sense data descriptor (SAT-3): byte 2 bit
// 0 EXTEND, byte 3 ERROR, bytes 4-5 COUNT(15:8) and COUNT(7:0), then the LBA with each
// register's upper byte first: byte 6 LBA(31:24), 7 LBA(7:0), 8 LBA(39:32), 9 LBA(15:8), 10
// LBA(47:40), 11 LBA(23:16); byte 12 DEVICE, byte 13 STATUS.
func parseATAStatusReturn(d []byte) ATARegisters {
	return ATARegisters{
		Extend: d[2]&0x01 != 0,
		Error:  d[3],
		Count:  uint16(d[4])<<8 | uint16(d[5]),
		LBA: uint64(d[7]) | uint64(d[9])<<8 | uint64(d[11])<<16 |
			uint64(d[6])<<24 | uint64(d[8])<<32 | uint64(d[10])<<40,
		Device: d[12],
		Status: d[13],
	}
}

// String describes the sense data on one line, for logs and error messages.
func (s Sense) String() string {
	var b strings.Builder
	if s.Deferred() {
		b.WriteString("deferred error: ")
	}
	fmt.Fprintf(&b, "%s, asc %#02x ascq %#02x", s.Key, s.ASC, s.ASCQ)
	if d := ascDescription(s.ASC, s.ASCQ); d != "" {
		fmt.Fprintf(&b, " (%s)", d)
	}
	if p, ok := s.Progress(); ok {
		fmt.Fprintf(&b, ", progress %.1f%%", p*100)
	}
	return b.String()
}

// ascDescription names the additional sense codes decom is likely to meet (SPC-4 Annex F).
func ascDescription(asc, ascq byte) string {
	switch uint16(asc)<<8 | uint16(ascq) {
	case 0x0000:
		return "no additional sense information"
	case 0x001D:
		return "ATA pass through information available"
	case 0x0400:
		return "logical unit not ready, cause not reportable"
	case 0x0401:
		return "logical unit is in process of becoming ready"
	case 0x0402:
		return "logical unit not ready, initializing command required"
	case 0x0404:
		return "logical unit not ready, format in progress"
	case 0x0409:
		return "logical unit not ready, self-test in progress"
	case 0x041B:
		return "logical unit not ready, sanitize in progress"
	case 0x0C00:
		return "write error"
	case 0x1100:
		return "unrecovered read error"
	case 0x1A00:
		return "parameter list length error"
	case 0x2000:
		return "invalid command operation code"
	case 0x2100:
		return "logical block address out of range"
	case 0x2400:
		return "invalid field in cdb"
	case 0x2500:
		return "logical unit not supported"
	case 0x2600:
		return "invalid field in parameter list"
	case 0x2700:
		return "write protected"
	case 0x2800:
		return "not ready to ready change, medium may have changed"
	case 0x2900:
		return "power on, reset, or bus device reset occurred"
	case 0x2C00:
		return "command sequence error"
	case 0x3103:
		return "sanitize command failed"
	case 0x3A00:
		return "medium not present"
	case 0x4400:
		return "internal target failure"
	}
	return ""
}

// StatusError is a SCSI command that completed with a status other than GOOD. When the status
// is CHECK CONDITION and the sense data could be decoded, HasSense is set and Sense holds it.
// It unwraps to devio.ErrUnsupported when the sense data says the command is not implemented
// (Sense.Unsupported).
type StatusError struct {
	Status   byte
	Sense    Sense
	HasSense bool
}

func (e *StatusError) Error() string {
	switch {
	case e.HasSense:
		return "scsi: check condition: " + e.Sense.String()
	case e.Status == devio.StatusCheckCondition:
		return "scsi: check condition without usable sense data"
	case e.Status == devio.StatusBusy:
		return "scsi: device busy"
	}
	return fmt.Sprintf("scsi: command completed with status %#02x", e.Status)
}

// Unwrap returns devio.ErrUnsupported when the device rejected the command as not implemented.
func (e *StatusError) Unwrap() error {
	if e.HasSense && e.Sense.Unsupported() {
		return devio.ErrUnsupported
	}
	return nil
}

// Check turns the answer to a SCSI command into an error: nil for GOOD status, and also for a
// CHECK CONDITION whose sense key is NO SENSE or RECOVERED ERROR (the command completed;
// SPC-4 §4.5.6); a *StatusError otherwise.
func Check(r devio.SCSIResult) error {
	switch r.Status {
	case devio.StatusGood:
		return nil
	case devio.StatusCheckCondition:
		s, err := ParseSense(r.Sense)
		if err != nil {
			return &StatusError{Status: r.Status}
		}
		if !s.Deferred() && (s.Key == NoSense || s.Key == RecoveredError) {
			return nil
		}
		return &StatusError{Status: r.Status, Sense: s, HasSense: true}
	default:
		return &StatusError{Status: r.Status}
	}
}
