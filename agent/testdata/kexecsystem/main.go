// Command kexecsystem plays the installed system of the agent's kexec test (run by
// the qemutest guest init): it mounts the system disk (os.Args[1], ext4) on
// /sysroot with its own /proc, /sys and /dev, and runs os.Args[2:] chrooted there,
// as a person would run decom kexec over SSH on the host. It returns only when the
// command does, which decom kexec does only when it failed.
package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: kexecsystem DEVICE COMMAND...")
		os.Exit(2)
	}
	const root = "/sysroot"
	mounts := []struct{ source, target, fstype string }{
		{os.Args[1], root, "ext4"},
		{"proc", root + "/proc", "proc"},
		{"sysfs", root + "/sys", "sysfs"},
		{"devtmpfs", root + "/dev", "devtmpfs"},
	}
	for _, m := range mounts {
		if err := os.MkdirAll(m.target, 0o755); err != nil {
			fail("mkdir %s: %v", m.target, err)
		}
		if err := unix.Mount(m.source, m.target, m.fstype, 0, ""); err != nil {
			fail("mount %s on %s: %v", m.source, m.target, err)
		}
	}
	fmt.Printf("system disk %s mounted on %s\n", os.Args[1], root)
	cmd := exec.Command(filepath.Join("/", os.Args[2]), os.Args[3:]...)
	cmd.Path = os.Args[2]
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		os.Exit(ee.ExitCode())
	}
	if err != nil {
		fail("%s: %v", os.Args[2], err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "kexecsystem: "+format+"\n", args...)
	os.Exit(1)
}
