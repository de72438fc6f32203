package nvme_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The fixtures in testdata are written by this file: each is built field by field at the byte
// offsets the specification gives, so the tests that decode them check the parsers against
// the specification rather than against themselves. Run
//
//	go test -count=1 ./internal/nvme/ -run TestFixtures -args -update
//
// after changing a builder, and review the diff of testdata/*.hex.
var update = flag.Bool("update", false, "rewrite the fixtures in testdata")

// data is a structure being built, with little-endian writers at byte offsets.
type data []byte

func (d data) u8(off int, v uint8)    { d[off] = v }
func (d data) u16(off int, v uint16)  { binary.LittleEndian.PutUint16(d[off:], v) }
func (d data) u32(off int, v uint32)  { binary.LittleEndian.PutUint32(d[off:], v) }
func (d data) u64(off int, v uint64)  { binary.LittleEndian.PutUint64(d[off:], v) }
func (d data) raw(off int, b ...byte) { copy(d[off:], b) }

// ascii writes s space padded to n bytes, as Identify's ASCII fields are.
func (d data) ascii(off, n int, s string) {
	if len(s) > n {
		panic(fmt.Sprintf("%q does not fit in %d bytes", s, n))
	}
	copy(d[off:off+n], s+strings.Repeat(" ", n-len(s)))
}

// lbaf writes LBA format descriptor i: MS in bits 15:0, LBADS in 23:16, RP in 25:24.
func (d data) lbaf(i int, ms uint16, lbads, rp uint8) {
	d.u32(128+4*i, uint32(ms)|uint32(lbads)<<16|uint32(rp)<<24)
}

// idCtrlQEMU is the Identify Controller data of QEMU's emulated NVMe controller as
// hw/nvme/ctrl.c (nvme_init_ctrl) fills it for "-device nvme,serial=deadbeef" with default
// properties: Red Hat's PCI IDs, no Sanitize support (SANICAP 0) and no Format NVM
// attributes (FNA 0), but Format NVM and Namespace Management in OACS. FR is QEMU's version.
func idCtrlQEMU() []byte {
	d := make(data, 4096)
	d.u16(0, 0x1b36) // VID: Red Hat, Inc. (QEMU)
	d.u16(2, 0x1af4) // SSVID: Red Hat, Inc. (virtio range)
	d.ascii(4, 20, "deadbeef")
	d.ascii(24, 40, "QEMU NVMe Ctrl")
	d.ascii(64, 8, "10.1.0")
	d.u8(72, 6)                 // RAB
	d.raw(73, 0x00, 0x54, 0x52) // IEEE OUI, least significant byte first: 52:54:00
	d.u8(77, 7)                 // MDTS: 2^7 minimum pages
	d.u16(78, 0)                // CNTLID: first controller of its subsystem
	d.u32(80, 0x00010400)       // VER 1.4.0
	d.u32(92, 1<<8)             // OAES: namespace attribute notices
	d.u32(96, 1<<15)            // CTRATT: extended LBA formats
	d.u8(111, 1)                // CNTRLTYPE: I/O controller
	// OACS: Security Send/Receive (bit 0), Format NVM (1), Namespace Management (3),
	// Directives (5), Doorbell Buffer Config (8).
	d.u16(256, 1<<0|1<<1|1<<3|1<<5|1<<8)
	d.u8(258, 3)                                           // ACL
	d.u8(259, 3)                                           // AERL
	d.u8(260, 1<<1|1)                                      // FRMW: one slot, slot 1 read only
	d.u8(261, 1<<0|1<<1|1<<2)                              // LPA
	d.u16(266, 0x157)                                      // WCTEMP, kelvin
	d.u16(268, 0x175)                                      // CCTEMP, kelvin
	d.u8(512, 0x66)                                        // SQES
	d.u8(513, 0x44)                                        // CQES
	d.u32(516, 256)                                        // NN
	d.u8(525, 0x07)                                        // VWC: present, broadcast flush supported
	d.raw(768, []byte("nqn.2019-08.org.qemu:deadbeef")...) // SUBNQN, NUL terminated
	d.u16(2048, 0x9c4)                                     // PSD0 MP: 25 W in centiwatts
	d.u32(2052, 0x10)                                      // PSD0 ENLAT
	d.u32(2056, 0x4)                                       // PSD0 EXLAT
	return d
}

