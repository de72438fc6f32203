package qemutest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// UEFIConfig is a boot of a whole disk image through UEFI firmware (OVMF), as a server
// boots a USB stick or a BMC's virtual CD: no -kernel, the firmware finds the boot loader.
type UEFIConfig struct {
	// USB is a raw image attached as a USB mass-storage stick (xHCI), the first boot
	// device; CDROM an ISO attached as a USB CD-ROM drive (virtual media). One of them.
	USB, CDROM string
	// Disks are the machine's other drives.
	Disks []Disk
	// Net gives the guest a virtio network card on QEMU's user-mode network: DHCP from
	// 10.0.2.2, which also forwards to the host's loopback.
	Net bool
	// MemoryMiB is the guest's memory; zero means 2048. CPUs zero means 2.
	MemoryMiB, CPUs int
	// Timeout bounds the boot until the guest powers off; zero means 10 minutes.
	Timeout time.Duration
	// Until, when set, ends the run (QEMU is stopped) as soon as the console holds it,
	// instead of waiting for the guest to power off.
	Until string
	// Console, when set, also receives the serial console as it arrives.
	Console io.Writer
}

// UEFIResult is what the guest showed on its serial console.
type UEFIResult struct {
	Console string
	Elapsed time.Duration
}

// OVMF returns the UEFI firmware's code and a fresh copy of its variable store in the
// test's temporary directory. It skips the test (fails it under CI) when Debian's ovmf
// package is not installed.
func OVMF(t testing.TB) (code, vars string) {
	t.Helper()
	for _, pair := range [][2]string{
		{"/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"},
		{"/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"},
	} {
		if _, err := os.Stat(pair[0]); err != nil {
			continue
		}
		src, err := os.Open(pair[1])
		if err != nil {
			continue
		}
		defer src.Close()
		vars = filepath.Join(t.TempDir(), "OVMF_VARS.fd")
		dst, err := os.Create(vars)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(dst, src); err != nil {
			t.Fatal(err)
		}
		if err := dst.Close(); err != nil {
			t.Fatal(err)
		}
		return pair[0], vars
	}
	stop(t, "needs UEFI firmware: /usr/share/OVMF (make deps installs Debian's ovmf)")
	return "", ""
}

// BootUEFI boots cfg under QEMU (TCG) with OVMF and returns the serial console once the
// guest powers off (or cfg.Until shows). A guest that neither powers off nor shows Until
// in time fails the test with the console's tail.
func BootUEFI(t testing.TB, cfg UEFIConfig) UEFIResult {
	t.Helper()
	qemu := Require(t)
	code, vars := OVMF(t)
	if (cfg.USB == "") == (cfg.CDROM == "") {
		t.Fatal("qemutest: UEFIConfig needs exactly one of USB and CDROM")
	}
	disks, err := diskArgs(cfg.Disks)
	if err != nil {
		t.Fatalf("qemutest: %v", err)
	}
	mem, cpus := cfg.MemoryMiB, cfg.CPUs
	if mem <= 0 {
		mem = 2048
	}
	if cpus <= 0 {
		cpus = 2
	}
	args := []string{
		// -cpu max gives the guest RDRAND: under TCG the kernel otherwise waits for
		// entropy before the first DHCP exchange.
		"-machine", "pc", "-accel", accel(), "-cpu", "max", "-m", strconv.Itoa(mem), "-smp", strconv.Itoa(cpus),
		"-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot",
		"-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + code,
		"-drive", "if=pflash,format=raw,unit=1,file=" + vars,
		"-device", "qemu-xhci,id=xhci",
	}
	if cfg.USB != "" {
		if err := regularFile(cfg.USB); err != nil {
			t.Fatalf("qemutest: USB image: %v", err)
		}
		args = append(args, "-drive", "if=none,id=stick,format=raw,file="+escape(cfg.USB),
			"-device", "usb-storage,bus=xhci.0,drive=stick,removable=on,bootindex=0")
	} else {
		if err := regularFile(cfg.CDROM); err != nil {
			t.Fatalf("qemutest: ISO: %v", err)
		}
		args = append(args, "-drive", "if=none,id=cd,media=cdrom,readonly=on,format=raw,file="+escape(cfg.CDROM),
			"-device", "usb-storage,bus=xhci.0,drive=cd,bootindex=0")
	}
	if cfg.Net {
		args = append(args, "-netdev", "user,id=net0", "-device", "virtio-net-pci,netdev=net0")
	}
	args = append(args, disks...)

	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, qemu, args...)
	con := &watchedConsole{until: cfg.Until, seen: make(chan struct{}), tee: cfg.Console}
	var qemuErr bytes.Buffer
	cmd.Stdout, cmd.Stderr = con, &qemuErr
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("qemutest: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var runErr error
	untilSeen := false
	select {
	case runErr = <-done:
	case <-con.seen:
		untilSeen = true
		cancel()
		<-done
	}
	res := UEFIResult{Console: con.String(), Elapsed: time.Since(start)}
	if os.Getenv("DECOM_QEMUTEST_CONSOLE") != "" {
		t.Logf("qemutest: console:\n%s", strings.ReplaceAll(res.Console, "\r", ""))
	}
	if !untilSeen && (errors.Is(ctx.Err(), context.DeadlineExceeded) || runErr != nil) {
		t.Logf("qemutest: %s", shellQuote(append([]string{qemu}, args...)))
		t.Logf("qemutest: console (last lines):\n%s", tail(res.Console, 80))
		if s := strings.TrimSpace(qemuErr.String()); s != "" {
			t.Logf("qemutest: qemu stderr:\n%s", s)
		}
		t.Fatalf("qemutest: the UEFI guest did not power off within %v (%v)", timeout, runErr)
	}
	t.Logf("qemutest: UEFI guest ran for %v", res.Elapsed.Round(100*time.Millisecond))
	return res
}

// watchedConsole collects the console and signals once it holds until.
type watchedConsole struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	until string
	seen  chan struct{}
	once  sync.Once
	tee   io.Writer
}

func (c *watchedConsole) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	if c.tee != nil {
		c.tee.Write(p)
	}
	if c.until != "" && bytes.Contains(c.buf.Bytes(), []byte(c.until)) {
		c.once.Do(func() { close(c.seen) })
	}
	return len(p), nil
}

func (c *watchedConsole) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

func regularFile(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", p)
	}
	return nil
}

func escape(p string) string { return strings.ReplaceAll(p, ",", ",,") }
