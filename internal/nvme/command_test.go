package nvme_test

import (
	"testing"
	"time"

	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/nvme"
)

// dwords is the part of a command the builders lay out, for comparing against hand-computed
// values.
type dwords struct {
	Opcode                                   uint8
	NSID                                     uint32
	CDW10, CDW11, CDW12, CDW13, CDW14, CDW15 uint32
	Dir                                      devio.Direction
	DataLen                                  int
	Timeout                                  time.Duration
}

func layout(c *devio.NVMeAdminCommand) dwords {
	return dwords{c.Opcode, c.NSID, c.CDW10, c.CDW11, c.CDW12, c.CDW13, c.CDW14, c.CDW15, c.Dir, len(c.Data), c.Timeout}
}

func TestIdentify(t *testing.T) {
	for _, tc := range []struct {
		cns  nvme.CNS
		nsid uint32
		want dwords
	}{
		{nvme.CNSController, 0, dwords{Opcode: 0x06, CDW10: 0x01, Dir: devio.DirFromDevice, DataLen: 4096}},
		{nvme.CNSNamespace, 1, dwords{Opcode: 0x06, NSID: 1, CDW10: 0x00, Dir: devio.DirFromDevice, DataLen: 4096}},
		{nvme.CNSActiveNamespaces, 1024, dwords{Opcode: 0x06, NSID: 1024, CDW10: 0x02, Dir: devio.DirFromDevice, DataLen: 4096}},
	} {
		if got := layout(nvme.Identify(tc.cns, tc.nsid)); got != tc.want {
			t.Errorf("Identify(%d, %d) = %+v, want %+v", tc.cns, tc.nsid, got, tc.want)
		}
	}
}

func TestGetLogPage(t *testing.T) {
	for _, tc := range []struct {
		name   string
		lid    uint8
		nsid   uint32
		offset uint64
		length int
		want   dwords
	}{{
		// 512 bytes = 128 dwords, NUMD 127 = 7Fh in CDW10 bits 31:16.
		name: "sanitize status", lid: 0x81, nsid: 0xFFFFFFFF, length: 512,
		want: dwords{Opcode: 0x02, NSID: 0xFFFFFFFF, CDW10: 0x007F0081, Dir: devio.DirFromDevice, DataLen: 512},
	}, {
		name: "smart", lid: 0x02, nsid: 0xFFFFFFFF, length: 512,
		want: dwords{Opcode: 0x02, NSID: 0xFFFFFFFF, CDW10: 0x007F0002, Dir: devio.DirFromDevice, DataLen: 512},
	}, {
		// 0x30000 dwords: NUMD 2FFFFh splits into NUMDL FFFFh and NUMDU 2; offset
		// 1_0000_0008h splits into LPOL 8 and LPOU 1.
		name: "long, far", lid: 0x02, nsid: 1, offset: 0x1_0000_0008, length: 4 * 0x30000,
		want: dwords{Opcode: 0x02, NSID: 1, CDW10: 0xFFFF0002, CDW11: 2, CDW12: 8, CDW13: 1, Dir: devio.DirFromDevice, DataLen: 4 * 0x30000},
	}} {
		cmd, err := nvme.GetLogPage(tc.lid, tc.nsid, tc.offset, tc.length)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := layout(cmd); got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}

	for _, bad := range []struct {
		offset uint64
		length int
	}{{0, 0}, {0, -4}, {0, 3}, {0, 514}, {2, 512}, {0, 4*(1<<32) + 4}} {
		if _, err := nvme.GetLogPage(0x02, 0, bad.offset, bad.length); err == nil {
			t.Errorf("GetLogPage(offset %d, length %d): no error", bad.offset, bad.length)
		}
	}
}

