package ata

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrChecksum is returned for a 512-byte data structure whose integrity word carries the
// signature A5h but whose bytes do not sum to zero (modulo 256).
var ErrChecksum = errors.New("ata: data structure checksum mismatch")

// Identify is the decoded IDENTIFY DEVICE data (ACS-3 §7.12.7, Table 45).
type Identify struct {
	// Model (words 27-46, §7.12.7.14), Serial (words 10-19, §7.12.7.10) and Firmware (words
	// 23-26, §7.12.7.13) are ATA strings, padding removed.
	Model, Serial, Firmware string
	// WWN is the world wide name (words 108-111, §7.12.7.58) as "0x" and 16 hex digits, or
	// "" when the drive reports none.
	WWN string

	// Sectors is the number of user addressable logical sectors: words 230-233 when word 69
	// bit 3 says they are valid, else words 100-103 when the 48-bit Address feature set is
	// supported, else words 60-61.
	Sectors uint64
	// LBA48 reports the 48-bit Address feature set (word 83 bit 10).
	LBA48 bool
	// LogicalSectorSize and PhysicalSectorSize are in bytes (word 106, words 117-118).
	LogicalSectorSize  uint32
	PhysicalSectorSize uint32
	// RotationRate is the nominal media rotation rate (word 217): 0 not reported, 1
	// non-rotating (solid state), otherwise revolutions per minute.
	RotationRate uint16

	// Trim reports DATA SET MANAGEMENT with TRIM (word 169 bit 0). TrimDeterministic (word 69
	// bit 14) means trimmed sectors read back the same data every time, TrimZeroes (word 69
	// bit 5) that they read back as zeros.
	Trim, TrimDeterministic, TrimZeroes bool
	// EncryptsAllUserData is word 69 bit 4: the device encrypts all user data, so crypto
	// scramble or an enhanced security erase destroys it by discarding the key.
	EncryptsAllUserData bool

	Security Security
	Sanitize Sanitize

	// HPASupported and HPAEnabled report the Host Protected Area feature set (word 82 bit 10,
	// word 85 bit 10; ACS-2 IDENTIFY DEVICE data, obsolete in ACS-3).
	HPASupported, HPAEnabled bool
	// DCOSupported reports the Device Configuration Overlay feature set (word 83 bit 11;
	// ACS-2, obsolete in ACS-3).
	DCOSupported bool
	// AMAXSupported reports the Accessible Max Address Configuration feature set (word 119
	// bit 8), which replaces HPA and DCO in ACS-3.
	AMAXSupported bool

	// SMARTSupported and SMARTEnabled report the SMART feature set (word 82 bit 0, word 85
	// bit 0). SMART READ DATA and RETURN STATUS are only sent to a drive that has it enabled.
	SMARTSupported, SMARTEnabled bool

	// Checksummed reports an integrity word (word 255) that carried the A5h signature and a
	// checksum that verified. Data without the signature is accepted unchecked.
	Checksummed bool
}

// NonRotating reports solid-state media.
func (id Identify) NonRotating() bool { return id.RotationRate == 1 }

// Security is the state of the Security feature set (ACS-3 §7.12.7.66, word 128; words 82,
// 85, 89, 90).
type Security struct {
	Supported              bool // word 128 bit 0 (also word 82 bit 1)
	Enabled                bool // word 128 bit 1 (also word 85 bit 1): a user password is set
	Locked                 bool // word 128 bit 2
	Frozen                 bool // word 128 bit 3: security commands refused until power cycle
	CountExpired           bool // word 128 bit 4: too many bad passwords, power cycle needed
	EnhancedEraseSupported bool // word 128 bit 5
	// MaximumLevel is word 128 bit 8, MASTER PASSWORD CAPABILITY: Maximum rather than High.
	MaximumLevel bool
	// EraseTime and EnhancedEraseTime are the drive's estimates for SECURITY ERASE UNIT in
	// normal and enhanced mode (words 89 and 90).
	EraseTime, EnhancedEraseTime EraseTime
}

// EraseTime is an erase time estimate of IDENTIFY word 89 or 90 (ACS-3 §7.12.7.43-44).
type EraseTime struct {
	// Duration is zero when the drive gives no estimate.
	Duration time.Duration
	// Longer means the drive only says the erase takes longer than Duration (the largest
	// value the field can hold: 508 minutes in the legacy format, 65532 in the extended one).
	Longer bool
}

