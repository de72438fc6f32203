package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/internal/diskimage"
	"github.com/decom-project/decom/internal/qemutest"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/wipe"
)

// TestQEMUBootResume cuts the power of a machine mid-wipe and boots it again. decom
// boots as the initramfs's /init (as in TestQEMUBootPID1) in auto mode with dod-3
// on one 64 MiB virtio disk, whose writes QEMU throttles to 8 MiB/s so that every
// pass lasts about 8 s. Once the journal on the stick's data partition (read from
// the host, through the stick's image file) records durable progress inside pass 2
// or later, the machine is powered off hard (QMP quit: no shutdown, no unmount).
// The journal must be on the stick then, and no certificate. The same machine boots
// again: the agent must find the journal before it plans anything, resume the
// wipe by itself, finish it and power off. Its certificate must list exactly one
// interruption (where the journal said), three completed passes, the resumed pass's
// offset, and a passed verification; the journal must be gone; and every byte of the
// disk must be the last pass's, regenerated on the host from the certificate's keys.
func TestQEMUBootResume(t *testing.T) {
	qemu := qemutest.Require(t)
	vmlinuz, _ := qemutest.Kernel(t)
	guest := qemutest.Build(t, "github.com/decom-project/decom/cmd/decom", "-tags", "agentimage")
	priv, pub, err := certificates.GenerateKey("ecdsa-p256", []byte("resume-test"))
	if err != nil {
		t.Fatal(err)
	}
	stick := makeStick(t, map[string][]byte{
		"config.yaml":    []byte("operator:\n  name: Resume Test\nkey: site.key\npdf: false\nboot:\n  countdown: 0\n"),
		"site.key":       priv,
		"key-passphrase": []byte("resume-test\n"),
	})
	const size = 64 << 20
	target := randomImage(t, "target.img", size)
	initrd := writeInitramfs(t, guest, moduleFiles(t, append(slices.Clone(qemutest.DefaultModules), FilesystemModules...)...))
	qmp := filepath.Join(t.TempDir(), "qmp.sock")
	args := []string{
		"-machine", "pc", "-accel", "tcg", "-m", "1024", "-smp", "1",
		"-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot",
		"-kernel", vmlinuz, "-initrd", initrd,
		"-append", "console=ttyS0 panic=-1 quiet decom.mode=auto decom.method=dod-3 decom.verify=full",
		"-device", "virtio-scsi-pci,id=scsi0",
		"-drive", "file=" + stick + ",if=none,id=stick,format=raw",
		"-device", "scsi-hd,drive=stick,bus=scsi0.0,serial=DECOMSTICK",
		// 8 MiB/s: each pass of the 64 MiB disk lasts about 8 s, more than the
		// engine's checkpoint interval (5 s), however fast this machine is.
		"-drive", "file=" + target + ",if=none,id=target,format=raw,throttling.bps-write=8388608",
		"-device", "virtio-blk-pci,drive=target,serial=RESUMETARGET",
		"-qmp", "unix:" + qmp + ",server=on,wait=off",
	}
	start := time.Now()

	// The first boot: wait for the journal to show progress in pass 2 or later, and
	// cut the power.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemu, args...)
	var console lockedBuffer
	cmd.Stdout, cmd.Stderr = &console, &console
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cancel() // kills QEMU if it is still running
		<-exited
	})
	var seen *sanitize.Journal
	for seen == nil {
		select {
		case <-exited:
			t.Fatalf("the first boot ended (%v) before the journal showed pass 2:\n%s", waitErr, console.String())
		case <-ctx.Done():
			t.Fatalf("no journal in pass 2 or later within 3 minutes:\n%s", console.String())
		case <-time.After(500 * time.Millisecond):
		}
		j, _ := stickJournal(stick) // read while the guest writes: may fail, try again
		if j != nil && j.Current != nil && j.Current.Pass >= 2 && j.Current.Offset > 0 && j.Current.Offset < size {
			seen = j
		}
	}
	if err := qmpQuit(qmp); err != nil {
		t.Fatalf("QMP quit: %v", err)
	}
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("QEMU did not quit")
	}
	first := strings.ReplaceAll(console.String(), "\r", "")
	t.Logf("first boot, powered off after %v at pass %d, offset %d:\n%s", time.Since(start).Round(time.Second),
		seen.Current.Pass, seen.Current.Offset, first)
	for _, want := range []string{
		"decom: journals: no unfinished wipe in /data/certs\n",
		"decom: wiping 1 drives in parallel with dod-3, verification full: /dev/vda\n",
	} {
		if !strings.Contains(first, want) {
			t.Errorf("first boot's console lacks %q", want)
		}
	}
	if strings.Contains(first, "decom: summary") {
		t.Fatalf("the first boot finished before the power was cut")
	}
	// The journal is on the stick, and it is where the wipe was, or later.
	cut, err := stickJournal(stick)
	if err != nil {
		t.Fatalf("after the power cut: %v", err)
	}
	if cut.Current == nil || cut.Current.Pass < seen.Current.Pass ||
		cut.Current.Pass == seen.Current.Pass && cut.Current.Offset < seen.Current.Offset ||
		cut.Method != "dod-3" || cut.Drive.Serial != "RESUMETARGET" || cut.Device != "/dev/vda" {
		t.Fatalf("journal after the power cut: %+v (seen before: pass %d at %d)", cut, seen.Current.Pass, seen.Current.Offset)
	}
	if certs := certificateFiles(t, stick); len(certs) != 0 {
		t.Fatalf("certificates before the wipe finished: %v", slices.Sorted(mapKeys(certs)))
	}

	// The second boot: the agent resumes by itself and powers off.
	second := bootToPowerOff(t, qemu, args, 3*time.Minute)
	for _, want := range []string{
		"decom: unfinished wipe: /dev/vda (serial RESUMETARGET, 64.0 MiB), dod-3: pass ",
		"decom: plan: resume 1 interrupted wipes first, each with its journal's method:\n",
		"decom: resuming 1 interrupted wipes with their journal's method dod-3, verification full: /dev/vda\n",
		"; resumed after 1 interruption\n",
		"decom: result: 1 sanitized, 0 with exceptions, 0 failed, 1 not wiped\n",
		"decom: data partition unmounted: it is safe to remove the stick\n",
		"decom: powering off\n",
	} {
		if !strings.Contains(second, want) {
			t.Errorf("second boot's console lacks %q", want)
		}
	}
	if strings.Contains(second, "decom: wiping 1 drives") || strings.Contains(second, "FATAL") || strings.Contains(second, "Kernel panic") {
		t.Errorf("the second boot started a fresh wipe or failed")
	}
	if strings.Index(second, "decom: unfinished wipe:") > strings.Index(second, "decom: drive /dev/vda:") {
		t.Errorf("the journals were read after the drives were planned")
	}

	// The certificate: one interruption, where the journal was; three passes; verified.
	certs := certificateFiles(t, stick)
	if len(certs) != 1 {
		t.Fatalf("certificates on the stick: %v", slices.Sorted(mapKeys(certs)))
	}
	if j, err := stickJournal(stick); j != nil || !errors.Is(err, errNoJournal) {
		t.Errorf("a journal is left after the certificate: %+v, %v", j, err)
	}
	keys, err := certificates.LoadPublicKeys(writeTemp(t, "site.pub", pub))
	if err != nil {
		t.Fatal(err)
	}
	var c *certificates.Certificate
	for name, b := range certs {
		v, err := certificates.Verify(b, keys)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		c = v.Certificate
	}
	s := c.Sanitization
	if c.Outcome != certificates.OutcomeSanitized || !c.Verification.Verified || c.Media.Serial != "RESUMETARGET" ||
		s.Method != "dod-3" || len(s.Passes) != 3 {
		t.Fatalf("certificate: outcome %s, verified %v, serial %s, method %s, %d passes", c.Outcome, c.Verification.Verified,
			c.Media.Serial, s.Method, len(s.Passes))
	}
	if len(s.Interruptions) != 1 {
		t.Fatalf("certificate lists %d interruptions, want 1: %+v", len(s.Interruptions), s.Interruptions)
	}
	in := s.Interruptions[0]
	if in.Pass != cut.Current.Pass || in.Offset != cut.Current.Offset || in.Resumed.Before(in.LastCheckpoint) {
		t.Errorf("interruption %+v; the journal was at pass %d, offset %d", in, cut.Current.Pass, cut.Current.Offset)
	}
	for i, p := range s.Passes {
		resumed := p.ResumedFrom != nil
		if p.Number != i+1 || !p.Completed || !p.Flushed || p.BytesWritten == 0 || resumed != (p.Number == in.Pass) ||
			resumed && *p.ResumedFrom != in.Offset {
			t.Errorf("pass %+v (the interruption was in pass %d at %d)", p, in.Pass, in.Offset)
		}
	}
	last := s.Passes[2]
	if last.Pattern != "random" {
		t.Fatalf("the last pass of dod-3 is %s", last.Pattern)
	}

	// Every byte of the disk is the last pass's.
	var k wipe.Keys
	if err := json.Unmarshal(fmt.Appendf(nil, `{"key":%q,"iv":%q}`, last.Key, last.IV), &k); err != nil {
		t.Fatal(err)
	}
	stream, err := wipe.NewStream(wipe.Random(), k)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(target)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want, got := make([]byte, 1<<20), make([]byte, 1<<20)
	for off := int64(0); off < size; off += int64(len(got)) {
		if _, err := io.ReadFull(f, got); err != nil {
			t.Fatal(err)
		}
		stream.FillAt(want, off)
		if !bytes.Equal(got, want) {
			t.Fatalf("the disk differs from the last pass's random stream in the MiB at %d", off)
		}
	}
	t.Logf("power cut at pass %d, offset %d; resumed and checked in %v", cut.Current.Pass, cut.Current.Offset,
		time.Since(start).Round(time.Second))
}

