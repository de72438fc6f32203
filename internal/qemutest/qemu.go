package qemutest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/decom-project/decom/internal/qemutest/wire"
)

// Buses a Disk can sit on.
const (
	NVMe       = "nvme"        // its own NVMe controller: /dev/nvmeN, /dev/nvmeNn1
	AHCI       = "ahci"        // a port of one ich9-ahci controller: /dev/sdX through libata
	IDE        = "ide"         // the PIIX IDE controller of the pc machine: /dev/sdX through libata
	VirtioBlk  = "virtio-blk"  // /dev/vdX, no SCSI commands at all
	VirtioSCSI = "virtio-scsi" // a scsi-hd on one virtio-scsi controller: /dev/sdX
)

// Disk is one emulated disk.
type Disk struct {
	// Path is a raw image, a regular file the test made (Image makes one). Anything else, a
	// block device above all, is refused: the guest may write to its disks.
	Path string
	// Bus is NVMe, AHCI, IDE, VirtioBlk or VirtioSCSI.
	Bus string
	// Serial is the serial number the emulated drive reports: up to 20 characters of
	// [A-Za-z0-9._-]. Empty means QEMU's default (NVMe: "QEMUTEST<index>").
	Serial string
	// Blkdebug is a blkdebug rules file (QEMU's error injection: [inject-error] rules
	// with event, errno, sector, once); the disk then fails the I/O the rules name.
	Blkdebug string
}

// Config is one boot of the virtual machine.
type Config struct {
	Disks []Disk
	// Command is the argv run in the guest; Command[0] is a path in the initramfs, put
	// there through Files or Programs.
	Command []string
	// Env is added to the command's environment (KEY=value).
	Env []string
	// Files maps guest paths to host files copied into the initramfs (permissions kept).
	Files map[string]string
	// Programs maps guest paths to Go packages (import paths, or ./dir relative to the
	// test's directory) that Run builds static for the guest.
	Programs map[string]string
	// Modules are kernel modules loaded in addition to DefaultModules.
	Modules []string
	// MemoryMiB is the guest's memory; zero means 1024.
	MemoryMiB int
	// CPUs is the guest's processor count; zero means 1.
	CPUs int
	// Timeout bounds the whole run, boot included; zero means 3 minutes.
	Timeout time.Duration
	// Append is added to the kernel command line.
	Append string
	// Monitor, when not nil, runs beside the guest with QEMU's machine protocol and
	// the console so far (hot-plugging devices, say); its ctx ends when QEMU does. It
	// reports failures with t.Errorf (it runs in a goroutine of its own).
	Monitor func(ctx context.Context, m *Monitor)
}

// Result is what the command did in the guest.
type Result struct {
	Stdout   string // the command's standard output, line by line as the console carried it
	Stderr   string // its standard error
	ExitCode int    // its exit code; -1 when a signal killed it
	Console  string // the whole serial console, kernel messages included
	Boot     time.Duration
	Elapsed  time.Duration // QEMU's start to its end
}

const (
	defaultTimeout = 3 * time.Minute
	waitDisks      = 60 * time.Second
	guestInitPkg   = "github.com/decom-project/decom/internal/qemutest/guestinit"
)

// Require skips the test (fails it under CI) unless qemu-system-x86_64 is installed, and
// returns its path.
func Require(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		stop(t, "needs qemu-system-x86_64 (make deps installs it)")
	}
	return p
}

