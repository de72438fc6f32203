package sanitize

import (
	"crypto/rand"
	"fmt"
	"time"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/internal/jsonint"
	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/verify"
	"github.com/decom-project/decom/wipe"
)

// Evidence is what decom did and found for one target.
type Evidence struct {
	Record wipe.Record
	// Checks are the verifications of the record's passes; VerifyMode is full,
	// sample or none.
	Checks     []verify.Result
	VerifyMode string
	Host       inventory.Host
	Tool       certificates.Tool
	// ApprovedPlan is the SHA-256 (hex) of the approved plan the run followed; "" for none.
	ApprovedPlan string
	// Job is the job the run belongs to (certificates.ValidJob); "" for none.
	Job string
}

// NewCertificate builds the certificate of a wipe. The outcome follows from the evidence alone:
// sanitized when every pass completed and was read back, and every check passed;
// with exceptions when some sectors could not be written (and the rest read back
// right); unverified when the wipe ran to its end but nothing was read back, whatever
// its method (the document is then a record, not a certificate); failed or aborted
// otherwise.
func NewCertificate(ev Evidence, d certificates.Details, now time.Time) (*certificates.Certificate, error) {
	id, err := newID()
	if err != nil {
		return nil, err
	}
	rec := ev.Record
	c := &certificates.Certificate{
		SchemaVersion: certificates.SchemaVersion, ID: id, Outcome: outcome(ev), Issued: now.UTC(),
		PerformedBy: d.PerformedBy, ValidatedBy: d.ValidatedBy, Organization: d.Organization, Customer: d.Customer,
		Destination: d.Destination, DataBackedUp: d.DataBackedUp,
		PreCategorization: d.PreCategorization, PostCategorization: d.PostCategorization, Notes: d.Notes,
		Source: certificates.Source{Hostname: ev.Host.Hostname, SystemVendor: ev.Host.SystemVendor, SystemProduct: ev.Host.SystemProduct,
			SystemSerial: ev.Host.SystemSerial, SystemUUID: ev.Host.SystemUUID},
		Media: media(rec),
		Sanitization: certificates.Sanitization{
			Category: category(rec), Technique: technique(rec), Method: rec.Method, MethodTitle: rec.Title,
			Rounds: rec.Rounds, FinalBlank: rec.Blank, VerifyRequired: rec.VerifyRequired, IOMode: rec.IOMode, Tool: ev.Tool,
			Started: rec.Started, Finished: rec.Finished, Error: rec.Error, Passes: []certificates.Pass{},
			ApprovedPlanSHA256: ev.ApprovedPlan, Job: ev.Job,
		},
		Verification: certificates.Verification{Method: ev.VerifyMode, Checks: []certificates.Check{}},
	}
	if rec.Choice != nil {
		c.Sanitization.Reason = rec.Choice.Reason
	}
	if fw := rec.Firmware; fw != nil {
		c.Sanitization.Firmware = &certificates.FirmwareEvidence{Commands: append([]string{}, fw.Commands...),
			HiddenAreasBefore: hpaText(fw.HPABefore), HiddenAreasAfter: hpaText(fw.HPAAfter),
			Completed: fw.Completed, Error: fw.Error, Resumed: fw.Resumed, Note: firmwareNote(fw),
			Started: fw.Started, Finished: fw.Finished}
		if fw.HPABefore != nil && fw.HPAAfter != nil && fw.HPABefore.HiddenSectors > 0 && fw.HPAAfter.HiddenSectors == 0 {
			c.Media.HiddenAreas = "hpa removed before sanitizing: " + hpaText(fw.HPABefore)
		}
	}
	if c.DataBackedUp == "" {
		c.DataBackedUp = "unknown"
	}
	if c.Destination.Kind == "" {
		c.Destination.Kind = certificates.DestUnknown
	}
	if c.Verification.Method == "" {
		c.Verification.Method = "none"
	}
	c.Status = certificates.StatusFor(c.Outcome)
	if n, ok := d.AssetNumbers[c.Media.Serial]; ok && c.Media.Serial != "" {
		c.Media.AssetNumber = n
	} else if n, ok := d.AssetNumbers[c.Media.Path]; ok {
		c.Media.AssetNumber = n
	}
	if rec.AbortedAt != nil {
		c.Sanitization.AbortedAt = &certificates.Position{Pass: rec.AbortedAt.Pass, Offset: rec.AbortedAt.Offset}
	}
	for _, p := range rec.Passes {
		c.Sanitization.Passes = append(c.Sanitization.Passes, pass(p))
	}
	for _, in := range rec.Interruptions {
		c.Sanitization.Interruptions = append(c.Sanitization.Interruptions, certificates.Interruption{
			Pass: in.Pass, Offset: in.Offset, LastCheckpoint: in.LastCheckpoint.UTC(), Resumed: in.Resumed.UTC()})
	}
	c.Verification.Verified = len(ev.Checks) > 0
	for _, r := range ev.Checks {
		c.Verification.Checks = append(c.Verification.Checks, check(r))
		c.Verification.Verified = c.Verification.Verified && r.Verified
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// Outcome is the outcome a certificate states for a wipe record and the checks of
// its reading back: what decom wipe's record lines call "sanitization_outcome".
func Outcome(rec wipe.Record, checks []verify.Result) string {
	checksPass := true
	for _, r := range checks {
		checksPass = checksPass && r.Verified
	}
	switch rec.Outcome {
	case wipe.OutcomeCompleted, wipe.OutcomeExceptions:
		switch {
		case !checksPass:
			return certificates.OutcomeFailed
		case len(checks) == 0:
			return certificates.OutcomeUnverified
		case rec.Outcome == wipe.OutcomeExceptions:
			return certificates.OutcomeExceptions
		}
		return certificates.OutcomeSanitized
	case wipe.OutcomeAborted:
		return certificates.OutcomeAborted
	}
	return certificates.OutcomeFailed
}

func outcome(ev Evidence) string { return Outcome(ev.Record, ev.Checks) }

// technique names how the target was sanitized; records made before techniques were
// recorded are overwrites.
func technique(rec wipe.Record) string {
	if rec.Technique == "" {
		return string(wipe.TechOverwrite)
	}
	return string(rec.Technique)
}

// hpaText describes a Host Protected Area for a certificate.
func hpaText(h *inventory.HPA) string {
	switch {
	case h == nil:
		return ""
	case h.NativeMaxLBA == 0:
		return fmt.Sprintf("max LBA %d, native max unknown", h.CurrentMaxLBA)
	case h.HiddenSectors == 0:
		return fmt.Sprintf("none (max LBA %d is the native max)", h.CurrentMaxLBA)
	}
	return fmt.Sprintf("%d sectors hidden (max LBA %d, native max %d)", h.HiddenSectors, h.CurrentMaxLBA, h.NativeMaxLBA)
}

// category is the NIST method type a wipe achieved: what the record's class says (a
// Purge only from a firmware technique the planner chose for it). A record that
// names no class (a custom pass sequence, wipe.ClassNone) claims none.
func category(rec wipe.Record) string {
	switch rec.NISTClass {
	case wipe.ClassPurge:
		return certificates.CategoryPurge
	case wipe.ClassClear:
		return certificates.CategoryClear
	case wipe.ClassDestroy:
		return certificates.CategoryDestroy
	}
	return certificates.CategoryNone
}

func media(rec wipe.Record) certificates.Media {
	m := certificates.Media{Kind: rec.Kind, Path: rec.Device, Serial: rec.Identity.Serial, WWN: rec.Identity.WWN,
		Model: rec.Identity.Model, SizeBytes: rec.Identity.SizeBytes, HiddenAreas: "unknown"}
	if d := rec.Drive; d != nil {
		m.HiddenAreas = d.HiddenAreas()
		m.Manufacturer, m.Firmware, m.Transport, m.MediaType = d.Vendor, d.Firmware, d.Transport, d.Media
		m.LogicalSectorSize, m.PhysicalSectorSize = d.LogicalSectorSize, d.PhysicalSectorSize
		if m.Model == "" {
			m.Model = d.Model
		}
		m.Health = health(d.Health)
	}
	if rec.Kind == wipe.KindFile {
		m.MediaType = "image-file"
		m.HiddenAreas = "none"
	}
	return m
}

// health is the certificate's record of the drive's health as the gate's inventory
// measured it before the wipe; nil when it was not measured.
func health(h *inventory.Health) *certificates.Health {
	if h == nil {
		return nil
	}
	u := func(v *uint64) *jsonint.Uint64 {
		if v == nil {
			return nil
		}
		j := jsonint.Uint64(*v)
		return &j
	}
	out := &certificates.Health{Status: h.Status, Reasons: append([]string{}, h.Reasons...), Source: h.Source,
		MeasuredAt: h.MeasuredAt, PowerOnHours: u(h.PowerOnHours), PowerCycles: u(h.PowerCycles)}
	if h.TemperatureCelsius != nil {
		t := *h.TemperatureCelsius
		out.TemperatureCelsius = &t
	}
	if n := h.NVMe; n != nil {
		used, spare := int(n.PercentageUsed), int(n.AvailableSpare)
		out.CriticalWarnings = append([]string{}, n.CriticalWarnings...)
		out.PercentageUsed, out.AvailableSpare = &used, &spare
		out.DataUnitsRead, out.DataUnitsWritten = n.DataUnitsRead, n.DataUnitsWritten
		out.UnsafeShutdowns, out.MediaErrors = n.UnsafeShutdowns, n.MediaErrors
	}
	if a := h.ATA; a != nil {
		out.SMARTStatus = a.SMARTStatus
		out.ReallocatedSectors, out.PendingSectors, out.OfflineUncorrectable = u(a.ReallocatedSectors), u(a.PendingSectors), u(a.OfflineUncorrectable)
	}
	if s := h.SCSI; s != nil {
		out.Exception = s.Exception
		out.UncorrectedReadErrors, out.UncorrectedWriteErrors, out.UncorrectedVerifyErrors =
			u(s.UncorrectedReadErrors), u(s.UncorrectedWriteErrors), u(s.UncorrectedVerifyErrors)
	}
	return out
}

func pass(p wipe.PassRecord) certificates.Pass {
	out := certificates.Pass{Number: p.Number, Pattern: p.Pattern.String(), BytesWritten: p.BytesWritten, Completed: p.Completed,
		Flushed: p.Flushed, BadRanges: []certificates.Range{}, Errors: append([]string{}, p.Errors...), Started: p.Started, Finished: p.Finished}
	if p.Keys != nil {
		out.Key, out.IV = p.Keys.Key.String(), p.Keys.IV.String()
	}
	if p.ResumedFrom != nil {
		from := *p.ResumedFrom
		out.ResumedFrom = &from
	}
	for _, r := range p.BadRanges {
		out.BadRanges = append(out.BadRanges, certificates.Range{Offset: r.Offset, Length: r.Length})
	}
	return out
}

// firmwareNote is what a certificate says of how a resumed sanitize's end is known.
func firmwareNote(fw *wipe.FirmwareRecord) string {
	switch {
	case !fw.Resumed:
		return ""
	case fw.Note != "":
		return fw.Note
	}
	return "checked after an interruption: " + string(fw.Outcome)
}

func check(r verify.Result) certificates.Check {
	c := certificates.Check{Pass: r.Pass, Mode: r.Mode, Expected: r.Expected, Seed: r.Seed, CoverageRequested: r.CoverageRequested,
		Coverage: r.Coverage, Subsections: r.Subsections, SampleBlockSize: r.SampleBlockSize,
		LocationsDigest: r.LocationsDigest, BytesRead: r.BytesRead, MismatchedBytes: r.MismatchedBytes,
		ExcludedBytes: r.ExcludedBytes,
		Mismatches:    []certificates.Mismatch{}, ReadErrors: []certificates.Range{}, Outcome: r.Outcome, Error: r.Error,
		Started: r.Started, Finished: r.Finished}
	for _, m := range r.Mismatches {
		c.Mismatches = append(c.Mismatches, certificates.Mismatch{Offset: m.Offset, Expected: m.Expected.String(), Found: m.Found.String()})
	}
	for _, e := range r.ReadErrors {
		c.ReadErrors = append(c.ReadErrors, certificates.Range{Offset: e.Offset, Length: e.Length})
	}
	return c
}

// newID draws a random (version 4) UUID.
func newID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