func TestFormatNVM(t *testing.T) {
	for _, tc := range []struct {
		name string
		nsid uint32
		opts nvme.FormatOptions
		want dwords
	}{{
		name: "defaults", nsid: 1,
		want: dwords{Opcode: 0x80, NSID: 1, CDW10: 0, Dir: devio.DirNone, Timeout: 2 * time.Hour},
	}, {
		// LBAF 1 in bits 3:0, SES 001b in bits 11:9.
		name: "user data erase", nsid: 0xFFFFFFFF,
		opts: nvme.FormatOptions{LBAFormat: 1, SecureErase: nvme.UserDataErase},
		want: dwords{Opcode: 0x80, NSID: 0xFFFFFFFF, CDW10: 0x0201, Dir: devio.DirNone, Timeout: 2 * time.Hour},
	}, {
		// LBAF 17 = 01_0001b: 0001b in bits 3:0, 01b in bits 13:12; SES 010b in bits 11:9.
		name: "crypto erase, upper format", nsid: 2,
		opts: nvme.FormatOptions{LBAFormat: 17, SecureErase: nvme.CryptographicErase, Timeout: 30 * time.Minute},
		want: dwords{Opcode: 0x80, NSID: 2, CDW10: 0x1401, Dir: devio.DirNone, Timeout: 30 * time.Minute},
	}, {
		// LBAF 63: Fh in 3:0 and 11b in 13:12; MSET bit 4; PI 011b in 7:5; PIL bit 8.
		name: "every field", nsid: 1,
		opts: nvme.FormatOptions{LBAFormat: 63, ExtendedMetadata: true, ProtectionType: 3, ProtectionFirst: true},
		want: dwords{Opcode: 0x80, NSID: 1, CDW10: 0x317F, Dir: devio.DirNone, Timeout: 2 * time.Hour},
	}} {
		cmd, err := nvme.FormatNVM(tc.nsid, tc.opts)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := layout(cmd); got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}

	for name, bad := range map[string]struct {
		nsid uint32
		opts nvme.FormatOptions
	}{
		"namespace 0": {0, nvme.FormatOptions{}},
		"format 64":   {1, nvme.FormatOptions{LBAFormat: 64}},
		"SES 3":       {1, nvme.FormatOptions{SecureErase: 3}},
		"PI type 4":   {1, nvme.FormatOptions{ProtectionType: 4}},
	} {
		if _, err := nvme.FormatNVM(bad.nsid, bad.opts); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestSanitize(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts nvme.SanitizeOptions
		want dwords
	}{{
		name: "crypto erase",
		opts: nvme.SanitizeOptions{Action: nvme.SanitizeCryptoErase},
		want: dwords{Opcode: 0x84, CDW10: 0x4, Dir: devio.DirNone},
	}, {
		name: "block erase, unrestricted exit", // AUSE is bit 3
		opts: nvme.SanitizeOptions{Action: nvme.SanitizeBlockErase, AllowUnrestrictedExit: true},
		want: dwords{Opcode: 0x84, CDW10: 0x0A, Dir: devio.DirNone},
	}, {
		name: "crypto erase, no deallocate", // NDAS is bit 9
		opts: nvme.SanitizeOptions{Action: nvme.SanitizeCryptoErase, NoDeallocate: true},
		want: dwords{Opcode: 0x84, CDW10: 0x204, Dir: devio.DirNone},
	}, {
		name: "exit failure mode",
		opts: nvme.SanitizeOptions{Action: nvme.SanitizeExitFailureMode},
		want: dwords{Opcode: 0x84, CDW10: 0x1, Dir: devio.DirNone},
	}, {
		name: "overwrite, one pass", // OWPASS 1 in bits 7:4; pattern in CDW11
		opts: nvme.SanitizeOptions{Action: nvme.SanitizeOverwrite, OverwritePasses: 1, Pattern: 0xDEADBEEF},
		want: dwords{Opcode: 0x84, CDW10: 0x13, CDW11: 0xDEADBEEF, Dir: devio.DirNone},
	}, {
		name: "overwrite, 15 passes",
		opts: nvme.SanitizeOptions{Action: nvme.SanitizeOverwrite, OverwritePasses: 15},
		want: dwords{Opcode: 0x84, CDW10: 0xF3, Dir: devio.DirNone},
	}, {
		name: "overwrite, 16 passes, inverted", // 16 is encoded as OWPASS 0; OIPBP is bit 8
		opts: nvme.SanitizeOptions{Action: nvme.SanitizeOverwrite, OverwritePasses: 16, InvertPattern: true, Pattern: 0x55AA55AA},
		want: dwords{Opcode: 0x84, CDW10: 0x103, CDW11: 0x55AA55AA, Dir: devio.DirNone},
	}} {
		cmd, err := nvme.Sanitize(tc.opts)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got := layout(cmd); got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}

	for name, bad := range map[string]nvme.SanitizeOptions{
		"no action":                {},
		"reserved action":          {Action: 5},
		"overwrite, no passes":     {Action: nvme.SanitizeOverwrite},
		"overwrite, 17 passes":     {Action: nvme.SanitizeOverwrite, OverwritePasses: 17},
		"block erase with pattern": {Action: nvme.SanitizeBlockErase, Pattern: 1},
		"crypto erase with passes": {Action: nvme.SanitizeCryptoErase, OverwritePasses: 1},
		"crypto erase, inverted":   {Action: nvme.SanitizeCryptoErase, InvertPattern: true},
	} {
		if _, err := nvme.Sanitize(bad); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
