package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/decom-project/decom/certificates"
)

// destroyKey makes a signing key in dir and returns the flags that sign with it.
func destroyKey(t *testing.T, dir string) (key, pub string) {
	t.Helper()
	t.Setenv("DECOM_KEY_PASSWORD", "test passphrase")
	t.Setenv("DECOM_CONFIG", filepath.Join(dir, "no-config.yaml"))
	os.WriteFile(filepath.Join(dir, "no-config.yaml"), nil, 0o644)
	generateKey(t, filepath.Join(dir, "agent"))
	return filepath.Join(dir, "agent.key"), filepath.Join(dir, "agent.pub")
}

// A drive known by its label, shredded: the certificate verifies with decom cert
// verify, names the evidence by digest, and carries every subject form.
func TestCertDestroyByLabel(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key, pub := destroyKey(t, dir)
	photo := filepath.Join(dir, "shredded.jpg")
	os.WriteFile(photo, []byte("not really a jpeg"), 0o644)
	certs := filepath.Join(dir, "certs")
	code, out, stderr := decom(t, ctx, "cert", "destroy", "--serial", "ZX42 A", "--model", "Example HDD", "--vendor", "ATA",
		"--wwn", "naa.5000c500a1b2c3d4", "--size", "4000787030016", "--method", "shred", "--particle-size", "2mm",
		"--device", "Shredco HDS-100 #17", "--place", "Example DC, cage 3", "--time", "2026-03-04T10:00:00Z",
		"--operator", "Ada Technician", "--witness", "Wes Witness", "--witness-title", "Security officer",
		"--evidence", photo, "--key", key, "--cert-dir", certs, "--pdf")
	if code != exitOK {
		t.Fatalf("cert destroy: exit %d: %s", code, stderr)
	}
	files := strings.Fields(out)
	if len(files) != 2 || !strings.HasSuffix(files[0], ".sigstore.json") || !strings.HasSuffix(files[1], ".pdf") {
		t.Fatalf("output %q", out)
	}
	code, out, stderr = decom(t, ctx, "cert", "verify", files[0], "--key", pub)
	if code != exitOK || !strings.Contains(out, "Certificate of Destruction") || !strings.Contains(out, "serial:ZX42 A") {
		t.Fatalf("cert verify: %d\n%s%s", code, out, stderr)
	}
	for _, want := range []string{"wwn:naa.5000c500a1b2c3d4", "drive:ATA/Example%20HDD/ZX42%20A", "shred, particles up to 2 mm"} {
		if !strings.Contains(out, want) {
			t.Errorf("cert verify does not show %q:\n%s", want, out)
		}
	}
	code, out, stderr = decom(t, ctx, "cert", "show", files[0], "--key", pub)
	for _, want := range []string{"Certificate of Destruction", "shred, particles up to 2 mm; with Shredco HDS-100 #17; at Example DC, cage 3; 2026-03-04T10:00:00Z; witnessed by Wes Witness",
		"shredded.jpg, 17 bytes, sha256 "} {
		if code != exitOK || !strings.Contains(out, want) {
			t.Errorf("cert show: exit %d, lacks %q:\n%s%s", code, want, out, stderr)
		}
	}
	b, _ := os.ReadFile(files[0])
	keys, _ := certificates.LoadPublicKeys(pub)
	v, err := certificates.Verify(b, keys)
	if err != nil {
		t.Fatal(err)
	}
	c := v.Certificate
	sum := sha256.Sum256([]byte("not really a jpeg"))
	d := c.Destruction
	if d == nil || d.Method != "shred" || d.ParticleSizeMM != 2 || d.Device != "Shredco HDS-100 #17" ||
		d.Time.Format("2006-01-02T15:04:05Z") != "2026-03-04T10:00:00Z" || len(d.Evidence) != 1 ||
		d.Evidence[0].Name != "shredded.jpg" || d.Evidence[0].SHA256 != hex.EncodeToString(sum[:]) || d.Evidence[0].SizeBytes != 17 {
		t.Errorf("destruction %+v", d)
	}
	if c.ValidatedBy == nil || c.ValidatedBy.Name != "Wes Witness" || c.ValidatedBy.Title != "Security officer" ||
		c.PerformedBy.Name != "Ada Technician" || c.Media.Path != "" || c.Media.SizeBytes != 4000787030016 {
		t.Errorf("people %+v %+v, media %+v", c.PerformedBy, c.ValidatedBy, c.Media)
	}
}

// Bad input: one line, its exit code, and nothing written.
func TestCertDestroyBadInput(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	key, _ := destroyKey(t, dir)
	record := filepath.Join(dir, "garbage.sigstore.json")
	os.WriteFile(record, []byte(`{"not":"a certificate"}`), 0o644)
	certs := filepath.Join(dir, "certs")
	base := []string{"cert", "destroy", "--operator", "Ada", "--place", "cage 3", "--key", key, "--cert-dir", certs}
	cases := []struct {
		what string
		args []string
		code int
		msg  string
	}{
		{"unknown method", []string{"--serial", "S1", "--method", "melt"}, exitUsage, `--method "melt": want one of shred`},
		{"no method", []string{"--serial", "S1"}, exitUsage, "--method is required"},
		{"shred without particle size", []string{"--serial", "S1", "--method", "shred"}, exitUsage, "--particle-size is required for shred"},
		{"pulverize without particle size", []string{"--serial", "S1", "--method", "pulverize"}, exitUsage, "--particle-size is required for pulverize"},
		{"bad particle size", []string{"--serial", "S1", "--method", "shred", "--particle-size", "-2mm"}, exitUsage, "--particle-size"},
		{"degauss without device", []string{"--serial", "S1", "--method", "degauss"}, exitUsage, "--device is required for degauss"},
		{"no place", []string{"--serial", "S1", "--method", "incinerate", "--place", ""}, exitUsage, "--place is required"},
		{"bad time", []string{"--serial", "S1", "--method", "incinerate", "--time", "yesterday"}, exitUsage, "--time"},
		{"no drive", []string{"--method", "incinerate"}, exitUsage, "name the drive"},
		{"missing evidence", []string{"--serial", "S1", "--method", "incinerate", "--evidence", filepath.Join(dir, "nope.jpg")}, exitBadInput, "--evidence"},
		{"missing record", []string{"--from", filepath.Join(dir, "nope.json"), "--method", "incinerate"}, exitBadInput, "--from"},
		{"not a record", []string{"--from", record, "--method", "incinerate"}, exitBadInput, "--from"},
		{"no key", []string{"--serial", "S1", "--method", "incinerate", "--key", ""}, exitUsage, "signing key"},
	}
	for _, tc := range cases {
		code, out, stderr := decom(t, ctx, append(append([]string{}, base...), tc.args...)...)
		msg := strings.TrimSpace(stderr)
		if code != tc.code || !strings.Contains(msg, tc.msg) || strings.Count(msg, "\n") > 0 || out != "" {
			t.Errorf("%s: exit %d (want %d), stdout %q, stderr %q (want one line with %q)", tc.what, code, tc.code, out, msg, tc.msg)
		}
		if _, err := os.Stat(certs); !os.IsNotExist(err) {
			t.Fatalf("%s: something was written: %v", tc.what, err)
		}
	}
}
