package scsi

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Operation codes of the commands built here (SPC-4, SBC-4, SAT-3).
const (
	OpTestUnitReady     = 0x00
	OpRequestSense      = 0x03
	OpInquiry           = 0x12
	OpSanitize          = 0x48
	OpATAPassThrough16  = 0x85
	OpServiceActionIn16 = 0x9E // READ CAPACITY(16) is service action 10h
	OpMaintenanceIn     = 0xA3 // REPORT SUPPORTED OPERATION CODES is service action 0Ch
)

const (
	saReadCapacity16         = 0x10
	saReportSupportedOpcodes = 0x0C
)

// VPD page codes read by decom (SPC-4 §7.8, SBC-4, SAT-3).
const (
	PageSupportedVPD         = 0x00
	PageUnitSerialNumber     = 0x80
	PageDeviceIdentification = 0x83
	PageATAInformation       = 0x89
	PageBlockCharacteristics = 0xB1
)

// TestUnitReady returns a TEST UNIT READY CDB (SPC-4): six zero bytes.
func TestUnitReady() []byte { return make([]byte, 6) }

// RequestSense returns a REQUEST SENSE CDB (SPC-4) asking for fixed-format sense data (DESC
// bit zero, which every device supports; ParseSense reads either format). While a FORMAT UNIT
// or SANITIZE runs, the answer carries its progress (Sense.Progress). allocLen 252 fits any
// sense data.
func RequestSense(allocLen uint8) []byte {
	return []byte{OpRequestSense, 0, 0, 0, allocLen, 0}
}

// Inquiry returns an INQUIRY CDB for the standard INQUIRY data (SPC-4): EVPD zero, page
// code zero, allocation length in bytes 3-4.
func Inquiry(allocLen uint16) []byte {
	return []byte{OpInquiry, 0, 0, byte(allocLen >> 8), byte(allocLen), 0}
}

// InquiryVPD returns an INQUIRY CDB for a vital product data page: EVPD (byte 1 bit 0) set and
// the page code in byte 2.
func InquiryVPD(page byte, allocLen uint16) []byte {
	return []byte{OpInquiry, 0x01, page, byte(allocLen >> 8), byte(allocLen), 0}
}

// ReadCapacity16 returns a READ CAPACITY(16) CDB (SBC-4): SERVICE ACTION IN(16) with
// service action 10h, allocation length in bytes 10-13. The answer is 32 bytes long.
func ReadCapacity16(allocLen uint32) []byte {
	cdb := make([]byte, 16)
	cdb[0] = OpServiceActionIn16
	cdb[1] = saReadCapacity16
	binary.BigEndian.PutUint32(cdb[10:14], allocLen)
	return cdb
}

// REPORT SUPPORTED OPERATION CODES reporting options (SPC-4, byte 2 bits 2:0).
const (
	rsocAll      = 0 // every command: all_commands parameter data
	rsocOpcode   = 1 // one command without service action
	rsocOpcodeSA = 2 // one command with a service action
)

func rsoc(option byte, op byte, sa uint16, allocLen uint32) []byte {
	cdb := make([]byte, 12)
	cdb[0] = OpMaintenanceIn
	cdb[1] = saReportSupportedOpcodes
	cdb[2] = option
	cdb[3] = op
	binary.BigEndian.PutUint16(cdb[4:6], sa)
	binary.BigEndian.PutUint32(cdb[6:10], allocLen)
	return cdb
}

// ReportAllOpcodes returns a REPORT SUPPORTED OPERATION CODES CDB asking for the list of all
// supported commands (reporting options 000b); parse the answer with ParseAllCommands.
func ReportAllOpcodes(allocLen uint32) []byte { return rsoc(rsocAll, 0, 0, allocLen) }

// ReportOpcode returns a REPORT SUPPORTED OPERATION CODES CDB asking about one command that has
// no service action (reporting options 001b); parse the answer with ParseOneCommand.
func ReportOpcode(op byte, allocLen uint32) []byte { return rsoc(rsocOpcode, op, 0, allocLen) }

// ReportServiceAction returns a REPORT SUPPORTED OPERATION CODES CDB asking about one command
// and service action (reporting options 010b), e.g. OpSanitize with SanitizeCryptoErase; parse
// the answer with ParseOneCommand.
func ReportServiceAction(op byte, sa uint16, allocLen uint32) []byte {
	return rsoc(rsocOpcodeSA, op, sa, allocLen)
}

