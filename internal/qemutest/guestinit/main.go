//go:build linux

// Command guestinit is PID 1 of the qemutest virtual machines. It mounts /proc, /sys and /dev,
// loads the kernel modules the harness put into the initramfs, waits for the disks, runs the
// command the harness asked for with its output framed on the console (see package wire), and
// powers the machine off. Whatever fails, it says so on the console and powers off: it never
// panics and never returns to the kernel on purpose.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/decom-project/decom/internal/qemutest/wire"
)

func main() {
	var console io.Writer = os.Stdout // the initramfs's /dev/console, until /dev is mounted
	defer func() { powerOff(console) }()
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(console, "\n%sinit panicked: %v\n", wire.Fail, r)
		}
	}()
	console = mountAll(console)
	if err := run(console); err != nil {
		fmt.Fprintf(console, "\n%s%v\n", wire.Fail, err)
	}
}

// mountAll mounts the kernel's filesystems and returns the console opened afresh from /dev.
func mountAll(console io.Writer) io.Writer {
	for _, m := range []struct{ source, target, fstype string }{
		{"proc", "/proc", "proc"},
		{"sysfs", "/sys", "sysfs"},
		{"devtmpfs", "/dev", "devtmpfs"},
		{"tmpfs", "/tmp", "tmpfs"},
	} {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			fmt.Fprintf(console, "%smkdir %s: %v\n", wire.Info, m.target, err)
		}
		if err := unix.Mount(m.source, m.target, m.fstype, 0, ""); err != nil {
			fmt.Fprintf(console, "%smount %s on %s: %v\n", wire.Info, m.fstype, m.target, err)
		}
	}
	c, err := os.OpenFile("/dev/console", os.O_WRONLY, 0)
	if err != nil {
		fmt.Fprintf(console, "%sopen /dev/console: %v\n", wire.Info, err)
		return console
	}
	return c
}

func run(console io.Writer) error {
	logf := func(format string, args ...any) {
		fmt.Fprintf(console, wire.Info+format+"\n", args...)
	}
	data, err := os.ReadFile(wire.ConfigPath)
	if err != nil {
		return err
	}
	var cfg wire.Config
	if err := json.Unmarshal(data, &cfg); err != nil {
		return fmt.Errorf("%s: %v", wire.ConfigPath, err)
	}
	if len(cfg.Args) == 0 {
		return errors.New("no command to run")
	}

	start := time.Now()
	for _, m := range cfg.Modules {
		if err := loadModule(filepath.Join(wire.ModulesDir, m.File)); err != nil {
			logf("module %s: %v", m.Name, err) // the command may not need it: go on
		}
	}
	logf("loaded %d modules in %v", len(cfg.Modules), time.Since(start).Round(time.Millisecond))

	start = time.Now()
	wait := time.Duration(cfg.WaitSeconds) * time.Second
	disks, err := waitDisks(cfg.Disks, wait)
	if err != nil {
		return err
	}
	logf("disks %s after %v", strings.Join(disks, " "), time.Since(start).Round(time.Millisecond))

	// Only emergencies from the kernel from here on, so that its messages do not cut into
	// the command's lines.
	if err := os.WriteFile("/proc/sys/kernel/printk", []byte("1"), 0); err != nil {
		logf("quieting the kernel: %v", err)
	}
	code, err := runCommand(console, cfg.Args, cfg.Env)
	if err != nil {
		return err
	}
	fmt.Fprintf(console, "%s%d\n", wire.End, code)
	return nil
}

func loadModule(path string) error {
	image, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := unix.InitModule(image, ""); err != nil && !errors.Is(err, unix.EEXIST) {
		return err
	}
	return nil
}

var diskName = regexp.MustCompile(`^(sd[a-z]+|vd[a-z]+|hd[a-z]+|nvme[0-9]+n[0-9]+)$`)

// waitDisks polls /sys/block until n disks (and their /dev nodes) are there.
func waitDisks(n int, timeout time.Duration) ([]string, error) {
	deadline := time.Now().Add(timeout)
	for {
		var disks []string
		entries, _ := os.ReadDir("/sys/block")
		for _, e := range entries {
			if !diskName.MatchString(e.Name()) {
				continue
			}
			if _, err := os.Stat("/dev/" + e.Name()); err == nil {
				disks = append(disks, e.Name())
			}
		}
		if len(disks) >= n {
			return disks, nil
		}
		if time.Now().After(deadline) {
			return disks, fmt.Errorf("found %d of %d disks after %v: %q", len(disks), n, timeout, disks)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// runCommand runs args with its output on console, line by line behind the stdout and stderr
// markers, and returns its exit code (-1 when a signal killed it).
func runCommand(console io.Writer, args, env []string) (int, error) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = "/"
	cmd.Env = append([]string{"PATH=/bin:/sbin:/", "HOME=/root", "TMPDIR=/tmp"}, env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return 0, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return 0, err
	}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	fmt.Fprintln(console, wire.Begin)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, s := range []struct {
		r      io.Reader
		prefix string
	}{{stdout, wire.Stdout}, {stderr, wire.Stderr}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			copyLines(console, &mu, s.r, s.prefix)
		}()
	}
	wg.Wait()
	err = cmd.Wait()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &exit):
		return exit.ExitCode(), nil
	default:
		return 0, err
	}
}

// copyLines writes each line of r to w behind prefix, one write per line.
func copyLines(w io.Writer, mu *sync.Mutex, r io.Reader, prefix string) {
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if line != "" {
			mu.Lock()
			io.WriteString(w, prefix+strings.TrimSuffix(line, "\n")+"\n")
			mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

func powerOff(console io.Writer) {
	unix.Sync()
	err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	// Still here: returning makes the kernel panic, and panic=-1 with -no-reboot ends QEMU.
	fmt.Fprintf(console, "%spower off: %v\n", wire.Info, err)
}
