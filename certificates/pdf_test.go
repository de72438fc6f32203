package certificates

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The tests read the rendered PDFs back with poppler-utils (pdftotext, pdfinfo,
// pdftoppm) and zbar-tools (zbarimg). Set DECOM_PDF_OUT to a directory to keep
// the PDFs they render.

const (
	// pdfFingerprint has the form of Fingerprint's: SHA256: and 64 hex digits.
	pdfFingerprint = "SHA256:abedd77f6c91d26a5c2fdb55e2d6c58f8ec8e13b4c04a1295ee6a5d64d28b7a1"
	pdfBundle      = "decom-cert-S3Z9NB0K512345A-20260314T092653Z.sigstore.json"
	// pdfURL is the test certificate's page on a registry.
	pdfURL = "https://registry.example.org:8443/certificates/3f2b8c1e-9a4d-4e7b-8c21-5d6f7a8b9c0d"
)

// pdfLongURL is a registry page's URL too long for one line of the footer.
var pdfLongURL = "https://" + strings.Repeat("registry.", 20) + "example.org/certificates/3f2b8c1e-9a4d-4e7b-8c21-5d6f7a8b9c0d"

// pdfNeedTool skips the test when a command it runs is missing, and fails it on CI,
// where the Makefile installs them.
func pdfNeedTool(t *testing.T, name, pkg string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s not found: install the Debian package %s", name, pkg)
		}
		t.Skipf("%s not found (Debian package %s)", name, pkg)
	}
}

func pdfRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// pdfWriteTest renders c into a temporary file and returns its path.
func pdfWriteTest(t *testing.T, c *Certificate, name string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WritePDF(&buf, c, pdfFingerprint, pdfBundle, ""); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("DECOM_PDF_OUT"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func pdfTextOf(t *testing.T, path string) string {
	t.Helper()
	pdfNeedTool(t, "pdftotext", "poppler-utils")
	return pdfRun(t, "pdftotext", "-enc", "UTF-8", path, "-")
}

func pdfPageCount(t *testing.T, path string) string {
	t.Helper()
	pdfNeedTool(t, "pdfinfo", "poppler-utils")
	m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)$`).FindStringSubmatch(pdfRun(t, "pdfinfo", path))
	if m == nil {
		t.Fatalf("pdfinfo %s: no page count", path)
	}
	return m[1]
}

// pdfTestCertificate is a certificate with every field set: a three-pass DoD wipe of
// an SSD, sampled read-back of the last pass, and a validator.
func pdfTestCertificate() *Certificate {
	issued := time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)
	start := issued.Add(-3*time.Hour - 12*time.Minute)
	const size = 1000204886016
	pass := func(n int, pattern string) Pass {
		s := start.Add(time.Duration(n-1) * time.Hour)
		return Pass{Number: n, Pattern: pattern, BytesWritten: size, Completed: true, Flushed: true,
			BadRanges: []Range{}, Errors: []string{}, Started: s, Finished: s.Add(58 * time.Minute)}
	}
	return &Certificate{
		SchemaVersion: SchemaVersion,
		ID:            "3f2b8c1e-9a4d-4e7b-8c21-5d6f7a8b9c0d",
		Status:        StatusCertificate,
		Outcome:       OutcomeSanitized,
		Issued:        issued,
		PerformedBy: Person{Name: "José Müller", Title: "IT Asset Disposal Technician",
			Organization: "Łódź Data Services Sp. z o.o.", Location: "Łódź, Poland — Building C, room 2.14",
			Contact: "+48 42 555 01 23 · jose.muller@example.com"},
		ValidatedBy: &Person{Name: "Ingrid Søndergaard", Title: "Information Security Officer",
			Organization: "Łódź Data Services Sp. z o.o.", Location: "Łódź, Poland", Contact: "+48 42 555 01 99"},
		Organization: "Łódź Data Services Sp. z o.o.",
		Customer:     "Acme Hospital Trust",
		Media: Media{Kind: "drive", Path: "/dev/disk/by-id/ata-Samsung_SSD_870_EVO_1TB_S3Z9NB0K512345A",
			Manufacturer: "Samsung", Model: "Samsung SSD 870 EVO 1TB", Serial: "S3Z9NB0K512345A",
			WWN: "0x5002538e40a1b2c3", Firmware: "SVT02B6Q", SizeBytes: size, LogicalSectorSize: 512,
			PhysicalSectorSize: 512, MediaType: "ssd", Transport: "sata", AssetNumber: "ACME-IT-004711",
			HiddenAreas: "unknown"},
		Source: Source{Hostname: "ws-radiology-07", SystemVendor: "Dell Inc.", SystemProduct: "OptiPlex 7090",
			SystemSerial: "7HX2K93", SystemUUID: "4c4c4544-0048-5810-8032-b7c04f4b3933"},
		Sanitization: Sanitization{Category: CategoryClear, Technique: "overwrite", Method: "dod-3",
			MethodTitle: "DoD 5220.22-M (E), 3 passes", Standard: "DoD 5220.22-M (1995), table C, method E",
			Rounds: 1, Passes: []Pass{pass(1, "0x00"), pass(2, "0xff"), pass(3, "random")}, IOMode: "direct",
			Tool:    Tool{Name: "decom", Version: "v0.4.0", Commit: "67f475d1c0ffee5e1f2a3b4c5d6e7f8091a2b3c4"},
			Started: start, Finished: start.Add(2*time.Hour + 58*time.Minute)},
		Verification: Verification{Method: "sample", Verified: true, Checks: []Check{{
			Pass: 3, Mode: "sample", Expected: "AES-256-CTR keystream of pass 3", Seed: 9176458128335120123,
			CoverageRequested: 0.10, Coverage: 0.1002, Subsections: 1024, SampleBlockSize: 1 << 20,
			LocationsDigest: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", BytesRead: 100220489728, MismatchedBytes: 0,
			Mismatches: []Mismatch{}, ReadErrors: []Range{}, Outcome: "passed",
			Started: start.Add(2*time.Hour + 58*time.Minute), Finished: issued.Add(-time.Minute)}}},
		Destination:        Destination{Kind: DestExternalReuse, Details: "Resold through Acme Refurb GmbH, lot 2026-03"},
		DataBackedUp:       "no",
		PreCategorization:  "Confidential (patient data)",
		PostCategorization: "Unclassified",
		Notes:              "Drive removed from the workstation before sanitization; label photographed and kept with ticket INC-20931.",
	}
}

func pdfGutmann(c *Certificate) *Certificate {
	c.Sanitization.Method, c.Sanitization.MethodTitle = "gutmann", "Gutmann, 35 passes"
	c.Sanitization.Standard = "P. Gutmann, Secure Deletion of Data from Magnetic and Solid-State Memory (1996)"
	c.Sanitization.Passes = nil
	for n := 1; n <= 35; n++ {
		p := Pass{Number: n, Pattern: "random", BytesWritten: c.Media.SizeBytes, Completed: true, Flushed: true,
			BadRanges: []Range{}, Errors: []string{}}
		if n > 4 && n < 32 {
			p.Pattern = fmt.Sprintf("0x%02x%02x%02x", n*7, n*7, n*7)
		}
		c.Sanitization.Passes = append(c.Sanitization.Passes, p)
	}
	c.Verification.Checks[0].Pass = 35
	return c
}

func pdfFailed(c *Certificate) *Certificate {
	c.Outcome, c.Status = OutcomeFailed, StatusFailureRecord
	c.Sanitization.Error = "write at byte 512,110,190,592: input/output error"
	c.Sanitization.Passes = c.Sanitization.Passes[:2]
	c.Sanitization.Passes[1].Completed = false
	c.Sanitization.Passes[1].BytesWritten = 512110190592
	c.Sanitization.Passes[1].Errors = []string{"input/output error"}
	c.Sanitization.Passes[1].BadRanges = []Range{{Offset: 512110190592, Length: 4096}}
	c.Verification = Verification{Method: "none", Checks: []Check{}}
	return c
}

func TestWritePDFText(t *testing.T) {
	c := pdfTestCertificate()
	text := pdfTextOf(t, pdfWriteTest(t, c, "certificate.pdf"))
	for _, want := range []string{
		"Certificate of Sanitization", c.ID, pdfFingerprint, c.Media.Serial, c.Sanitization.MethodTitle,
		c.Outcome, "2026-03-14 09:26:53 UTC", pdfBundle, "decom cert verify",
		// Windows-1252 keeps these; Ł is transliterated.
		"José Müller", "Ingrid Søndergaard", "Lódz Data Services",
		"Person performing sanitization", "Media information", "Sanitization details",
		"Media destination", "Validation", "Information Security Officer",
		c.Media.WWN, c.Media.AssetNumber, "1.00 TB", "ws-radiology-07", "Confidential (patient data)",
		"Unclassified", "9176458128335120123", "10.02% read, 10% requested", "1,024 subsections, blocks of 1 MiB",
		"verified: 0 bytes mismatched", "0xff", "random",
		"decom v0.4.0 commit 67f475d1c0ff", "Resold through Acme Refurb GmbH",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF's text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "NOT a certificate") {
		t.Errorf("a certificate reads as a record of failure:\n%s", text)
	}
}

func pdfAborted(c *Certificate) *Certificate {
	c.Outcome, c.Status = OutcomeAborted, StatusAbortedRecord
	c.Sanitization.AbortedAt = &Position{Pass: 2, Offset: 300000000000}
	c.Sanitization.Passes[1].Completed = false
	c.Sanitization.Passes = c.Sanitization.Passes[:2]
	c.Verification = Verification{Method: "none", Checks: []Check{}}
	return c
}

func TestWritePDFRecordsAreNotCertificates(t *testing.T) {
	for name, c := range map[string]*Certificate{"failed": pdfFailed(pdfTestCertificate()), "aborted": pdfAborted(pdfTestCertificate())} {
		t.Run(name, func(t *testing.T) {
			text := pdfTextOf(t, pdfWriteTest(t, c, name+".pdf"))
			for _, want := range []string{"NOT a certificate of sanitization", "NOT A CERTIFICATE OF SANITIZATION", c.Outcome, c.ID} {
				if !strings.Contains(text, want) {
					t.Errorf("the record's text lacks %q:\n%s", want, text)
				}
			}
			if flat := strings.Join(strings.Fields(text), " "); !strings.Contains(flat, c.Title()) {
				t.Errorf("the record's text lacks its title %q:\n%s", c.Title(), text)
			}
			for line := range strings.Lines(text) {
				if strings.EqualFold(strings.TrimSpace(line), "Certificate of Sanitization") {
					t.Errorf("a %s wipe's record has the line %q:\n%s", name, line, text)
				}
			}
		})
	}
}

func TestWritePDFExceptions(t *testing.T) {
	c := pdfTestCertificate()
	c.Outcome, c.Status = OutcomeExceptions, StatusExceptionsCert
	c.Sanitization.Passes[2].BadRanges = []Range{{Offset: 4096000, Length: 8192}}
	text := pdfTextOf(t, pdfWriteTest(t, c, "exceptions.pdf"))
	for _, want := range []string{"Certificate of Sanitization — with exceptions", "SANITIZED WITH EXCEPTIONS",
		"1 bad range (8.19 kB)", c.Outcome} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF's text lacks %q:\n%s", want, text)
		}
	}
}

func TestWritePDFGutmannOnePage(t *testing.T) {
	c := pdfGutmann(pdfTestCertificate())
	path := pdfWriteTest(t, c, "gutmann.pdf")
	if pages := pdfPageCount(t, path); pages != "1" {
		t.Fatalf("a 35-pass certificate has %s pages, want 1", pages)
	}
	text := pdfTextOf(t, path)
	for _, want := range []string{"29 more passes (6–34)", "35 of 35 passes completed", "0 bad ranges", "Gutmann, 35 passes"} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF's text lacks %q:\n%s", want, text)
		}
	}
}

// pdfLongest is the longest certificate there can be: every field too long, 35
// passes with errors, a failure with its banner and notes. It renders with
// pdfFingerprint twice over as its key and pdfLong as its bundle's name.
func pdfLongest() *Certificate {
	long := pdfLong
	c := pdfFailed(pdfGutmann(pdfTestCertificate()))
	c.Sanitization.Passes = pdfGutmann(pdfTestCertificate()).Sanitization.Passes
	for i := range c.Sanitization.Passes {
		c.Sanitization.Passes[i].BadRanges = []Range{{Offset: 1 << 30, Length: 1 << 20}, {Offset: 1 << 31, Length: 4096}}
		c.Sanitization.Passes[i].Errors = []string{"input/output error", "input/output error"}
	}
	c.Notes, c.Sanitization.Error = long, long
	c.PerformedBy = Person{Name: long, Title: long, Organization: long, Location: long, Contact: long}
	c.ValidatedBy = &c.PerformedBy
	c.Organization, c.Customer = long, long
	c.Media.Model, c.Media.Path, c.Media.Manufacturer, c.Media.Serial = long, long, long, long
	c.Source.Hostname, c.Destination = long, Destination{Kind: DestOther, Details: long}
	c.Sanitization.Technique = "degauss and shred into " + long
	return c
}

var pdfLong = strings.Repeat("Very long value with many words ", 12)

// TestWritePDFFits renders the longest certificate there can be.
func TestWritePDFFits(t *testing.T) {
	c := pdfLongest()
	p, err := renderPDF(c, pdfFingerprint+pdfFingerprint, pdfLong, pdfLongURL)
	if err != nil {
		t.Fatal(err)
	}
	if p.overflow {
		t.Errorf("the content reached the footer (y %.1f mm)", p.y)
	}
	if pages := pdfPageCount(t, pdfWriteTest(t, c, "longest.pdf")); pages != "1" {
		t.Fatalf("the longest certificate has %s pages, want 1", pages)
	}
	for _, c := range []*Certificate{pdfTestCertificate(), pdfGutmann(pdfTestCertificate()), pdfFailed(pdfTestCertificate())} {
		if p, err := renderPDF(c, pdfFingerprint, pdfBundle, ""); err != nil || p.overflow {
			t.Errorf("render %s: err %v, overflow %v", c.Outcome, err, p != nil && p.overflow)
		}
	}
}

// pdfQRCode reads the QR code of the PDF at path with zbarimg.
func pdfQRCode(t *testing.T, path string) string {
	t.Helper()
	pdfNeedTool(t, "pdftoppm", "poppler-utils")
	pdfNeedTool(t, "zbarimg", "zbar-tools")
	png := filepath.Join(t.TempDir(), "page")
	pdfRun(t, "pdftoppm", "-png", "-r", "200", "-singlefile", path, png)
	return strings.TrimSpace(pdfRun(t, "zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", png+".png"))
}

// The QR code names the certificate by its ID, unless its page on a registry is
// known: then it leads there.
func TestWritepdfQRCode(t *testing.T) {
	c := pdfTestCertificate()
	if got, want := pdfQRCode(t, pdfWriteTest(t, c, "qr.pdf")), "urn:uuid:"+c.ID; got != want {
		t.Errorf("the QR code reads %q, want %q", got, want)
	}
	var buf bytes.Buffer
	if err := WritePDF(&buf, c, pdfFingerprint, pdfBundle, pdfURL); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "qr-url.pdf")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := pdfQRCode(t, path); got != pdfURL {
		t.Errorf("with a registry page, the QR code reads %q, want %q", got, pdfURL)
	}
	text := strings.Join(strings.Fields(pdfTextOf(t, path)), " ")
	if !strings.Contains(text, pdfURL) || !strings.Contains(text, "certificate on the registry") {
		t.Errorf("the page does not print the registry page %s it leads to:\n%s", pdfURL, text)
	}
}

// An auditor reads every identifier whole: the signing key's fingerprint in the
// header and the footer, the footer's lines, and a coverage with at most two
// decimals.
func TestWritePDFIdentifiersWhole(t *testing.T) {
	c := pdfTestCertificate()
	c.Verification.Checks[0].Coverage = 0.1069183349609375
	text := pdfTextOf(t, pdfWriteTest(t, c, "identifiers.pdf"))
	if n := strings.Count(text, pdfFingerprint); n != 2 {
		t.Errorf("the full fingerprint %s is printed %d times, want 2 (header and footer):\n%s", pdfFingerprint, n, text)
	}
	flat := strings.Join(strings.Fields(text), " ")
	for _, want := range []string{
		"urn:uuid:" + c.ID + " · rendered by decom v0.4.0", "Page 1 of 1", "Signing key " + pdfFingerprint,
		"and compare its certificate ID and signing key with the ones printed here.",
		"10.69% read, 10% requested",
	} {
		if !strings.Contains(flat, want) {
			t.Errorf("the PDF's text lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "…") {
		t.Errorf("a value of the test certificate is cut:\n%s", text)
	}
	if m := regexp.MustCompile(`\d+\.\d{3,}%`).FindString(text); m != "" {
		t.Errorf("the PDF prints the percentage %s with more than two decimals", m)
	}
}

// The signatures follow the content: a short certificate leaves no empty band
// above them.
func TestWritePDFSignaturesFollowContent(t *testing.T) {
	c := pdfTestCertificate()
	c.Sanitization.Passes = c.Sanitization.Passes[:1]
	c.Verification.Method, c.Verification.Checks[0].Pass = "full", 1
	c.Notes, c.ValidatedBy, c.Destination.Details = "", nil, ""
	p, err := renderPDF(c, pdfFingerprint, pdfBundle, "")
	if err != nil {
		t.Fatal(err)
	}
	if band := p.signaturesTop - p.contentEnd; band > signatureGap+0.01 {
		t.Errorf("%.1f mm of empty band above the signatures, want at most %.1f", band, signatureGap)
	}
	if bottom := p.signaturesTop + signatureH; bottom > footerY-3+0.01 {
		t.Errorf("the signatures end at %.1f mm, past the footer's %.1f", bottom, footerY-3.0)
	}
}

func TestPercent(t *testing.T) {
	for f, want := range map[float64]string{
		0: "0%", 1: "100%", 0.1: "10%", 0.1002: "10.02%", 0.1069183349609375: "10.69%", 0.123456: "12.35%",
		0.99999: "99.99%", 0.999999999: "99.99%", 0.00001: "<0.01%", 0.00005: "0.01%", 0.5: "50%",
	} {
		if got := Percent(f); got != want {
			t.Errorf("Percent(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestWritePDFDeterministic(t *testing.T) {
	render := func(c *Certificate) []byte {
		var b bytes.Buffer
		if err := WritePDF(&b, c, pdfFingerprint, pdfBundle, ""); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	a := render(pdfTestCertificate())
	time.Sleep(1100 * time.Millisecond) // past a second, as PDF dates count them
	if b := render(pdfTestCertificate()); !bytes.Equal(a, b) {
		t.Error("two renderings of the same certificate differ")
	}
	if !bytes.Contains(a, []byte("D:20260314092653")) {
		t.Error("the PDF's dates are not the certificate's issue time")
	}
	other := pdfTestCertificate()
	other.ID = "00000000-0000-4000-8000-000000000000"
	if bytes.Equal(a, render(other)) {
		t.Error("two certificates render the same")
	}
}

func TestWritePDFNil(t *testing.T) {
	if err := WritePDF(&bytes.Buffer{}, nil, "", "", ""); err == nil {
		t.Error("rendered a nil certificate")
	}
}

func TestPDFText(t *testing.T) {
	for in, want := range map[string]string{
		"José Müller":        "Jos\xe9 M\xfcller",
		"a — b – c … “d” €":  "a \x97 b \x96 c \x85 \x93d\x94 \x80",
		"Łódź Gdańsk Kraków": "L\xf3dz Gdansk Krak\xf3w",
		"Ștefan Dvořák ẞ":    "Stefan Dvor\xe1k SS",
		"東京 Ωmega":           "?? ?mega",
		"tab\tnl\nctl\x01":   "tab nl\nctl",
		"Ĳssel ŉ ſ":          "IJssel n s",
	} {
		if got := pdfText(in); got != want {
			t.Errorf("pdfText(%q) = %q, want %q", in, got, want)
		}
	}
	if len(latinExtA) != 0x80 {
		t.Errorf("latinExtA has %d letters, want 128", len(latinExtA))
	}
}

func TestPDFPassRows(t *testing.T) {
	for _, tc := range []struct {
		n      int
		shown  string
		hidden [2]int
	}{
		{0, "[]", [2]int{}},
		{3, "[0 1 2]", [2]int{}},
		{7, "[0 1 2 3 4 5 6]", [2]int{}},
		{8, "[0 1 2 3 4 -1 7]", [2]int{5, 7}},
		{35, "[0 1 2 3 4 -1 34]", [2]int{5, 34}},
	} {
		shown, hidden := passRows(tc.n)
		if fmt.Sprint(shown) != tc.shown || hidden != tc.hidden {
			t.Errorf("passRows(%d) = %v, %v; want %s, %v", tc.n, shown, hidden, tc.shown, tc.hidden)
		}
	}
}

// A resumed sanitization's PDF says it was interrupted, where and when.
func TestWritePDFInterruptions(t *testing.T) {
	c := pdfTestCertificate()
	at := time.Date(2026, 12, 3, 15, 14, 0, 0, time.UTC)
	c.Sanitization.Interruptions = []Interruption{
		{Pass: 2, Offset: int64(c.Media.SizeBytes / 4), LastCheckpoint: at, Resumed: at.Add(20 * time.Minute)},
		{Pass: 3, Offset: 0, LastCheckpoint: at.Add(time.Hour), Resumed: at.Add(2 * time.Hour)},
	}
	text := strings.Join(strings.Fields(pdfTextOf(t, pdfWriteTest(t, c, "interrupted.pdf"))), " ")
	for _, want := range []string{"Interrupted 2 times", "pass 2 at 25.0% (last progress 2026-12-03 15:14 UTC, resumed 2026-12-03 15:34 UTC)",
		"pass 3 at 0.0%"} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF's text lacks %q:\n%s", want, text)
		}
	}
}
