package ata

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The IDENTIFY DEVICE and DEVICE CONFIGURATION IDENTIFY fixtures in testdata are written by
// the builders below, word by word, with every value spelled out in hex. TestFixturesUpToDate
// checks that the files match; run `go test -run TestFixturesUpToDate -update` after changing
// a builder. The parser tests read the files, not the builders.

var update = flag.Bool("update", false, "rewrite the fixtures in testdata")

// block is a 512-byte ATA data structure under construction, as 256 words.
type block [256]uint16

func (b *block) set(word int, v uint16) { b[word] = v }

// setString writes an ATA string of n words at word: space padded, the first character of
// each pair in bits 15:8 (ACS-3 §3.3.10).
func (b *block) setString(word, n int, s string) {
	if len(s) > 2*n {
		panic("string too long: " + s)
	}
	s += strings.Repeat(" ", 2*n-len(s))
	for i := 0; i < n; i++ {
		b[word+i] = uint16(s[2*i])<<8 | uint16(s[2*i+1])
	}
}

// bytes serialises the words little-endian; with sign set, word 255 gets the A5h signature
// and the checksum byte that makes all 512 bytes sum to zero.
func (b *block) bytes(sign bool) []byte {
	out := make([]byte, 512)
	for i, w := range b {
		binary.LittleEndian.PutUint16(out[2*i:], w)
	}
	if sign {
		out[510] = 0xA5
		var sum byte
		for _, v := range out[:511] {
			sum += v
		}
		out[511] = -sum
	}
	return out
}

// hddIdentify is a 4 TB SATA hard disk in the style of a WD Red: security supported but not
// enabled nor frozen, enhanced erase with erase time estimates in the legacy format, HPA and
// DCO supported, 512-byte logical and 4096-byte physical sectors.
func hddIdentify() []byte {
	var b block
	b.set(0, 0x427A)                            // general configuration, ATA device
	b.set(1, 16383)                             // obsolete CHS geometry
	b.set(3, 16)                                //
	b.set(6, 63)                                //
	b.setString(10, 10, "     WD-WCC7K1ABCDEF") // serial, right-justified
	b.setString(23, 4, "82.00A82")              // firmware
	b.setString(27, 20, "WDC WD40EFRX-68N32N0") // model
	b.set(47, 0x8010)
	b.set(49, 0x2F00) // LBA, DMA, IORDY
	b.set(50, 0x4000)
	b.set(53, 0x0007)
	b.set(59, 0x0110) // multiple sector setting 16; no sanitize
	b.set(60, 0xFFFF) // 28-bit capacity capped at 0FFFFFFFh
	b.set(61, 0x0FFF)
	b.set(80, 0x03F0)
	b.set(82, 0x746B) // NOP, READ/WRITE BUFFER, HPA, look-ahead, write cache, PM, security, SMART
	b.set(83, 0x7C00) // valid, FLUSH CACHE EXT, FLUSH CACHE, DCO, 48-bit
	b.set(84, 0x4123) // valid, WWN, GPL, SMART self-test, SMART error log
	b.set(85, 0x7469) // as word 82 minus security: no password set
	b.set(86, 0xBC00) // words 119-120 valid, FLUSH CACHE EXT, FLUSH CACHE, 48-bit
	b.set(87, 0x4123)
	b.set(88, 0x407F)  // UDMA 6 selected
	b.set(89, 0x00BA)  // normal erase: 186 × 2 = 372 minutes (legacy format)
	b.set(90, 0x00FF)  // enhanced erase: more than 508 minutes (legacy format)
	b.set(92, 0xFFFE)  // master password identifier
	b.set(100, 0xBEB0) // 48-bit capacity 1_D1C0_BEB0h = 7814037168 sectors
	b.set(101, 0xD1C0)
	b.set(102, 0x0001)
	b.set(106, 0x6003) // valid, 2^3 logical sectors per physical sector
	b.set(108, 0x5001) // WWN 5001_4EE2_B5C3_D4E5h: NAA 5, OUI 0014EEh
	b.set(109, 0x4EE2)
	b.set(110, 0xB5C3)
	b.set(111, 0xD4E5)
	b.set(119, 0x400C) // valid, GPL DMA, WRITE UNCORRECTABLE; no AMAX
	b.set(120, 0x400C)
	b.set(128, 0x0021) // security supported, enhanced erase supported
	b.set(168, 0x0002) // 3.5"
	b.set(217, 0x1518) // 5400 rpm
	b.set(222, 0x107F) // serial transport
	return b.bytes(true)
}

