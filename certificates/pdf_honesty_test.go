package certificates

import (
	"strings"
	"testing"
)

// A record of unverified sanitization reads as such on paper: its own title and
// headline, never "Certificate of Sanitization" alone on a line.
func TestWritePDFUnverifiedRecord(t *testing.T) {
	c := pdfTestCertificate()
	c.Outcome, c.Status = OutcomeUnverified, StatusUnverifiedRecord
	c.Verification = Verification{Method: "none", Checks: []Check{}}
	text := pdfTextOf(t, pdfWriteTest(t, c, "unverified.pdf"))
	flat := strings.Join(strings.Fields(text), " ")
	for _, want := range []string{"NOT A CERTIFICATE OF SANITIZATION", "NOT READ BACK", "Record of an unverified sanitization",
		"not read back", c.ID} {
		if !strings.Contains(flat, want) {
			t.Errorf("the record's text lacks %q:\n%s", want, text)
		}
	}
	for line := range strings.Lines(text) {
		if strings.EqualFold(strings.TrimSpace(line), "Certificate of Sanitization") {
			t.Errorf("an unverified wipe's record has the line %q:\n%s", line, text)
		}
	}
}

// A custom pass sequence shows that it claims no NIST class.
func TestWritePDFNoClass(t *testing.T) {
	c := pdfTestCertificate()
	c.Sanitization.Category = CategoryNone
	c.Sanitization.Method, c.Sanitization.MethodTitle = "custom", "Custom pass sequence: 0x55,random"
	text := pdfTextOf(t, pdfWriteTest(t, c, "no-class.pdf"))
	if flat := strings.Join(strings.Fields(text), " "); !strings.Contains(flat, "no NIST class claimed") {
		t.Errorf("the PDF does not say that no NIST class is claimed:\n%s", text)
	}
}
