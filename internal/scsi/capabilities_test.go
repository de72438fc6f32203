package scsi

import (
	"bytes"
	"testing"
)

func TestParseOneCommand(t *testing.T) {
	c, err := ParseOneCommand(fixture(t, "rsoc-one-sanitize.hex"))
	if err != nil {
		t.Fatal(err)
	}
	wantUsage := []byte{0x48, 0xbf, 0, 0, 0, 0, 0, 0xff, 0xff, 0x07}
	if !c.Supported() || c.Support != 3 || !bytes.Equal(c.CDBUsage, wantUsage) {
		t.Errorf("got %+v, want support 3 and usage % x", c, wantUsage)
	}

	c, err = ParseOneCommand(fixture(t, "rsoc-one-unsupported.hex"))
	if err != nil || c.Supported() || c.Support != 1 || len(c.CDBUsage) != 0 {
		t.Errorf("unsupported: got %+v (%v)", c, err)
	}
	c = CommandSupport{Support: 5}
	if !c.Supported() {
		t.Error("vendor-specific support (101b) not counted as supported")
	}

	if _, err := ParseOneCommand([]byte{0, 3, 0}); err == nil {
		t.Error("3 bytes: want an error")
	}
	if _, err := ParseOneCommand([]byte{0, 3, 0, 10, 0x48}); err == nil {
		t.Error("usage data shorter than CDB SIZE: want an error")
	}
}

func TestParseAllCommands(t *testing.T) {
	got, err := ParseAllCommands(fixture(t, "rsoc-all.hex"))
	if err != nil {
		t.Fatal(err)
	}
	want := []CommandDescriptor{
		{Opcode: 0x00, CDBLength: 6},
		{Opcode: 0x12, CDBLength: 6},
		{Opcode: 0x9e, ServiceAction: 0x10, HasServiceAction: true, CDBLength: 16},
		{Opcode: 0x48, ServiceAction: 0x03, HasServiceAction: true, CDBLength: 10},
		{Opcode: 0x48, ServiceAction: 0x02, HasServiceAction: true, CDBLength: 10},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d descriptors %+v, want %d", len(got), got, len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("descriptor %d: got %+v, want %+v", i, got[i], want[i])
		}
	}

	empty, err := ParseAllCommands([]byte{0, 0, 0, 0})
	if err != nil || len(empty) != 0 {
		t.Errorf("empty list: got %+v (%v)", empty, err)
	}

	b := fixture(t, "rsoc-all.hex")
	for name, bad := range map[string][]byte{
		"short header":       {0, 0, 0},
		"truncated list":     b[:len(b)-1],
		"stray bytes":        {0, 0, 0, 4, 0, 0, 0, 0},
		"timeouts overrun":   {0, 0, 0, 8, 0x48, 0, 0, 3, 0, 0x03, 0, 10},
		"huge command count": {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0},
	} {
		if _, err := ParseAllCommands(bad); err == nil {
			t.Errorf("%s: want an error", name)
		}
	}
}

func TestParseReadCapacity16(t *testing.T) {
	c, err := ParseReadCapacity16(fixture(t, "rc16-hdd.hex"))
	if err != nil {
		t.Fatal(err)
	}
	want := Capacity{LastLBA: 7814037167, BlockSize: 512, PhysicalExponent: 3}
	if c != want || c.Blocks() != 7814037168 {
		t.Errorf("hdd: got %+v (%d blocks), want %+v (7814037168 blocks)", c, c.Blocks(), want)
	}

	c, err = ParseReadCapacity16(fixture(t, "rc16-thin.hex"))
	if err != nil {
		t.Fatal(err)
	}
	want = Capacity{LastLBA: 1000215215, BlockSize: 4096, ProtectionEnabled: true, LBPME: true, LBPRZ: true, LowestAlignedLBA: 7}
	if c != want {
		t.Errorf("thin: got %+v, want %+v", c, want)
	}

	if _, err := ParseReadCapacity16(make([]byte, 15)); err == nil {
		t.Error("15 bytes: want an error")
	}
	if _, err := ParseReadCapacity16(make([]byte, 32)); err == nil {
		t.Error("block length zero: want an error")
	}
	ff := bytes.Repeat([]byte{0xff}, 32)
	if _, err := ParseReadCapacity16(ff); err == nil {
		t.Error("all ones: want an error")
	}
}
