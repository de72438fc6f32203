package ata

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// SMART (B0h) FEATURE values and the signature its commands carry in LBA(23:8): LBA mid
// 4Fh, LBA high C2h (ACS-3 §7.40; READ THRESHOLDS from ATA/ATAPI-5, obsolete since but
// still answered by drives).
const (
	cmdSMART = 0xB0

	featSMARTReadData       = 0xD0
	featSMARTReadThresholds = 0xD1
	featSMARTReturnStatus   = 0xDA

	smartSignature = 0xC24F << 8 // LBA(23:16) C2h, LBA(15:8) 4Fh
	// smartExceeded is what RETURN STATUS leaves in LBA(23:8) when a threshold is exceeded:
	// LBA mid F4h, LBA high 2Ch.
	smartExceeded = 0x2CF4 << 8
)

func smart(feature uint16) Command {
	return Command{Command: cmdSMART, Features: feature, LBA: smartSignature, Count: 1, Protocol: PIODataIn}
}

// SMARTReadData returns SMART READ DATA (B0h/D0h): PIO data-in of the 512-byte device SMART
// data structure, decoded by ParseSMARTData.
func SMARTReadData() Command { return smart(featSMARTReadData) }

// SMARTReadThresholds returns SMART READ ATTRIBUTE THRESHOLDS (B0h/D1h): PIO data-in of the
// 512-byte threshold table, decoded by ParseSMARTThresholds. Obsolete in ACS, so a drive may
// abort it.
func SMARTReadThresholds() Command { return smart(featSMARTReadThresholds) }

// SMARTReturnStatus returns SMART RETURN STATUS (B0h/DAh), with CK_COND set: the verdict is
// in the LBA output register, decoded by ParseSMARTStatus.
func SMARTReturnStatus() Command {
	c := smart(featSMARTReturnStatus)
	c.Count, c.Protocol, c.CheckCondition = 0, NonData, true
	return c
}

// ErrSMARTStatusUnknown is returned for SMART RETURN STATUS output registers that hold
// neither of the two signatures ACS-3 allows.
var ErrSMARTStatusUnknown = errors.New("ata: smart return status: neither the passed nor the exceeded signature")

// ParseSMARTStatus decodes the outputs of SMART RETURN STATUS: LBA mid 4Fh and high C2h mean
// no threshold is exceeded, F4h and 2Ch that one is (the drive predicts its own failure).
// It returns true when a threshold is exceeded. LBA(23:8) survives fixed-format sense data.
func ParseSMARTStatus(r Registers) (exceeded bool, err error) {
	switch r.LBA & 0xFFFF00 {
	case smartSignature:
		return false, nil
	case smartExceeded:
		return true, nil
	}
	return false, fmt.Errorf("%w (LBA mid %#02x, high %#02x)", ErrSMARTStatusUnknown, byte(r.LBA>>8), byte(r.LBA>>16))
}

// Attribute IDs decom reads. Their meaning is not standardised (ACS leaves the table to
// vendors); these are the ones every vendor uses alike.
const (
	AttrReallocatedSectors    = 5
	AttrPowerOnHours          = 9
	AttrPowerCycles           = 12
	AttrAirflowTemperature    = 190
	AttrTemperature           = 194
	AttrPendingSectors        = 197
	AttrOfflineUncorrectable  = 198
	smartAttributes           = 30
	smartAttributeSize        = 12
	smartAttributeTableOffset = 2
)

// Attribute is one entry of the SMART attribute table.
type Attribute struct {
	// ID is the attribute number (byte 0 of the entry); never 0 in a decoded table.
	ID uint8
	// Flags is bytes 1-2; bit 0 marks a pre-failure attribute, whose value at or below its
	// threshold predicts failure.
	Flags uint16
	// Value and Worst are the normalised current and worst values (bytes 3, 4): higher is
	// better, typically 1 to 253.
	Value, Worst uint8
	// Raw is the 48-bit raw value (bytes 5-10, little-endian), whose meaning is the vendor's.
	Raw uint64
	// Threshold is the failure threshold of the attribute from SMART READ THRESHOLDS, when
	// read (HasThreshold).
	Threshold    uint8
	HasThreshold bool
}

// PreFailure reports bit 0 of the flags: the attribute predicts failure.
func (a Attribute) PreFailure() bool { return a.Flags&1 != 0 }

