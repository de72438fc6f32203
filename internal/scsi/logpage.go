package scsi

import (
	"encoding/binary"
	"fmt"
)

// OpLogSense is LOG SENSE (SPC-4).
const OpLogSense = 0x4D

// Log page codes read by decom (SPC-4 §7.3, SBC-4).
const (
	LogSupportedPages          = 0x00
	LogWriteErrors             = 0x02
	LogReadErrors              = 0x03
	LogVerifyErrors            = 0x05
	LogInformationalExceptions = 0x2F
)

// LogSense returns a LOG SENSE CDB (10 bytes: opcode 4Dh; byte 2 PC in bits 7:6 and the page
// code in bits 5:0; byte 3 the subpage; bytes 5-6 PARAMETER POINTER, zero; bytes 7-8
// ALLOCATION LENGTH) asking for the cumulative values (PC 01b) of a page. SP (save
// parameters) is left zero: the command changes nothing.
func LogSense(page, subpage byte, allocLen uint16) []byte {
	cdb := make([]byte, 10)
	cdb[0] = OpLogSense
	cdb[2] = 0x40 | page&0x3F
	cdb[3] = subpage
	binary.BigEndian.PutUint16(cdb[7:9], allocLen)
	return cdb
}

// LogParameter is one parameter of a log page: a 4-byte header (PARAMETER CODE in bytes 0-1,
// control bits in byte 2, PARAMETER LENGTH in byte 3) and the value.
type LogParameter struct {
	Code    uint16
	Control byte
	Value   []byte
}

// logPayload checks a log page's header (byte 0 bits 5:0 the page code, byte 1 the subpage,
// bytes 2-3 PAGE LENGTH) and returns the bytes after it.
func logPayload(b []byte, page byte) ([]byte, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("scsi: log page %#02x: %d bytes, too short for the header", page, len(b))
	}
	if b[0]&0x3F != page {
		return nil, fmt.Errorf("scsi: log page %#02x: got page %#02x instead", page, b[0]&0x3F)
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if len(b) < 4+n {
		return nil, fmt.Errorf("scsi: log page %#02x truncated: %d of %d bytes", page, len(b), 4+n)
	}
	return b[4 : 4+n], nil
}

// ParseLogPage decodes the parameters of log page page. A parameter that runs past the end
// of the page is an error.
func ParseLogPage(b []byte, page byte) ([]LogParameter, error) {
	p, err := logPayload(b, page)
	if err != nil {
		return nil, err
	}
	var out []LogParameter
	for len(p) > 0 {
		if len(p) < 4 {
			return nil, fmt.Errorf("scsi: log page %#02x: %d stray bytes at the end", page, len(p))
		}
		n := int(p[3])
		if len(p) < 4+n {
			return nil, fmt.Errorf("scsi: log page %#02x: parameter %#04x of %d bytes overruns the page", page, binary.BigEndian.Uint16(p), n)
		}
		out = append(out, LogParameter{Code: binary.BigEndian.Uint16(p), Control: p[2], Value: append([]byte(nil), p[4:4+n]...)})
		p = p[4+n:]
	}
	return out, nil
}

// ParseSupportedLogPages decodes the Supported Log Pages page (00h): one page code a byte,
// bits 5:0.
func ParseSupportedLogPages(b []byte) ([]byte, error) {
	p, err := logPayload(b, LogSupportedPages)
	if err != nil {
		return nil, err
	}
	out := make([]byte, len(p))
	for i, c := range p {
		out[i] = c & 0x3F
	}
	return out, nil
}

// InformationalExceptions is parameter 0000h of the Informational Exceptions log page (2Fh,
// SPC-4): the most recent informational exception and temperature.
type InformationalExceptions struct {
	// ASC and ASCQ are INFORMATIONAL EXCEPTION ADDITIONAL SENSE CODE and its qualifier: 00h/00h
	// when nothing is reported, 5Dh/xx for a failure prediction threshold exceeded.
	ASC, ASCQ byte
	// Temperature is MOST RECENT TEMPERATURE READING in degrees Celsius, when the device
	// reports one (HasTemperature; the field reads FFh otherwise).
	Temperature    int
	HasTemperature bool
}

