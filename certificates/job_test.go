package certificates

import (
	"context"
	"crypto"
	"strings"
	"testing"
)

func TestValidJob(t *testing.T) {
	for _, ok := range []string{"rack-7", "Hall 2 / row B", "Łódź DC-3", strings.Repeat("x", MaxJobLen), strings.Repeat("é", MaxJobLen)} {
		if err := ValidJob(ok); err != nil {
			t.Errorf("ValidJob(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", " rack", "rack ", "rack\t7", "rack\n7", "rack\x007", "rack\u00857", "rack\u200b7", "rack\xff",
		strings.Repeat("x", MaxJobLen+1), strings.Repeat("é", MaxJobLen+1)} {
		if err := ValidJob(bad); err == nil {
			t.Errorf("ValidJob(%q): accepted", bad)
		}
	}
}

// The job is optional: a certificate with one validates, is signed and verifies
// with it; a bad one is refused; one without has no such field at all, so the
// certificates made before jobs (and the golden files) keep their bytes.
func TestCertificateJob(t *testing.T) {
	c := sigTestCertificate()
	c.Sanitization.Job = "rack-7"
	if err := c.Validate(); err != nil {
		t.Fatalf("a certificate with a job: %v", err)
	}
	signer, pub := sigTestKey(t, "test-only-ecdsa-p256")
	b, err := Sign(context.Background(), signer, c)
	if err != nil {
		t.Fatal(err)
	}
	v, err := Verify(b, []crypto.PublicKey{pub})
	if err != nil || v.Certificate.Sanitization.Job != "rack-7" {
		t.Errorf("signed and verified: %v, job %q", err, v.Certificate.Sanitization.Job)
	}
	c.Sanitization.Job = "rack\x1b[2J"
	if err := c.Validate(); err == nil {
		t.Error("a job with an escape sequence: accepted")
	}
	c.Sanitization.Job = ""
	if b, err = Sign(context.Background(), signer, c); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "job") {
		t.Errorf("a certificate without a job names one")
	}
}

// The PDF shows the job only when there is one.
func TestWritePDFJob(t *testing.T) {
	c := pdfTestCertificate()
	if text := pdfTextOf(t, pdfWriteTest(t, c, "no-job.pdf")); strings.Contains(text, "Job") {
		t.Errorf("a certificate without a job shows one:\n%s", text)
	}
	c.Sanitization.Job = "Decommission hall 2, rack 7"
	if text := pdfTextOf(t, pdfWriteTest(t, c, "job.pdf")); !strings.Contains(text, "Job") || !strings.Contains(text, "Decommission hall 2, rack 7") {
		t.Errorf("the PDF's text lacks the job:\n%s", text)
	}
}
