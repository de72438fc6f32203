package certificates

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/decom-project/decom/internal/jsonint"
)

// PredicateType is the in-toto predicate type of decom's certificates.
const PredicateType = "https://github.com/decom-project/decom/certificate-of-sanitization/v1"

// SchemaVersion is the version of the Certificate JSON schema that New writes.
//
// Version 2 added the outcome "unverified" (status record-of-unverified-sanitization),
// the category "none", sanitization.verify_required, and writes the sampling seed as
// a JSON string. Version 1 documents still verify, under version 1's rules: their
// seeds are numbers, and a wipe that was never read back could be "sanitized" (see
// Caveat).
const SchemaVersion = "2"

// SchemaVersion1 is the first schema, written until version 2.
const SchemaVersion1 = "1"

// Outcomes of a sanitization, as a certificate states them.
const (
	OutcomeSanitized  = "sanitized"
	OutcomeExceptions = "sanitized-with-exceptions"
	// OutcomeUnverified: every pass ran to its end, but nothing was read back.
	OutcomeUnverified      = "unverified"
	OutcomeFailed          = "failed"
	OutcomeAborted         = "aborted"
	StatusCertificate      = "certificate-of-sanitization"
	StatusFailureRecord    = "record-of-failed-sanitization"
	StatusAbortedRecord    = "record-of-aborted-sanitization"
	StatusUnverifiedRecord = "record-of-unverified-sanitization"
	StatusExceptionsCert   = "certificate-of-sanitization-with-exceptions"
)

// NIST SP 800-88 method types.
const (
	CategoryClear   = "clear"
	CategoryPurge   = "purge"
	CategoryDestroy = "destroy"
	// CategoryNone claims no NIST SP 800-88 method type: a custom pass sequence that
	// is no catalogued method's.
	CategoryNone = "none"
)

// Destinations of the media after sanitization (NIST SP 800-88 Appendix G).
const (
	DestInternalReuse = "internal-reuse"
	DestExternalReuse = "external-reuse"
	DestRecycling     = "recycling"
	DestManufacturer  = "manufacturer"
	DestOther         = "other"
	DestUnknown       = "unspecified"
)

// Destinations lists the accepted destination kinds.
var Destinations = []string{DestInternalReuse, DestExternalReuse, DestRecycling, DestManufacturer, DestOther}

// Certificate is the signed content: the predicate of the in-toto Statement. Its JSON
// form is the schema an auditor checks; fields are only ever added.
type Certificate struct {
	SchemaVersion string `json:"schema_version"`
	// ID identifies the certificate uniquely (a random UUID).
	ID string `json:"id"`
	// Status names what the document is: a certificate of sanitization only when the
	// media were sanitized and read back; otherwise a record of an unverified, failed
	// or aborted attempt.
	Status  string    `json:"status"`
	Outcome string    `json:"outcome"`
	Issued  time.Time `json:"issued"`

	PerformedBy  Person  `json:"performed_by"`
	ValidatedBy  *Person `json:"validated_by,omitempty"`
	Organization string  `json:"organization,omitempty"`
	Customer     string  `json:"customer,omitempty"`

	Media        Media        `json:"media"`
	Source       Source       `json:"source"`
	Sanitization Sanitization `json:"sanitization"`
	Verification Verification `json:"verification"`
	Destination  Destination  `json:"destination"`

	// DataBackedUp is yes, no or unknown.
	DataBackedUp string `json:"data_backed_up"`
	// Confidentiality categorisations before and after, when the organisation uses them.
	PreCategorization  string `json:"pre_sanitization_categorization,omitempty"`
	PostCategorization string `json:"post_sanitization_categorization,omitempty"`
	Notes              string `json:"notes,omitempty"`

	// Destruction is how the media were destroyed: certificates of destruction only
	// (schema 3, outcome destroyed).
	Destruction *Destruction `json:"destruction,omitempty"`
}

