package certificates

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	intoto "github.com/in-toto/attestation/go/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

// destroyTestCertificate is a certificate of destruction of a drive that failed its
// wipe: shredded to 2 mm, witnessed, one photograph as evidence.
func destroyTestCertificate(t testing.TB) *Certificate {
	t.Helper()
	at := time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)
	witness := Person{Name: "Wes Witness", Title: "Security officer"}
	c, err := NewDestruction(
		Media{Kind: "drive", Path: "/dev/sdc", Manufacturer: "ATA", Model: "Example HDD 4TB", Serial: "ZX/42 A",
			WWN: "naa.5000c500a1b2c3d4", SizeBytes: 4 << 40},
		Details{PerformedBy: Person{Name: "Ada Technician"}, ValidatedBy: &witness, Organization: "Example DC",
			Destination: Destination{Kind: DestRecycling, Details: "shred lot 5"}},
		Destruction{Method: DestroyShred, ParticleSizeMM: 2, Device: "Shredco HDS-100 #17", Place: "Example DC, cage 3",
			Time: at, Follows: "6f1c7c3e-3a55-4d55-9d1e-2f0e8a4b9c02",
			Evidence: []EvidenceFile{{Name: "photo.jpg", SHA256: strings.Repeat("ab", 32), SizeBytes: 12345}}},
		Tool{Name: "decom", Version: "test"}, at.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDestructionSignsAndVerifies(t *testing.T) {
	sv, pub := sigTestKey(t, "test-only-ecdsa-p256")
	c := destroyTestCertificate(t)
	b, err := Sign(context.Background(), sv, c)
	if err != nil {
		t.Fatal(err)
	}
	v, err := Verify(b, []crypto.PublicKey{pub})
	if err != nil {
		t.Fatal(err)
	}
	got := v.Certificate
	if got.SchemaVersion != SchemaVersion3 || got.Status != StatusDestructionCert || got.Outcome != OutcomeDestroyed ||
		got.Sanitization.Category != CategoryDestroy || !got.IsCertificate() || got.Title() != "Certificate of Destruction" {
		t.Errorf("certificate %+v", got)
	}
	d := got.Destruction
	if d == nil || d.Method != DestroyShred || d.ParticleSizeMM != 2 || d.Place != "Example DC, cage 3" ||
		d.Follows != c.Destruction.Follows || len(d.Evidence) != 1 || d.Evidence[0] != c.Destruction.Evidence[0] ||
		got.ValidatedBy == nil || got.ValidatedBy.Name != "Wes Witness" {
		t.Errorf("destruction %+v, witness %+v", d, got.ValidatedBy)
	}
	want := []string{"serial:ZX/42 A", "wwn:naa.5000c500a1b2c3d4", "drive:ATA/Example%20HDD%204TB/ZX%2F42%20A"}
	if strings.Join(v.Subjects, "|") != strings.Join(want, "|") {
		t.Errorf("subjects %q, want %q", v.Subjects, want)
	}
}

// A drive known only by what is printed on it: no path, a serial.
func TestDestructionOfADriveKnownByItsLabel(t *testing.T) {
	c, err := NewDestruction(Media{Kind: "drive", Serial: "S123"}, Details{PerformedBy: Person{Name: "Ada"}},
		Destruction{Method: DestroyIncinerate, Place: "furnace", Time: time.Now()}, Tool{Name: "decom"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := c.Subject(); n != "serial:S123" || len(c.Subjects()) != 1 {
		t.Errorf("subject %q, subjects %+v", n, c.Subjects())
	}
	c.Media.Serial = ""
	if err := c.Validate(); !errors.Is(err, ErrInvalid) {
		t.Errorf("destroyed media with neither path nor serial: %v", err)
	}
}

func TestDestructionValidate(t *testing.T) {
	cases := map[string]func(c *Certificate){
		"unknown method":         func(c *Certificate) { c.Destruction.Method, c.Sanitization.Technique = "melt", "melt" },
		"shred without particle": func(c *Certificate) { c.Destruction.ParticleSizeMM = 0 },
		"negative particle size": func(c *Certificate) {
			c.Destruction.Method, c.Sanitization.Technique, c.Destruction.ParticleSizeMM = DestroyIncinerate, DestroyIncinerate, -1
		},
		"degauss without device": func(c *Certificate) {
			c.Destruction.Method, c.Sanitization.Technique, c.Destruction.Device = DestroyDegauss, DestroyDegauss, ""
		},
		"no place":              func(c *Certificate) { c.Destruction.Place = "" },
		"no time":               func(c *Certificate) { c.Destruction.Time = time.Time{} },
		"technique not method":  func(c *Certificate) { c.Sanitization.Technique = "overwrite" },
		"category not destroy":  func(c *Certificate) { c.Sanitization.Category = CategoryPurge },
		"bad evidence digest":   func(c *Certificate) { c.Destruction.Evidence[0].SHA256 = "AB" },
		"evidence without name": func(c *Certificate) { c.Destruction.Evidence[0].Name = "" },
		"no section":            func(c *Certificate) { c.Destruction = nil },
		"schema 2":              func(c *Certificate) { c.SchemaVersion = SchemaVersion },
		"section on a failure": func(c *Certificate) {
			c.Outcome, c.Status = OutcomeFailed, StatusFailureRecord
		},
		"a pass": func(c *Certificate) {
			c.Sanitization.Passes = []Pass{{Number: 1, Pattern: "0x00", BadRanges: []Range{}, Errors: []string{}}}
		},
	}
	for what, mutate := range cases {
		c := destroyTestCertificate(t)
		mutate(c)
		if err := c.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v", what, err)
		} else {
			t.Logf("%s: %v", what, err)
		}
	}
	// Degauss with its device, incinerate without particles: both fine.
	c := destroyTestCertificate(t)
	c.Destruction.Method, c.Sanitization.Technique, c.Destruction.ParticleSizeMM = DestroyDegauss, DestroyDegauss, 0
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
}

// subjectStatement is an in-toto statement of c about the given subjects (each a
// name and the blob whose SHA-256 the subject carries).
func subjectStatement(t *testing.T, c *Certificate, subjects ...SubjectForm) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(sigJSON(t, c)), &m); err != nil {
		t.Fatal(err)
	}
	pred, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	st := &intoto.Statement{Type: intoto.StatementTypeUri, PredicateType: PredicateType, Predicate: pred}
	for _, s := range subjects {
		sum := sha256.Sum256(s.Blob)
		st.Subject = append(st.Subject, &intoto.ResourceDescriptor{Name: s.Name, Digest: map[string]string{"sha256": hex.EncodeToString(sum[:])}})
	}
	b, err := protojson.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A statement's subjects are all the certificate's forms, or its first alone
// (certificates signed before there were several); nothing else.
func TestVerifySubjectForms(t *testing.T) {
	sv, pub := sigTestKey(t, "test-only-ed25519")
	c := sigTestCertificate()
	f := c.Subjects()
	if len(f) != 3 {
		t.Fatalf("subjects %+v", f)
	}
	other := DriveSubject("Example", "EX-8000", "EX8K-TEST-000124")
	cases := []struct {
		what     string
		subjects []SubjectForm
		ok       bool
	}{
		{"all forms", f, true},
		{"the first alone, as signed before", f[:1], true},
		{"first two", f[:2], false},
		{"reordered", []SubjectForm{f[0], f[2], f[1]}, false},
		{"wwn first", []SubjectForm{f[1], f[0], f[2]}, false},
		{"another drive's drive form", []SubjectForm{f[0], f[1], {"drive:" + other, []byte(other)}}, false},
		{"right name, another blob", []SubjectForm{f[0], {f[1].Name, []byte("naa.5000c500a1b2c3d5")}, f[2]}, false},
		{"a fourth", append(append([]SubjectForm{}, f...), SubjectForm{"path:/dev/sdb", []byte("/dev/sdb")}), false},
	}
	for _, tc := range cases {
		b := sigSignStatement(t, sv, PayloadType, subjectStatement(t, c, tc.subjects...))
		v, err := Verify(b, []crypto.PublicKey{pub})
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: %v", tc.what, err)
		case !tc.ok && !errors.Is(err, ErrInvalid):
			t.Errorf("%s: got %v, want ErrInvalid", tc.what, err)
		case tc.ok && v.SubjectName != f[0].Name:
			t.Errorf("%s: subject %q", tc.what, v.SubjectName)
		}
	}
	// Media with a serial but no model have no drive form; without a serial, the
	// WWN is the first subject and not repeated.
	c.Media.Model = ""
	if got := c.Subjects(); len(got) != 2 || got[1].Name != "wwn:0x5000c500a1b2c3d4" {
		t.Errorf("no model: %+v", got)
	}
	c.Media.Serial = ""
	if got := c.Subjects(); len(got) != 1 || got[0].Name != "wwn:0x5000c500a1b2c3d4" {
		t.Errorf("no serial: %+v", got)
	}
}

