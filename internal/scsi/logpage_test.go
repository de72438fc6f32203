package scsi

import (
	"bytes"
	"testing"
)

func TestLogSenseCDB(t *testing.T) {
	// Opcode 4Dh; PC 01b (cumulative) with page 2Fh in byte 2; allocation length in 7-8.
	want := []byte{0x4D, 0, 0x6F, 0, 0, 0, 0, 0x02, 0x00, 0}
	if got := LogSense(LogInformationalExceptions, 0, 512); !bytes.Equal(got, want) {
		t.Errorf("cdb % x, want % x", got, want)
	}
	if got := LogSense(0xFF, 0, 4); got[2] != 0x7F {
		t.Errorf("page FFh: byte 2 %#x, want the page cut to 6 bits", got[2])
	}
}

func TestParseSupportedLogPages(t *testing.T) {
	got, err := ParseSupportedLogPages(fixture(t, "log00-sas.hex"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0x00, 0x02, 0x03, 0x05, 0x06, 0x0D, 0x0E, 0x10, 0x15, 0x2F}; !bytes.Equal(got, want) {
		t.Errorf("pages % x, want % x", got, want)
	}
	if _, err := ParseSupportedLogPages(fixture(t, "log2f-ok.hex")); err == nil {
		t.Error("page 2Fh accepted as page 00h")
	}
}

func TestParseInformationalExceptions(t *testing.T) {
	ok, err := ParseInformationalExceptions(fixture(t, "log2f-ok.hex"))
	if err != nil {
		t.Fatal(err)
	}
	if ok != (InformationalExceptions{Temperature: 40, HasTemperature: true}) || ok.FailurePredicted() || ok.Exception() {
		t.Errorf("healthy drive: %+v", ok)
	}
	bad, err := ParseInformationalExceptions(fixture(t, "log2f-failure.hex"))
	if err != nil {
		t.Fatal(err)
	}
	if bad != (InformationalExceptions{ASC: 0x5D, ASCQ: 0x10, Temperature: 46, HasTemperature: true}) || !bad.FailurePredicted() {
		t.Errorf("failing drive: %+v", bad)
	}
	if d := bad.Description(); d != "failure prediction threshold exceeded (asc 0x5d ascq 0x10)" {
		t.Errorf("description %q", d)
	}

	// Temperature FFh: none reported.
	b := fixture(t, "log2f-ok.hex")
	b[10] = 0xFF
	if ie, err := ParseInformationalExceptions(b); err != nil || ie.HasTemperature {
		t.Errorf("temperature FFh: %+v, %v", ie, err)
	}
	// Parameter 0000h too short; page length past the data; no parameter 0000h.
	short := []byte{0x2F, 0, 0, 6, 0, 0, 3, 2, 0, 0}
	truncated := fixture(t, "log2f-failure.hex")[:20]
	other := []byte{0x2F, 0, 0, 8, 0, 1, 3, 4, 0x5D, 0, 0, 0}
	for name, b := range map[string][]byte{"short parameter": short, "truncated": truncated, "no 0000h": other} {
		if _, err := ParseInformationalExceptions(b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestParseErrorCounters(t *testing.T) {
	read, err := ParseErrorCounters(fixture(t, "log03-read-errors.hex"), LogReadErrors)
	if err != nil {
		t.Fatal(err)
	}
	if want := (ErrorCounters{TotalCorrected: 1234, TotalUncorrected: 2, HasTotalCorrected: true, HasTotalUncorrected: true}); read != want {
		t.Errorf("read errors %+v, want %+v", read, want)
	}
	write, err := ParseErrorCounters(fixture(t, "log02-write-errors.hex"), LogWriteErrors)
	if err != nil {
		t.Fatal(err)
	}
	if !write.HasTotalUncorrected || write.TotalUncorrected != 0 {
		t.Errorf("write errors %+v", write)
	}
	if _, err := ParseErrorCounters(fixture(t, "log03-read-errors.hex"), LogWriteErrors); err == nil {
		t.Error("page 03h accepted as page 02h")
	}
	if _, err := ParseErrorCounters(fixture(t, "log2f-ok.hex"), LogInformationalExceptions); err == nil {
		t.Error("page 2Fh accepted as an error counter page")
	}
	// A 9-byte counter above 2^64 saturates and says so; one with a zero top byte does not.
	big := []byte{0x03, 0, 0, 13, 0, 6, 2, 9, 1, 0, 0, 0, 0, 0, 0, 0, 5}
	if ec, err := ParseErrorCounters(big, LogReadErrors); err != nil || !ec.Saturated || ec.TotalUncorrected != ^uint64(0) {
		t.Errorf("9-byte counter: %+v, %v", ec, err)
	}
	big[8] = 0
	if ec, err := ParseErrorCounters(big, LogReadErrors); err != nil || ec.Saturated || ec.TotalUncorrected != 5 {
		t.Errorf("9-byte counter with a zero top byte: %+v, %v", ec, err)
	}
}

func TestParseLogPageOverrun(t *testing.T) {
	// A parameter claiming 8 bytes where 2 are left.
	b := []byte{0x03, 0, 0, 6, 0, 6, 2, 8, 0, 0}
	if _, err := ParseLogPage(b, LogReadErrors); err == nil {
		t.Error("overrunning parameter accepted")
	}
	// Two stray bytes after the last parameter.
	b = []byte{0x03, 0, 0, 6, 0, 6, 2, 0, 0, 0}
	if _, err := ParseLogPage(b, LogReadErrors); err == nil {
		t.Error("stray bytes accepted")
	}
}
