package scsi

import (
	"bytes"
	"testing"
)

func TestParseInquiry(t *testing.T) {
	tests := []struct {
		file string
		want InquiryData
	}{
		{"inquiry-libata.hex", InquiryData{Version: 0x05, Vendor: "ATA", Product: "WDC WD40EFRX-68N", Revision: "0A82"}},
		{"inquiry-sas.hex", InquiryData{Version: 0x06, Vendor: "SEAGATE", Product: "ST4000NM0025", Revision: "E003"}},
		{"inquiry-usb-removable.hex", InquiryData{Removable: true, Version: 0x06, Vendor: "SanDisk", Product: "Cruzer Blade", Revision: "1.00"}},
	}
	for _, tt := range tests {
		got, err := ParseInquiry(fixture(t, tt.file))
		if err != nil {
			t.Errorf("%s: %v", tt.file, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tt.file, got, tt.want)
		}
	}

	// Peripheral qualifier 3 (no logical unit), device type 1Fh.
	b := fixture(t, "inquiry-usb-removable.hex")
	b[0] = 0x7f
	got, err := ParseInquiry(b)
	if err != nil || got.PeripheralQualifier != 3 || got.DeviceType != 0x1f {
		t.Errorf("byte 0 = 7Fh: got qualifier %d type %#x (%v), want 3 and 0x1f", got.PeripheralQualifier, got.DeviceType, err)
	}

	short := fixture(t, "inquiry-libata.hex")[:35]
	if _, err := ParseInquiry(short); err == nil {
		t.Error("35 bytes: want an error")
	}
	b = fixture(t, "inquiry-libata.hex")
	b[4] = 30 // claims 35 bytes
	if _, err := ParseInquiry(b); err == nil {
		t.Error("additional length 30: want an error")
	}
}

func TestParseSupportedPages(t *testing.T) {
	got, err := ParseSupportedPages(fixture(t, "vpd00.hex"))
	want := []byte{0x00, 0x80, 0x83, 0x89, 0xb0, 0xb1, 0xb2}
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("got % x (%v), want % x", got, err, want)
	}
}

func TestParseUnitSerialNumber(t *testing.T) {
	got, err := ParseUnitSerialNumber(fixture(t, "vpd80.hex"))
	if err != nil || got != "WD-WCC7K1ABCDEF" {
		t.Errorf("got %q (%v), want %q", got, err, "WD-WCC7K1ABCDEF")
	}
}

func TestParseDeviceIdentification(t *testing.T) {
	tests := []struct {
		file    string
		n       int
		wwn     string
		t10     string
		checkFn func(t *testing.T, id DeviceIdentification)
	}{
		{file: "vpd83-libata.hex", n: 2, wwn: "0x50014ee2b5c3d4e5",
			t10: "ATA     WDC WD40EFRX-68N32N0                    WD-WCC7K1ABCDEF"},
		{file: "vpd83-sas.hex", n: 4, wwn: "0x5000c500a1b2c3d4",
			checkFn: func(t *testing.T, id DeviceIdentification) {
				port := id.Designators[1]
				if port.ProtocolID != 6 || !port.PIV || port.Association != AssocTargetPort || port.Type != DesignatorNAA {
					t.Errorf("target port designator = %+v, want SAS (6), PIV, target port, NAA", port)
				}
				rel := id.Designators[2]
				if rel.Type != DesignatorRelativePort || !bytes.Equal(rel.Value, []byte{0, 0, 0, 1}) {
					t.Errorf("relative port designator = %+v", rel)
				}
				if id.Designators[3].Association != AssocTargetDevice {
					t.Errorf("fourth designator association = %d, want target device", id.Designators[3].Association)
				}
			}},
		{file: "vpd83-eui64.hex", n: 1, wwn: "0x0025385b71b01234"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			id, err := ParseDeviceIdentification(fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if len(id.Designators) != tt.n {
				t.Fatalf("%d designators, want %d", len(id.Designators), tt.n)
			}
			if got := id.WWN(); got != tt.wwn {
				t.Errorf("WWN() = %q, want %q", got, tt.wwn)
			}
			if got := id.T10VendorID(); got != tt.t10 {
				t.Errorf("T10VendorID() = %q, want %q", got, tt.t10)
			}
			if tt.checkFn != nil {
				tt.checkFn(t, id)
			}
		})
	}

	// Only a target-port NAA: no name for the logical unit.
	b := []byte{0, 0x83, 0, 12, 0x61, 0x93, 0, 8, 0x50, 0, 0xc5, 0, 0xa1, 0xb2, 0xc3, 0xd5}
	id, err := ParseDeviceIdentification(b)
	if err != nil || id.WWN() != "" {
		t.Errorf("port-only page: WWN %q (%v), want empty", id.WWN(), err)
	}
	// An NAA 5 designator of the wrong length is not a name.
	b = []byte{0, 0x83, 0, 10, 0x01, 0x03, 0, 6, 0x50, 0, 0xc5, 0, 0xa1, 0xb2}
	id, err = ParseDeviceIdentification(b)
	if err != nil || id.WWN() != "" {
		t.Errorf("6-byte NAA: WWN %q (%v), want empty", id.WWN(), err)
	}
}

