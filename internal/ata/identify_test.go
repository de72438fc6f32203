package ata

import (
	"encoding/binary"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"
)

// The expected values below are read off the fixture builders in fixtures_test.go by hand,
// from the spec's definition of each word; none is computed by the code under test.

func TestParseIdentifyFixtures(t *testing.T) {
	tests := []struct {
		file string
		want Identify
	}{
		{"identify-hdd.hex", Identify{
			Model:              "WDC WD40EFRX-68N32N0",
			Serial:             "WD-WCC7K1ABCDEF",
			Firmware:           "82.00A82",
			WWN:                "0x50014ee2b5c3d4e5",
			Sectors:            7814037168,
			LBA48:              true,
			LogicalSectorSize:  512,
			PhysicalSectorSize: 4096,
			RotationRate:       5400,
			Security: Security{
				Supported:              true,
				EnhancedEraseSupported: true,
				EraseTime:              EraseTime{Duration: 372 * time.Minute},
				EnhancedEraseTime:      EraseTime{Duration: 508 * time.Minute, Longer: true},
			},
			HPASupported:   true,
			HPAEnabled:     true,
			DCOSupported:   true,
			SMARTSupported: true,
			SMARTEnabled:   true,
			Checksummed:    true,
		}},
		{"identify-ssd.hex", Identify{
			Model:               "Samsung SSD 860 EVO 500GB",
			Serial:              "S3Z1NB0K123456A",
			Firmware:            "RVT02B6Q",
			WWN:                 "0x5002538e40a1b2c3",
			Sectors:             976773168,
			LBA48:               true,
			LogicalSectorSize:   512,
			PhysicalSectorSize:  512,
			RotationRate:        1,
			Trim:                true,
			TrimDeterministic:   true,
			TrimZeroes:          true,
			EncryptsAllUserData: true,
			Security: Security{
				Supported:              true,
				Frozen:                 true,
				EnhancedEraseSupported: true,
				EraseTime:              EraseTime{Duration: 4 * time.Minute},
				EnhancedEraseTime:      EraseTime{Duration: 65532 * time.Minute, Longer: true},
			},
			Sanitize: Sanitize{
				Supported:      true,
				CryptoScramble: true,
				BlockErase:     true,
				AntifreezeLock: true,
				ACS3Commands:   true,
			},
			HPASupported:   true,
			HPAEnabled:     true,
			AMAXSupported:  true,
			SMARTSupported: true,
			SMARTEnabled:   true,
			Checksummed:    true,
		}},
		{"identify-qemu.hex", Identify{
			Model:              "QEMU HARDDISK",
			Serial:             "QM00001",
			Firmware:           "2.5+",
			Sectors:            41943040,
			LBA48:              true,
			LogicalSectorSize:  512,
			PhysicalSectorSize: 512,
			SMARTSupported:     true,
			SMARTEnabled:       true,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := ParseIdentify(fixture(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestIdentifyNonRotating(t *testing.T) {
	for file, want := range map[string]bool{"identify-hdd.hex": false, "identify-ssd.hex": true, "identify-qemu.hex": false} {
		id, err := ParseIdentify(fixture(t, file))
		if err != nil {
			t.Fatal(err)
		}
		if id.NonRotating() != want {
			t.Errorf("%s: NonRotating() = %v, want %v", file, id.NonRotating(), want)
		}
	}
}

func TestIdentifyStringByteOrder(t *testing.T) {
	// ATA strings put the first character of each pair in the high byte, which comes second
	// in the little-endian buffer: the model "WDC WD40..." starts at byte 54 as 'D', 'W'.
	b := fixture(t, "identify-hdd.hex")
	if b[54] != 'D' || b[55] != 'W' || b[56] != ' ' || b[57] != 'C' {
		t.Fatalf("fixture bytes 54-57 = %q, want \"DW C\"", b[54:58])
	}
}

// setWord returns a copy of b with word i set to v and the checksum (if any) recomputed.
func setWord(b []byte, i int, v uint16) []byte {
	b = slices.Clone(b)
	binary.LittleEndian.PutUint16(b[2*i:], v)
	if b[510] == 0xA5 {
		var sum byte
		for _, x := range b[:511] {
			sum += x
		}
		b[511] = -sum
	}
	return b
}

func TestParseIdentifyVariants(t *testing.T) {
	hdd := fixture(t, "identify-hdd.hex")

	t.Run("security states", func(t *testing.T) {
		// Word 128 = 0137h: supported, enabled, locked, count expired, enhanced erase,
		// maximum level; not frozen.
		id, err := ParseIdentify(setWord(hdd, 128, 0x0137))
		if err != nil {
			t.Fatal(err)
		}
		s := id.Security
		if !s.Supported || !s.Enabled || !s.Locked || s.Frozen || !s.CountExpired || !s.EnhancedEraseSupported || !s.MaximumLevel {
			t.Errorf("word 128 = 0137h: got %+v", s)
		}
	})

	t.Run("erase times", func(t *testing.T) {
		tests := []struct {
			w    uint16
			want EraseTime
		}{
			{0x0000, EraseTime{}},
			{0x0001, EraseTime{Duration: 2 * time.Minute}},
			{0x00FE, EraseTime{Duration: 508 * time.Minute}},
			{0x00FF, EraseTime{Duration: 508 * time.Minute, Longer: true}},
			{0x7F05, EraseTime{Duration: 10 * time.Minute}}, // legacy format: bits 14:8 reserved
			{0x8000, EraseTime{}},
			{0x8100, EraseTime{Duration: 512 * time.Minute}},
			{0xFFFE, EraseTime{Duration: 65532 * time.Minute}},
			{0xFFFF, EraseTime{Duration: 65532 * time.Minute, Longer: true}},
		}
		for _, tt := range tests {
			id, err := ParseIdentify(setWord(hdd, 89, tt.w))
			if err != nil {
				t.Fatal(err)
			}
			if id.Security.EraseTime != tt.want {
				t.Errorf("word 89 = %04xh: got %+v, want %+v", tt.w, id.Security.EraseTime, tt.want)
			}
		}
	})

	t.Run("sanitize bits need the feature set", func(t *testing.T) {
		// Word 59 = E000h: the three command bits without bit 12.
		id, err := ParseIdentify(setWord(hdd, 59, 0xE000))
		if err != nil {
			t.Fatal(err)
		}
		if id.Sanitize != (Sanitize{}) {
			t.Errorf("got %+v, want no sanitize", id.Sanitize)
		}
		id, err = ParseIdentify(setWord(hdd, 59, 0x5000)) // overwrite + feature set
		if err != nil {
			t.Fatal(err)
		}
		if id.Sanitize != (Sanitize{Supported: true, Overwrite: true}) {
			t.Errorf("word 59 = 5000h: got %+v", id.Sanitize)
		}
	})

	t.Run("28-bit drive", func(t *testing.T) {
		// Without word 83 bit 10 the capacity is words 60-61: 0FFFFFFFh.
		id, err := ParseIdentify(setWord(hdd, 83, 0x7800))
		if err != nil {
			t.Fatal(err)
		}
		if id.LBA48 || id.Sectors != 0x0FFFFFFF {
			t.Errorf("got LBA48 %v, %d sectors; want false, %d", id.LBA48, id.Sectors, 0x0FFFFFFF)
		}
	})

	t.Run("invalid word 83 hides words 82-84", func(t *testing.T) {
		id, err := ParseIdentify(setWord(hdd, 83, 0x0000))
		if err != nil {
			t.Fatal(err)
		}
		if id.LBA48 || id.HPASupported || id.DCOSupported {
			t.Errorf("got LBA48 %v HPA %v DCO %v from unmarked words", id.LBA48, id.HPASupported, id.DCOSupported)
		}
		// Security support is still read from word 128.
		if !id.Security.Supported {
			t.Error("security support lost")
		}
	})

	t.Run("extended number of sectors", func(t *testing.T) {
		// Word 69 bit 3 makes words 230-233 the capacity: 2_0000_0000h sectors.
		b := setWord(hdd, 69, 0x0008)
		b = setWord(b, 232, 0x0002)
		id, err := ParseIdentify(b)
		if err != nil {
			t.Fatal(err)
		}
		if id.Sectors != 0x2_0000_0000 {
			t.Errorf("got %d sectors, want %d", id.Sectors, uint64(0x2_0000_0000))
		}
	})

	t.Run("4Kn logical sectors", func(t *testing.T) {
		// Word 106 = 5000h: long logical sectors; words 117-118 = 0800h words = 4096 bytes.
		b := setWord(hdd, 106, 0x5000)
		b = setWord(b, 117, 0x0800)
		id, err := ParseIdentify(b)
		if err != nil {
			t.Fatal(err)
		}
		if id.LogicalSectorSize != 4096 || id.PhysicalSectorSize != 4096 {
			t.Errorf("got %d/%d, want 4096/4096", id.LogicalSectorSize, id.PhysicalSectorSize)
		}
	})

	t.Run("word 106 without its marker", func(t *testing.T) {
		id, err := ParseIdentify(setWord(hdd, 106, 0x2003))
		if err != nil {
			t.Fatal(err)
		}
		if id.LogicalSectorSize != 512 || id.PhysicalSectorSize != 512 {
			t.Errorf("got %d/%d, want the 512/512 default", id.LogicalSectorSize, id.PhysicalSectorSize)
		}
	})

	t.Run("WWN needs NAA 5", func(t *testing.T) {
		id, err := ParseIdentify(setWord(hdd, 108, 0x6001))
		if err != nil {
			t.Fatal(err)
		}
		if id.WWN != "" {
			t.Errorf("NAA 6 in word 108: WWN %q, want none", id.WWN)
		}
	})

	t.Run("reserved rotation rates", func(t *testing.T) {
		for _, r := range []uint16{0x0002, 0x0400, 0xFFFF} {
			id, err := ParseIdentify(setWord(hdd, 217, r))
			if err != nil {
				t.Fatal(err)
			}
			if id.RotationRate != 0 {
				t.Errorf("word 217 = %04xh: rotation %d, want 0 (not reported)", r, id.RotationRate)
			}
		}
	})

	t.Run("TRIM word of FFFFh", func(t *testing.T) {
		b := setWord(hdd, 169, 0xFFFF)
		b = setWord(b, 69, 0x4020)
		id, err := ParseIdentify(b)
		if err != nil {
			t.Fatal(err)
		}
		if id.Trim || id.TrimDeterministic || id.TrimZeroes {
			t.Errorf("got TRIM %v/%v/%v, want none", id.Trim, id.TrimDeterministic, id.TrimZeroes)
		}
	})
}

func TestParseIdentifyErrors(t *testing.T) {
	hdd := fixture(t, "identify-hdd.hex")

	corrupt := slices.Clone(hdd)
	corrupt[100] ^= 0x01
	if _, err := ParseIdentify(corrupt); !errors.Is(err, ErrChecksum) {
		t.Errorf("flipped bit: got %v, want ErrChecksum", err)
	}

	atapi := setWord(hdd, 0, 0x85C0)
	if _, err := ParseIdentify(atapi); err == nil {
		t.Error("ATAPI word 0: want an error")
	}
	cfa := setWord(hdd, 0, 0x848A)
	if _, err := ParseIdentify(cfa); err != nil {
		t.Errorf("CompactFlash word 0: %v", err)
	}

	for _, b := range [][]byte{nil, hdd[:511], append(slices.Clone(hdd), 0), make([]byte, 512)} {
		if _, err := ParseIdentify(b); err == nil {
			t.Errorf("%d bytes: want an error", len(b))
		}
	}
}

func TestParseDCOIdentify(t *testing.T) {
	got, err := ParseDCOIdentify(fixture(t, "dco-hdd.hex"))
	if err != nil {
		t.Fatal(err)
	}
	want := DCOIdentify{
		Revision:           2,
		MaxLBA:             7814037167,
		MultiwordDMA:       0x0007,
		UltraDMA:           0x007F,
		SMART:              true,
		SMARTSelfTest:      true,
		SMARTErrorLog:      true,
		Security:           true,
		PowerUpInStandby:   true,
		HPA:                true,
		LBA48:              true,
		Streaming:          true,
		FUA:                true,
		SelectiveSelfTest:  true,
		ConveyanceSelfTest: true,
		SATAFeatures:       0x001C,
		MoreFeatures:       0x2000,
		Checksummed:        true,
	}
	if got != want {
		t.Errorf("\n got %+v\nwant %+v", got, want)
	}
	if got.Sectors() != 7814037168 {
		t.Errorf("Sectors() = %d, want 7814037168", got.Sectors())
	}

	corrupt := fixture(t, "dco-hdd.hex")
	corrupt[6] ^= 0x80
	if _, err := ParseDCOIdentify(corrupt); !errors.Is(err, ErrChecksum) {
		t.Errorf("flipped bit: got %v, want ErrChecksum", err)
	}
	for _, b := range [][]byte{nil, make([]byte, 511), make([]byte, 512)} {
		if _, err := ParseDCOIdentify(b); err == nil {
			t.Errorf("%d bytes: want an error", len(b))
		}
	}
}

func TestDCOHiddenFeatures(t *testing.T) {
	dco, err := ParseDCOIdentify(fixture(t, "dco-hdd.hex"))
	if err != nil {
		t.Fatal(err)
	}
	hdd, err := ParseIdentify(fixture(t, "identify-hdd.hex"))
	if err != nil {
		t.Fatal(err)
	}
	if h := dco.HiddenFeatures(hdd); len(h) != 0 {
		t.Errorf("hdd: hidden %v, want none", h)
	}
	// The QEMU disk reports neither security nor HPA, which this DCO data says exist.
	qemu, err := ParseIdentify(fixture(t, "identify-qemu.hex"))
	if err != nil {
		t.Fatal(err)
	}
	if h := dco.HiddenFeatures(qemu); !slices.Equal(h, []string{"security", "hpa"}) {
		t.Errorf("qemu: hidden %v, want [security hpa]", h)
	}
}
