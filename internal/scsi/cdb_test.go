package scsi

import (
	"bytes"
	"testing"
)

func TestCDBs(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want []byte
	}{
		{"TEST UNIT READY", TestUnitReady(), []byte{0, 0, 0, 0, 0, 0}},
		{"REQUEST SENSE", RequestSense(252), []byte{0x03, 0, 0, 0, 0xfc, 0}},
		{"INQUIRY", Inquiry(96), []byte{0x12, 0, 0, 0x00, 0x60, 0}},
		{"INQUIRY VPD 89h", InquiryVPD(PageATAInformation, 572), []byte{0x12, 0x01, 0x89, 0x02, 0x3c, 0}},
		{"READ CAPACITY(16)", ReadCapacity16(32), []byte{
			0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x00, 0x00, 0x20, 0, 0}},
		{"RSOC all", ReportAllOpcodes(0x10000), []byte{
			0xa3, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0, 0}},
		{"RSOC one opcode", ReportOpcode(OpATAPassThrough16, 512), []byte{
			0xa3, 0x0c, 0x01, 0x85, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0, 0}},
		{"RSOC opcode and service action", ReportServiceAction(OpSanitize, uint16(SanitizeCryptoErase), 512), []byte{
			0xa3, 0x0c, 0x02, 0x48, 0x00, 0x03, 0x00, 0x00, 0x02, 0x00, 0, 0}},
	}
	for _, tt := range tests {
		if !bytes.Equal(tt.got, tt.want) {
			t.Errorf("%s:\n got % x\nwant % x", tt.name, tt.got, tt.want)
		}
	}
}

func TestSanitizeCDB(t *testing.T) {
	tests := []struct {
		sa   SanitizeAction
		f    SanitizeFlags
		want []byte
	}{
		{SanitizeCryptoErase, SanitizeImmed | SanitizeAUSE, []byte{0x48, 0xa3, 0, 0, 0, 0, 0, 0, 0, 0}},
		{SanitizeBlockErase, SanitizeImmed, []byte{0x48, 0x82, 0, 0, 0, 0, 0, 0, 0, 0}},
		{SanitizeExitFailureMode, 0, []byte{0x48, 0x1f, 0, 0, 0, 0, 0, 0, 0, 0}},
	}
	for _, tt := range tests {
		got, err := Sanitize(tt.sa, tt.f)
		if err != nil {
			t.Errorf("Sanitize(%#x, %#x): %v", tt.sa, tt.f, err)
			continue
		}
		if !bytes.Equal(got, tt.want) {
			t.Errorf("Sanitize(%#x, %#x):\n got % x\nwant % x", tt.sa, tt.f, got, tt.want)
		}
	}
	for _, sa := range []SanitizeAction{SanitizeOverwrite, 0x00, 0x04, 0x1e} {
		if cdb, err := Sanitize(sa, 0); err == nil {
			t.Errorf("Sanitize(%#x) = % x, want an error", sa, cdb)
		}
	}
	// Flags outside IMMED and AUSE do not leak into the service action or reserved bits.
	got, err := Sanitize(SanitizeCryptoErase, 0xff)
	if err != nil || got[1] != 0xa3 {
		t.Errorf("Sanitize with all flag bits: byte 1 = %#x (%v), want 0xa3", got[1], err)
	}
}

func TestSanitizeOverwriteCDB(t *testing.T) {
	cdb, params, err := SanitizeOverwriteCDB(Overwrite{Passes: 3, Invert: true, Pattern: []byte{0xde, 0xad, 0xbe, 0xef}}, SanitizeImmed)
	if err != nil {
		t.Fatal(err)
	}
	wantCDB := []byte{0x48, 0x81, 0, 0, 0, 0, 0, 0x00, 0x08, 0}
	wantParams := []byte{0x83, 0x00, 0x00, 0x04, 0xde, 0xad, 0xbe, 0xef}
	if !bytes.Equal(cdb, wantCDB) || !bytes.Equal(params, wantParams) {
		t.Errorf("got cdb % x params % x\nwant cdb % x params % x", cdb, params, wantCDB, wantParams)
	}

	for _, o := range []Overwrite{
		{Passes: 0, Pattern: []byte{0}},
		{Passes: 32, Pattern: []byte{0}},
		{Passes: 1},
		{Passes: 1, Pattern: make([]byte, 0x10000)},
	} {
		if _, _, err := SanitizeOverwriteCDB(o, 0); err == nil {
			t.Errorf("SanitizeOverwriteCDB(passes %d, %d-byte pattern) succeeded, want an error", o.Passes, len(o.Pattern))
		}
	}
}
