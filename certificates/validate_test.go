package certificates

import (
	"context"
	"crypto"
	"strings"
	"testing"
)

func TestValidateRejects(t *testing.T) {
	good := func() *Certificate {
		c := sigTestCertificate()
		if err := c.Validate(); err != nil {
			t.Fatalf("the test certificate: %v", err)
		}
		return c
	}
	for name, spoil := range map[string]func(*Certificate){
		"schema":             func(c *Certificate) { c.SchemaVersion = "0" },
		"status":             func(c *Certificate) { c.Status = StatusCertificate; c.Outcome = OutcomeFailed },
		"outcome":            func(c *Certificate) { c.Outcome = "probably"; c.Status = StatusFor("probably") },
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
		"health":      func(c *Certificate) { c.Media.Health = &Health{Status: "fine"} },
		"schema 1, unverified": func(c *Certificate) {
			c.SchemaVersion = SchemaVersion1
			c.Outcome, c.Status = OutcomeUnverified, StatusUnverifiedRecord
		},
		"schema 1, no class": func(c *Certificate) { c.SchemaVersion = SchemaVersion1; c.Sanitization.Category = CategoryNone },
		"plan digest, short": func(c *Certificate) { c.Sanitization.ApprovedPlanSHA256 = "abc" },
		"plan digest, upper": func(c *Certificate) {
			c.Sanitization.ApprovedPlanSHA256 = strings.Repeat("AB", 32)
		},
	} {
		c := good()
		spoil(c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// The approved plan's digest is optional: a certificate with one validates, is
// signed and verifies with it, and one without has no such field at all.
func TestApprovedPlanDigest(t *testing.T) {
	c := sigTestCertificate()
	c.Sanitization.ApprovedPlanSHA256 = strings.Repeat("0f", 32)
	if err := c.Validate(); err != nil {
		t.Fatalf("a certificate with a plan digest: %v", err)
	}
	signer, pub := sigTestKey(t, "test-only-ecdsa-p256")
	b, err := Sign(context.Background(), signer, c)
	if err != nil {
		t.Fatal(err)
	}
	v, err := Verify(b, []crypto.PublicKey{pub})
	if err != nil || v.Certificate.Sanitization.ApprovedPlanSHA256 != c.Sanitization.ApprovedPlanSHA256 {
		t.Errorf("signed and verified: %v, digest %q", err, v.Certificate.Sanitization.ApprovedPlanSHA256)
	}
	c.Sanitization.ApprovedPlanSHA256 = ""
	b, err = Sign(context.Background(), signer, c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "approved_plan") {
		t.Errorf("a certificate without a plan names one")
	}
}
