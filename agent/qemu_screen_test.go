package agent

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/internal/qemutest"
)

// TestQEMUBootScreen boots decom as the initramfs's /init in interactive mode with
// the serial port as its only console, and drives the full screen through it, as a
// BMC's serial-over-LAN would: the drive list appears (the stick marked), the
// second of its rows (the first of two disks) is chosen, WIPE 1 is typed, the run
// ends on the end screen, and Enter powers the machine off. On this machine, the
// chosen disk reads back as zeros and the other is unchanged, byte for byte.
func TestQEMUBootScreen(t *testing.T) {
	qemu := qemutest.Require(t)
	vmlinuz, _ := qemutest.Kernel(t)
	guest := qemutest.Build(t, "github.com/decom-project/decom/cmd/decom", "-tags", "agentimage")
	priv, pub, err := certificates.GenerateKey("ecdsa-p256", []byte("screen-test"))
	if err != nil {
		t.Fatal(err)
	}
	stick := makeStick(t, map[string][]byte{
		"config.yaml":    []byte("operator:\n  name: Screen Test\nkey: site.key\npdf: false\n"),
		"site.key":       priv,
		"key-passphrase": []byte("screen-test\n"),
	})
	const size = 8 << 20
	diskA, diskB := randomImage(t, "a.img", size), randomImage(t, "b.img", size)
	origB, err := os.ReadFile(diskB)
	if err != nil {
		t.Fatal(err)
	}
	initrd := writeInitramfs(t, guest, moduleFiles(t, append(slices.Clone(qemutest.DefaultModules), FilesystemModules...)...))
	args := []string{
		"-machine", "pc", "-accel", "tcg", "-m", "1024", "-smp", "1",
		"-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot",
		"-kernel", vmlinuz, "-initrd", initrd,
		"-append", "console=ttyS0 panic=-1 quiet decom.mode=interactive decom.method=zero decom.verify=full",
		"-device", "virtio-scsi-pci,id=scsi0",
		"-drive", "file=" + stick + ",if=none,id=stick,format=raw",
		"-device", "scsi-hd,drive=stick,bus=scsi0.0,serial=DECOMSTICK",
		"-drive", "file=" + diskA + ",if=none,id=a,format=raw",
		"-device", "virtio-blk-pci,drive=a,serial=SCREENA",
		"-drive", "file=" + diskB + ",if=none,id=b,format=raw",
		"-device", "virtio-blk-pci,drive=b,serial=SCREENB",
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu, args...)
	var console lockedBuffer
	cmd.Stdout, cmd.Stderr = &console, &console
	keys, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cancel() // kills QEMU if it still runs
		<-exited
	})
	start := time.Now()
	screen := func() string { return strings.ReplaceAll(ansi.Strip(console.String()), "\r", "") }
	waitFor := func(what string) {
		t.Helper()
		for !strings.Contains(screen(), what) {
			select {
			case <-exited:
				t.Fatalf("QEMU ended (%v) before the console showed %q:\n%s", waitErr, what, screen())
			case <-ctx.Done():
				t.Fatalf("the console did not show %q within 8 minutes:\n%s", what, screen())
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	press := func(s string) {
		t.Helper()
		if _, err := keys.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor("choose the drives to wipe")
	waitFor("space select")
	list := screen()
	if i := strings.LastIndex(list, "choose the drives to wipe"); i >= 0 {
		list = list[i:]
	}
	for _, want := range []string{"/dev/sda", "BOOT MEDIUM", "/dev/vda", "SCREENA", "/dev/vdb", "SCREENB"} {
		if !strings.Contains(list, want) {
			t.Errorf("the drive list lacks %q", want)
		}
	}
	// The cursor is on the first row, the stick (/dev/sda): down to /dev/vda,
	// select it, on to the confirmation.
	press("j \r")
	waitFor("Nothing has been written yet.")
	press("WIPE 1\r")
	waitFor("press Enter to power off")
	press("\r")
	select {
	case <-exited:
	case <-ctx.Done():
		t.Fatalf("the guest did not power off within 8 minutes:\n%s", screen())
	}
	out := screen()
	t.Logf("console after %v:\n%s", time.Since(start).Round(time.Second), out)
	if waitErr != nil {
		t.Errorf("qemu: %v", waitErr)
	}
	for _, want := range []string{
		"decom: confirmed on the screen: 1 drive with zero, verification full: /dev/vda",
		"decom: wiping 1 drives in parallel with zero, verification full: /dev/vda\n",
		"decom boot agent - finished",
		"1 sanitized, 0 with exceptions, 0 failed, 2 not wiped",
		"THE STICK CAN BE REMOVED",
		"decom: result: 1 sanitized, 0 with exceptions, 0 failed, 2 not wiped\n",
		"decom: powering off\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console lacks %q", want)
		}
	}
	if strings.Contains(out, "Kernel panic") || strings.Contains(out, "FATAL") {
		t.Errorf("the console reports a panic or a fatal error")
	}

	// The certificate names the disk chosen; it reads back as zeros, and the other
	// is as it was.
	keysFile, err := certificates.LoadPublicKeys(writeTemp(t, "site.pub", pub))
	if err != nil {
		t.Fatal(err)
	}
	var serials []string
	for name, b := range stickFiles(t, stick, "/certs") {
		if !strings.HasSuffix(name, ".sigstore.json") {
			continue
		}
		v, err := certificates.Verify(b, keysFile)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		serials = append(serials, v.Certificate.Media.Serial)
	}
	if !slices.Equal(serials, []string{"SCREENA"}) {
		t.Errorf("certificates for %q, want one for SCREENA", serials)
	}
	a, err := os.ReadFile(diskA)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, make([]byte, size)) {
		t.Errorf("the disk chosen (SCREENA) does not read back as zeros")
	}
	b, err := os.ReadFile(diskB)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b, origB) {
		t.Errorf("the disk not chosen (SCREENB) changed")
	}
}
