package ata

import (
	"errors"
	"fmt"
)

// DCOIdentify is the DEVICE CONFIGURATION IDENTIFY data structure (ACS-2, Device
// Configuration Overlay feature set): what the drive can do before a DEVICE CONFIGURATION SET
// took features and capacity away. Comparing it with IDENTIFY DEVICE shows what a DCO hides.
type DCOIdentify struct {
	// Revision is the data structure revision (word 0): 0001h ATA/ATAPI-6 and -7, 0002h
	// ATA8-ACS and ACS-2.
	Revision uint16
	// MaxLBA is the highest LBA the drive can expose (words 3-6); a DCO that shrinks the
	// drive shows here as more sectors than IDENTIFY DEVICE or the native max address report.
	MaxLBA uint64

	// MultiwordDMA (word 1 bits 2:0) and UltraDMA (word 2 bits 6:0) are the transfer mode
	// masks the drive may report.
	MultiwordDMA, UltraDMA uint16

	// Feature bits that the drive may report and a DCO may clear (word 7).
	SMART              bool // bit 0
	SMARTSelfTest      bool // bit 1
	SMARTErrorLog      bool // bit 2
	Security           bool // bit 3
	PowerUpInStandby   bool // bit 4
	TCQ                bool // bit 5 (READ/WRITE DMA QUEUED)
	AAM                bool // bit 6 (Automatic Acoustic Management)
	HPA                bool // bit 7 (Host Protected Area)
	LBA48              bool // bit 8
	Streaming          bool // bit 9
	FUA                bool // bit 11
	SelectiveSelfTest  bool // bit 12
	ConveyanceSelfTest bool // bit 13
	WriteReadVerify    bool // bit 14

	// SATAFeatures (word 8) and MoreFeatures (word 21) are kept raw. Word 8: bit 0 NCQ, 1
	// non-zero buffer offsets, 2 interface power management, 3 asynchronous notification, 4
	// software settings preservation. Word 21: bit 11 free-fall control, 12 trusted
	// computing, 13 WRITE UNCORRECTABLE EXT, 14 NV cache power management, 15 NV cache.
	SATAFeatures, MoreFeatures uint16

	// Checksummed reports an integrity word (word 255) with the A5h signature and a checksum
	// that verified.
	Checksummed bool
}

// Sectors is the number of sectors the drive can expose: MaxLBA + 1.
func (d DCOIdentify) Sectors() uint64 { return d.MaxLBA + 1 }

// ParseDCOIdentify decodes the 512 bytes of DEVICE CONFIGURATION IDENTIFY data. Data of the
// wrong size, all zeros or with a failing integrity word (ErrChecksum) is rejected.
func ParseDCOIdentify(b []byte) (DCOIdentify, error) {
	if len(b) != 512 {
		return DCOIdentify{}, fmt.Errorf("ata: dco identify data is %d bytes, want 512", len(b))
	}
	if allZero(b) {
		return DCOIdentify{}, errors.New("ata: dco identify data is all zeros")
	}
	present, err := checksum(b)
	if err != nil {
		return DCOIdentify{}, fmt.Errorf("ata: device configuration identify: %w", err)
	}
	w := identifyWords(b)
	w7 := w.word(7)
	bit := func(n int) bool { return w7&(1<<n) != 0 }
	return DCOIdentify{
		Revision:           w.word(0),
		MaxLBA:             w.qword(3) & (1<<48 - 1),
		MultiwordDMA:       w.word(1) & 0x0007,
		UltraDMA:           w.word(2) & 0x007F,
		SMART:              bit(0),
		SMARTSelfTest:      bit(1),
		SMARTErrorLog:      bit(2),
		Security:           bit(3),
		PowerUpInStandby:   bit(4),
		TCQ:                bit(5),
		AAM:                bit(6),
		HPA:                bit(7),
		LBA48:              bit(8),
		Streaming:          bit(9),
		FUA:                bit(11),
		SelectiveSelfTest:  bit(12),
		ConveyanceSelfTest: bit(13),
		WriteReadVerify:    bit(14),
		SATAFeatures:       w.word(8),
		MoreFeatures:       w.word(21),
		Checksummed:        present,
	}, nil
}

// HiddenFeatures lists the features that the DCO data says the drive has but that IDENTIFY
// DEVICE does not report: features a DEVICE CONFIGURATION SET has hidden. It covers the ones
// that matter to sanitization: "security" (word 82 bit 1), "hpa" (word 82 bit 10) and "48-bit"
// (word 83 bit 10). Hidden capacity is not a feature: compare Sectors with the native max
// address.
func (d DCOIdentify) HiddenFeatures(id Identify) []string {
	var hidden []string
	if d.Security && !id.Security.Supported {
		hidden = append(hidden, "security")
	}
	if d.HPA && !id.HPASupported {
		hidden = append(hidden, "hpa")
	}
	if d.LBA48 && !id.LBA48 {
		hidden = append(hidden, "48-bit")
	}
	return hidden
}
