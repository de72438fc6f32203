package station_test

import (
	"context"
	"crypto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/internal/qemutest"
	"github.com/decom-project/decom/internal/stationtest"
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
	im := stationtest.NewImages(t)
	var firstDev, pulledDev string
	steps, res := qemutest.RunSteps(t, qemutest.Config{
		Disks:    []qemutest.Disk{{Path: im.Present, Bus: qemutest.VirtioBlk, Serial: "PRESENT1"}},
		Files:    map[string]string{"/site.key": key},
		Programs: map[string]string{"/decom": "github.com/decom-project/decom/cmd/decom"},
		Timeout:  8 * time.Minute,
		Monitor: func(ctx context.Context, m *qemutest.Monitor) {
			// The first: 16 MiB at 512 KiB/s, about 32 s of writing; the pulled one at
			// 256 KiB/s, about a minute.
			firstDev, pulledDev = stationtest.HotPlug(ctx, t, m, stationtest.Disk{ID: "first", Path: im.A, Serial: "FIRST1", BytesPerSecond: 512 << 10},
				stationtest.Disk{ID: "pulled", Path: im.B, Serial: "PULLED1", BytesPerSecond: 256 << 10}, "/dev/vda")
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
	lines := stationtest.CheckConsole(t, out, firstDev, pulledDev)
	// Of the disk present at start, only that it is left alone is said, with its identity.
	lines.Index(t, "/dev/vda: present at start, left alone: ")
	for _, l := range lines {
		if strings.Contains(l, "/dev/vda:") && !strings.Contains(l, "present at start, left alone: ") {
			t.Errorf("the console says of the disk present at start: %q", l)
		}
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
	stationtest.CheckRecords(t, certs[firstDev], certs[pulledDev])
	if len(certs) > 4 {
		t.Errorf("%d certificates, want 2", len(certs)/2)
	}

	im.Check(t)
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
