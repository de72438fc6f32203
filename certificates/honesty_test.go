package certificates

import (
	"strings"
	"testing"
	"time"

	"github.com/decom-project/decom/wipe"
)

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
		cert, err := New(ev, details(), time.Now())
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if cert.Outcome != OutcomeUnverified || cert.Status != StatusUnverifiedRecord || cert.IsCertificate() {
			t.Errorf("%s: outcome %q, status %q", c.name, cert.Outcome, cert.Status)
		}
		if !strings.Contains(cert.Title(), "unverified") || !strings.Contains(cert.Title(), "NOT a certificate") {
			t.Errorf("%s: title %q", c.name, cert.Title())
		}
		if cert.Sanitization.VerifyRequired != c.required || cert.SchemaVersion != SchemaVersion {
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
	for class, want := range map[string]string{wipe.ClassNone: CategoryNone, "": CategoryNone,
		wipe.ClassClear: CategoryClear, wipe.ClassPurge: CategoryPurge} {
		ev := evidence(wipe.OutcomeCompleted, true)
		ev.Record.Method, ev.Record.Title, ev.Record.NISTClass = "custom", "Custom pass sequence: 0x55,random", class
		cert, err := New(ev, details(), time.Now())
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
	if got := (&Certificate{Sanitization: Sanitization{Category: CategoryNone}}).CategoryText(); !strings.Contains(got, "no NIST SP 800-88 class claimed") {
		t.Errorf("category text %q", got)
	}
}
