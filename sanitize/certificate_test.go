package sanitize

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/verify"
	"github.com/decom-project/decom/wipe"
)

func evidence(outcome string, verified ...bool) Evidence {
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	rec := wipe.Record{Device: "/dev/sdb", Kind: wipe.KindDrive, Method: "dod-3", Title: "DoD 5220.22-M (E), 3 passes",
		NISTClass: wipe.ClassClear, Rounds: 1, IOMode: wipe.IODirect, Outcome: outcome, Started: now, Finished: now.Add(time.Hour),
		Identity: wipe.Identity{DevNo: "8:16", Serial: "S6PTNM0T123456A", WWN: "0x5002538f42a1b2c3", Model: "Samsung SSD 870 EVO 1TB",
			SizeBytes: 1000204886016},
		Drive: &inventory.Device{Vendor: "ATA", Firmware: "SVT02B6Q", Transport: "sata", Media: "ssd", LogicalSectorSize: 512,
			PhysicalSectorSize: 512},
		Passes: []wipe.PassRecord{
			{Number: 1, Pattern: wipe.Fixed(0), BytesWritten: 1000204886016, Completed: true, Flushed: true, BadRanges: []wipe.Range{}},
			{Number: 2, Pattern: wipe.Random(), Keys: &wipe.Keys{Key: make([]byte, 32), IV: make([]byte, 16)}, Completed: true},
		}}
	if outcome == wipe.OutcomeExceptions {
		rec.Passes[0].BadRanges = []wipe.Range{{Offset: 4096, Length: 512}}
	}
	if outcome == wipe.OutcomeAborted {
		rec.AbortedAt = &wipe.Position{Pass: 2, Offset: 1 << 30}
	}
	ev := Evidence{Record: rec, VerifyMode: verify.ModeSample, Host: inventory.Host{Hostname: "node7"},
		Tool: certificates.Tool{Name: "decom", Version: "v0.1.0", Commit: "abc"}}
	for i, v := range verified {
		res := verify.Result{Pass: i + 2, Mode: verify.ModeSample, Seed: 42, Verified: v, Outcome: verify.OutcomePassed}
		if !v {
			res.Outcome, res.MismatchedBytes = verify.OutcomeFailed, 3
			res.Mismatches = []verify.Mismatch{{Offset: 7, Expected: wipe.Bytes{0}, Found: wipe.Bytes{1}}}
		}
		ev.Checks = append(ev.Checks, res)
	}
	return ev
}

func details() certificates.Details {
	return certificates.Details{PerformedBy: certificates.Person{Name: "Jane Doe", Title: "Technician"}, Organization: "ACME",
		Destination: certificates.Destination{Kind: certificates.DestRecycling}, AssetNumbers: map[string]string{"S6PTNM0T123456A": "ACME-000123"}}
}

func TestNewDecidesTheOutcome(t *testing.T) {
	for _, c := range []struct {
		name    string
		ev      Evidence
		outcome string
		status  string
		cert    bool
	}{
		{"verified", evidence(wipe.OutcomeCompleted, true), certificates.OutcomeSanitized, certificates.StatusCertificate, true},
		{"unverified", evidence(wipe.OutcomeCompleted), certificates.OutcomeUnverified, certificates.StatusUnverifiedRecord, false},
		{"verification failed", evidence(wipe.OutcomeCompleted, false), certificates.OutcomeFailed, certificates.StatusFailureRecord, false},
		{"exceptions", evidence(wipe.OutcomeExceptions, true), certificates.OutcomeExceptions, certificates.StatusExceptionsCert, true},
		{"exceptions, then mismatches elsewhere", evidence(wipe.OutcomeExceptions, false), certificates.OutcomeFailed, certificates.StatusFailureRecord, false},
		{"wipe failed", evidence(wipe.OutcomeFailed), certificates.OutcomeFailed, certificates.StatusFailureRecord, false},
		{"aborted", evidence(wipe.OutcomeAborted), certificates.OutcomeAborted, certificates.StatusAbortedRecord, false},
	} {
		if c.name == "unverified" {
			c.ev.VerifyMode = "none"
		}
		cert, err := NewCertificate(c.ev, details(), time.Now())
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if cert.Outcome != c.outcome || cert.Status != c.status || cert.IsCertificate() != c.cert {
			t.Errorf("%s: outcome %s status %s", c.name, cert.Outcome, cert.Status)
		}
		if !c.cert && regexp.MustCompile(`^certificates.Certificate of Sanitization`).MatchString(cert.Title()) {
			t.Errorf("%s: a record titled %q", c.name, cert.Title())
		}
	}
}

