//go:build linux

// Command smokeinit is the /init of the images package's boot test: instead of decom, it
// proves that the kernel and the initramfs came up. It reads the module index, loads the
// modules for a virtio disk and vfat with package kmod, prints a marker line on the console
// and powers the machine off.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/decom-project/decom/internal/kmod"
)

// Marker starts the line the test looks for.
const Marker = "DECOM-SMOKE"

func main() {
	err := run()
	if err != nil {
		fmt.Printf("%s FAIL %v\n", Marker, err)
	}
	unix.Sync()
	unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
	select {}
}

func run() error {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return err
	}
	release := unix.ByteSliceToString(uts.Release[:])
	dir := filepath.Join("/lib/modules", release)
	f, err := os.Open(filepath.Join(dir, kmod.IndexFile))
	if err != nil {
		return err
	}
	x, err := kmod.ReadIndex(f)
	f.Close()
	if err != nil {
		return err
	}
	mods, err := x.Closure("virtio_pci", "virtio_blk", "vfat", "nls_cp437")
	if err != nil {
		return err
	}
	var names []string
	for _, m := range mods {
		if err := kmod.Load(dir, m); err != nil {
			return err
		}
		names = append(names, m.Name)
	}
	// Loading twice is no error.
	if err := kmod.Load(dir, mods[len(mods)-1]); err != nil {
		return fmt.Errorf("second load: %w", err)
	}
	if err := unix.Mount("proc", "/proc", "proc", 0, ""); err != nil {
		return fmt.Errorf("mount /proc: %w", err)
	}
	cmdline, err := os.ReadFile("/proc/cmdline")
	if err != nil {
		return err
	}
	fmt.Printf("%s OK kernel=%s modules=%d loaded=%s cmdline=%q\n", Marker, release, len(x.Modules),
		strings.Join(names, ","), strings.TrimSpace(string(cmdline)))
	return nil
}