// ssdIdentify is a 500 GB SATA SSD in the style of a Samsung 860 EVO: security frozen (as
// most BIOSes leave it), sanitize with crypto scramble and block erase, TRIM returning zeros,
// AMAX, erase times in the extended format.
func ssdIdentify() []byte {
	var b block
	b.set(0, 0x0040)
	b.set(1, 16383)
	b.set(3, 16)
	b.set(6, 63)
	b.setString(10, 10, "S3Z1NB0K123456A")
	b.setString(23, 4, "RVT02B6Q")
	b.setString(27, 20, "Samsung SSD 860 EVO 500GB")
	b.set(47, 0x8001)
	b.set(49, 0x2F00)
	b.set(50, 0x4000)
	b.set(53, 0x0007)
	b.set(59, 0xBD01) // block erase, crypto scramble, sanitize, ACS-3 commands, antifreeze; multiple 1
	b.set(60, 0xFFFF)
	b.set(61, 0x0FFF)
	b.set(69, 0x4030) // deterministic TRIM, TRIM returns zeros, encrypts all user data
	b.set(80, 0x0FF8)
	b.set(82, 0x746B)
	b.set(83, 0x7400) // valid, FLUSH CACHE EXT, FLUSH CACHE, 48-bit; no DCO
	b.set(84, 0x4163)
	b.set(85, 0x7469)
	b.set(86, 0xB400)
	b.set(87, 0x4163)
	b.set(88, 0x407F)
	b.set(89, 0x8002)  // normal erase: 2 × 2 = 4 minutes (extended format)
	b.set(90, 0xFFFF)  // enhanced erase: more than 65532 minutes (extended format)
	b.set(100, 0x6030) // 3A38_6030h = 976773168 sectors
	b.set(101, 0x3A38)
	b.set(106, 0x4000) // valid, one logical sector per physical sector
	b.set(108, 0x5002) // WWN 5002_538E_40A1_B2C3h
	b.set(109, 0x538E)
	b.set(110, 0x40A1)
	b.set(111, 0xB2C3)
	b.set(119, 0x415E) // valid, AMAX, sense data reporting, DM mode 3, GPL DMA, WU, WRV
	b.set(120, 0x401E)
	b.set(128, 0x0029) // security supported, frozen, enhanced erase supported
	b.set(168, 0x0003) // 2.5"
	b.set(169, 0x0001) // TRIM
	b.set(217, 0x0001) // non-rotating
	b.set(222, 0x10FF)
	return b.bytes(true)
}

// qemuIdentify is the IDENTIFY data of a 20 GiB QEMU IDE disk with default properties, laid
// out the way QEMU's hw/ide/core.c fills it: no security, no WWN, no rotation rate, no
// checksum.
func qemuIdentify() []byte {
	var b block
	b.set(0, 0x0040)
	b.set(1, 16383)
	b.set(3, 16)
	b.set(6, 63)
	b.set(20, 3)   // buffer type
	b.set(21, 512) // cache size in sectors
	b.set(22, 4)   // ECC bytes
	b.setString(10, 10, "QM00001")
	b.setString(23, 4, "2.5+")
	b.setString(27, 20, "QEMU HARDDISK")
	b.set(47, 0x8010)
	b.set(49, 0x0B00) // IORDY, LBA, DMA
	b.set(51, 0x0200)
	b.set(52, 0x0200)
	b.set(53, 0x0007)
	b.set(59, 0x0110)
	b.set(60, 0x0000) // 0280_0000h = 41943040 sectors
	b.set(61, 0x0280)
	b.set(62, 0x0007)
	b.set(63, 0x0007)
	b.set(64, 0x0003)
	b.set(65, 120)
	b.set(66, 120)
	b.set(67, 120)
	b.set(68, 120)
	b.set(80, 0x00F0)
	b.set(81, 0x0016)
	b.set(82, 0x4021) // NOP, write cache, SMART
	b.set(83, 0x7400) // valid, FLUSH CACHE EXT, FLUSH CACHE, 48-bit
	b.set(84, 0x4000)
	b.set(85, 0x4021)
	b.set(86, 0x3400)
	b.set(87, 0x4000)
	b.set(88, 0x203F) // UDMA 5 selected
	b.set(93, 0x6001)
	b.set(100, 0x0000) // 41943040 sectors
	b.set(101, 0x0280)
	b.set(106, 0x6000) // valid, 2^0 logical sectors per physical sector
	return b.bytes(false)
}

