package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/internal/qemutest"
	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/verify"
	"github.com/decom-project/decom/wipe"
)

// guestDevice finds the device with serial in a decom inventory JSON listing.
func guestDevice(t *testing.T, listing, serial string) inventory.Device {
	t.Helper()
	var inv struct {
		Devices []inventory.Device `json:"devices"`
	}
	if err := json.Unmarshal([]byte(listing), &inv); err != nil {
		t.Fatalf("inventory output: %v\n%s", err, listing)
	}
	for _, d := range inv.Devices {
		if d.Serial == serial {
			return d
		}
	}
	t.Fatalf("no device with serial %s in the guest's inventory:\n%s", serial, listing)
	return inventory.Device{}
}

// TestQEMUInventoryFirmware runs decom inventory in a QEMU guest with an emulated NVMe,
// SATA (AHCI) and virtio-scsi disk, and checks what their firmware says through the real
// ioctls: QEMU's NVMe controller formats (user-data erase) and has no sanitize; its ATA
// disk has neither security erase nor sanitize; its SCSI disk has no SANITIZE.
func TestQEMUInventoryFirmware(t *testing.T) {
	qemutest.Require(t)
	steps, _ := qemutest.RunSteps(t, qemutest.Config{
		Disks: []qemutest.Disk{
			{Path: qemutest.Image(t, "nvme.img", 64<<20), Bus: qemutest.NVMe, Serial: "INVNVME1"},
			{Path: qemutest.Image(t, "sata.img", 64<<20), Bus: qemutest.AHCI, Serial: "INVSATA1"},
			{Path: qemutest.Image(t, "scsi.img", 64<<20), Bus: qemutest.VirtioSCSI, Serial: "INVSCSI1"},
		},
		Programs: map[string]string{"/decom": "github.com/decom-project/decom/cmd/decom"},
	}, []qemutest.Step{{Argv: []string{"/decom", "inventory", "-o", "json"}}, {Argv: []string{"/decom", "inventory"}}})
	if steps[0].Exit != 0 {
		t.Fatalf("decom inventory: exit %d\n%s", steps[0].Exit, steps[0].Stdout)
	}
	out := steps[0].Stdout

	nv := guestDevice(t, out, "INVNVME1")
	c := nv.Capabilities
	if c == nil || !c.Probed || c.NVMeFormat == nil || !c.NVMeFormat.UserDataErase || c.NVMeSanitize != nil {
		t.Errorf("NVMe capabilities: %+v; want probed, format with user-data erase, no sanitize", c)
	}
	if nv.Transport != inventory.TransportNVMe || nv.HiddenAreas() != "none" {
		t.Errorf("NVMe: transport %s, hidden areas %q", nv.Transport, nv.HiddenAreas())
	}

	sata := guestDevice(t, out, "INVSATA1")
	if c := sata.Capabilities; c == nil || !c.Probed || c.ATASanitize != nil || c.NVMeFormat != nil {
		t.Errorf("SATA capabilities: %+v; want probed through ATA PASS-THROUGH, no sanitize", c)
	}
	if sata.SecurityState == nil {
		t.Errorf("SATA: no ATA security state read")
	}
	t.Logf("SATA: transport %s, media %s, security %+v, hpa %+v, dco %+v, hidden areas %q",
		sata.Transport, sata.Media, sata.SecurityState, sata.HPA, sata.DCO, sata.HiddenAreas())

	scsi := guestDevice(t, out, "INVSCSI1")
	if c := scsi.Capabilities; c == nil || !c.Probed || c.SCSISanitize != nil || c.ATASanitize != nil {
		t.Errorf("SCSI capabilities: %+v; want probed, no SANITIZE", c)
	}
	t.Logf("SCSI: transport %s, media %s", scsi.Transport, scsi.Media)

	// Health. QEMU's NVMe controller answers the SMART / Health Information log page: a
	// new drive, no critical warning; its ATA disk implements SMART (READ DATA, READ
	// THRESHOLDS, RETURN STATUS) with seven attributes, power-on hours among them.
	if h := nv.Health; h == nil || h.NVMe == nil || h.Source != inventory.SourceNVMeSMART {
		t.Errorf("NVMe health: %+v; want the SMART log read", h)
	} else {
		if h.Status != inventory.HealthOK || h.NVMe.CriticalWarning != 0 || h.NVMe.PercentageUsed > 100 ||
			h.PowerOnHours == nil || h.NVMe.PowerOnHours == "" || h.NVMe.DataUnitsRead == "" || h.MeasuredAt.IsZero() {
			t.Errorf("NVMe health: %+v %+v; want ok, critical warning 0, percentage used 0-100, power-on hours", h, h.NVMe)
		}
		t.Logf("NVMe health: %s; %d power-on hours, %v °C, %+v", h.Summary(), *h.PowerOnHours, deref(h.TemperatureCelsius), *h.NVMe)
	}
	if h := sata.Health; h == nil || h.ATA == nil || h.Source != inventory.SourceATASMART {
		t.Errorf("SATA health: %+v; want SMART read through ATA PASS-THROUGH", h)
	} else {
		if h.ATA.SMARTStatus != "passed" || h.PowerOnHours == nil || len(h.ATA.Attributes) == 0 || h.ATA.ReallocatedSectors == nil {
			t.Errorf("SATA health: %+v %+v; want SMART passed, attributes with power-on hours and reallocated sectors", h, h.ATA)
		}
		t.Logf("SATA health: %s; power-on hours %v, temperature %v, attributes %+v", h.Summary(), deref(h.PowerOnHours),
			deref(h.TemperatureCelsius), h.ATA.Attributes)
	}
	if scsi.Health == nil || (scsi.Health.Status == inventory.HealthUnavailable && len(scsi.Health.Reasons) == 0) {
		t.Errorf("SCSI health: %+v; want read, or unavailable with the reason", scsi.Health)
	} else {
		t.Logf("SCSI health: %s %+v", scsi.Health.Summary(), scsi.Health.SCSI)
	}

	// The table has the health column.
	if steps[1].Exit != 0 || !regexp.MustCompile(`(?m)^/dev/nvme0n1 .* ok `).MatchString(steps[1].Stdout) ||
		!strings.Contains(steps[1].Stdout, "HEALTH") {
		t.Errorf("decom inventory table: exit %d, want the NVMe drive's health ok:\n%s", steps[1].Exit, steps[1].Stdout)
	}
}

