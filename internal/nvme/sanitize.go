package nvme

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/decom-project/decom/internal/devio"
)

// SanitizeState is the outcome of the most recent sanitize operation, bits 2:0 of SSTAT in the
// Sanitize Status log page (Base 2.0 §5.16, log page 81h).
type SanitizeState uint8

const (
	// SanitizeNever: the NVM subsystem has never been sanitized.
	SanitizeNever SanitizeState = 0
	// SanitizeCompleted: the most recent sanitize operation completed successfully.
	SanitizeCompleted SanitizeState = 1
	// SanitizeInProgress: a sanitize operation is running.
	SanitizeInProgress SanitizeState = 2
	// SanitizeFailed: the most recent sanitize operation failed.
	SanitizeFailed SanitizeState = 3
	// SanitizeCompletedDeallocated: the most recent sanitize operation asked for no
	// deallocation (NDAS) and completed successfully, but the controller deallocated all
	// user data anyway.
	SanitizeCompletedDeallocated SanitizeState = 4
)

func (s SanitizeState) String() string {
	switch s {
	case SanitizeNever:
		return "never sanitized"
	case SanitizeCompleted:
		return "completed"
	case SanitizeInProgress:
		return "in progress"
	case SanitizeFailed:
		return "failed"
	case SanitizeCompletedDeallocated:
		return "completed, deallocated despite no-deallocate"
	}
	return fmt.Sprintf("reserved sanitize status %d", uint8(s))
}

// Succeeded reports whether s is one of the two successful outcomes.
func (s SanitizeState) Succeeded() bool {
	return s == SanitizeCompleted || s == SanitizeCompletedDeallocated
}

// Estimate is an estimated duration from the Sanitize Status log page: whole seconds, with
// FFFFFFFFh meaning that the controller gives no estimate, and 0 meaning that the operation
// finishes by the time the Sanitize command that starts it completes.
type Estimate uint32

// NoEstimate is the value a controller reports when it gives no estimate.
const NoEstimate Estimate = 0xFFFFFFFF

// Duration returns the estimate, and false if the controller gave none.
func (e Estimate) Duration() (time.Duration, bool) {
	if e == NoEstimate {
		return 0, false
	}
	return time.Duration(e) * time.Second, true
}

// SanitizeStatus is the Sanitize Status log page (Base 2.0 §5.16, log page 81h).
type SanitizeStatus struct {
	// SPROG, bytes 1:0, is the progress of the running sanitize operation as a fraction of
	// 65536; controllers report FFFFh when none is running. See Progress.
	SPROG uint16
	// State is SSTAT bits 2:0 (bytes 3:2).
	State SanitizeState
	// OverwritePasses is SSTAT bits 7:3: the overwrite passes completed by the running or
	// most recent overwrite.
	OverwritePasses uint8
	// GlobalDataErased is SSTAT bit 8: no user data has been written to the NVM subsystem
	// since it was manufactured or last sanitized successfully.
	GlobalDataErased bool
	// CDW10 is SCDW10, bytes 7:4: Command Dword 10 of the Sanitize command that started the
	// running or most recent operation.
	CDW10 uint32

	// Estimated times (bytes 11:8, 15:12, 19:16) for an overwrite of 16 passes, a block
	// erase and a crypto erase, on a controller that does not modify media after a
	// no-deallocate sanitize (NODMMAS other than 2).
	OverwriteEstimate   Estimate
	BlockEraseEstimate  Estimate
	CryptoEraseEstimate Estimate
	// Estimated times (bytes 23:20, 27:24, 31:28) for the same operations started with
	// no-deallocate on a controller that then modifies media (NODMMAS 2).
	OverwriteNoDeallocEstimate   Estimate
	BlockEraseNoDeallocEstimate  Estimate
	CryptoEraseNoDeallocEstimate Estimate
}

// Progress returns how far the sanitize operation has got, from 0 to 1: SPROG/65536 while one
// is in progress, 1 once the most recent one succeeded, and 0 otherwise.
func (s SanitizeStatus) Progress() float64 {
	switch {
	case s.State == SanitizeInProgress:
		return float64(s.SPROG) / 65536
	case s.State.Succeeded():
		return 1
	}
	return 0
}

// sanitizeLogFields is how much of the log page ParseSanitizeStatus reads.
const sanitizeLogFields = 32

// ParseSanitizeStatus decodes the Sanitize Status log page. b must hold at least the 32 bytes
// the fields occupy; the page a controller returns is SanitizeLogSize bytes.
func ParseSanitizeStatus(b []byte) (SanitizeStatus, error) {
	if len(b) < sanitizeLogFields {
		return SanitizeStatus{}, fmt.Errorf("nvme: sanitize status log is %d bytes, want at least %d", len(b), sanitizeLogFields)
	}
	le := binary.LittleEndian
	sstat := le.Uint16(b[2:])
	return SanitizeStatus{
		SPROG:            le.Uint16(b[0:]),
		State:            SanitizeState(sstat & 0x07),
		OverwritePasses:  uint8(sstat>>3) & 0x1F,
		GlobalDataErased: sstat&(1<<8) != 0,
		CDW10:            le.Uint32(b[4:]),

		OverwriteEstimate:   Estimate(le.Uint32(b[8:])),
		BlockEraseEstimate:  Estimate(le.Uint32(b[12:])),
		CryptoEraseEstimate: Estimate(le.Uint32(b[16:])),

		OverwriteNoDeallocEstimate:   Estimate(le.Uint32(b[20:])),
		BlockEraseNoDeallocEstimate:  Estimate(le.Uint32(b[24:])),
		CryptoEraseNoDeallocEstimate: Estimate(le.Uint32(b[28:])),
	}, nil
}

// ReadSanitizeStatus reads the Sanitize Status log page from d and parses it. A controller
// that does not implement the page answers with ErrInvalidLogPage or ErrInvalidField.
func ReadSanitizeStatus(d devio.NVMe) (SanitizeStatus, error) {
	cmd, err := GetLogPage(LogSanitizeStatus, NSIDAll, 0, SanitizeLogSize)
	if err != nil {
		return SanitizeStatus{}, err
	}
	if _, err := Exec(d, cmd); err != nil {
		return SanitizeStatus{}, err
	}
	return ParseSanitizeStatus(cmd.Data)
}