// hddDCO is the DEVICE CONFIGURATION IDENTIFY data of the hard disk above.
func hddDCO() []byte {
	var b block
	b.set(0, 0x0002)  // revision
	b.set(1, 0x0007)  // multiword DMA 0-2
	b.set(2, 0x007F)  // Ultra DMA 0-6
	b.set(3, 0xBEAF)  // max LBA 1_D1C0_BEAFh = 7814037167
	b.set(4, 0xD1C0)  //
	b.set(5, 0x0001)  //
	b.set(7, 0x3B9F)  // SMART, self-test, error log, security, PUIS, HPA, 48-bit, streaming, FUA, selective, conveyance
	b.set(8, 0x001C)  // interface power management, asynchronous notification, SSP
	b.set(21, 0x2000) // WRITE UNCORRECTABLE EXT
	return b.bytes(true)
}

// smartTable is a SMART READ DATA or READ THRESHOLDS structure under construction: bytes 0-1
// the revision, then 30 entries of 12 bytes from byte 2, byte 511 the checksum.
type smartTable [512]byte

// attr writes entry i: ID, flags (2 bytes), normalised value, worst, 48-bit raw value.
func (t *smartTable) attr(i int, id uint8, flags uint16, value, worst uint8, raw uint64) {
	e := t[2+12*i:]
	e[0] = id
	binary.LittleEndian.PutUint16(e[1:], flags)
	e[3], e[4] = value, worst
	for k := 0; k < 6; k++ {
		e[5+k] = byte(raw >> (8 * k))
	}
}

// threshold writes threshold entry i: ID, threshold.
func (t *smartTable) threshold(i int, id, th uint8) {
	t[2+12*i], t[2+12*i+1] = id, th
}

// bytes sets the revision and the checksum byte that makes the 512 bytes sum to zero.
func (t *smartTable) bytes(revision uint16) []byte {
	binary.LittleEndian.PutUint16(t[0:], revision)
	var sum byte
	for _, v := range t[:511] {
		sum += v
	}
	t[511] = -sum
	return t[:]
}

// qemuSMARTData is what QEMU's IDE/AHCI disk answers to SMART READ DATA: its seven attributes
// (hw/ide/core.c, smart_attributes), modelled on a Seagate ST3500418AS: raw read error rate,
// spin-up time, start/stop count, reallocated sectors 0, power-on hours 1, power cycles 0,
// airflow temperature 31 °C.
func qemuSMARTData() []byte {
	var t smartTable
	t.attr(0, 0x01, 0x0003, 0x64, 0x64, 0)
	t.attr(1, 0x03, 0x0003, 0x64, 0x64, 0x10)
	t.attr(2, 0x04, 0x0002, 0x64, 0x64, 0x64)
	t.attr(3, 0x05, 0x0003, 0x64, 0x64, 0)
	t.attr(4, 0x09, 0x0003, 0x64, 0x64, 1)
	t.attr(5, 0x0C, 0x0003, 0x64, 0x64, 0)
	t.attr(6, 190, 0x0003, 0x45, 0x45, 0x1F1F001F) // current 31 °C, low and high 31
	return t.bytes(0x0001)
}