// Person is someone who performed or validated a sanitization.
type Person struct {
	Name         string `json:"name"`
	Title        string `json:"title,omitempty"`
	Organization string `json:"organization,omitempty"`
	Location     string `json:"location,omitempty"`
	Contact      string `json:"contact,omitempty"`
}

// Media describes the sanitized drive, partition or image file.
type Media struct {
	Kind               string `json:"kind"` // drive, partition or file
	Path               string `json:"path"`
	Manufacturer       string `json:"manufacturer,omitempty"`
	Model              string `json:"model,omitempty"`
	Serial             string `json:"serial,omitempty"`
	WWN                string `json:"wwn,omitempty"`
	Firmware           string `json:"firmware,omitempty"`
	SizeBytes          uint64 `json:"size_bytes"`
	LogicalSectorSize  uint64 `json:"logical_sector_size,omitempty"`
	PhysicalSectorSize uint64 `json:"physical_sector_size,omitempty"`
	MediaType          string `json:"media_type,omitempty"` // hdd, ssd, flash, virtual
	Transport          string `json:"transport,omitempty"`
	AssetNumber        string `json:"asset_number,omitempty"`
	// HiddenAreas says what is known of HPA/DCO areas: "unknown" until decom reads
	// them from the drive.
	HiddenAreas string `json:"hidden_areas"`
	// Partition is the partition number for a partition, 0 otherwise.
	Partition int `json:"partition,omitempty"`
	// Health is what the drive said of its own condition before the wipe, when it
	// was asked; absent for image files, devices without firmware, and certificates
	// of decom versions that did not ask.
	Health *Health `json:"health,omitempty"`
}

// HealthStatuses are the values of Health.Status.
var HealthStatuses = []string{"ok", "warning", "failing", "unavailable"}

// Health is a drive's health as measured before the wipe: SMART (ATA), the SMART /
// health information log (NVMe), or informational exceptions and error counters
// (SCSI). Status is ok, warning, failing or unavailable; Reasons says what made it so
// ("3 reallocated sectors"), or why it could not be read. Counters that may pass 2^53
// are decimal strings; NVMe's 128-bit counters are kept whole.
type Health struct {
	Status     string    `json:"status"`
	Reasons    []string  `json:"reasons"`
	Source     string    `json:"source,omitempty"`
	MeasuredAt time.Time `json:"measured_at"`

	PowerOnHours       *jsonint.Uint64 `json:"power_on_hours,omitempty"`
	PowerCycles        *jsonint.Uint64 `json:"power_cycles,omitempty"`
	TemperatureCelsius *int            `json:"temperature_celsius,omitempty"`

	// NVMe.
	CriticalWarnings []string `json:"critical_warnings,omitempty"`
	PercentageUsed   *int     `json:"percentage_used,omitempty"`
	AvailableSpare   *int     `json:"available_spare_percent,omitempty"`
	DataUnitsRead    string   `json:"data_units_read,omitempty"`
	DataUnitsWritten string   `json:"data_units_written,omitempty"`
	UnsafeShutdowns  string   `json:"unsafe_shutdowns,omitempty"`
	MediaErrors      string   `json:"media_errors,omitempty"`

	// ATA.
	SMARTStatus          string          `json:"smart_status,omitempty"`
	ReallocatedSectors   *jsonint.Uint64 `json:"reallocated_sectors,omitempty"`
	PendingSectors       *jsonint.Uint64 `json:"pending_sectors,omitempty"`
	OfflineUncorrectable *jsonint.Uint64 `json:"offline_uncorrectable,omitempty"`

	// SCSI.
	Exception               string          `json:"exception,omitempty"`
	UncorrectedReadErrors   *jsonint.Uint64 `json:"uncorrected_read_errors,omitempty"`
	UncorrectedWriteErrors  *jsonint.Uint64 `json:"uncorrected_write_errors,omitempty"`
	UncorrectedVerifyErrors *jsonint.Uint64 `json:"uncorrected_verify_errors,omitempty"`
}