// Sanitize reports the Sanitize Device feature set (word 59, ACS-3 §7.12.7.21). The command
// bits are only set when the feature set is.
type Sanitize struct {
	Supported      bool // bit 12
	CryptoScramble bool // bit 13: CRYPTO SCRAMBLE EXT
	Overwrite      bool // bit 14: OVERWRITE EXT
	BlockErase     bool // bit 15: BLOCK ERASE EXT
	// AntifreezeLock is bit 10: SANITIZE ANTIFREEZE LOCK EXT (ACS-3).
	AntifreezeLock bool
	// ACS3Commands is bit 11: the commands allowed while a sanitize runs are those of ACS-3,
	// not ACS-2.
	ACS3Commands bool
}

// identifyWords reads the little-endian words of a 512-byte data structure.
type identifyWords []byte

func (w identifyWords) word(i int) uint16 { return binary.LittleEndian.Uint16(w[2*i:]) }

func (w identifyWords) bit(i, b int) bool { return w.word(i)&(1<<b) != 0 }

// dword and qword read words i.. as one number, least significant word first (ACS-3 §3.3.9).
func (w identifyWords) dword(i int) uint32 { return binary.LittleEndian.Uint32(w[2*i:]) }
func (w identifyWords) qword(i int) uint64 { return binary.LittleEndian.Uint64(w[2*i:]) }

// valid reports the "shall be 01b" pattern in bits 15:14 that marks words 83, 84, 87, 106,
// 119 and 120 as holding real data.
func (w identifyWords) valid(i int) bool { return w.word(i)>>14 == 0b01 }

// str reads an ATA string of n words starting at word i: each word holds two characters,
// the first in bits 15:8 (ACS-3 §3.3.10).
func (w identifyWords) str(i, n int) string {
	b := make([]byte, 0, 2*n)
	for k := i; k < i+n; k++ {
		v := w.word(k)
		b = append(b, byte(v>>8), byte(v))
	}
	return strings.Trim(string(b), " \x00")
}

// checksum verifies the integrity word (word 255): bits 7:0 the signature A5h, bits 15:8 a
// checksum making all 512 bytes sum to zero modulo 256 (ACS-3 §7.12.7, word 255). It reports
// whether the signature was present.
func checksum(b []byte) (present bool, err error) {
	if b[510] != 0xA5 {
		return false, nil
	}
	var sum byte
	for _, v := range b {
		sum += v
	}
	if sum != 0 {
		return true, ErrChecksum
	}
	return true, nil
}