func TestNewFillsTheFields(t *testing.T) {
	c, err := NewCertificate(evidence(wipe.OutcomeCompleted, true), details(), time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(c.ID) {
		t.Errorf("id %q is not a v4 UUID", c.ID)
	}
	m := c.Media
	if m.Serial != "S6PTNM0T123456A" || m.Manufacturer != "ATA" || m.Firmware != "SVT02B6Q" || m.AssetNumber != "ACME-000123" ||
		m.Transport != "sata" || m.MediaType != "ssd" || m.HiddenAreas != "unknown" {
		t.Errorf("media %+v", m)
	}
	s := c.Sanitization
	if s.Category != certificates.CategoryClear || s.Technique != "overwrite" || len(s.Passes) != 2 || s.Passes[1].Pattern != "random" ||
		s.Passes[1].Key == "" || s.Tool.Version != "v0.1.0" {
		t.Errorf("sanitization %+v", s)
	}
	if c.DataBackedUp != "unknown" || c.Source.Hostname != "node7" || !c.Verification.Verified || c.Verification.Checks[0].Seed != 42 {
		t.Errorf("certificate %+v", c)
	}
	name, blob := c.Subject()
	if name != "serial:S6PTNM0T123456A" || string(blob) != "S6PTNM0T123456A" {
		t.Errorf("subject %s %q", name, blob)
	}
}

// A wipe nobody read back is not certified, whatever its method: the signed
// document is a record of unverified sanitization, and says whether the method
// required the reading back.
func TestNewUnverifiedIsNotACertificate(t *testing.T) {
	for _, c := range []struct {
		name     string
		outcome  string
		required bool
	}{
		{"nist-clear, completed", wipe.OutcomeCompleted, true},
		{"zero, completed", wipe.OutcomeCompleted, false},
		{"nist-clear, with exceptions", wipe.OutcomeExceptions, true},
	} {
		ev := evidence(c.outcome)
		ev.VerifyMode = "none"
		ev.Record.VerifyRequired = c.required
		cert, err := NewCertificate(ev, details(), time.Now())
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if cert.Outcome != certificates.OutcomeUnverified || cert.Status != certificates.StatusUnverifiedRecord || cert.IsCertificate() {
			t.Errorf("%s: outcome %q, status %q", c.name, cert.Outcome, cert.Status)
		}
		if !strings.Contains(cert.Title(), "unverified") || !strings.Contains(cert.Title(), "NOT a certificate") {
			t.Errorf("%s: title %q", c.name, cert.Title())
		}
		if cert.Sanitization.VerifyRequired != c.required || cert.SchemaVersion != certificates.SchemaVersion {
			t.Errorf("%s: verify_required %v, schema %q", c.name, cert.Sanitization.VerifyRequired, cert.SchemaVersion)
		}
		if caveat := cert.Caveat(); !strings.Contains(caveat, "never read back") ||
			strings.Contains(caveat, "although its method requires it") != c.required {
			t.Errorf("%s: caveat %q", c.name, caveat)
		}
	}
}

// A custom pass sequence claims no NIST class: its category is "none"; so does a
// record that names no class. A custom sequence that is a catalogued method's
// claims that method's class (wipe.CustomMethod), and the certificate says so.
func TestNewCustomSequenceClaimsNoClass(t *testing.T) {
	for class, want := range map[string]string{wipe.ClassNone: certificates.CategoryNone, "": certificates.CategoryNone,
		wipe.ClassClear: certificates.CategoryClear, wipe.ClassPurge: certificates.CategoryPurge} {
		ev := evidence(wipe.OutcomeCompleted, true)
		ev.Record.Method, ev.Record.Title, ev.Record.NISTClass = "custom", "Custom pass sequence: 0x55,random", class
		cert, err := NewCertificate(ev, details(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if cert.Sanitization.Category != want {
			t.Errorf("class %q: category %q, want %q", class, cert.Sanitization.Category, want)
		}
		if !cert.IsCertificate() {
			t.Errorf("a verified custom wipe: status %q", cert.Status)
		}
	}
	if got := (&certificates.Certificate{Sanitization: certificates.Sanitization{Category: certificates.CategoryNone}}).CategoryText(); !strings.Contains(got, "no NIST SP 800-88 class claimed") {
		t.Errorf("category text %q", got)
	}
}

// The health the gate's inventory measured before the wipe is in the certificate; a
// drive never asked has none.
func TestCertificateHealth(t *testing.T) {
	ev := evidence(wipe.OutcomeCompleted, true)
	hours, realloc, temp := uint64(41668), uint64(3), 40
	ev.Record.Drive.Health = &inventory.Health{Status: inventory.HealthWarning, Reasons: []string{"3 reallocated sectors"},
		Source: inventory.SourceATASMART, MeasuredAt: time.Date(2026, 11, 22, 9, 59, 0, 0, time.UTC), PowerOnHours: &hours,
		TemperatureCelsius: &temp, ATA: &inventory.ATAHealth{SMARTStatus: "passed", ReallocatedSectors: &realloc}}
	c, err := NewCertificate(ev, details(), time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	h := c.Media.Health
	if h == nil || h.Status != "warning" || h.SMARTStatus != "passed" || *h.ReallocatedSectors != 3 || *h.PowerOnHours != 41668 ||
		*h.TemperatureCelsius != 40 || h.Reasons[0] != "3 reallocated sectors" || h.MeasuredAt.Hour() != 9 {
		t.Errorf("certificate health: %+v", h)
	}
	if got := h.Summary(); got != "warning: 3 reallocated sectors; 41668 power-on hours" {
		t.Errorf("summary %q", got)
	}

	nv := evidence(wipe.OutcomeCompleted, true)
	nv.Record.Drive.Health = &inventory.Health{Status: inventory.HealthOK, Reasons: []string{}, NVMe: &inventory.NVMeHealth{
		PercentageUsed: 3, AvailableSpare: 100, CriticalWarnings: []string{}, DataUnitsWritten: "36893488147419103231", MediaErrors: "0"}}
	c, err = NewCertificate(nv, details(), time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if h := c.Media.Health; h == nil || *h.PercentageUsed != 3 || h.DataUnitsWritten != "36893488147419103231" || h.MediaErrors != "0" {
		t.Errorf("NVMe health: %+v", h)
	}

	c, err = NewCertificate(evidence(wipe.OutcomeCompleted, true), details(), time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
	if err != nil || c.Media.Health != nil {
		t.Errorf("no health measured: %+v, %v", c.Media.Health, err)
	}
}