// Summary is the health in one line for people: the status, its reasons, and the
// power-on hours when known ("warning: 3 reallocated sectors; 41668 power-on hours").
func (h *Health) Summary() string {
	if h == nil {
		return ""
	}
	s := h.Status
	if h.Status == "failing" {
		s = "FAILING"
	}
	if len(h.Reasons) > 0 {
		s += ": " + strings.Join(h.Reasons, ", ")
	}
	var r []string
	if h.PowerOnHours != nil {
		r = append(r, h.PowerOnHours.String()+" power-on hours")
	}
	if h.PercentageUsed != nil {
		r = append(r, strconv.Itoa(*h.PercentageUsed)+"% of rated life used")
	}
	if len(r) > 0 {
		s += "; " + strings.Join(r, ", ")
	}
	return s
}

// Source is the host system the media were in.
type Source struct {
	Hostname      string `json:"hostname,omitempty"`
	SystemVendor  string `json:"system_vendor,omitempty"`
	SystemProduct string `json:"system_product,omitempty"`
	SystemSerial  string `json:"system_serial,omitempty"`
	SystemUUID    string `json:"system_uuid,omitempty"`
}

// Sanitization is what was done.
type Sanitization struct {
	// Category is the NIST SP 800-88 method type: clear, purge or destroy; none for
	// a custom pass sequence, which claims no type.
	Category string `json:"category"`
	// Technique is how: overwrite, or the drive's own command (nvme-format-user-data-erase,
	// ata-sanitize-block-erase, …; see decom methods).
	Technique string `json:"technique"`
	// Reason is why the technique was chosen for this drive, for planned methods
	// (nist-purge, nist-clear).
	Reason string `json:"reason,omitempty"`
	// Firmware is the evidence of a firmware technique.
	Firmware    *FirmwareEvidence `json:"firmware,omitempty"`
	Method      string            `json:"method"`
	MethodTitle string            `json:"method_title"`
	Standard    string            `json:"standard,omitempty"`
	Rounds      int               `json:"rounds"`
	FinalBlank  bool              `json:"final_blank"`
	// VerifyRequired says that the method's standard requires the result to be read
	// back (schema 2; false in schema 1 documents, which did not say).
	VerifyRequired bool      `json:"verify_required"`
	Passes         []Pass    `json:"passes"`
	IOMode         string    `json:"io_mode,omitempty"`
	Tool           Tool      `json:"tool"`
	Started        time.Time `json:"started"`
	Finished       time.Time `json:"finished"`
	// AbortedAt says where an aborted wipe stopped.
	AbortedAt *Position `json:"aborted_at,omitempty"`
	// Interruptions are the times the sanitization stopped without an orderly end
	// (a power cut, a crash, a kill) and was resumed from its journal: Started is
	// then when it first began.
	Interruptions []Interruption `json:"interruptions,omitempty"`
	Error         string         `json:"error,omitempty"`
	// ApprovedPlanSHA256 is the SHA-256 (hex) of the approved plan file the run
	// sanitized the media under (decom wipe --approved); empty without one.
	ApprovedPlanSHA256 string `json:"approved_plan_sha256,omitempty"`
	// Job names the decommissioning job the media were sanitized in (decom wipe
	// --job, or the approved plan's job), for the registry's fleet view; empty
	// without one (see ValidJob).
	Job string `json:"job,omitempty"`
}

