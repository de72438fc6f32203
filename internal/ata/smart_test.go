package ata

import (
	"bytes"
	"errors"
	"testing"

	"github.com/decom-project/decom/internal/devio"
)

func TestParseSMARTDataQEMU(t *testing.T) {
	d, err := ParseSMARTData(fixture(t, "smart-data-qemu.hex"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Revision != 1 || !d.ChecksumOK || len(d.Attributes) != 7 {
		t.Fatalf("revision %d, checksum %v, %d attributes", d.Revision, d.ChecksumOK, len(d.Attributes))
	}
	th, err := ParseSMARTThresholds(fixture(t, "smart-thresholds-qemu.hex"))
	if err != nil {
		t.Fatal(err)
	}
	if len(th) != 7 || th[5] != 0x24 || th[190] != 0x32 || th[9] != 0 {
		t.Errorf("thresholds %v", th)
	}
	d.ApplyThresholds(th)
	want := Attribute{ID: 190, Flags: 3, Value: 0x45, Worst: 0x45, Raw: 0x1F1F001F, Threshold: 0x32, HasThreshold: true}
	if a, ok := d.Attribute(190); !ok || a != want {
		t.Errorf("attribute 190: %+v, want %+v", a, want)
	}
	if h, ok := d.PowerOnHours(); !ok || h != 1 {
		t.Errorf("power-on hours %d, %v", h, ok)
	}
	if c, ok := d.TemperatureCelsius(); !ok || c != 31 {
		t.Errorf("temperature %d, %v; want 31 from attribute 190", c, ok)
	}
	if n, ok := d.Count(AttrReallocatedSectors); !ok || n != 0 {
		t.Errorf("reallocated %d, %v", n, ok)
	}
	if _, ok := d.Count(AttrPendingSectors); ok {
		t.Error("QEMU has no attribute 197, but one was found")
	}
	for _, a := range d.Attributes {
		if a.Failing() {
			t.Errorf("attribute %d failing: %+v", a.ID, a)
		}
	}
}

func TestParseSMARTDataWorn(t *testing.T) {
	d, err := ParseSMARTData(fixture(t, "smart-data-worn.hex"))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Attributes) != 8 {
		t.Fatalf("%d attributes, want 8 (the empty slot skipped)", len(d.Attributes))
	}
	for _, c := range []struct {
		id   uint8
		want uint64
	}{{AttrReallocatedSectors, 8}, {AttrPendingSectors, 2}, {AttrOfflineUncorrectable, 1}, {AttrPowerCycles, 1187}, {1, 0x0A1B2C3D}} {
		if n, ok := d.Count(c.id); !ok || n != c.want {
			t.Errorf("attribute %d: %d, %v; want %d", c.id, n, ok, c.want)
		}
	}
	if h, _ := d.PowerOnHours(); h != 41668 {
		t.Errorf("power-on hours %d, want 41668 (the low 32 bits of 0x0025_0000_A2C4)", h)
	}
	if c, _ := d.TemperatureCelsius(); c != 40 {
		t.Errorf("temperature %d, want 40 from attribute 194, not 190", c)
	}
	if a, _ := d.Attribute(AttrReallocatedSectors); !a.PreFailure() || a.HasThreshold {
		t.Errorf("attribute 5: %+v", a)
	}

	// A bad checksum is reported, not refused.
	b := fixture(t, "smart-data-worn.hex")
	b[511]++
	if d, err := ParseSMARTData(b); err != nil || d.ChecksumOK {
		t.Errorf("bad checksum: ok %v, err %v", d.ChecksumOK, err)
	}
	if _, err := ParseSMARTData(b[:511]); err == nil {
		t.Error("511 bytes accepted")
	}
	if _, err := ParseSMARTThresholds(b[:100]); err == nil {
		t.Error("100 bytes of thresholds accepted")
	}
}

func TestAttributeFailing(t *testing.T) {
	for _, c := range []struct {
		a    Attribute
		want bool
	}{
		{Attribute{ID: 5, Flags: 1, Value: 36, Threshold: 36, HasThreshold: true}, true},
		{Attribute{ID: 5, Flags: 1, Value: 37, Threshold: 36, HasThreshold: true}, false},
		{Attribute{ID: 5, Flags: 0, Value: 1, Threshold: 36, HasThreshold: true}, false}, // advisory only
		{Attribute{ID: 5, Flags: 1, Value: 0, Threshold: 0, HasThreshold: true}, false},  // threshold 0: never fails
		{Attribute{ID: 5, Flags: 1, Value: 1, Threshold: 36}, false},                     // no threshold read
	} {
		if got := c.a.Failing(); got != c.want {
			t.Errorf("%+v: failing %v, want %v", c.a, got, c.want)
		}
	}
}

func TestSMARTCommands(t *testing.T) {
	for _, c := range []struct {
		cmd  Command
		dir  devio.Direction
		want string
	}{
		// PIO data-in (protocol 4), 1 block; FEATURES D0h/D1h; LBA mid 4Fh (byte 10), high C2h
		// (byte 12); command B0h.
		{SMARTReadData(), devio.DirFromDevice, "85 08 0e 00 d0 00 01 00 00 00 4f 00 c2 00 b0 00"},
		{SMARTReadThresholds(), devio.DirFromDevice, "85 08 0e 00 d1 00 01 00 00 00 4f 00 c2 00 b0 00"},
		// Non-data (protocol 3), CK_COND (byte 2 bit 5).
		{SMARTReturnStatus(), devio.DirNone, "85 06 20 00 da 00 00 00 00 00 4f 00 c2 00 b0 00"},
	} {
		cdb, err := c.cmd.CDB(c.dir)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(cdb, unhex(t, c.want)) {
			t.Errorf("%s: cdb % x, want %s", commandName(c.cmd.Command, c.cmd.Features), cdb, c.want)
		}
	}
}

func TestSMARTReturnStatus(t *testing.T) {
	for _, c := range []struct {
		name, sense string
		exceeded    bool
		err         error
	}{
		// Descriptor format: LBA(15:8) 4Fh in byte 9 of the descriptor, LBA(23:16) C2h in 11.
		{"passed, descriptor", "72 01 00 1d 00 00 00 0e 09 0c 00 00 00 00 00 00 00 4f 00 c2 00 50", false, nil},
		// Fixed format: LBA mid F4h (byte 10), high 2Ch (byte 11).
		{"exceeded, fixed", "f0 00 01 00 50 00 00 0a 00 00 f4 2c 00 1d 00 00 00 00", true, nil},
		{"no signature", "f0 00 01 00 50 00 00 0a 00 00 00 00 00 1d 00 00 00 00", false, ErrSMARTStatusUnknown},
	} {
		regs, err := Exec(checkCondition(t, c.sense), SMARTReturnStatus(), nil, devio.DirNone, 0)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		exceeded, err := ParseSMARTStatus(regs)
		if exceeded != c.exceeded || !errors.Is(err, c.err) {
			t.Errorf("%s: exceeded %v, err %v; want %v, %v", c.name, exceeded, err, c.exceeded, c.err)
		}
	}
	// A drive that does not implement SMART aborts it.
	_, err := Exec(checkCondition(t, senseDescAbort), SMARTReturnStatus(), nil, devio.DirNone, 0)
	if !errors.Is(err, ErrAborted) || err.Error() != "ata: SMART RETURN STATUS aborted by the device (status 0x51, error 0x04)" {
		t.Errorf("aborted: %v", err)
	}
}
