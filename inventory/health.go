package inventory

import (
	"fmt"
	"strings"
	"time"

	"github.com/decom-project/decom/internal/ata"
	"github.com/decom-project/decom/internal/nvme"
	"github.com/decom-project/decom/internal/scsi"
)

// Health status values.
const (
	HealthOK          = "ok"
	HealthWarning     = "warning"
	HealthFailing     = "failing"
	HealthUnavailable = "unavailable"
)

// Health sources: where the readings came from.
const (
	SourceNVMeSMART = "nvme-smart-log" // Get Log Page 02h, controller-wide
	SourceATASMART  = "ata-smart"      // SMART READ DATA, READ THRESHOLDS, RETURN STATUS
	SourceSCSILogs  = "scsi-log-pages" // LOG SENSE 2Fh, 02h, 03h, 05h
)

// PercentageUsedWarning is the NVMe Percentage Used at and above which a drive is reported
// as a warning: it is near or past the life its vendor rated it for.
const PercentageUsedWarning = 90

// Health is what a drive says of its own condition, read with commands that change nothing
// (Options.ProbeFirmware or Options.ReadHealth). Status is the verdict:
//
//   - failing: the drive predicts its own failure or reports a critical condition: ATA SMART
//     RETURN STATUS says a threshold is exceeded (or a pre-failure attribute is at or below
//     its threshold), an NVMe critical warning bit is set, or a SCSI informational exception
//     is a failure prediction (ASC 5Dh);
//   - warning: the drive works but has lost sectors or data, or is worn: ATA reallocated
//     (5), pending (197) or offline uncorrectable (198) sectors above 0, NVMe media and data
//     integrity errors above 0 or Percentage Used at or above PercentageUsedWarning, SCSI
//     total uncorrected read, write or verify errors above 0, or another SCSI informational
//     exception;
//   - ok: it was read and none of the above holds;
//   - unavailable: it could not be read (Reasons says why); this never fails an inventory.
//
// Reasons lists what made the status, in words ("3 reallocated sectors").
type Health struct {
	Status     string    `json:"status"`
	Reasons    []string  `json:"reasons"`
	Source     string    `json:"source,omitempty"`
	MeasuredAt time.Time `json:"measured_at"`

	// Readings common to every kind of drive, when it reports them. PowerOnHours and
	// PowerCycles saturate at 2^64-1 (an NVMe drive's exact 128-bit values are in NVMe).
	PowerOnHours       *uint64 `json:"power_on_hours,omitempty"`
	PowerCycles        *uint64 `json:"power_cycles,omitempty"`
	TemperatureCelsius *int    `json:"temperature_celsius,omitempty"`

	NVMe *NVMeHealth `json:"nvme,omitempty"`
	ATA  *ATAHealth  `json:"ata,omitempty"`
	SCSI *SCSIHealth `json:"scsi,omitempty"`
}

// NVMeHealth is the SMART / Health Information log page. Its 128-bit counters are decimal
// strings, exact in every JSON reader.
type NVMeHealth struct {
	// CriticalWarning is the raw byte; CriticalWarnings names its set bits.
	CriticalWarning         uint8    `json:"critical_warning"`
	CriticalWarnings        []string `json:"critical_warnings"`
	AvailableSpare          uint8    `json:"available_spare_percent"`
	AvailableSpareThreshold uint8    `json:"available_spare_threshold_percent"`
	PercentageUsed          uint8    `json:"percentage_used"`
	// DataUnitsRead and DataUnitsWritten count units of 1000 × 512 bytes.
	DataUnitsRead    string `json:"data_units_read"`
	DataUnitsWritten string `json:"data_units_written"`
	PowerCycles      string `json:"power_cycles"`
	PowerOnHours     string `json:"power_on_hours"`
	UnsafeShutdowns  string `json:"unsafe_shutdowns"`
	MediaErrors      string `json:"media_errors"`
	ErrorLogEntries  string `json:"error_log_entries"`
}

// ATAHealth is an ATA drive's SMART status and attributes.
type ATAHealth struct {
	// SMARTStatus is the overall verdict of SMART RETURN STATUS: passed, failing, or
	// unknown when the drive's answer could not be read.
	SMARTStatus string `json:"smart_status"`
	// The counts of attributes 5, 197 and 198 (48-bit raw values), when the drive has them.
	ReallocatedSectors   *uint64 `json:"reallocated_sectors,omitempty"`
	PendingSectors       *uint64 `json:"pending_sectors,omitempty"`
	OfflineUncorrectable *uint64 `json:"offline_uncorrectable,omitempty"`
	// Attributes is the drive's whole attribute table; thresholds are set when SMART READ
	// THRESHOLDS answered.
	Attributes []ATAAttribute `json:"attributes"`
}