// FirmwareEvidence is what decom asked of the drive's firmware.
type FirmwareEvidence struct {
	// Commands are the commands sent, in order.
	Commands []string `json:"commands"`
	// HiddenAreasBefore and HiddenAreasAfter describe the Host Protected Area around
	// the sanitize (ATA drives); empty for drives that have none.
	HiddenAreasBefore string `json:"hidden_areas_before,omitempty"`
	HiddenAreasAfter  string `json:"hidden_areas_after,omitempty"`
	Completed         bool   `json:"completed"`
	Error             string `json:"error,omitempty"`
	// Resumed says the command was sent before an interruption and its end was
	// learnt afterwards from the drive's status; Note says what the drive reported.
	Resumed  bool      `json:"resumed,omitempty"`
	Note     string    `json:"note,omitempty"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
}

// Pass is one overwrite pass.
type Pass struct {
	Number       int    `json:"number"`
	Pattern      string `json:"pattern"` // 0x00, 0x924924, random
	Key          string `json:"key,omitempty"`
	IV           string `json:"iv,omitempty"`
	BytesWritten uint64 `json:"bytes_written"`
	// ResumedFrom is where the pass continued after an interruption.
	ResumedFrom *int64    `json:"resumed_from,omitempty"`
	Completed   bool      `json:"completed"`
	Flushed     bool      `json:"flushed"`
	BadRanges   []Range   `json:"bad_ranges"`
	Errors      []string  `json:"errors"`
	Started     time.Time `json:"started"`
	Finished    time.Time `json:"finished"`
}

// Range is a byte range of the media.
type Range struct {
	Offset int64 `json:"offset"`
	Length int64 `json:"length"`
}

// Position is where an aborted wipe stopped.
type Position struct {
	Pass   int   `json:"pass"`
	Offset int64 `json:"offset"`
}

// Interruption is a stop without an orderly end, and the resume that followed.
type Interruption struct {
	// Pass and Offset are where the sanitization continued: every byte of the pass
	// below Offset had been written and flushed before the interruption.
	Pass   int   `json:"pass"`
	Offset int64 `json:"offset"`
	// LastCheckpoint is the last progress recorded before the interruption;
	// Resumed when the sanitization continued.
	LastCheckpoint time.Time `json:"last_checkpoint"`
	Resumed        time.Time `json:"resumed"`
}

// Tool names the software that sanitized.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Commit  string `json:"commit"`
}

// Verification is the proof: how the result was read back and what was found.
type Verification struct {
	// Method is full, sample or none.
	Method   string  `json:"method"`
	Verified bool    `json:"verified"`
	Checks   []Check `json:"checks"`
}

// Check is one reading back of one pass.
type Check struct {
	Pass     int    `json:"pass"`
	Mode     string `json:"mode"`
	Expected string `json:"expected"`
	// Seed is the sampling seed: a JSON string in schema 2, a number in schema 1.
	Seed              jsonint.Uint64 `json:"seed,omitempty"`
	CoverageRequested float64        `json:"coverage_requested,omitempty"`
	Coverage          float64        `json:"coverage"`
	Subsections       int            `json:"subsections,omitempty"`
	SampleBlockSize   int            `json:"sample_block_size,omitempty"`
	LocationsDigest   string         `json:"locations_sha256,omitempty"`
	BytesRead         int64          `json:"bytes_read"`
	MismatchedBytes   int64          `json:"mismatched_bytes"`
	Mismatches        []Mismatch     `json:"mismatches"`
	ReadErrors        []Range        `json:"read_errors"`
	// ExcludedBytes lay in the pass's bad ranges: exceptions, not judged.
	ExcludedBytes int64     `json:"excluded_bytes,omitempty"`
	Outcome       string    `json:"outcome"`
	Error         string    `json:"error,omitempty"`
	Started       time.Time `json:"started"`
	Finished      time.Time `json:"finished"`
}

// Mismatch is a place that did not read back as written.
type Mismatch struct {
	Offset   int64  `json:"offset"`
	Expected string `json:"expected"`
	Found    string `json:"found"`
}

// Destination is where the media go after sanitization.
type Destination struct {
	Kind    string `json:"kind"`
	Details string `json:"details,omitempty"`
}

// IsCertificate reports whether the document certifies a sanitization (possibly
// with exceptions), rather than recording an unverified, failed or aborted one.
func (c *Certificate) IsCertificate() bool {
	return c.Status == StatusCertificate || c.Status == StatusExceptionsCert || c.Status == StatusDestructionCert
}

// Title is what the document calls itself, on screen and on paper.
func (c *Certificate) Title() string {
	switch c.Status {
	case StatusCertificate:
		return "Certificate of Sanitization"
	case StatusExceptionsCert:
		return "Certificate of Sanitization — with exceptions"
	case StatusUnverifiedRecord:
		return "Record of an unverified sanitization — NOT a certificate of sanitization"
	case StatusAbortedRecord:
		return "Record of an aborted sanitization — NOT a certificate of sanitization"
	case StatusDestructionCert:
		return "Certificate of Destruction"
	}
	return "Record of a failed sanitization — NOT a certificate of sanitization"
}

// Caveat says, in a sentence without a final period, what keeps the document from
// certifying the sanitization it describes: why a record is not a certificate, or
// that a schema 1 certificate was issued without reading the media back. It is
// empty for a certificate that needs no caveat.
func (c *Certificate) Caveat() string {
	switch c.Status {
	case StatusUnverifiedRecord:
		s := "every pass was written, but the media were never read back"
		if c.Sanitization.VerifyRequired {
			s += ", although its method requires it"
		}
		return s
	case StatusAbortedRecord:
		return "the wipe was aborted; treat the media as still holding their data"
	case StatusFailureRecord:
		return "the wipe or its reading back failed; treat the media as still holding their data"
	}
	if c.SchemaVersion == SchemaVersion1 && (c.Verification.Method == "none" || len(c.Verification.Checks) == 0) {
		return "issued under schema 1 without reading the media back; decom now records such a wipe as unverified, not as a certificate of sanitization"
	}
	return ""
}

// CategoryText is the method type as people read it.
func (c *Certificate) CategoryText() string {
	switch c.Sanitization.Category {
	case CategoryNone:
		return "none (no NIST SP 800-88 class claimed)"
	case "":
		return "not stated"
	}
	return c.Sanitization.Category
}

// StatusFor is the one place that decides what a document may call itself: the
// status that goes with an outcome.
func StatusFor(outcome string) string {
	switch outcome {
	case OutcomeSanitized:
		return StatusCertificate
	case OutcomeExceptions:
		return StatusExceptionsCert
	case OutcomeUnverified:
		return StatusUnverifiedRecord
	case OutcomeAborted:
		return StatusAbortedRecord
	case OutcomeDestroyed:
		return StatusDestructionCert
	}
	return StatusFailureRecord
}

// schemaRules are what one schema version allows.
type schemaRules struct {
	outcomes, categories []string
	// readBack: a certificate (with or without exceptions) needs checks that passed.
	readBack bool
}

var schemas = map[string]schemaRules{
	SchemaVersion1: {
		outcomes:   []string{OutcomeSanitized, OutcomeExceptions, OutcomeFailed, OutcomeAborted},
		categories: []string{CategoryClear, CategoryPurge, CategoryDestroy, ""},
	},
	SchemaVersion: {
		outcomes:   []string{OutcomeSanitized, OutcomeExceptions, OutcomeUnverified, OutcomeFailed, OutcomeAborted},
		categories: []string{CategoryClear, CategoryPurge, CategoryDestroy, CategoryNone},
		readBack:   true,
	},
	SchemaVersion3: {
		outcomes:   []string{OutcomeSanitized, OutcomeExceptions, OutcomeUnverified, OutcomeFailed, OutcomeAborted, OutcomeDestroyed},
		categories: []string{CategoryClear, CategoryPurge, CategoryDestroy, CategoryNone},
		readBack:   true,
	},
}

// ErrInvalid is what Validate's errors wrap.
var ErrInvalid = errors.New("invalid certificate")

// Validate checks the schema rules a verifier relies on: required fields, known
// values, and a status that matches the outcome.
func (c *Certificate) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
	}
	rules, ok := schemas[c.SchemaVersion]
	if !ok {
		return bad("schema version %q, want %q (or %q, or %q for destruction)", c.SchemaVersion, SchemaVersion, SchemaVersion1, SchemaVersion3)
	}
	switch {
	case c.ID == "":
		return bad("no id")
	case !slices.Contains(rules.outcomes, c.Outcome):
		return bad("unknown outcome %q", c.Outcome)
	case c.Status != StatusFor(c.Outcome):
		return bad("status %q does not match outcome %q", c.Status, c.Outcome)
	case c.Issued.IsZero():
		return bad("no issue time")
	case c.PerformedBy.Name == "":
		return bad("no person performing the sanitization")
	case c.Media.Kind == "" || c.Media.Path == "" && (c.Outcome != OutcomeDestroyed || c.Media.Serial == "" && c.Media.WWN == ""):
		// A drive destroyed after it stopped answering may be known by its label alone.
		return bad("no media")
	case c.Media.Health != nil && !slices.Contains(HealthStatuses, c.Media.Health.Status):
		return bad("unknown health status %q", c.Media.Health.Status)
	case !slices.Contains(rules.categories, c.Sanitization.Category):
		return bad("unknown method type %q", c.Sanitization.Category)
	case c.Sanitization.Method == "" || c.Sanitization.Technique == "":
		return bad("no sanitization method")
	case !slices.Contains(append(slices.Clone(Destinations), DestUnknown), c.Destination.Kind):
		return bad("unknown destination %q", c.Destination.Kind)
	case !slices.Contains([]string{"yes", "no", "unknown"}, c.DataBackedUp):
		return bad("data backed up %q: want yes, no or unknown", c.DataBackedUp)
	case !slices.Contains([]string{"full", "sample", "none"}, c.Verification.Method):
		return bad("unknown verification method %q", c.Verification.Method)
	case c.Outcome == OutcomeSanitized && !c.Verification.Verified && c.Verification.Method != "none":
		return bad("sanitized, but its verification did not pass")
	case rules.readBack && c.IsCertificate() && c.Outcome != OutcomeDestroyed &&
		(!c.Verification.Verified || c.Verification.Method == "none" || len(c.Verification.Checks) == 0):
		return bad("%s, but the media were not read back, or their reading back did not pass", c.Outcome)
	case c.Outcome == OutcomeUnverified && len(c.Verification.Checks) > 0:
		return bad("unverified, but it holds %d checks of a reading back", len(c.Verification.Checks))
	case c.Sanitization.ApprovedPlanSHA256 != "" && !isSHA256Hex(c.Sanitization.ApprovedPlanSHA256):
		return bad("approved plan SHA-256 %q: want 64 lower-case hex digits", c.Sanitization.ApprovedPlanSHA256)
	case c.Sanitization.Job != "" && ValidJob(c.Sanitization.Job) != nil:
		return bad("%v", ValidJob(c.Sanitization.Job))
	}
	return c.validateDestruction()
}

// Subject is what the signed statement is about: the media, named by the strongest
// identity it has — its serial number, else its WWN, else its path — and identified
// by the SHA-256 of that value. The value itself is the "blob" cosign
// verify-blob-attestation checks a certificate against: an auditor holding the drive
// can type its serial into a file and check that the certificate is about it.
func (c *Certificate) Subject() (name string, blob []byte) {
	switch {
	case c.Media.Serial != "":
		return "serial:" + c.Media.Serial, []byte(c.Media.Serial)
	case c.Media.WWN != "":
		return "wwn:" + c.Media.WWN, []byte(c.Media.WWN)
	}
	return "path:" + c.Media.Path, []byte(c.Media.Path)
}

// isSHA256Hex reports whether s is a SHA-256 digest in lower-case hex.
func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return false
		}
	}
	return true
}