// Failing reports a pre-failure attribute whose normalised value has fallen to its non-zero
// threshold or below, the condition SMART RETURN STATUS reports.
func (a Attribute) Failing() bool {
	return a.HasThreshold && a.Threshold != 0 && a.PreFailure() && a.Value <= a.Threshold
}

// SMARTData is the device SMART data structure that SMART READ DATA returns.
type SMARTData struct {
	// Revision is bytes 0-1.
	Revision uint16
	// Attributes are the table's non-empty entries (ID not zero), in table order.
	Attributes []Attribute
	// ChecksumOK reports that the 512 bytes sum to zero modulo 256 (byte 511 is the
	// checksum). Drives with a bad checksum exist; the data is returned either way.
	ChecksumOK bool
}

// ParseSMARTData decodes the 512-byte device SMART data structure: bytes 0-1 revision, then
// 30 attribute entries of 12 bytes (ID, flags, value, worst, 6 raw bytes, reserved), byte 511
// the checksum.
func ParseSMARTData(b []byte) (SMARTData, error) {
	if len(b) != 512 {
		return SMARTData{}, fmt.Errorf("ata: smart data is %d bytes, want 512", len(b))
	}
	var sum byte
	for _, v := range b {
		sum += v
	}
	d := SMARTData{Revision: binary.LittleEndian.Uint16(b), ChecksumOK: sum == 0}
	for i := 0; i < smartAttributes; i++ {
		e := b[smartAttributeTableOffset+i*smartAttributeSize:][:smartAttributeSize]
		if e[0] == 0 {
			continue
		}
		raw := make([]byte, 8)
		copy(raw, e[5:11])
		d.Attributes = append(d.Attributes, Attribute{
			ID:    e[0],
			Flags: binary.LittleEndian.Uint16(e[1:]),
			Value: e[3],
			Worst: e[4],
			Raw:   binary.LittleEndian.Uint64(raw),
		})
	}
	return d, nil
}

// ParseSMARTThresholds decodes the 512-byte attribute threshold table of SMART READ
// THRESHOLDS (bytes 0-1 revision, then 30 entries of 12 bytes: ID, threshold, reserved) into a
// map from attribute ID to threshold.
func ParseSMARTThresholds(b []byte) (map[uint8]uint8, error) {
	if len(b) != 512 {
		return nil, fmt.Errorf("ata: smart thresholds are %d bytes, want 512", len(b))
	}
	out := map[uint8]uint8{}
	for i := 0; i < smartAttributes; i++ {
		e := b[smartAttributeTableOffset+i*smartAttributeSize:]
		if e[0] != 0 {
			out[e[0]] = e[1]
		}
	}
	return out, nil
}

// ApplyThresholds sets each attribute's threshold from th (ParseSMARTThresholds).
func (d *SMARTData) ApplyThresholds(th map[uint8]uint8) {
	for i := range d.Attributes {
		if t, ok := th[d.Attributes[i].ID]; ok {
			d.Attributes[i].Threshold, d.Attributes[i].HasThreshold = t, true
		}
	}
}

// Attribute returns the first entry with the given ID.
func (d SMARTData) Attribute(id uint8) (Attribute, bool) {
	for _, a := range d.Attributes {
		if a.ID == id {
			return a, true
		}
	}
	return Attribute{}, false
}

// Count returns the raw value of a counting attribute (reallocated, pending, uncorrectable
// sectors; power cycles) as the common vendors encode it: the whole 48 bits.
func (d SMARTData) Count(id uint8) (uint64, bool) {
	a, ok := d.Attribute(id)
	return a.Raw, ok
}

// PowerOnHours returns attribute 9's raw value as hours: its low 32 bits, since several
// vendors keep minutes or milliseconds in the upper 16.
func (d SMARTData) PowerOnHours() (uint64, bool) {
	a, ok := d.Attribute(AttrPowerOnHours)
	return a.Raw & 0xFFFFFFFF, ok
}

// TemperatureCelsius returns the current temperature from attribute 194, or 190 without it:
// the low byte of the raw value (the other bytes hold minimum and maximum on some drives).
func (d SMARTData) TemperatureCelsius() (int, bool) {
	for _, id := range []uint8{AttrTemperature, AttrAirflowTemperature} {
		if a, ok := d.Attribute(id); ok {
			return int(a.Raw & 0xFF), true
		}
	}
	return 0, false
}
