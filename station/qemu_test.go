package station_test

import (
	"bytes"
	"context"
	"crypto"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/internal/qemutest"
)

// TestQEMUStation runs decom station --auto in a QEMU guest and plugs disks in and out
// through QEMU's monitor: a disk hot-added is wiped and certified; a second one,
// hot-added while the first is being wiped, is taken in parallel, and unplugged
// mid-wipe (device_del) it ends as aborted, its record saying so, while the first
// finishes. The disk present at boot is never touched. The host reads the images
// byte by byte.
func TestQEMUStation(t *testing.T) {
	qemutest.Require(t)
	dir := t.TempDir()
	priv, pub, err := certificates.GenerateUnencryptedKey("ecdsa-p256")
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "site.key")
	if err := os.WriteFile(key, priv, 0o600); err != nil {
		t.Fatal(err)
	}
	pubFile := filepath.Join(dir, "site.pub")
	if err := os.WriteFile(pubFile, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	image := func(name string, b byte) string {
		p := qemutest.Image(t, name, 16<<20)
		if err := os.WriteFile(p, bytes.Repeat([]byte{b}, 16<<20), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	present := image("present.img", 0xa5)
	first := image("first.img", 0xff)
	pulled := image("pulled.img", 0xee)

	// hotAdd plugs an image in as a virtio-blk disk whose writes QEMU throttles to
	// bps bytes a second, so that its wipe lasts long enough to watch.
	hotAdd := func(m *qemutest.Monitor, id, path, serial string, bps int) {
		t.Helper()
		if err := m.HotAddDisk(id, path, serial, bps); err != nil {
			t.Error(err)
		}
	}
	arrivedRE := regexp.MustCompile(`(/dev/vd[a-z]+): arrived:`)
	// arrival waits for a disk other than the ones named to arrive, and returns it.
	arrival := func(ctx context.Context, m *qemutest.Monitor, known ...string) string {
		for ctx.Err() == nil {
			for _, match := range arrivedRE.FindAllStringSubmatch(m.Console(), -1) {
				if !strings.Contains(strings.Join(known, " "), match[1]) {
					return match[1]
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		return ""
	}
	var firstDev, pulledDev string
	steps, res := qemutest.RunSteps(t, qemutest.Config{
		Disks:    []qemutest.Disk{{Path: present, Bus: qemutest.VirtioBlk, Serial: "PRESENT1"}},
		Files:    map[string]string{"/site.key": key},
		Programs: map[string]string{"/decom": "github.com/decom-project/decom/cmd/decom"},
		Timeout:  8 * time.Minute,
		Monitor: func(ctx context.Context, m *qemutest.Monitor) {
			if _, err := m.WaitConsole(ctx, "station: waiting for drives"); err != nil {
				t.Errorf("the station never started: %v", err)
				return
			}
			hotAdd(m, "first", first, "FIRST1", 512<<10) // 16 MiB: about 32 s of writing
			if firstDev = arrival(ctx, m, "/dev/vda"); firstDev == "" {
				t.Errorf("the first disk never arrived")
				return
			}
			if _, err := m.WaitConsole(ctx, firstDev+": wiping"); err != nil {
				t.Errorf("%s: %v", firstDev, err)
				return
			}
			hotAdd(m, "pulled", pulled, "PULLED1", 256<<10) // about a minute of writing
			if pulledDev = arrival(ctx, m, "/dev/vda", firstDev); pulledDev == "" {
				t.Errorf("the second disk never arrived")
				return
			}
			// Pulled out once some of it is written (10% of the run: a fifth of the pass).
			if _, err := m.WaitConsole(ctx, pulledDev+": wiping 1"); err != nil {
				t.Errorf("%s: %v", pulledDev, err)
				return
			}
			if _, err := m.Execute("device_del", map[string]any{"id": "pulled"}); err != nil {
				t.Errorf("device_del: %v", err)
			}
		},
	}, []qemutest.Step{
		{Argv: []string{"/decom", "station", "--auto", "--max", "2", "--method", "zero", "--verify", "full",
			"--key", "/site.key", "--operator", "QEMU Tester", "--cert-dir", "/tmp/certs",
			"--block-size", "64KiB", "--progress-interval", "250ms"}},
		{Cat: "/tmp/certs/*.sigstore.json"},
	})
	out := steps[0].Stdout
	t.Logf("decom station:\n%s", out)
	if t.Failed() {
		t.Logf("stderr:\n%s", res.Stderr)
		t.FailNow()
	}
	// The pulled drive makes the batch incomplete: exit code 5 (wipe failed).
	if steps[0].Exit != 5 {
		t.Errorf("decom station: exit %d, want 5 (one drive pulled out)\nstderr:\n%s", steps[0].Exit, res.Stderr)
	}
	lines := strings.Split(out, "\n")
	index := func(substr string) int {
		for i, l := range lines {
			if strings.Contains(l, substr) {
				return i
			}
		}
		t.Errorf("no line with %q", substr)
		return -1
	}
	// In parallel: the second drive was being wiped before the first was done.
	if index(pulledDev+": wiping") > index(firstDev+": completed") {
		t.Errorf("the second drive was not wiped beside the first")
	}
	index(firstDev + ": can be pulled")
	index(pulledDev + ": removed")
	index(pulledDev + ": aborted: the drive was removed")
	if strings.Contains(out, pulledDev+": can be pulled") || strings.Contains(out, "/dev/vda:") {
		t.Errorf("console says too much of %s or of the present disk", pulledDev)
	}

	keys, err := certificates.LoadPublicKeys(pubFile)
	if err != nil {
		t.Fatal(err)
	}
	certs := map[string]*certificates.Certificate{}
	for _, body := range catBodies(steps[1].Stdout) {
		v, err := certificates.Verify(body, []crypto.PublicKey(keys))
		if err != nil {
			t.Fatalf("certificate: %v", err)
		}
		certs[v.Certificate.Media.Serial] = v.Certificate
		certs[v.Certificate.Media.Path] = v.Certificate
	}
	if c := certs[firstDev]; c == nil || c.Status != certificates.StatusCertificate || c.Outcome != certificates.OutcomeSanitized {
		t.Errorf("first drive's certificate: %+v", c)
	}
	if c := certs[pulledDev]; c == nil || c.Status != certificates.StatusAbortedRecord ||
		!strings.Contains(c.Sanitization.Error, "the drive was removed") || c.Sanitization.AbortedAt == nil {
		t.Errorf("pulled drive's record: %+v", c)
	}
	if len(certs) > 4 {
		t.Errorf("%d certificates, want 2", len(certs)/2)
	}

	every := func(path string, b byte) bool {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Count(data, []byte{b}) == len(data)
	}
	if !every(first, 0) {
		t.Error("the first disk's image is not all zeros")
	}
	if !every(present, 0xa5) {
		t.Error("the disk present at boot was written to")
	}
	if every(pulled, 0xee) || every(pulled, 0) {
		t.Error("the pulled disk's image: want partly written")
	}
}

// catBodies are the files a cat step printed.
func catBodies(out string) [][]byte {
	var bodies [][]byte
	for {
		_, rest, ok := strings.Cut(out, "--- /tmp/certs/")
		if !ok {
			return bodies
		}
		_, body, _ := strings.Cut(rest, "\n")
		body, out, ok = strings.Cut(body, "\n--- end")
		if !ok {
			return bodies
		}
		bodies = append(bodies, []byte(body))
	}
}
