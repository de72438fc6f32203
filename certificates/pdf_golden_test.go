package certificates

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var updatePDF = flag.Bool("update-pdf", false, "rewrite testdata/pdf/*.pdf from the current renderer")

// pdfGoldens are the certificates whose renderings are kept in testdata/pdf: every
// status, one rendered with its registry page, the longest page there can be, and
// one with nothing recorded.
func pdfGoldens() map[string]struct {
	c                        *Certificate
	fingerprint, bundle, url string
} {
	exceptions := pdfTestCertificate()
	exceptions.Outcome, exceptions.Status = OutcomeExceptions, StatusExceptionsCert
	exceptions.Sanitization.Passes[2].BadRanges = []Range{{Offset: 4096000, Length: 8192}}

	unverified := pdfTestCertificate()
	unverified.Outcome, unverified.Status = OutcomeUnverified, StatusUnverifiedRecord
	unverified.Sanitization.VerifyRequired = true
	unverified.Verification = Verification{Method: "none", Checks: []Check{}}

	noClass := pdfTestCertificate()
	noClass.Sanitization.Category = CategoryNone
	noClass.Sanitization.Method, noClass.Sanitization.MethodTitle = "custom", "Custom pass sequence: 0x55,random"

	type golden = struct {
		c                        *Certificate
		fingerprint, bundle, url string
	}
	return map[string]golden{
		"certificate": {pdfTestCertificate(), pdfFingerprint, pdfBundle, ""},
		"registry":    {pdfTestCertificate(), pdfFingerprint, pdfBundle, pdfURL},
		"exceptions":  {exceptions, pdfFingerprint, pdfBundle, ""},
		"unverified":  {unverified, pdfFingerprint, pdfBundle, ""},
		"failed":      {pdfFailed(pdfTestCertificate()), pdfFingerprint, pdfBundle, ""},
		"aborted":     {pdfAborted(pdfTestCertificate()), pdfFingerprint, pdfBundle, ""},
		"gutmann":     {pdfGutmann(pdfTestCertificate()), pdfFingerprint, pdfBundle, ""},
		"no-class":    {noClass, pdfFingerprint, pdfBundle, ""},
		"longest":     {pdfLongest(), pdfFingerprint + pdfFingerprint, pdfLong, pdfLongURL},
		"empty":       {&Certificate{ID: "00000000-0000-4000-8000-000000000000"}, "", "", ""},
	}
}

// TestWritePDFGolden compares renderings with the PDFs in testdata/pdf byte for
// byte, so that a change to the renderer that moves a single mark shows. The
// page streams are deflated: a Go release whose compress/flate writes other
// bytes fails this test too; check the PDFs' text (pdftotext) and rewrite them
// with go test -run TestWritePDFGolden -update-pdf.
func TestWritePDFGolden(t *testing.T) {
	for name, g := range pdfGoldens() {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WritePDF(&b, g.c, g.fingerprint, g.bundle, g.url); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "pdf", name+".pdf")
			if *updatePDF {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (write it with -update-pdf)", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("the rendering of %s differs from %s (%d bytes, want %d)", name, path, b.Len(), len(want))
			}
		})
	}
}