var errNoJournal = errors.New("no journal on the stick")

// stickJournal reads the one journal of the stick's certificate directory.
func stickJournal(stick string) (*sanitize.Journal, error) {
	files, err := diskimage.ReadFiles(stick, 2, "/certs")
	if err != nil {
		return nil, err
	}
	var found []*sanitize.Journal
	for name, b := range files {
		if strings.HasPrefix(name, "decom-journal_") && strings.HasSuffix(name, ".json") {
			j, err := sanitize.ParseJournal(b)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			found = append(found, j)
		}
	}
	switch len(found) {
	case 0:
		return nil, errNoJournal
	case 1:
		return found[0], nil
	}
	return nil, fmt.Errorf("%d journals on the stick", len(found))
}

// certificateFiles are the certificates in the stick's certificate directory.
func certificateFiles(t *testing.T, stick string) map[string][]byte {
	t.Helper()
	certs := map[string][]byte{}
	for name, b := range stickFiles(t, stick, "/certs") {
		if strings.HasSuffix(name, ".sigstore.json") {
			certs[name] = b
		}
	}
	return certs
}

// qmpQuit asks QEMU, through its QMP socket, to quit at once: to the guest, a power
// cut.
func qmpQuit(socket string) error {
	conn, err := net.DialTimeout("unix", socket, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(conn)
	reply := func() error {
		for {
			line, err := r.ReadBytes('\n')
			if err != nil {
				return err
			}
			var m map[string]json.RawMessage
			if err := json.Unmarshal(line, &m); err != nil {
				return fmt.Errorf("QMP: %q: %v", line, err)
			}
			if e, ok := m["error"]; ok {
				return fmt.Errorf("QMP error: %s", e)
			}
			if _, ok := m["return"]; ok {
				return nil
			}
			if _, ok := m["QMP"]; ok {
				return nil // the greeting
			}
		}
	}
	if err := reply(); err != nil {
		return err
	}
	for _, c := range []string{"qmp_capabilities", "quit"} {
		if _, err := fmt.Fprintf(conn, "{\"execute\":%q}\n", c); err != nil {
			return err
		}
		if err := reply(); err != nil && !(c == "quit" && errors.Is(err, io.EOF)) {
			return fmt.Errorf("%s: %w", c, err)
		}
	}
	return nil
}

// lockedBuffer is a bytes.Buffer that QEMU's output goroutine and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