// Run boots the kernel from Kernel under QEMU (TCG) with cfg's disks, runs cfg.Command as
// the guest's only program and returns its output and exit code. A command that fails is a
// Result; a guest that does not get as far as running it to its end (no kernel, a build
// failure, a timeout, an init that gave up) fails the test with the console's tail. QEMU is
// killed and every file Run made removed when the test ends.
func Run(t testing.TB, cfg Config) Result {
	t.Helper()
	qemu := Require(t)
	vmlinuz, modulesDir := Kernel(t)
	if len(cfg.Command) == 0 {
		t.Fatal("qemutest: Config.Command is empty")
	}
	diskArgs, err := diskArgs(cfg.Disks)
	if err != nil {
		t.Fatalf("qemutest: %v", err)
	}

	mods, err := resolveModules(modulesDir, append(append([]string(nil), DefaultModules...), cfg.Modules...))
	if err != nil {
		t.Fatalf("qemutest: %v", err)
	}
	files := map[string]string{}
	for g, h := range cfg.Files {
		files[g] = h
	}
	for _, g := range sortedKeys(cfg.Programs) {
		pkg := cfg.Programs[g]
		if _, ok := files[g]; ok {
			t.Fatalf("qemutest: %s is both in Files and in Programs", g)
		}
		files[g] = Build(t, pkg)
	}
	ir := &initramfs{
		init:    Build(t, guestInitPkg),
		modules: mods,
		files:   files,
		config: wire.Config{
			Disks:       len(cfg.Disks),
			WaitSeconds: int(waitDisks / time.Second),
			Args:        cfg.Command,
			Env:         cfg.Env,
		},
	}
	initrd := filepath.Join(t.TempDir(), "initramfs.cpio")
	if err := ir.write(initrd); err != nil {
		t.Fatalf("qemutest: initramfs: %v", err)
	}

	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	qemuArgs := append(machineArgs(cfg, vmlinuz, initrd), diskArgs...)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel) // kills QEMU if the test ends first
	cmd := exec.CommandContext(ctx, qemu, qemuArgs...)
	con := &consoleLog{}
	var qemuErr bytes.Buffer
	cmd.Stdout, cmd.Stderr = con, &qemuErr
	cmd.WaitDelay = 5 * time.Second

	start := time.Now()
	con.start = start
	var monitor sync.WaitGroup
	monCtx, stopMonitor := context.WithCancel(ctx)
	if cfg.Monitor != nil {
		socket := filepath.Join(t.TempDir(), "qmp.sock")
		cmd.Args = append(cmd.Args, MonitorArgs(socket)...)
		monitor.Go(func() {
			m, err := dialMonitor(monCtx, socket, con)
			if err != nil {
				t.Errorf("qemutest: %v", err)
				return
			}
			defer m.conn.Close()
			cfg.Monitor(monCtx, m)
		})
	}
	runErr := cmd.Run()
	stopMonitor()
	monitor.Wait()
	elapsed := time.Since(start)
	console := con.String()

	tr := parseConsole(console)
	fail := func(format string, args ...any) {
		t.Helper()
		t.Logf("qemutest: %s", shellQuote(append([]string{qemu}, qemuArgs...)))
		t.Logf("qemutest: console (last lines):\n%s", tail(console, 60))
		if s := strings.TrimSpace(qemuErr.String()); s != "" {
			t.Logf("qemutest: qemu stderr:\n%s", s)
		}
		t.Fatalf(format, args...)
	}
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		fail("qemutest: no end after %v (raise Config.Timeout?)", timeout)
	case tr.fail != "":
		fail("qemutest: guest init: %s", tr.fail)
	case !tr.ended:
		fail("qemutest: the guest stopped before the command ended (qemu: %v)", runErr)
	}
	res := Result{
		Stdout:   tr.stdout.String(),
		Stderr:   tr.stderr.String(),
		ExitCode: tr.exit,
		Console:  console,
		Boot:     con.began(),
		Elapsed:  elapsed,
	}
	if os.Getenv("DECOM_QEMUTEST_CONSOLE") != "" {
		t.Logf("qemutest: console:\n%s", strings.ReplaceAll(console, "\r", ""))
	}
	t.Logf("qemutest: booted in %v, done after %v, exit code %d",
		res.Boot.Round(100*time.Millisecond), elapsed.Round(100*time.Millisecond), res.ExitCode)
	return res
}

