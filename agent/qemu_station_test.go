package agent

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/internal/qemutest"
	"github.com/decom-project/decom/internal/stationtest"
)

// TestQEMUBootStation boots decom as the initramfs's /init with decom.mode=station
// and a config that says station: {auto: true, max: 2}, and plugs disks in and out
// through QEMU's monitor: disk A, hot-added, is wiped and certified; disk B,
// hot-added while A is still being written (the console's order says so), is taken
// beside it and pulled out mid-wipe (device_del), which ends B's run as aborted with
// its record saying so, while A finishes. After its two drives the agent powers the
// machine off. On this machine: A reads back as zeros, B is partly written, and the
// disk present at boot is unchanged, byte for byte; the stick holds A's certificate
// and B's aborted record, both signed with the config's key.
func TestQEMUBootStation(t *testing.T) {
	qemu := qemutest.Require(t)
	vmlinuz, _ := qemutest.Kernel(t)
	guest := qemutest.Build(t, "github.com/decom-project/decom/cmd/decom", "-tags", "agentimage")
	priv, pub, err := certificates.GenerateKey("ecdsa-p256", []byte("station-test"))
	if err != nil {
		t.Fatal(err)
	}
	stick := makeStick(t, map[string][]byte{
		"config.yaml": []byte("operator:\n  name: Station Test\nkey: site.key\npdf: false\n" +
			"station:\n  auto: true\n  max: 2\n"),
		"site.key":       priv,
		"key-passphrase": []byte("station-test\n"),
	})
	im := stationtest.NewImages(t)
	initrd := writeInitramfs(t, guest, moduleFiles(t, append(slices.Clone(qemutest.DefaultModules), FilesystemModules...)...))
	args := []string{
		"-machine", "pc", "-accel", "tcg", "-m", "1024", "-smp", "1",
		"-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot",
		"-kernel", vmlinuz, "-initrd", initrd,
		// decom.plain: the station's lines, which this test reads, not its full screen.
		"-append", "console=ttyS0 panic=-1 quiet decom.mode=station decom.method=zero decom.verify=full decom.plain=1",
		"-device", "virtio-scsi-pci,id=scsi0",
		"-drive", "file=" + stick + ",if=none,id=stick,format=raw",
		"-device", "scsi-hd,drive=stick,bus=scsi0.0,serial=DECOMSTICK",
		"-drive", "file=" + im.Present + ",if=none,id=present,format=raw",
		"-device", "virtio-blk-pci,drive=present,serial=PRESENT1",
	}

	var devA, devB string
	out := bootWithMonitor(t, qemu, args, 10*time.Minute, func(ctx context.Context, m *qemutest.Monitor) {
		// A: 16 MiB at 512 KiB/s, about 32 s of writing; B: at 256 KiB/s, a minute.
		devA, devB = stationtest.HotPlug(ctx, t, m, stationtest.Disk{ID: "a", Path: im.A, Serial: "STATIONA", BytesPerSecond: 512 << 10},
			stationtest.Disk{ID: "b", Path: im.B, Serial: "STATIONB", BytesPerSecond: 256 << 10}, "/dev/vda")
	})
	if t.Failed() {
		t.FailNow()
	}
	lines := stationtest.CheckConsole(t, out, devA, devB)
	index := func(substr string) int { return lines.Index(t, substr) }
	for _, l := range lines {
		if strings.Contains(l, "/dev/vda:") && !strings.Contains(l, "ignored") && !strings.Contains(l, "present at start, left alone") {
			t.Errorf("the disk present at boot was acted on: %q", l)
		}
	}
	// It is named by its identity when the station starts.
	index("/dev/vda: present at start, left alone: unknown model, serial PRESENT1, 16 MiB, virtio")
	if i, j := index("station: done after 2 drives"), index("decom: powering off"); i < 0 || j < i {
		t.Errorf("the agent did not power off after its two drives")
	}
	if strings.Contains(out, "Kernel panic") || strings.Contains(out, "FATAL") {
		t.Errorf("the console reports a panic or a fatal error")
	}

	// The stick: A's certificate and B's record, signed with the config's key.
	keys, err := certificates.LoadPublicKeys(writeTemp(t, "site.pub", pub))
	if err != nil {
		t.Fatal(err)
	}
	certs := map[string]*certificates.Certificate{}
	for name, body := range stickFiles(t, stick, "/certs") {
		if !strings.HasSuffix(name, ".sigstore.json") {
			continue
		}
		v, err := certificates.Verify(body, keys)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if certs[v.Certificate.Media.Path] != nil {
			t.Errorf("two certificates of %s", v.Certificate.Media.Path)
		}
		certs[v.Certificate.Media.Path] = v.Certificate
	}
	if len(certs) != 2 {
		t.Errorf("certificates of %d drives on the stick, want 2", len(certs))
	}
	stationtest.CheckRecords(t, certs[devA], certs[devB])
	if c := certs[devA]; c != nil && c.Media.Serial != "STATIONA" {
		t.Errorf("disk A's certificate names serial %q, want STATIONA", c.Media.Serial)
	}

	im.Check(t)
}