// idCtrlDatacenter is the Identify Controller data of a datacenter SSD modelled on a 3.84 TB
// U.2 drive: Sanitize with crypto erase and block erase but not overwrite, cryptographic erase
// through Format NVM, and media left unmodified after a no-deallocate sanitize.
func idCtrlDatacenter() []byte {
	d := make(data, 4096)
	d.u16(0, 0x144d) // VID
	d.u16(2, 0x144d) // SSVID
	d.ascii(4, 20, "S64HNE0R700123")
	d.ascii(24, 40, "SAMSUNG MZQL23T8HCLS-00A07")
	d.ascii(64, 8, "GDC5902Q")
	d.u8(72, 2)
	d.raw(73, 0x38, 0x25, 0x00) // IEEE OUI 00:25:38
	d.u8(77, 9)
	d.u16(78, 0x0006)     // CNTLID
	d.u32(80, 0x00010400) // VER 1.4.0
	// OACS: Security (0), Format NVM (1), Firmware (2), Namespace Management (3),
	// Device Self-test (4), Directives (5), NVMe-MI (6).
	d.u16(256, 0x005f)
	d.u64(280, 3840755982336) // TNVMCAP low half: 7501476528 blocks of 512 bytes
	d.u64(288, 0)             // TNVMCAP high half
	// SANICAP: crypto erase (bit 0), block erase (bit 1), NODMMAS 01b (bits 31:30).
	d.u32(328, 1<<0|1<<1|1<<30)
	d.u8(512, 0x66)
	d.u8(513, 0x44)
	d.u32(516, 32)                                                                      // NN
	d.u8(524, 1<<2)                                                                     // FNA: cryptographic erase supported
	d.u8(525, 0x06)                                                                     // VWC: none, broadcast flush supported
	d.raw(768, []byte("nqn.1994-11.com.samsung:nvme:PM9A3:2.5-inch:S64HNE0R700123")...) // SUBNQN
	return d
}

// idNSQEMU512 is the Identify Namespace data QEMU returns for a 1 GiB image with 512-byte
// blocks: QEMU's eight default LBA formats (512 and 4096 bytes, each with 0, 8, 16 and 64
// metadata bytes), format 0 in use, no NGUID and QEMU's default EUI-64 for its first
// namespace.
func idNSQEMU512() []byte {
	d := make(data, 4096)
	d.u64(0, 2097152)  // NSZE: 1 GiB / 512
	d.u64(8, 2097152)  // NCAP: no thin provisioning
	d.u64(16, 2097152) // NUSE
	d.u8(25, 7)        // NLBAF: 8 formats
	d.u8(26, 0)        // FLBAS: format 0, separate metadata
	d.u8(27, 0x03)     // MC
	d.u8(28, 0x1f)     // DPC
	d.u8(33, 0x01)     // DLFEAT
	d.raw(120, 0x52, 0x54, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01)
	for i, f := range []struct {
		ms    uint16
		lbads uint8
	}{{0, 9}, {8, 9}, {16, 9}, {64, 9}, {0, 12}, {8, 12}, {16, 12}, {64, 12}} {
		d.lbaf(i, f.ms, f.lbads, 0)
	}
	return d
}

// idNS4K is the Identify Namespace data of the datacenter drive's single namespace, formatted
// to 4096-byte blocks: format 0 is 512 bytes (relative performance "good"), format 1 is 4096
// bytes ("best") and in use.
func idNS4K() []byte {
	d := make(data, 4096)
	d.u64(0, 937684566) // NSZE: 3840755982336 / 4096
	d.u64(8, 937684566) // NCAP
	d.u64(16, 12345678) // NUSE
	d.u8(25, 1)         // NLBAF: 2 formats
	d.u8(26, 0x01)      // FLBAS: format 1
	d.raw(104, 0x36, 0x34, 0x48, 0x30, 0x52, 0x70, 0x01, 0x23, 0x00, 0x25, 0x38, 0x4e, 0x00, 0x00, 0x00, 0x01)
	d.raw(120, 0x00, 0x25, 0x38, 0x4e, 0x01, 0x23, 0x45, 0x67)
	d.lbaf(0, 0, 9, 2)
	d.lbaf(1, 0, 12, 0)
	return d
}