// qemuSMARTThresholds is QEMU's answer to SMART READ THRESHOLDS: the last column of its table.
func qemuSMARTThresholds() []byte {
	var t smartTable
	for i, e := range []struct{ id, th uint8 }{{0x01, 0x06}, {0x03, 0}, {0x04, 0x14}, {0x05, 0x24}, {0x09, 0}, {0x0C, 0}, {190, 0x32}} {
		t.threshold(i, e.id, e.th)
	}
	return t.bytes(0x0001)
}

// wornSMARTData is an ageing hard disk: 8 reallocated sectors, 2 pending, 1 offline
// uncorrectable; power-on hours with minutes in the upper bytes (raw 0x0025_0000_A2C4: 41668
// hours), 194 temperature with minimum and maximum beside the current 40 °C; the table's
// entries are not in ID order and one slot in the middle is empty.
func wornSMARTData() []byte {
	var t smartTable
	t.attr(0, 0x01, 0x000F, 0x75, 0x63, 0x0000_0A1B_2C3D)
	t.attr(1, 0x05, 0x0033, 0x64, 0x64, 8)
	t.attr(2, 0x09, 0x0032, 0x35, 0x35, 0x0025_0000_A2C4)
	// entry 3 left empty
	t.attr(4, 0x0C, 0x0032, 0x63, 0x63, 1187)
	t.attr(5, 194, 0x0022, 0x28, 0x37, 0x0000_2D00_1228) // 40 °C now, 18 min, 45 max
	t.attr(6, 0xC5, 0x0012, 0x64, 0x64, 2)
	t.attr(7, 0xC6, 0x0010, 0x64, 0x64, 1)
	t.attr(8, 0xC7, 0x003E, 0xC8, 0xC8, 0)
	return t.bytes(0x0010)
}

var fixtureBuilders = map[string]struct {
	comment string
	build   func() []byte
}{
	"identify-hdd.hex":          {"IDENTIFY DEVICE data: 4 TB SATA hard disk (see hddIdentify in fixtures_test.go).", hddIdentify},
	"identify-ssd.hex":          {"IDENTIFY DEVICE data: 500 GB SATA SSD, security frozen (see ssdIdentify).", ssdIdentify},
	"identify-qemu.hex":         {"IDENTIFY DEVICE data: QEMU IDE disk, 20 GiB (see qemuIdentify).", qemuIdentify},
	"dco-hdd.hex":               {"DEVICE CONFIGURATION IDENTIFY data of the 4 TB hard disk (see hddDCO).", hddDCO},
	"smart-data-qemu.hex":       {"SMART READ DATA of QEMU's IDE/AHCI disk (see qemuSMARTData).", qemuSMARTData},
	"smart-thresholds-qemu.hex": {"SMART READ THRESHOLDS of QEMU's IDE/AHCI disk (see qemuSMARTThresholds).", qemuSMARTThresholds},
	"smart-data-worn.hex":       {"SMART READ DATA of an ageing hard disk with reallocated and pending sectors (see wornSMARTData).", wornSMARTData},
}

func encodeHexDump(comment string, b []byte) []byte {
	var out bytes.Buffer
	fmt.Fprintf(&out, "# %s\n# Generated by fixtures_test.go; 16 bytes (8 little-endian words) a line.\n", comment)
	for i := 0; i < len(b); i += 16 {
		fmt.Fprintf(&out, "%s  # words %d-%d\n", strings.TrimSpace(spaced(b[i:i+16])), i/2, i/2+7)
	}
	return out.Bytes()
}

func spaced(b []byte) string {
	var s strings.Builder
	for i, v := range b {
		if i > 0 {
			s.WriteByte(' ')
		}
		s.WriteString(hex.EncodeToString([]byte{v}))
	}
	return s.String()
}

func decodeHexDump(s string) ([]byte, error) {
	var digits strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		digits.WriteString(strings.Join(strings.Fields(line), ""))
	}
	return hex.DecodeString(digits.String())
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	b, err := decodeHexDump(string(raw))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return b
}

func TestFixturesUpToDate(t *testing.T) {
	for name, fb := range fixtureBuilders {
		want := encodeHexDump(fb.comment, fb.build())
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.MkdirAll("testdata", 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run with -update to create it)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is out of date; run go test -run TestFixturesUpToDate -update", path)
		}
	}
}