// FailurePredicted reports ASC 5Dh: the device predicts its own failure (SPC-4 Annex F:
// FAILURE PREDICTION THRESHOLD EXCEEDED and its qualifiers).
func (ie InformationalExceptions) FailurePredicted() bool { return ie.ASC == 0x5D }

// Exception reports any informational exception (ASC other than zero).
func (ie InformationalExceptions) Exception() bool { return ie.ASC != 0 || ie.ASCQ != 0 }

// Description names the exception, as far as decom knows it.
func (ie InformationalExceptions) Description() string {
	switch {
	case !ie.Exception():
		return "no exception"
	case ie.ASC == 0x5D && ie.ASCQ == 0xFF:
		return "failure prediction threshold exceeded (false)" // the test condition
	case ie.ASC == 0x5D:
		return fmt.Sprintf("failure prediction threshold exceeded (asc 0x5d ascq %#02x)", ie.ASCQ)
	case ie.ASC == 0x0B && ie.ASCQ == 0x01:
		return "warning: specified temperature exceeded"
	case ie.ASC == 0x0B:
		return fmt.Sprintf("warning (asc 0x0b ascq %#02x)", ie.ASCQ)
	}
	return fmt.Sprintf("asc %#02x ascq %#02x", ie.ASC, ie.ASCQ)
}

// ParseInformationalExceptions decodes the Informational Exceptions log page (2Fh): parameter
// 0000h holds the ASC (value byte 0), ASCQ (byte 1) and the most recent temperature (byte 2).
// A page without that parameter, or with one shorter than 3 bytes, is an error.
func ParseInformationalExceptions(b []byte) (InformationalExceptions, error) {
	ps, err := ParseLogPage(b, LogInformationalExceptions)
	if err != nil {
		return InformationalExceptions{}, err
	}
	for _, p := range ps {
		if p.Code != 0 {
			continue
		}
		if len(p.Value) < 3 {
			return InformationalExceptions{}, fmt.Errorf("scsi: informational exceptions: parameter 0000h of %d bytes, need 3", len(p.Value))
		}
		ie := InformationalExceptions{ASC: p.Value[0], ASCQ: p.Value[1]}
		if p.Value[2] != 0xFF {
			ie.Temperature, ie.HasTemperature = int(p.Value[2]), true
		}
		return ie, nil
	}
	return InformationalExceptions{}, fmt.Errorf("scsi: informational exceptions: no parameter 0000h")
}

// ErrorCounters is an error counter log page (02h write, 03h read, 05h verify; SBC-4).
type ErrorCounters struct {
	// TotalCorrected is parameter 0003h, TOTAL ERRORS CORRECTED; TotalUncorrected parameter
	// 0006h, TOTAL UNCORRECTED ERRORS. Each is present when its Has flag is set.
	TotalCorrected, TotalUncorrected       uint64
	HasTotalCorrected, HasTotalUncorrected bool
	// Saturated is set when a counter held more than 64 bits; it then reads 2^64-1.
	Saturated bool
}

// ParseErrorCounters decodes an error counter log page. Counters are big-endian numbers of
// the parameter's length.
func ParseErrorCounters(b []byte, page byte) (ErrorCounters, error) {
	switch page {
	case LogWriteErrors, LogReadErrors, LogVerifyErrors:
	default:
		return ErrorCounters{}, fmt.Errorf("scsi: log page %#02x is not an error counter page", page)
	}
	ps, err := ParseLogPage(b, page)
	if err != nil {
		return ErrorCounters{}, err
	}
	var ec ErrorCounters
	for _, p := range ps {
		var v uint64
		var sat bool
		switch p.Code {
		case 0x0003:
			v, sat = counter(p.Value)
			ec.TotalCorrected, ec.HasTotalCorrected = v, true
		case 0x0006:
			v, sat = counter(p.Value)
			ec.TotalUncorrected, ec.HasTotalUncorrected = v, true
		}
		ec.Saturated = ec.Saturated || sat
	}
	return ec, nil
}

// counter reads a big-endian unsigned number of any length, saturating at 2^64-1.
func counter(b []byte) (v uint64, saturated bool) {
	for i, c := range b {
		if len(b)-i > 8 && c != 0 {
			return ^uint64(0), true
		}
		v = v<<8 | uint64(c)
	}
	return v, false
}