// ParseIdentify decodes the 512 bytes of IDENTIFY DEVICE data. It rejects data of the wrong
// size, all-zero data, data of an ATAPI device (word 0 bit 15; CompactFlash's 848Ah is
// accepted) and data whose integrity word does not verify (ErrChecksum).
func ParseIdentify(b []byte) (Identify, error) {
	if len(b) != 512 {
		return Identify{}, fmt.Errorf("ata: identify data is %d bytes, want 512", len(b))
	}
	w := identifyWords(b)
	if allZero(b) {
		return Identify{}, errors.New("ata: identify data is all zeros")
	}
	if w0 := w.word(0); w0&0x8000 != 0 && w0 != 0x848A {
		return Identify{}, fmt.Errorf("ata: identify data of a non-ATA device (word 0 = %#04x)", w0)
	}
	present, err := checksum(b)
	if err != nil {
		return Identify{}, fmt.Errorf("ata: identify device: %w", err)
	}

	id := Identify{
		Serial:      w.str(10, 10),
		Firmware:    w.str(23, 4),
		Model:       w.str(27, 20),
		Checksummed: present,
	}

	// Words 82-84 are valid when word 83 bits 15:14 are 01b; words 85-87 when word 87's are
	// (§7.12.7.40-41). Word 82 and 85 have no marker of their own.
	supportedValid := w.valid(83)
	enabledValid := w.valid(87)

	id.LBA48 = supportedValid && w.bit(83, 10)
	switch {
	case w.bit(69, 3) && w.qword(230) != 0:
		// ACS-3 words 230-233: Extended Number of User Addressable Sectors.
		id.Sectors = w.qword(230) & (1<<48 - 1)
	case id.LBA48:
		// Words 100-103 (§7.12.7.53); only 48 bits are defined.
		id.Sectors = w.qword(100) & (1<<48 - 1)
	default:
		// Words 60-61 (§7.12.7.22), 28-bit addressing.
		id.Sectors = uint64(w.dword(60) & 0x0FFFFFFF)
	}

	// Word 106 (§7.12.7.56): bit 12 the logical sector is longer than 256 words, its size
	// then in words 117-118 (§7.12.7.61, counted in words); bit 13 several logical sectors
	// per physical one, 2^(bits 3:0) of them.
	id.LogicalSectorSize = 512
	id.PhysicalSectorSize = 512
	if w.valid(106) {
		w106 := w.word(106)
		if w106&(1<<12) != 0 {
			if words := w.dword(117); words >= 256 && words <= 1<<20 {
				id.LogicalSectorSize = 2 * words
			}
		}
		id.PhysicalSectorSize = id.LogicalSectorSize
		if w106&(1<<13) != 0 {
			id.PhysicalSectorSize = id.LogicalSectorSize << (w106 & 0x0f)
		}
	}

	// Word 108 bits 15:12 hold the NAA, which must be 5 (IEEE registered, §7.12.7.58).
	if wwn := uint64(w.word(108))<<48 | uint64(w.word(109))<<32 | uint64(w.word(110))<<16 | uint64(w.word(111)); wwn>>60 == 5 {
		id.WWN = fmt.Sprintf("0x%016x", wwn)
	}

	// Word 217: 0000h not reported, 0001h non-rotating, 0401h-FFFEh rpm; others reserved.
	if r := w.word(217); r == 1 || (r >= 0x0401 && r != 0xFFFF) {
		id.RotationRate = r
	}

	// Word 169 bit 0 (TRIM); word 69 bits 14, 5 and 4 (§7.12.7.30). 0xFFFF in word 169 is
	// the value of drives that do not implement it.
	id.Trim = w.word(169) != 0xFFFF && w.bit(169, 0)
	id.TrimDeterministic = id.Trim && w.bit(69, 14)
	id.TrimZeroes = id.Trim && w.bit(69, 5)
	id.EncryptsAllUserData = w.bit(69, 4)

	// Security (§7.12.7.66, word 128; §7.12.7.40 word 82 bit 1; §7.12.7.41 word 85 bit 1).
	w128 := w.word(128)
	id.Security = Security{
		Supported:              w128&(1<<0) != 0 || (supportedValid && w.bit(82, 1)),
		Enabled:                w128&(1<<1) != 0 || (enabledValid && w.bit(85, 1)),
		Locked:                 w128&(1<<2) != 0,
		Frozen:                 w128&(1<<3) != 0,
		CountExpired:           w128&(1<<4) != 0,
		EnhancedEraseSupported: w128&(1<<5) != 0,
		MaximumLevel:           w128&(1<<8) != 0,
		EraseTime:              eraseTime(w.word(89)),
		EnhancedEraseTime:      eraseTime(w.word(90)),
	}

	// Sanitize (word 59, §7.12.7.21).
	if w.bit(59, 12) {
		id.Sanitize = Sanitize{
			Supported:      true,
			BlockErase:     w.bit(59, 15),
			Overwrite:      w.bit(59, 14),
			CryptoScramble: w.bit(59, 13),
			ACS3Commands:   w.bit(59, 11),
			AntifreezeLock: w.bit(59, 10),
		}
	}

	id.SMARTSupported = supportedValid && w.bit(82, 0)
	id.SMARTEnabled = id.SMARTSupported && enabledValid && w.bit(85, 0)

	id.HPASupported = supportedValid && w.bit(82, 10)
	id.HPAEnabled = enabledValid && w.bit(85, 10)
	id.DCOSupported = supportedValid && w.bit(83, 11)
	// Word 119 (§7.12.7.40) carries its own validity marker.
	id.AMAXSupported = w.valid(119) && w.bit(119, 8)
	return id, nil
}

// eraseTime decodes word 89 or 90. Bit 15 set: bits 14:0 are the time in units of two
// minutes, 7FFFh meaning more than 65532 minutes. Bit 15 clear (the older format): bits 7:0
// are, FFh meaning more than 508 minutes. Zero means no estimate.
func eraseTime(v uint16) EraseTime {
	var n, max uint16
	if v&0x8000 != 0 {
		n, max = v&0x7FFF, 0x7FFF
	} else {
		n, max = v&0x00FF, 0x00FF
	}
	if n == 0 {
		return EraseTime{}
	}
	if n == max {
		return EraseTime{Duration: time.Duration(2*(int(max)-1)) * time.Minute, Longer: true}
	}
	return EraseTime{Duration: time.Duration(2*int(n)) * time.Minute}
}

func allZero(b []byte) bool {
	for _, v := range b {
		if v != 0 {
			return false
		}
	}
	return true
}
