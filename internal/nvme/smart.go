package nvme

import (
	"encoding/binary"
	"fmt"
	"math/big"

	"github.com/decom-project/decom/internal/devio"
)

// Uint128 is one of the 16-byte counters of the SMART / Health Information log page. Drives
// rarely come near 2^64, but the field is 128 bits wide and the value is kept whole.
type Uint128 struct {
	Lo, Hi uint64
}

// String returns the exact value in decimal.
func (u Uint128) String() string {
	if u.Hi == 0 {
		return fmt.Sprint(u.Lo)
	}
	v := new(big.Int).SetUint64(u.Hi)
	v.Lsh(v, 64)
	v.Or(v, new(big.Int).SetUint64(u.Lo))
	return v.String()
}

// Uint64 returns the value, or 2^64-1 and false when it does not fit in 64 bits.
func (u Uint128) Uint64() (uint64, bool) {
	if u.Hi != 0 {
		return ^uint64(0), false
	}
	return u.Lo, true
}

// IsZero reports a zero counter.
func (u Uint128) IsZero() bool { return u.Lo == 0 && u.Hi == 0 }

// CriticalWarning is the Critical Warning field, byte 0 of the SMART / Health Information
// log page: each set bit is a condition the controller considers critical.
type CriticalWarning uint8

// Critical Warning bits (Base 2.0 §5.16.1.3).
const (
	// WarnSpare: the available spare capacity has fallen below the threshold.
	WarnSpare CriticalWarning = 1 << 0
	// WarnTemperature: a temperature is at or above an over-temperature threshold or at or
	// below an under-temperature threshold.
	WarnTemperature CriticalWarning = 1 << 1
	// WarnReliability: the NVM subsystem's reliability is degraded by media or internal
	// errors.
	WarnReliability CriticalWarning = 1 << 2
	// WarnReadOnly: all of the media has been placed in read-only mode.
	WarnReadOnly CriticalWarning = 1 << 3
	// WarnVolatileBackup: the volatile memory backup device has failed.
	WarnVolatileBackup CriticalWarning = 1 << 4
	// WarnPMRReadOnly: the Persistent Memory Region has become read-only or unreliable.
	WarnPMRReadOnly CriticalWarning = 1 << 5
)

var warningNames = []struct {
	bit  CriticalWarning
	name string
}{
	{WarnSpare, "available spare below threshold"},
	{WarnTemperature, "temperature outside its thresholds"},
	{WarnReliability, "reliability degraded"},
	{WarnReadOnly, "media read-only"},
	{WarnVolatileBackup, "volatile memory backup failed"},
	{WarnPMRReadOnly, "persistent memory region read-only"},
}

// Names lists the conditions whose bits are set, in bit order; reserved bits 7:6 appear as
// "reserved bit N".
func (w CriticalWarning) Names() []string {
	var out []string
	for _, n := range warningNames {
		if w&n.bit != 0 {
			out = append(out, n.name)
		}
	}
	for b := 6; b < 8; b++ {
		if w&(1<<b) != 0 {
			out = append(out, fmt.Sprintf("reserved bit %d", b))
		}
	}
	return out
}

// SMARTLog is the SMART / Health Information log page (Base 2.0 §5.16.1.3, log page 02h),
// controller-wide when read with NSIDAll.
type SMARTLog struct {
	// CriticalWarning is byte 0.
	CriticalWarning CriticalWarning
	// CompositeTemperature is bytes 2:1, in kelvin; 0 when the controller reports none.
	CompositeTemperature uint16
	// AvailableSpare (byte 3) is the remaining spare capacity as a percentage (0 to 100),
	// AvailableSpareThreshold (byte 4) the percentage below which the controller warns.
	AvailableSpare          uint8
	AvailableSpareThreshold uint8
	// PercentageUsed (byte 5) is the vendor's estimate of the life used, in percent; it
	// may exceed 100 (up to 255).
	PercentageUsed uint8
	// DataUnitsRead and DataUnitsWritten (bytes 47:32, 63:48) count thousands of 512-byte
	// units, rounded up.
	DataUnitsRead, DataUnitsWritten Uint128
	// PowerCycles (bytes 127:112), PowerOnHours (143:128), UnsafeShutdowns (159:144),
	// MediaErrors (175:160: unrecovered data integrity errors) and ErrorLogEntries
	// (191:176: error information log entries over the controller's life).
	PowerCycles, PowerOnHours, UnsafeShutdowns, MediaErrors, ErrorLogEntries Uint128
}

// TemperatureCelsius returns the composite temperature in degrees Celsius, and false when
// the controller reports none.
func (s SMARTLog) TemperatureCelsius() (int, bool) {
	if s.CompositeTemperature == 0 {
		return 0, false
	}
	return int(s.CompositeTemperature) - 273, true
}

// smartLogFields is how much of the log page ParseSMARTLog reads: through the error
// information log entries, bytes 191:176.
const smartLogFields = 192

// ParseSMARTLog decodes the SMART / Health Information log page. b must hold at least the
// 192 bytes the fields occupy; the page a controller returns is SMARTLogSize bytes.
func ParseSMARTLog(b []byte) (SMARTLog, error) {
	if len(b) < smartLogFields {
		return SMARTLog{}, fmt.Errorf("nvme: smart log is %d bytes, want at least %d", len(b), smartLogFields)
	}
	le := binary.LittleEndian
	u128 := func(off int) Uint128 { return Uint128{Lo: le.Uint64(b[off:]), Hi: le.Uint64(b[off+8:])} }
	return SMARTLog{
		CriticalWarning:         CriticalWarning(b[0]),
		CompositeTemperature:    le.Uint16(b[1:]),
		AvailableSpare:          b[3],
		AvailableSpareThreshold: b[4],
		PercentageUsed:          b[5],
		DataUnitsRead:           u128(32),
		DataUnitsWritten:        u128(48),
		PowerCycles:             u128(112),
		PowerOnHours:            u128(128),
		UnsafeShutdowns:         u128(144),
		MediaErrors:             u128(160),
		ErrorLogEntries:         u128(176),
	}, nil
}

// ReadSMARTLog reads the controller-wide SMART / Health Information log page from d (Get
// Log Page 02h, namespace NSIDAll) and parses it.
func ReadSMARTLog(d devio.NVMe) (SMARTLog, error) {
	cmd, err := GetLogPage(LogSMART, NSIDAll, 0, SMARTLogSize)
	if err != nil {
		return SMARTLog{}, err
	}
	if _, err := Exec(d, cmd); err != nil {
		return SMARTLog{}, err
	}
	return ParseSMARTLog(cmd.Data)
}