// SanitizeAction is the SERVICE ACTION of a SANITIZE command (SBC-4).
type SanitizeAction byte

// Sanitize service actions.
const (
	SanitizeOverwrite       SanitizeAction = 0x01
	SanitizeBlockErase      SanitizeAction = 0x02
	SanitizeCryptoErase     SanitizeAction = 0x03
	SanitizeExitFailureMode SanitizeAction = 0x1F
)

// SanitizeFlags are the option bits of byte 1 of a SANITIZE CDB.
type SanitizeFlags byte

const (
	// SanitizeImmed (IMMED) asks for status as soon as the CDB is validated; progress is then
	// polled with REQUEST SENSE.
	SanitizeImmed SanitizeFlags = 0x80
	// SanitizeAUSE (ALLOW UNRESTRICTED SANITIZE EXIT) lets a later EXIT FAILURE MODE take the
	// device out of a failed sanitize; without it only a successful sanitize does.
	SanitizeAUSE SanitizeFlags = 0x20
)

// Sanitize returns a SANITIZE CDB (10 bytes: opcode 48h; byte 1 IMMED bit 7, AUSE bit 5,
// service action bits 4:0; bytes 7-8 PARAMETER LIST LENGTH) for the block erase,
// cryptographic erase and exit failure mode service actions, which send no parameter list.
// Use SanitizeOverwriteCDB for the overwrite service action.
func Sanitize(sa SanitizeAction, f SanitizeFlags) ([]byte, error) {
	switch sa {
	case SanitizeBlockErase, SanitizeCryptoErase, SanitizeExitFailureMode:
	case SanitizeOverwrite:
		return nil, errors.New("scsi: sanitize: overwrite needs a parameter list; use SanitizeOverwriteCDB")
	default:
		return nil, fmt.Errorf("scsi: sanitize: unknown service action %#02x", byte(sa))
	}
	return sanitizeCDB(sa, f, 0), nil
}

func sanitizeCDB(sa SanitizeAction, f SanitizeFlags, paramLen uint16) []byte {
	cdb := make([]byte, 10)
	cdb[0] = OpSanitize
	cdb[1] = byte(f&(SanitizeImmed|SanitizeAUSE)) | byte(sa)&0x1f
	binary.BigEndian.PutUint16(cdb[7:9], paramLen)
	return cdb
}

// Overwrite describes a SANITIZE overwrite operation.
type Overwrite struct {
	// Passes is the OVERWRITE COUNT, 1 to 31.
	Passes int
	// Invert asks for the pattern to be inverted between consecutive passes (INVERT bit).
	Invert bool
	// Pattern is the INITIALIZATION PATTERN, repeated to fill each logical block: 1 byte to
	// one logical block long.
	Pattern []byte
}

// SanitizeOverwriteCDB returns the CDB and the parameter list of a SANITIZE with the OVERWRITE
// service action. The parameter list (SBC-4 "OVERWRITE service action parameter list") is:
// byte 0 INVERT bit 7, TEST bits 6:5 (zero), OVERWRITE COUNT bits 4:0; byte 1 reserved; bytes
// 2-3 INITIALIZATION PATTERN LENGTH; then the pattern. The device rejects a pattern longer
// than its logical block, which this function cannot know.
func SanitizeOverwriteCDB(o Overwrite, f SanitizeFlags) (cdb, params []byte, err error) {
	if o.Passes < 1 || o.Passes > 31 {
		return nil, nil, fmt.Errorf("scsi: sanitize overwrite: %d passes, want 1 to 31", o.Passes)
	}
	if len(o.Pattern) == 0 || len(o.Pattern) > 0xffff-4 {
		return nil, nil, fmt.Errorf("scsi: sanitize overwrite: pattern of %d bytes, want 1 to %d", len(o.Pattern), 0xffff-4)
	}
	params = make([]byte, 4+len(o.Pattern))
	params[0] = byte(o.Passes)
	if o.Invert {
		params[0] |= 0x80
	}
	binary.BigEndian.PutUint16(params[2:4], uint16(len(o.Pattern)))
	copy(params[4:], o.Pattern)
	return sanitizeCDB(SanitizeOverwrite, f, uint16(len(params))), params, nil
}