func deref[T any](p *T) any {
	if p == nil {
		return "-"
	}
	return *p
}

// TestQEMUPurgeNVMe wipes an emulated NVMe drive full of random data with
// --method nist-purge in a QEMU guest. The planner picks Format NVM with user-data erase
// (QEMU's controller has no sanitize), refuses the guest's SATA disk (no sanitize, no
// enhanced security erase: Purge not achievable), and on the host the NVMe image reads
// back all zeros and the certificate names the technique and the Purge class.
func TestQEMUPurgeNVMe(t *testing.T) {
	qemutest.Require(t)
	ctx := context.Background()
	dir := t.TempDir()
	t.Setenv("DECOM_KEY_PASSWORD", "qemu test passphrase")
	generateKey(t, filepath.Join(dir, "site"))
	const size = 64 << 20
	img := qemutest.Image(t, "nvme.img", size)
	f, err := os.OpenFile(img, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.Reader, size); err != nil {
		t.Fatal(err)
	}
	f.Close()

	steps, res := qemutest.RunSteps(t, qemutest.Config{
		Disks: []qemutest.Disk{
			{Path: img, Bus: qemutest.NVMe, Serial: "PURGENVME1"},
			{Path: qemutest.Image(t, "sata.img", 16<<20), Bus: qemutest.AHCI, Serial: "PURGESATA1"},
		},
		Programs:  map[string]string{"/decom": "github.com/decom-project/decom/cmd/decom"},
		Files:     map[string]string{"/site.key": filepath.Join(dir, "site.key")},
		Env:       []string{"DECOM_KEY_PASSWORD=qemu test passphrase"},
		MemoryMiB: 1024,
	}, []qemutest.Step{
		{Argv: []string{"/decom", "wipe", "--method", "nist-purge", "--dry-run", "-o", "json", "/dev/nvme0n1", "/dev/sda"}},
		{Argv: []string{"/decom", "wipe", "--method", "nist-purge", "--dry-run", "-o", "json", "--all"}},
		{Argv: []string{"/decom", "wipe", "--method", "nist-purge", "--yes", "-o", "json", "--key", "/site.key",
			"--operator", "QEMU Tester", "--cert-dir", "/tmp/certs", "/dev/nvme0n1"}},
		{Cat: "/tmp/certs/*.sigstore.json"},
		{Argv: []string{"/decom", "wipe", "--resume", "--yes", "--cert-dir", "/tmp/certs", "--no-certificate"}},
	})
	t.Logf("guest: %s", res.Elapsed)

	// The dry run: a plan for each drive, the SATA disk refused with the reason.
	if steps[0].Exit != exitRefused {
		t.Errorf("dry run: exit %d, want %d (one drive refused)\n%s", steps[0].Exit, exitRefused, steps[0].Stdout)
	}
	var nvPlan, sataPlan *planLine
	for line := range strings.SplitSeq(steps[0].Stdout, "\n") {
		var l struct {
			Type string `json:"type"`
			planLine
		}
		if json.Unmarshal([]byte(line), &l) != nil || l.Type != "plan" {
			continue
		}
		switch l.Serial {
		case "PURGENVME1":
			nvPlan = &l.planLine
		case "PURGESATA1":
			sataPlan = &l.planLine
		}
	}
	if nvPlan == nil || nvPlan.Refused || nvPlan.Plan == nil || nvPlan.Plan.Technique != wipe.TechNVMeFormatUserData || nvPlan.Plan.Class != wipe.ClassPurge {
		t.Errorf("NVMe plan: %+v; want nvme-format-user-data-erase, purge", nvPlan)
	} else if len(nvPlan.Plan.Rejected) < 3 {
		t.Errorf("NVMe plan passed over only %v: the sanitize and crypto-format options must be named", nvPlan.Plan.Rejected)
	}
	if sataPlan == nil || !sataPlan.Refused || !strings.Contains(strings.Join(sataPlan.Refusals, " "), "not achievable") {
		t.Errorf("SATA plan: %+v; want refused as not achievable", sataPlan)
	}

	// --all takes the drive that can be purged and leaves the other out, by name.
	if steps[1].Exit != exitOK || strings.Count(steps[1].Stdout, `"type":"plan"`) != 1 || !strings.Contains(steps[1].Stdout, "PURGENVME1") {
		t.Errorf("--all dry run: exit %d, want 0 and a plan for the NVMe drive only:\n%s", steps[1].Exit, steps[1].Stdout)
	}
	if !strings.Contains(res.Stderr, "left out of --all") {
		t.Errorf("the SATA disk was not reported as left out of --all:\n%s", res.Stderr)
	}

	// The wipe.
	if steps[2].Exit != exitOK {
		t.Fatalf("wipe: exit %d\n%s\nstderr:\n%s", steps[2].Exit, steps[2].Stdout, res.Stderr)
	}
	zero := make([]byte, 1<<20)
	got, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(got); off += len(zero) {
		if !bytes.Equal(got[off:off+len(zero)], zero) {
			t.Fatalf("the NVMe image is not all zeros after the format: first difference in the MiB at %d", off)
		}
	}

	// The certificate, as an auditor reads it on the host.
	bundle := certFromCat(t, steps[3].Stdout)
	certPath := filepath.Join(dir, "nvme.sigstore.json")
	if err := os.WriteFile(certPath, bundle, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := decom(t, ctx, "cert", "verify", certPath, "--key", filepath.Join(dir, "site.pub"))
	if code != exitOK {
		t.Fatalf("cert verify: %d %s %s", code, out, stderr)
	}
	c, _, err := certificates.Inspect(bundle)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Sanitization
	if s.Technique != string(wipe.TechNVMeFormatUserData) || s.Category != certificates.CategoryPurge || c.Outcome != certificates.OutcomeSanitized ||
		c.Media.Serial != "PURGENVME1" || s.Firmware == nil || !s.Firmware.Completed || s.Reason == "" {
		t.Errorf("certificate: technique %q, category %q, outcome %q, serial %q, firmware %+v, reason %q",
			s.Technique, s.Category, c.Outcome, c.Media.Serial, s.Firmware, s.Reason)
	}
	if !c.Verification.Verified || len(c.Verification.Checks) != 1 || c.Verification.Checks[0].Mode != verify.ModeSampleUniform {
		t.Errorf("certificate verification: %+v", c.Verification)
	}
	// Its journal went with the certificate: nothing is left to resume.
	if steps[4].Exit != exitRefused || !strings.Contains(res.Stderr, "no interrupted wipe of a drive present to resume") {
		t.Errorf("resume after the finished purge: exit %d, want %d (nothing to resume)\n%s", steps[4].Exit, exitRefused, res.Stderr)
	}

	resumeInterruptedFormat(t, dir, img, nvPlan)
}

// resumeInterruptedFormat boots the guest again with a journal that says a Format NVM
// was sent to the NVMe drive before a power cut. decom wipe --resume must not send it
// again (the image, refilled with random data, is left as it is): a format cannot be
// resumed, so the wipe ends failed, its record saying so, with the interruption listed.
func resumeInterruptedFormat(t *testing.T, dir, img string, plan *planLine) {
	t.Helper()
	if plan == nil {
		t.Fatal("no NVMe plan from the dry run")
	}
	noise := make([]byte, 64<<20)
	rand.Read(noise)
	if err := os.WriteFile(img, noise, 0o644); err != nil {
		t.Fatal(err)
	}
	sent := time.Now().Add(-time.Minute).UTC()
	j := sanitize.Journal{Version: sanitize.JournalVersion, Device: "/dev/nvme0n1", Kind: plan.Kind,
		Drive: sanitize.DriveKey{Serial: plan.Identity.Serial, WWN: plan.Identity.WWN, Model: plan.Identity.Model,
			SizeBytes: plan.Identity.SizeBytes},
		Method: wipe.MethodNISTPurge, Rounds: 1, Technique: plan.Plan.Technique, Choice: plan.Plan,
		FirmwareSent: &sent, Started: sent, Updated: sent}
	body, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	journal := filepath.Join(dir, "journal.json")
	file := fmt.Sprintf(`{"journal":%s,"sha256":%q}`, body, hex.EncodeToString(sum[:]))
	if err := os.WriteFile(journal, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	steps, res := qemutest.RunSteps(t, qemutest.Config{
		Disks:     []qemutest.Disk{{Path: img, Bus: qemutest.NVMe, Serial: "PURGENVME1"}},
		Programs:  map[string]string{"/decom": "github.com/decom-project/decom/cmd/decom"},
		Files:     map[string]string{"/site.key": filepath.Join(dir, "site.key"), "/journals/decom-journal_PURGENVME1.json": journal},
		Env:       []string{"DECOM_KEY_PASSWORD=qemu test passphrase"},
		MemoryMiB: 1024,
	}, []qemutest.Step{
		{Argv: []string{"/decom", "wipe", "--method", "nist-purge", "--yes", "-o", "json", "--key", "/site.key",
			"--operator", "QEMU Tester", "--cert-dir", "/tmp/certs", "--journal-dir", "/journals", "/dev/nvme0n1"}},
		{Argv: []string{"/decom", "wipe", "--resume", "--yes", "-o", "json", "--key", "/site.key",
			"--operator", "QEMU Tester", "--cert-dir", "/tmp/certs", "--journal-dir", "/journals"}},
		{Cat: "/tmp/certs/*.sigstore.json"},
	})
	t.Logf("guest (resume): %s", res.Elapsed)
	if steps[0].Exit != exitRefused {
		t.Errorf("a new purge over the interrupted one: exit %d, want %d\n%s", steps[0].Exit, exitRefused, res.Stderr)
	}
	if steps[1].Exit != exitWipeFailed {
		t.Fatalf("resume: exit %d, want %d\n%s\nstderr:\n%s", steps[1].Exit, exitWipeFailed, steps[1].Stdout, res.Stderr)
	}
	got, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, noise) {
		t.Fatal("the resume changed the drive: the format was sent again")
	}
	c, _, err := certificates.Inspect(certFromCat(t, steps[2].Stdout))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Sanitization
	if c.Outcome != certificates.OutcomeFailed || s.Firmware == nil || !s.Firmware.Resumed || s.Firmware.Completed ||
		len(s.Interruptions) != 1 || !strings.Contains(s.Error, "--restart") {
		t.Errorf("certificate of the resumed format: outcome %s, firmware %+v, interruptions %+v, error %q",
			c.Outcome, s.Firmware, s.Interruptions, s.Error)
	}
}

// certFromCat takes the one certificate a cat step printed.
func certFromCat(t *testing.T, out string) []byte {
	t.Helper()
	_, rest, ok := strings.Cut(out, "--- /tmp/certs/")
	if !ok {
		t.Fatalf("no certificate printed:\n%s", out)
	}
	_, body, _ := strings.Cut(rest, "\n")
	body, _, ok = strings.Cut(body, "\n--- end")
	if !ok {
		t.Fatalf("certificate not framed:\n%s", out)
	}
	return []byte(body)
}