// ATAAttribute is one SMART attribute.
type ATAAttribute struct {
	ID         uint8  `json:"id"`
	Value      uint8  `json:"value"`
	Worst      uint8  `json:"worst"`
	Threshold  *uint8 `json:"threshold,omitempty"`
	Raw        uint64 `json:"raw"`
	PreFailure bool   `json:"pre_failure"`
	Failing    bool   `json:"failing"`
}

// SCSIHealth is a SCSI drive's informational exception and error counters.
type SCSIHealth struct {
	// Exception describes the most recent informational exception ("no exception" when
	// none); ASC and ASCQ are its codes. Empty when page 2Fh is not supported.
	Exception        string `json:"exception,omitempty"`
	ASC              uint8  `json:"asc"`
	ASCQ             uint8  `json:"ascq"`
	FailurePredicted bool   `json:"failure_predicted"`
	// Total uncorrected errors of the write (02h), read (03h) and verify (05h) error
	// counter pages, when the drive keeps them.
	UncorrectedReadErrors   *uint64 `json:"uncorrected_read_errors,omitempty"`
	UncorrectedWriteErrors  *uint64 `json:"uncorrected_write_errors,omitempty"`
	UncorrectedVerifyErrors *uint64 `json:"uncorrected_verify_errors,omitempty"`
	// PagesRead lists the log pages read, as two hex digits each.
	PagesRead []string `json:"pages_read"`
}

// Summary is the health in a few words for a table: "ok", "warning: 3 reallocated
// sectors", "FAILING: SMART overall status failing", "unavailable: …". More than one reason
// adds "(+N more)".
func (h *Health) Summary() string {
	if h == nil {
		return ""
	}
	head := h.Status
	if h.Status == HealthFailing {
		head = "FAILING"
	}
	switch {
	case len(h.Reasons) == 0:
		return head
	case len(h.Reasons) == 1:
		return head + ": " + h.Reasons[0]
	}
	return fmt.Sprintf("%s: %s (+%d more)", head, h.Reasons[0], len(h.Reasons)-1)
}

// healthUnavailable is a Health that could not be read, and why.
func healthUnavailable(why string, at time.Time) *Health {
	return &Health{Status: HealthUnavailable, Reasons: []string{why}, MeasuredAt: at}
}

// verdict collects the failing and warning reasons and sets Status.
type verdict struct{ failing, warning []string }

func (v *verdict) fail(format string, args ...any) {
	v.failing = append(v.failing, fmt.Sprintf(format, args...))
}
func (v *verdict) warn(format string, args ...any) {
	v.warning = append(v.warning, fmt.Sprintf(format, args...))
}

func (v *verdict) apply(h *Health) {
	h.Reasons = append(append([]string{}, v.failing...), v.warning...)
	switch {
	case len(v.failing) > 0:
		h.Status = HealthFailing
	case len(v.warning) > 0:
		h.Status = HealthWarning
	default:
		h.Status = HealthOK
	}
}