// Image creates a sparse raw image of size bytes in the test's temporary directory.
func Image(t testing.TB, name string, size int64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// machineArgs is QEMU's command line less the disks.
func machineArgs(cfg Config, vmlinuz, initrd string) []string {
	mem, cpus := cfg.MemoryMiB, cfg.CPUs
	if mem <= 0 {
		mem = 1024
	}
	if cpus <= 0 {
		cpus = 1
	}
	cmdline := "console=ttyS0 panic=-1 quiet"
	if cfg.Append != "" {
		cmdline += " " + cfg.Append
	}
	return []string{
		"-machine", "pc", "-accel", accel(),
		"-m", strconv.Itoa(mem), "-smp", strconv.Itoa(cpus),
		// -nographic, less QEMU's default devices (a CD-ROM on ide.1, a network card).
		"-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio",
		"-no-reboot",
		"-kernel", vmlinuz, "-initrd", initrd, "-append", cmdline,
	}
}

// accel is QEMU's accelerator: software emulation (TCG), or $DECOM_QEMU_ACCEL (kvm where
// /dev/kvm works).
func accel() string {
	if a := os.Getenv("DECOM_QEMU_ACCEL"); a != "" {
		return a
	}
	return "tcg"
}

var serialRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,20}$`)

// diskArgs is QEMU's command line for the disks.
func diskArgs(disks []Disk) ([]string, error) {
	var args []string
	var ahci, ide, scsi int
	for i, d := range disks {
		st, err := os.Stat(d.Path)
		if err != nil {
			return nil, fmt.Errorf("disk %d: %w", i, err)
		}
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("disk %d: %s is not a regular file: only image files go into the guest", i, d.Path)
		}
		if d.Serial != "" && !serialRE.MatchString(d.Serial) {
			return nil, fmt.Errorf("disk %d: serial %q: want 1 to 20 of [A-Za-z0-9._-]", i, d.Serial)
		}
		id := fmt.Sprintf("disk%d", i)
		if d.Blkdebug != "" {
			args = append(args, "-drive", fmt.Sprintf("if=none,id=%s,driver=raw,file.driver=blkdebug,file.config=%s,file.image.driver=file,file.image.filename=%s",
				id, escape(d.Blkdebug), escape(d.Path)))
		} else {
			args = append(args, "-drive", fmt.Sprintf("file=%s,if=none,id=%s,format=raw", escape(d.Path), id))
		}
		serial := ""
		if d.Serial != "" {
			serial = ",serial=" + d.Serial
		}
		switch d.Bus {
		case NVMe:
			if serial == "" {
				serial = fmt.Sprintf(",serial=QEMUTEST%d", i)
			}
			args = append(args, "-device", "nvme,drive="+id+serial)
		case AHCI:
			if ahci == 6 {
				return nil, fmt.Errorf("disk %d: the AHCI controller has 6 ports", i)
			}
			if ahci == 0 {
				args = append(args, "-device", "ich9-ahci,id=ahci")
			}
			args = append(args, "-device", fmt.Sprintf("ide-hd,drive=%s,bus=ahci.%d%s", id, ahci, serial))
			ahci++
		case IDE:
			if ide == 4 {
				return nil, fmt.Errorf("disk %d: the IDE controller takes 4 disks", i)
			}
			args = append(args, "-device", fmt.Sprintf("ide-hd,drive=%s,bus=ide.%d,unit=%d%s", id, ide/2, ide%2, serial))
			ide++
		case VirtioBlk:
			args = append(args, "-device", "virtio-blk-pci,drive="+id+serial)
		case VirtioSCSI:
			if scsi == 0 {
				args = append(args, "-device", "virtio-scsi-pci,id=scsi")
			}
			args = append(args, "-device", fmt.Sprintf("scsi-hd,drive=%s,bus=scsi.0,channel=0,scsi-id=%d,lun=0%s", id, scsi, serial))
			scsi++
		default:
			return nil, fmt.Errorf("disk %d: unknown bus %q (want %s, %s, %s, %s or %s)", i, d.Bus, NVMe, AHCI, IDE, VirtioBlk, VirtioSCSI)
		}
	}
	return args, nil
}

// consoleLog collects QEMU's serial console and notes when the command began.
type consoleLog struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	start   time.Time
	beganAt time.Duration
}

func (c *consoleLog) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	if c.beganAt == 0 && bytes.Contains(c.buf.Bytes(), []byte(wire.Begin)) {
		c.beganAt = time.Since(c.start)
	}
	return len(p), nil
}

func (c *consoleLog) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

func (c *consoleLog) began() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.beganAt
}

// transcript is the command's part of the console.
type transcript struct {
	stdout, stderr strings.Builder
	began, ended   bool
	exit           int
	fail           string
}

// parseConsole picks the command's output, exit code or the init's failure out of the console.
func parseConsole(console string) *transcript {
	tr := &transcript{}
	for _, line := range strings.Split(console, "\n") {
		line = strings.TrimRight(line, "\r")
		if tr.began && !tr.ended {
			if s, ok := strings.CutPrefix(line, wire.Stdout); ok {
				tr.stdout.WriteString(s + "\n")
				continue
			}
			if s, ok := strings.CutPrefix(line, wire.Stderr); ok {
				tr.stderr.WriteString(s + "\n")
				continue
			}
		}
		switch {
		case strings.Contains(line, wire.Fail) && tr.fail == "":
			_, tr.fail, _ = strings.Cut(line, wire.Fail)
		case strings.Contains(line, wire.Begin) && !tr.began:
			tr.began = true
		case strings.Contains(line, wire.End) && tr.began && !tr.ended:
			_, code, _ := strings.Cut(line, wire.End)
			n, err := strconv.Atoi(strings.TrimSpace(code))
			if err == nil {
				tr.exit, tr.ended = n, true
			}
		}
	}
	return tr
}

// shellQuote is args as a shell command line, to repeat a failed boot by hand.
func shellQuote(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\n'\"\\$`;&|<>()*?[]{}~#") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

// tail is the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(strings.ReplaceAll(s, "\r", ""), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Build builds the Go package pkg as a static linux/amd64 binary in the test's temporary
// directory and returns its path. flags go to go build, such as "-tags", "agentimage".
func Build(t testing.TB, pkg string, flags ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), filepath.Base(pkg))
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("qemutest: building %s: %v", pkg, err)
	}
	args := append(append([]string{"build", "-trimpath", "-o", out}, flags...), pkg)
	cmd := exec.Command(goTool, args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("qemutest: go build %s: %v\n%s", pkg, err, b)
	}
	return out
}

// sortedKeys is m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