func TestParseDeviceIdentificationErrors(t *testing.T) {
	for name, b := range map[string][]byte{
		"wrong page":        {0, 0x80, 0, 0},
		"header only short": {0, 0x83, 0},
		"page truncated":    {0, 0x83, 0, 12, 0x01, 0x03, 0, 8, 0x50},
		"designator overrun": {0, 0x83, 0, 8,
			0x01, 0x03, 0, 8, 0x50, 0, 0xc5, 0},
		"stray bytes": {0, 0x83, 0, 2, 0x01, 0x03},
	} {
		if _, err := ParseDeviceIdentification(b); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

func TestParseBlockCharacteristics(t *testing.T) {
	hdd, err := ParseBlockCharacteristics(fixture(t, "vpdb1-hdd.hex"))
	if err != nil || hdd.RotationRate != 5400 || hdd.FormFactor != 2 || hdd.NonRotating() {
		t.Errorf("hdd: got %+v (%v), want 5400 rpm, 3.5\" (2), rotating", hdd, err)
	}
	ssd, err := ParseBlockCharacteristics(fixture(t, "vpdb1-ssd.hex"))
	if err != nil || ssd.RotationRate != 1 || ssd.FormFactor != 3 || !ssd.NonRotating() {
		t.Errorf("ssd: got %+v (%v), want non-rotating, 2.5\" (3)", ssd, err)
	}
	if _, err := ParseBlockCharacteristics([]byte{0, 0xb1, 0, 2, 0, 1}); err == nil {
		t.Error("2-byte page: want an error")
	}
}

func TestParseATAInformation(t *testing.T) {
	info, err := ParseATAInformation(fixture(t, "vpd89.hex"))
	if err != nil {
		t.Fatal(err)
	}
	if info.SATVendor != "linux" || info.SATProduct != "libata" || info.SATRevision != "3.00" || info.CommandCode != 0xec {
		t.Errorf("got %q %q %q command %#x", info.SATVendor, info.SATProduct, info.SATRevision, info.CommandCode)
	}
	if len(info.Identify) != 512 {
		t.Fatalf("identify data is %d bytes, want 512", len(info.Identify))
	}
	// The fixture's IDENTIFY bytes follow (7*i+3) mod 256: byte 0 is 03h, byte 1 0Ah, byte
	// 511 is 3580 mod 256 = FCh.
	if info.Identify[0] != 0x03 || info.Identify[1] != 0x0a || info.Identify[511] != 0xfc {
		t.Errorf("identify bytes 0, 1, 511 = %#x %#x %#x, want 0x03 0x0a 0xfc", info.Identify[0], info.Identify[1], info.Identify[511])
	}

	b := fixture(t, "vpd89.hex")
	if _, err := ParseATAInformation(b[:571]); err == nil {
		t.Error("571 bytes: want an error")
	}
	b[2], b[3] = 0x00, 0x40 // a page that claims only 64 bytes
	if _, err := ParseATAInformation(b); err == nil {
		t.Error("page length 64: want an error")
	}
}
