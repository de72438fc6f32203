package agent

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/internal/qemutest"
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
	const size = 16 << 20
	image := func(name string, b byte) string {
		p := qemutest.Image(t, name, size)
		if err := os.WriteFile(p, bytes.Repeat([]byte{b}, size), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	present := image("present.img", 0xa5)
	diskA := image("a.img", 0xff)
	diskB := image("b.img", 0xee)
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
		"-drive", "file=" + present + ",if=none,id=present,format=raw",
		"-device", "virtio-blk-pci,drive=present,serial=PRESENT1",
	}

	arrivedRE := regexp.MustCompile(`(/dev/vd[a-z]+): arrived:`)
	// arrival waits for a disk other than the ones named to arrive, and returns it.
	arrival := func(ctx context.Context, m *qemutest.Monitor, known ...string) string {
		for ctx.Err() == nil {
			for _, match := range arrivedRE.FindAllStringSubmatch(m.Console(), -1) {
				if !slices.Contains(known, match[1]) {
					return match[1]
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		return ""
	}
	var devA, devB string
	out := bootWithMonitor(t, qemu, args, 10*time.Minute, func(ctx context.Context, m *qemutest.Monitor) {
		if _, err := m.WaitConsole(ctx, "station: waiting for drives"); err != nil {
			t.Errorf("the station never started: %v", err)
			return
		}
		// 16 MiB at 512 KiB/s: about 32 s of writing.
		if err := m.HotAddDisk("a", diskA, "STATIONA", 512<<10); err != nil {
			t.Error(err)
			return
		}
		if devA = arrival(ctx, m, "/dev/vda"); devA == "" {
			t.Errorf("disk A never arrived")
			return
		}
		if _, err := m.WaitConsole(ctx, devA+": wiping"); err != nil {
			t.Errorf("%s: %v", devA, err)
			return
		}
		// 16 MiB at 256 KiB/s: about a minute of writing.
		if err := m.HotAddDisk("b", diskB, "STATIONB", 256<<10); err != nil {
			t.Error(err)
			return
		}
		if devB = arrival(ctx, m, "/dev/vda", devA); devB == "" {
			t.Errorf("disk B never arrived")
			return
		}
		// Pulled out once some of it is written (10% of the run: a fifth of the pass).
		if _, err := m.WaitConsole(ctx, devB+": wiping 1"); err != nil {
			t.Errorf("%s: %v", devB, err)
			return
		}
		if _, err := m.Execute("device_del", map[string]any{"id": "b"}); err != nil {
			t.Errorf("device_del: %v", err)
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	lines := strings.Split(out, "\n")
	index := func(substr string) int {
		for i, l := range lines {
			if strings.Contains(l, substr) {
				return i
			}
		}
		t.Errorf("the console has no line with %q", substr)
		return -1
	}
	// In parallel: B was being written before A was done, and A did not wait
	// for B's end.
	if index(devB+": wiping") > index(devA+": completed") {
		t.Errorf("disk B was not wiped beside disk A")
	}
	index(devA + ": can be pulled")
	index(devB + ": removed")
	index(devB + ": aborted: the drive was removed")
	if strings.Contains(out, devB+": can be pulled") {
		t.Errorf("the console says the pulled disk %s can be pulled", devB)
	}
	for _, l := range lines {
		if strings.Contains(l, "/dev/vda:") && !strings.Contains(l, "ignored") {
			t.Errorf("the disk present at boot was acted on: %q", l)
		}
	}
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
	if c := certs[devA]; c == nil || c.Status != certificates.StatusCertificate || c.Outcome != certificates.OutcomeSanitized ||
		c.Media.Serial != "STATIONA" {
		t.Errorf("disk A's certificate: %+v", c)
	}
	if c := certs[devB]; c == nil || c.Status != certificates.StatusAbortedRecord ||
		!strings.Contains(c.Sanitization.Error, "the drive was removed") || c.Sanitization.AbortedAt == nil {
		t.Errorf("disk B's record: %+v", c)
	}

	every := func(path string, b byte) bool {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return len(data) == size && bytes.Count(data, []byte{b}) == len(data)
	}
	if !every(diskA, 0) {
		t.Error("disk A's image is not all zeros")
	}
	if !every(present, 0xa5) {
		t.Error("the disk present at boot was written to")
	}
	if every(diskB, 0xee) || every(diskB, 0) {
		t.Error("disk B's image: want partly written (pulled out mid-wipe)")
	}
}