// sanitizeInProgress is the Sanitize Status log during a 3-pass inverting overwrite with one
// pass done and 40% of the work behind it.
func sanitizeInProgress() []byte {
	d := make(data, 512)
	d.u16(0, 26214)       // SPROG: 0.4 * 65536, rounded down
	d.u16(2, 2|1<<3)      // SSTAT: in progress, 1 pass completed
	d.u32(4, 3|3<<4|1<<8) // SCDW10: overwrite, OWPASS 3, OIPBP
	d.u32(8, 10800)       // overwrite: 3 hours
	d.u32(12, 600)        // block erase: 10 minutes
	d.u32(16, 2)          // crypto erase: 2 seconds
	d.u32(20, 0xFFFFFFFF) // no-deallocate estimates: none
	d.u32(24, 0xFFFFFFFF)
	d.u32(28, 0xFFFFFFFF)
	return d
}

// sanitizeCompleted is the Sanitize Status log after a successful crypto erase, before
// anything was written.
func sanitizeCompleted() []byte {
	d := make(data, 512)
	d.u16(0, 0xFFFF)     // SPROG: none running
	d.u16(2, 1|1<<8)     // SSTAT: completed, global data erased
	d.u32(4, 4)          // SCDW10: crypto erase
	d.u32(8, 0xFFFFFFFF) // overwrite: not supported, no estimate
	d.u32(12, 600)
	d.u32(16, 2)
	d.u32(20, 0xFFFFFFFF)
	d.u32(24, 600)
	d.u32(28, 0) // crypto erase with no-deallocate: done when the command is
	return d
}

// sanitizeFailed is the Sanitize Status log after a failed block erase that allowed
// unrestricted exit.
func sanitizeFailed() []byte {
	d := make(data, 512)
	d.u16(0, 0xFFFF)
	d.u16(2, 3)      // SSTAT: failed
	d.u32(4, 2|1<<3) // SCDW10: block erase, AUSE
	d.u32(8, 0xFFFFFFFF)
	d.u32(12, 600)
	d.u32(16, 2)
	d.u32(20, 0xFFFFFFFF)
	d.u32(24, 0xFFFFFFFF)
	d.u32(28, 0xFFFFFFFF)
	return d
}

// smartNew is the SMART / Health Information log of a drive fresh from the box, as QEMU's
// emulated controller answers it (hw/nvme/ctrl.c, nvme_smart_info): no warning, 100% spare
// with a 10% threshold, nothing used, a composite temperature of 323 K (50 °C).
func smartNew() []byte {
	d := make(data, 512)
	d.u8(0, 0)      // critical warning: none
	d.u16(1, 323)   // composite temperature, kelvin
	d.u8(3, 100)    // available spare, %
	d.u8(4, 10)     // available spare threshold, %
	d.u8(5, 0)      // percentage used
	d.u64(32, 12)   // data units read
	d.u64(48, 3)    // data units written
	d.u64(64, 1500) // host read commands
	d.u64(80, 400)  // host write commands
	d.u64(112, 1)   // power cycles
	d.u64(128, 0)   // power-on hours
	return d
}

// smartWorn is the log of a worn-out datacenter drive: the spare below its threshold and
// the media read-only (critical warning bits 0 and 3), 104% used, media errors, and a data
// units written counter past 2^64 (high qword 1) to check that 128-bit counters stay exact.
func smartWorn() []byte {
	d := make(data, 512)
	d.u8(0, 0x09)                 // critical warning: spare (bit 0), read-only (bit 3)
	d.u16(1, 0x0155)              // 341 K = 68 °C
	d.u8(3, 4)                    // available spare 4%
	d.u8(4, 5)                    // threshold 5%
	d.u8(5, 104)                  // percentage used: past the rated life
	d.u8(6, 0x01)                 // endurance group critical warning summary
	d.u64(32, 0x0123456789ABCDEF) // data units read: low qword
	d.u64(48, 0xFFFFFFFFFFFFFFFF) // data units written: low qword …
	d.u64(56, 1)                  // … and high qword: 2^65 - 1
	d.u64(96, 90210)              // controller busy time, minutes
	d.u64(112, 1234)              // power cycles
	d.u64(128, 43800)             // power-on hours: five years
	d.u64(144, 17)                // unsafe shutdowns
	d.u64(160, 3)                 // media and data integrity errors
	d.u64(176, 250)               // error information log entries
	d.u32(192, 60)                // warning composite temperature time, minutes
	d.u32(196, 5)                 // critical composite temperature time, minutes
	d.u16(200, 0x0150)            // temperature sensor 1
	return d
}

