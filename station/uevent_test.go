package station

import (
	"strings"
	"testing"
)

func msg(fields ...string) []byte { return []byte(strings.Join(fields, "\x00") + "\x00") }

func TestParseUevent(t *testing.T) {
	u, err := ParseUevent(msg("add@/devices/pci0000:00/0000:00:04.0/virtio2/block/vdb",
		"ACTION=add", "DEVPATH=/devices/pci0000:00/0000:00:04.0/virtio2/block/vdb", "SUBSYSTEM=block",
		"MAJOR=252", "MINOR=16", "DEVNAME=vdb", "DEVTYPE=disk", "DISKSEQ=9", "SEQNUM=2291"))
	if err != nil {
		t.Fatal(err)
	}
	if u.Action != ActionAdd || u.DevName != "vdb" || u.Subsystem != "block" || u.DevType != "disk" || u.Seqnum != "2291" ||
		u.Env["MAJOR"] != "252" || !u.WholeDisk() {
		t.Errorf("got %+v", u)
	}
	p, err := ParseUevent(msg("add@/devices/virtual/block/loop3/loop3p1", "ACTION=add",
		"DEVPATH=/devices/virtual/block/loop3/loop3p1", "SUBSYSTEM=block", "DEVNAME=loop3p1", "DEVTYPE=partition"))
	if err != nil || p.WholeDisk() {
		t.Errorf("partition: %+v, %v", p, err)
	}
}

func TestParseUeventRejects(t *testing.T) {
	for name, b := range map[string][]byte{
		"empty":          nil,
		"udev":           append([]byte("libudev\x00\xfe\xed\xca\xfe"), msg("ACTION=add")...),
		"no at":          msg("add /devices/x", "ACTION=add"),
		"relative path":  msg("add@devices/x", "ACTION=add"),
		"no equals":      msg("add@/devices/x", "ACTION"),
		"disagreeing":    msg("add@/devices/x", "ACTION=remove"),
		"other devpath":  msg("add@/devices/x", "DEVPATH=/devices/y"),
		"escaping name":  msg("add@/devices/x", "DEVNAME=../sda"),
		"empty key":      msg("add@/devices/x", "=sda"),
		"no action part": msg("@/devices/x"),
	} {
		if u, err := ParseUevent(b); err == nil {
			t.Errorf("%s: accepted as %+v", name, u)
		}
	}
}

func FuzzParseUevent(f *testing.F) {
	f.Add(msg("add@/devices/virtual/block/loop0", "ACTION=add", "DEVPATH=/devices/virtual/block/loop0",
		"SUBSYSTEM=block", "DEVNAME=loop0", "DEVTYPE=disk", "SEQNUM=1"))
	f.Add(msg("remove@/devices/x/block/sdb/sdb1", "SUBSYSTEM=block", "DEVTYPE=partition", "DEVNAME=/dev/sdb1"))
	f.Add([]byte("libudev\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := ParseUevent(b)
		if err != nil {
			return
		}
		if u.Action == "" || !strings.HasPrefix(u.DevPath, "/") || strings.Contains(u.DevName, "..") {
			t.Errorf("accepted a malformed event: %+v", u)
		}
		if u.WholeDisk() && (u.Subsystem != "block" || u.DevType != "disk") {
			t.Errorf("whole disk: %+v", u)
		}
	})
}
