package certificates

import (
	"regexp"
	"testing"
	"time"

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
		Tool: Tool{Name: "decom", Version: "v0.1.0", Commit: "abc"}}
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

func details() Details {
	return Details{PerformedBy: Person{Name: "Jane Doe", Title: "Technician"}, Organization: "ACME",
		Destination: Destination{Kind: DestRecycling}, AssetNumbers: map[string]string{"S6PTNM0T123456A": "ACME-000123"}}
}

func TestNewDecidesTheOutcome(t *testing.T) {
	for _, c := range []struct {
		name    string
		ev      Evidence
		outcome string
		status  string
		cert    bool
	}{
		{"verified", evidence(wipe.OutcomeCompleted, true), OutcomeSanitized, StatusCertificate, true},
		{"unverified", evidence(wipe.OutcomeCompleted), OutcomeUnverified, StatusUnverifiedRecord, false},
		{"verification failed", evidence(wipe.OutcomeCompleted, false), OutcomeFailed, StatusFailureRecord, false},
		{"exceptions", evidence(wipe.OutcomeExceptions, true), OutcomeExceptions, StatusExceptionsCert, true},
		{"exceptions, then mismatches elsewhere", evidence(wipe.OutcomeExceptions, false), OutcomeFailed, StatusFailureRecord, false},
		{"wipe failed", evidence(wipe.OutcomeFailed), OutcomeFailed, StatusFailureRecord, false},
		{"aborted", evidence(wipe.OutcomeAborted), OutcomeAborted, StatusAbortedRecord, false},
	} {
		if c.name == "unverified" {
			c.ev.VerifyMode = "none"
		}
		cert, err := New(c.ev, details(), time.Now())
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if cert.Outcome != c.outcome || cert.Status != c.status || cert.IsCertificate() != c.cert {
			t.Errorf("%s: outcome %s status %s", c.name, cert.Outcome, cert.Status)
		}
		if !c.cert && regexp.MustCompile(`^Certificate of Sanitization`).MatchString(cert.Title()) {
			t.Errorf("%s: a record titled %q", c.name, cert.Title())
		}
	}
}

func TestNewFillsTheFields(t *testing.T) {
	c, err := New(evidence(wipe.OutcomeCompleted, true), details(), time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))
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
	if s.Category != CategoryClear || s.Technique != "overwrite" || len(s.Passes) != 2 || s.Passes[1].Pattern != "random" ||
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

func TestValidateRejects(t *testing.T) {
	good := func() *Certificate {
		c, err := New(evidence(wipe.OutcomeCompleted, true), details(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for name, spoil := range map[string]func(*Certificate){
		"schema":             func(c *Certificate) { c.SchemaVersion = "0" },
		"status":             func(c *Certificate) { c.Status = StatusCertificate; c.Outcome = OutcomeFailed },
		"outcome":            func(c *Certificate) { c.Outcome = "probably"; c.Status = statusFor("probably") },
		"no person":          func(c *Certificate) { c.PerformedBy.Name = "" },
		"destination":        func(c *Certificate) { c.Destination.Kind = "landfill" },
		"backed up":          func(c *Certificate) { c.DataBackedUp = "maybe" },
		"unverified success": func(c *Certificate) { c.Verification.Verified = false },
		"no id":              func(c *Certificate) { c.ID = "" },
		"no read-back":       func(c *Certificate) { c.Verification = Verification{Method: "none", Checks: []Check{}} },
		"no checks":          func(c *Certificate) { c.Verification.Checks = []Check{} },
		"unverified, with checks": func(c *Certificate) {
			c.Outcome, c.Status, c.Verification.Verified = OutcomeUnverified, StatusUnverifiedRecord, false
		},
		"no category": func(c *Certificate) { c.Sanitization.Category = "" },
		"schema 1, unverified": func(c *Certificate) {
			c.SchemaVersion = SchemaVersion1
			c.Outcome, c.Status = OutcomeUnverified, StatusUnverifiedRecord
		},
		"schema 1, no class": func(c *Certificate) { c.SchemaVersion = SchemaVersion1; c.Sanitization.Category = CategoryNone },
	} {
		c := good()
		spoil(c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