var fixtures = []struct {
	name    string
	comment string
	build   func() []byte
}{
	{"id-ctrl-qemu", "Identify Controller (CNS 01h): QEMU emulated NVMe, no sanitize", idCtrlQEMU},
	{"id-ctrl-datacenter", "Identify Controller (CNS 01h): datacenter SSD, sanitize crypto+block, format crypto erase", idCtrlDatacenter},
	{"id-ns-qemu-512", "Identify Namespace (CNS 00h): QEMU 1 GiB namespace, 512-byte format 0 of 8", idNSQEMU512},
	{"id-ns-4k", "Identify Namespace (CNS 00h): datacenter namespace, 4096-byte format 1 of 2", idNS4K},
	{"sanitize-in-progress", "Sanitize Status log (81h): overwrite in progress, 40%", sanitizeInProgress},
	{"sanitize-completed", "Sanitize Status log (81h): crypto erase completed", sanitizeCompleted},
	{"sanitize-failed", "Sanitize Status log (81h): block erase failed", sanitizeFailed},
	{"smart-new", "SMART / Health Information log (02h): new drive, as QEMU answers", smartNew},
	{"smart-worn", "SMART / Health Information log (02h): worn drive, spare and read-only warnings, 128-bit counter", smartWorn},
}

// TestFixtures checks that testdata matches the builders above (or rewrites it with -update).
func TestFixtures(t *testing.T) {
	for _, f := range fixtures {
		want := f.build()
		path := filepath.Join("testdata", f.name+".hex")
		if *update {
			if err := os.WriteFile(path, encodeHex(f.comment, want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got := load(t, f.name); !bytes.Equal(got, want) {
			t.Errorf("%s differs from its builder; run with -update and review the diff", path)
		}
	}
}

// load reads testdata/<name>.hex.
func load(t testing.TB, name string) []byte {
	t.Helper()
	text, err := os.ReadFile(filepath.Join("testdata", name+".hex"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := decodeHex(text)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

// The fixture format is a hex dump meant for review: '#' comments, a "size N" line, then rows
// of "OFFSET: 16 bytes" in hex. Rows of zeros are left out.

func encodeHex(comment string, b []byte) []byte {
	var out bytes.Buffer
	fmt.Fprintf(&out, "# %s\n# Generated by TestFixtures in fixtures_test.go; rows of zeros are omitted.\nsize %d\n", comment, len(b))
	for off := 0; off < len(b); off += 16 {
		row := b[off:min(off+16, len(b))]
		if bytes.Count(row, []byte{0}) == len(row) {
			continue
		}
		fields := make([]string, len(row))
		for i, c := range row {
			fields[i] = hex.EncodeToString([]byte{c})
		}
		fmt.Fprintf(&out, "%04x: %s\n", off, strings.Join(fields, " "))
	}
	return out.Bytes()
}

func decodeHex(text []byte) ([]byte, error) {
	var b []byte
	sc := bufio.NewScanner(bytes.NewReader(text))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		case strings.HasPrefix(line, "size "):
			size, err := strconv.Atoi(strings.TrimPrefix(line, "size "))
			if err != nil || b != nil {
				return nil, fmt.Errorf("line %d: bad size line", n)
			}
			b = make([]byte, size)
			continue
		}
		if b == nil {
			return nil, fmt.Errorf("line %d: data before the size line", n)
		}
		offText, bytesText, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("line %d: no offset", n)
		}
		off, err := strconv.ParseUint(offText, 16, 32)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
		row, err := hex.DecodeString(strings.ReplaceAll(bytesText, " ", ""))
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
		if int(off)+len(row) > len(b) {
			return nil, fmt.Errorf("line %d: row runs past size %d", n, len(b))
		}
		copy(b[off:], row)
	}
	return b, sc.Err()
}