// The README's recipe: cosign verifies a certificate of destruction against each
// of its subject forms, and rejects a blob of another drive.
func TestCosignVerifiesDestructionSubjects(t *testing.T) {
	cosign := cosignBinary(t)
	dir := t.TempDir()
	priv, pubPEM, err := GenerateKey(KeyECDSAP256, []byte("p"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := LoadPrivateKey(priv, []byte("p"))
	if err != nil {
		t.Fatal(err)
	}
	c := destroyTestCertificate(t)
	b, err := Sign(context.Background(), signer, c)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p, err := WriteFileAtomic(dir, name, data, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	bundle, pub := write("destroyed.sigstore.json", b), write("decom.pub", pubPEM)
	// The blobs as an auditor types them (printf '%s' …), not taken from the code.
	for _, blob := range []string{"ZX/42 A", "naa.5000c500a1b2c3d4", "ATA/Example%20HDD%204TB/ZX%2F42%20A"} {
		out, err := cosignVerify(t, cosign, pub, bundle, PredicateType, write("blob", []byte(blob)))
		if err != nil {
			t.Errorf("cosign rejects the subject %q: %v\n%s", blob, err, out)
		}
	}
	for _, blob := range []string{"ZX/42 B", "ATA/Example HDD 4TB/ZX/42 A", "naa.5000c500a1b2c3d5"} {
		out, err := cosignVerify(t, cosign, pub, bundle, PredicateType, write("blob", []byte(blob)))
		if err == nil {
			t.Errorf("cosign accepts the blob %q:\n%s", blob, out)
		}
	}
}

// The PDF of a certificate of destruction ticks Destroy on the Appendix G form and
// prints how, where and when the drive was destroyed.
func TestDestructionPDF(t *testing.T) {
	c := destroyTestCertificate(t)
	p, err := renderPDF(c, "SHA256:test", "destroyed.sigstore.json", "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(p.ticked, "Method type: Destroy") || slices.Contains(p.ticked, "Method type: Clear") {
		t.Errorf("ticked %q", p.ticked)
	}
	if p.overflow {
		t.Error("the content reaches the signatures")
	}
	var buf bytes.Buffer
	if err := WritePDF(&buf, c, "SHA256:test", "destroyed.sigstore.json", ""); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "destroyed.pdf")
	if dir := os.Getenv("DECOM_PDF_OUT"); dir != "" {
		path = filepath.Join(dir, "destroyed.pdf")
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(pdfTextOf(t, path)), " ")
	for _, want := range []string{"Certificate of Destruction", "NIST SP 800-88 Destroy (shred)", "2 mm",
		"Shredco HDS-100 #17", "Example DC, cage 3", "2026-03-04 10:00:00 UTC", "Wes Witness", "photo.jpg", "Person performing destruction", "witness",
		c.Destruction.Follows} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF lacks %q:\n%s", want, text)
		}
	}
	for _, not := range []string{"NOT A CERTIFICATE", "NOT sanitized", "wipe failed"} {
		if strings.Contains(text, not) {
			t.Errorf("the PDF of a certificate of destruction says %q:\n%s", not, text)
		}
	}
	// A sanitization's PDF ticks its own type, not Destroy.
	p, err = renderPDF(sigTestCertificate(), "SHA256:test", "c.sigstore.json", "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(p.ticked, "Method type: Clear") || slices.Contains(p.ticked, "Method type: Destroy") {
		t.Errorf("sanitization ticked %q", p.ticked)
	}
}