func plural(n uint64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func ptr[T any](v T) *T { return &v }

// nvmeHealth judges an NVMe SMART / Health Information log page.
func nvmeHealth(s nvme.SMARTLog, at time.Time) *Health {
	h := &Health{Source: SourceNVMeSMART, MeasuredAt: at, NVMe: &NVMeHealth{
		CriticalWarning: uint8(s.CriticalWarning), CriticalWarnings: s.CriticalWarning.Names(),
		AvailableSpare: s.AvailableSpare, AvailableSpareThreshold: s.AvailableSpareThreshold, PercentageUsed: s.PercentageUsed,
		DataUnitsRead: s.DataUnitsRead.String(), DataUnitsWritten: s.DataUnitsWritten.String(),
		PowerCycles: s.PowerCycles.String(), PowerOnHours: s.PowerOnHours.String(), UnsafeShutdowns: s.UnsafeShutdowns.String(),
		MediaErrors: s.MediaErrors.String(), ErrorLogEntries: s.ErrorLogEntries.String(),
	}}
	if h.NVMe.CriticalWarnings == nil {
		h.NVMe.CriticalWarnings = []string{}
	}
	poh, _ := s.PowerOnHours.Uint64()
	cycles, _ := s.PowerCycles.Uint64()
	h.PowerOnHours, h.PowerCycles = &poh, &cycles
	if c, ok := s.TemperatureCelsius(); ok {
		h.TemperatureCelsius = &c
	}
	var v verdict
	for _, w := range s.CriticalWarning.Names() {
		v.fail("critical warning: %s", w)
	}
	if !s.MediaErrors.IsZero() {
		v.warn("%s media and data integrity errors", s.MediaErrors)
	}
	if s.PercentageUsed >= PercentageUsedWarning {
		v.warn("%d%% of rated life used", s.PercentageUsed)
	}
	v.apply(h)
	return h
}

// ataHealth judges an ATA drive's SMART data. exceeded is SMART RETURN STATUS's answer,
// statusErr set when it could not be read; data may lack thresholds.
func ataHealth(d ata.SMARTData, exceeded bool, statusErr error, at time.Time) *Health {
	a := &ATAHealth{SMARTStatus: "passed", Attributes: []ATAAttribute{}}
	h := &Health{Source: SourceATASMART, MeasuredAt: at, ATA: a}
	var v verdict
	switch {
	case statusErr != nil:
		a.SMARTStatus = "unknown"
	case exceeded:
		a.SMARTStatus = "failing"
		v.fail("SMART overall status failing")
	}
	for _, x := range d.Attributes {
		out := ATAAttribute{ID: x.ID, Value: x.Value, Worst: x.Worst, Raw: x.Raw, PreFailure: x.PreFailure(), Failing: x.Failing()}
		if x.HasThreshold {
			out.Threshold = ptr(x.Threshold)
		}
		if out.Failing {
			v.fail("attribute %d at or below its threshold (%d ≤ %d)", x.ID, x.Value, x.Threshold)
		}
		a.Attributes = append(a.Attributes, out)
	}
	for _, c := range []struct {
		id        uint8
		set       **uint64
		one, many string
	}{
		{ata.AttrReallocatedSectors, &a.ReallocatedSectors, "reallocated sector", "reallocated sectors"},
		{ata.AttrPendingSectors, &a.PendingSectors, "pending sector", "pending sectors"},
		{ata.AttrOfflineUncorrectable, &a.OfflineUncorrectable, "offline uncorrectable sector", "offline uncorrectable sectors"},
	} {
		if n, ok := d.Count(c.id); ok {
			*c.set = ptr(n)
			if n > 0 {
				v.warn("%s", plural(n, c.one, c.many))
			}
		}
	}
	if n, ok := d.PowerOnHours(); ok {
		h.PowerOnHours = ptr(n)
	}
	if n, ok := d.Count(ata.AttrPowerCycles); ok {
		h.PowerCycles = ptr(n)
	}
	if c, ok := d.TemperatureCelsius(); ok {
		h.TemperatureCelsius = ptr(c)
	}
	v.apply(h)
	if statusErr != nil {
		h.Reasons = append(h.Reasons, "SMART RETURN STATUS unreadable: "+statusErr.Error())
	}
	return h
}

// scsiLogs is what a SCSI drive's log pages said; nil pointers for pages not read.
type scsiLogs struct {
	pages               []byte
	ie                  *scsi.InformationalExceptions
	write, read, verify *scsi.ErrorCounters
}

// scsiHealth judges a SCSI drive's log pages.
func scsiHealth(l scsiLogs, at time.Time) *Health {
	s := &SCSIHealth{PagesRead: []string{}}
	for _, p := range l.pages {
		s.PagesRead = append(s.PagesRead, fmt.Sprintf("%02x", p))
	}
	h := &Health{Source: SourceSCSILogs, MeasuredAt: at, SCSI: s}
	var v verdict
	if ie := l.ie; ie != nil {
		s.Exception, s.ASC, s.ASCQ, s.FailurePredicted = ie.Description(), ie.ASC, ie.ASCQ, ie.FailurePredicted()
		switch {
		case ie.FailurePredicted():
			v.fail("%s", ie.Description())
		case ie.Exception():
			v.warn("informational exception: %s", ie.Description())
		}
		if ie.HasTemperature {
			h.TemperatureCelsius = ptr(ie.Temperature)
		}
	}
	for _, c := range []struct {
		ec   *scsi.ErrorCounters
		set  **uint64
		name string
	}{{l.read, &s.UncorrectedReadErrors, "read"}, {l.write, &s.UncorrectedWriteErrors, "write"}, {l.verify, &s.UncorrectedVerifyErrors, "verify"}} {
		if c.ec == nil || !c.ec.HasTotalUncorrected {
			continue
		}
		*c.set = ptr(c.ec.TotalUncorrected)
		if c.ec.TotalUncorrected > 0 {
			v.warn("%s", plural(c.ec.TotalUncorrected, "uncorrected "+c.name+" error", "uncorrected "+c.name+" errors"))
		}
	}
	v.apply(h)
	return h
}

// hasPage reports whether the page list holds page.
func hasPage(pages []byte, page byte) bool { return strings.IndexByte(string(pages), page) >= 0 }
