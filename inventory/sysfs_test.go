package inventory

import (
	"strings"
	"testing"
)

func TestTransportFromSysfsPath(t *testing.T) {
	tests := []struct {
		path string
		want string
	}{
		{"/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda", TransportSATA},
		{"/devices/pci0000:00/0000:00:1d.0/0000:3b:00.0/nvme/nvme0/nvme0n1", TransportNVMe},
		{"/devices/virtual/nvme-subsystem/nvme-subsys0/nvme0n1", TransportNVMe},
		{"/devices/pci0000:00/0000:00:01.0/0000:01:00.0/host0/port-0:0/end_device-0:0/target0:0:0/0:0:0:0/block/sda", TransportSAS},
		{"/devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0/host6/target6:0:0/6:0:0:0/block/sdc", TransportUSB},
		// UAS drives also sit behind a SCSI host: the usb component wins.
		{"/devices/pci0000:00/0000:00:14.0/usb2/2-3/2-3:1.0/host7/target7:0:0/7:0:0:0/block/sdd", TransportUSB},
		{"/devices/pci0000:00/0000:00:02.0/virtio1/block/vda", TransportVirtio},
		{"/devices/pci0000:00/0000:00:03.0/virtio2/host0/target0:0:0/0:0:0:0/block/sda", TransportSCSI},
		{"/devices/platform/soc/fe340000.mmc/mmc_host/mmc0/mmc0:0001/block/mmcblk0", TransportMMC},
		{"/devices/virtual/block/loop3", TransportLoop},
		{"/devices/virtual/block/dm-0", TransportUnknown},
		{"/devices/virtual/block/zram0", TransportUnknown},
		{"/devices/pci0000:00/0000:00:10.0/host2/target2:0:1/2:0:1:0/block/sdb", TransportSCSI},
		{"", TransportUnknown},
		// A name that merely contains "usb" or "ata" is not a bus.
		{"/devices/platform/usbcontroller/hostx/block/sdx", TransportUnknown},
		{"/devices/platform/data1/block/sdy", TransportUnknown},
	}
	for _, tt := range tests {
		if got := transportFor(tt.path); got != tt.want {
			t.Errorf("transportFor(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestMedia(t *testing.T) {
	tests := []struct {
		transport, name, path string
		rotational            bool
		want                  string
	}{
		{TransportSATA, "sda", "/devices/pci/ata1/x", true, MediaHDD},
		{TransportSATA, "sdb", "/devices/pci/ata2/x", false, MediaSSD},
		{TransportSAS, "sdc", "/devices/pci/end_device-0:0/x", true, MediaHDD},
		{TransportNVMe, "nvme0n1", "/devices/pci/nvme/nvme0/nvme0n1", false, MediaSSD},
		{TransportNVMe, "nvme1n1", "/devices/virtual/nvme-subsystem/nvme-subsys1/nvme1n1", false, MediaSSD},
		{TransportUSB, "sdd", "/devices/usb1/x", false, MediaFlash},
		{TransportUSB, "sde", "/devices/usb1/x", true, MediaHDD},
		{TransportMMC, "mmcblk0", "/devices/mmc_host/x", false, MediaFlash},
		{TransportVirtio, "vda", "/devices/virtio1/block/vda", true, MediaVirtual},
		{TransportLoop, "loop0", "/devices/virtual/block/loop0", false, MediaVirtual},
		{TransportUnknown, "dm-0", "/devices/virtual/block/dm-0", false, MediaVirtual},
		{TransportSATA, "sr0", "/devices/pci/ata3/x/block/sr0", true, MediaUnknown},
		{TransportUnknown, "xvda", "/devices/vbd-51712/block/xvda", false, MediaUnknown},
	}
	for _, tt := range tests {
		if got := mediaFor(tt.transport, tt.name, tt.path, tt.rotational); got != tt.want {
			t.Errorf("mediaFor(%s, %s, rotational=%v) = %q, want %q", tt.transport, tt.name, tt.rotational, got, tt.want)
		}
	}
}

func TestNormalizeWWN(t *testing.T) {
	for in, want := range map[string]string{
		"naa.5000C500A1B2C3D4\n":             "0x5000c500a1b2c3d4",
		"eui.0025388b91c1a3f5":               "eui.0025388b91c1a3f5",
		"t10.ATA     QEMU HARDDISK   QM0001": "t10.ATA     QEMU HARDDISK   QM0001",
		"":                                   "",
	} {
		if got := normalizeWWN(in); got != want {
			t.Errorf("normalizeWWN(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseVPD80(t *testing.T) {
	page := append([]byte{0x00, 0x80, 0x00, 0x14}, []byte("      WD-WCC4E1234567")...)
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"right-aligned serial", page, "WD-WCC4E123456"}, // length 0x14 = 20 bytes
		{"exact length", append([]byte{0, 0x80, 0, 8}, "S3Z9NB0K"...), "S3Z9NB0K"},
		{"length beyond data", append([]byte{0, 0x80, 0, 200}, "ABC"...), "ABC"},
		{"nul padded", append([]byte{0, 0x80, 0, 6}, "XY\x00\x00\x00\x00"...), "XY"},
		{"wrong page", append([]byte{0, 0x83, 0, 3}, "ABC"...), ""},
		{"binary garbage", []byte{0, 0x80, 0, 2, 0x01, 0xff}, ""},
		{"too short", []byte{0, 0x80}, ""},
		{"empty", nil, ""},
	}
	for _, tt := range tests {
		if got := parseVPD80(tt.in); got != tt.want {
			t.Errorf("%s: parseVPD80 = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func FuzzParseVPD80(f *testing.F) {
	f.Add(append([]byte{0, 0x80, 0, 8}, "S3Z9NB0K"...))
	f.Add([]byte{0, 0x80, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := parseVPD80(b)
		if len(s) > len(b) {
			t.Fatalf("serial %q longer than the page", s)
		}
		for _, c := range s {
			if c < 0x20 || c > 0x7e {
				t.Fatalf("non-printable serial %q", s)
			}
		}
		if s != strings.TrimSpace(s) {
			t.Fatalf("untrimmed serial %q", s)
		}
	})
}
