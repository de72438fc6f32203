package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/internal/faultfs"
	"github.com/decom-project/decom/sanitize"
)

// headlessDOM loads a page in headless Chromium and returns the DOM it rendered
// (and a screenshot of it beside, under DECOM_SCREENSHOTS when set).
func headlessDOM(t *testing.T, url string) string {
	t.Helper()
	const chromium = "/usr/bin/chromium"
	if _, err := os.Stat(chromium); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("chromium not found: %v", err)
		}
		t.Skipf("chromium not found (apt-get install chromium): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, chromium, append(args, "--dump-dom", url)...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium --dump-dom %s: %v", url, err)
	}
	if dir := os.Getenv("DECOM_SCREENSHOTS"); dir != "" {
		shot := exec.CommandContext(ctx, chromium, append(args, "--window-size=1280,800",
			"--screenshot="+filepath.Join(dir, "registry-history.png"), url)...)
		shot.Env = cmd.Env
		if b, err := shot.CombinedOutput(); err != nil {
			t.Logf("screenshot: %v\n%s", err, b)
		}
	}
	return string(out)
}

// The Done-when of issue 18's destruction: a drive whose reading back fails
// (fault injection: its sectors cannot be read) leaves a failure record; decom cert
// destroy issues the certificate of destruction from that record, with the serial
// on the drive's label; both go to a registry on loopback, and the registry's page
// for that serial, rendered by headless Chromium, shows the failed wipe followed by
// the destruction. The certificate verifies with decom cert verify and with cosign
// by the README's recipe, against each of its subjects.
func TestDestroyAfterFailedWipe(t *testing.T) {
	ctx := context.Background()
	// Reads are open to anyone here, for the browser; uploads still need the token.
	dir, url, token := registryTestEnv(t, "bench-3", "--public-reads")

	// 16 MiB whose 64 KiB at 4 MiB cannot be read back.
	disk := faultfs.Mount(t, 16<<20, faultfs.Range{Off: 4 << 20, Len: 64 << 10, Ops: faultfs.Read})
	l := disk.Attach(t)
	certs := filepath.Join(dir, "certs")
	key := filepath.Join(dir, "agent.key")
	code, out, stderr := decom(t, ctx, "wipe", l.Path, "--yes", "--method", "zero", "--verify", "full", "--key", key,
		"--operator", "Ada Technician", "--cert-dir", certs, "--registry", url, "--token", token, "--output", "json")
	if code == exitOK || code == exitExceptions {
		t.Fatalf("the wipe of a disk that cannot be read back: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var rec sanitize.Result
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.CertificateStatus != certificates.StatusFailureRecord || rec.RegistryReceipt == nil {
		t.Fatalf("wipe: status %q, uploaded %v (%s); exit %d", rec.CertificateStatus, rec.RegistryReceipt != nil, rec.RegistryError, code)
	}
	t.Logf("wipe exit %d, failure record %s", code, rec.CertificateID)

	// The drive goes to the shredder; its label says serial ZX42-0007.
	photo := filepath.Join(dir, "shredded.jpg")
	os.WriteFile(photo, []byte("photo of the shredded drive"), 0o644)
	code, out, stderr = decom(t, ctx, "cert", "destroy", "--from", rec.Certificate, "--serial", "ZX42-0007",
		"--model", "Example HDD 4TB", "--vendor", "ATA", "--wwn", "naa.5000c500a1b2c3d4",
		"--method", "shred", "--particle-size", "2mm", "--device", "Shredco HDS-100 #17", "--place", "Bench 3",
		"--operator", "Ada Technician", "--witness", "Wes Witness", "--evidence", photo, "--key", key,
		"--cert-dir", certs, "--registry", url, "--token", token, "--pdf")
	if code != exitOK {
		t.Fatalf("cert destroy: exit %d: %s", code, stderr)
	}
	destroyed := strings.Fields(out)[0]
	code, out, stderr = decom(t, ctx, "cert", "verify", destroyed, "--key", filepath.Join(dir, "agent.pub"), "--registry", url, "--output", "json")
	var verified struct {
		Certificates []struct {
			ID, Status, Registry string
			Subjects             []string
		}
	}
	if err := json.Unmarshal([]byte(out), &verified); err != nil || code != exitOK || len(verified.Certificates) != 1 ||
		verified.Certificates[0].Status != certificates.StatusDestructionCert ||
		!strings.Contains(verified.Certificates[0].Registry, "in the registry's log") || len(verified.Certificates[0].Subjects) != 3 {
		t.Fatalf("cert verify --registry: %d %v\n%s%s", code, err, out, stderr)
	}
	destroyedID := verified.Certificates[0].ID

	// The serial's history, as a browser shows it: the failed wipe, then the destruction.
	dom := headlessDOM(t, url+"/history?serial=ZX42-0007")
	var ids []string
	for _, m := range regexp.MustCompile(`<tr data-id="([^"]+)"`).FindAllStringSubmatch(dom, -1) {
		ids = append(ids, m[1])
	}
	if len(ids) != 2 || ids[0] != rec.CertificateID || ids[1] != destroyedID {
		t.Fatalf("history rows %q, want the failed record %s then the destruction %s\n%s", ids, rec.CertificateID, destroyedID, dom)
	}
	for _, want := range []string{"Record of a failed sanitization", "Certificate of Destruction", l.Path} {
		if !strings.Contains(dom, want) {
			t.Errorf("the history page lacks %q", want)
		}
	}

	// cosign, by the README's recipe: the blob is the drive's identity in one of the
	// forms the certificate's subjects name.
	cosign := os.Getenv("DECOM_COSIGN")
	if cosign == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("DECOM_COSIGN is not set (make tools builds cosign)")
		}
		t.Skip("DECOM_COSIGN is not set (make tools builds cosign)")
	}
	for blob, ok := range map[string]bool{"ZX42-0007": true, "naa.5000c500a1b2c3d4": true, "ATA/Example%20HDD%204TB/ZX42-0007": true,
		"ZX42-0008": false, l.Path: false} {
		f := filepath.Join(dir, "blob")
		os.WriteFile(f, []byte(blob), 0o644)
		cmd := exec.Command(cosign, "verify-blob-attestation", "--key", filepath.Join(dir, "agent.pub"), "--bundle", destroyed,
			"--type", certificates.PredicateType, "--insecure-ignore-tlog", f)
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "TUF_ROOT="+t.TempDir())
		b, err := cmd.CombinedOutput()
		if (err == nil) != ok {
			t.Errorf("cosign with the blob %q: %v, want ok=%v\n%s", blob, err, ok, b)
		}
	}
}
