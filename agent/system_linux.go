package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/decom-project/decom/internal/kmod"
)

// Linux is the System of the boot image: real mounts, modules, network and power.
type Linux struct{}

var _ System = Linux{}

// MountFAT mounts a vfat filesystem read-write, without executables, set-id files or
// device nodes, and without access times, synchronously: vfat's fsync does not
// always write the file allocation table, so a journal or a certificate that was
// synced and renamed could lose its clusters in a power cut (TestQEMUBootResume saw
// it); on a synchronous mount each write reaches the stick, FAT included, before
// the call returns.
func (Linux) MountFAT(device, target, data string) error {
	flags := uintptr(unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_NOATIME | unix.MS_SYNCHRONOUS)
	if err := unix.Mount(device, target, "vfat", flags, data); err != nil {
		return fmt.Errorf("mount %s on %s (vfat %s): %w", device, target, data, err)
	}
	return nil
}

func (Linux) Unmount(target string) error {
	if err := unix.Unmount(target, 0); err != nil {
		return fmt.Errorf("unmount %s: %w", target, err)
	}
	return nil
}

func (Linux) Sync() { unix.Sync() }

func (Linux) LoadModule(modulesDir string, m kmod.Module) error { return kmod.Load(modulesDir, m) }

func (Linux) KernelRelease() (string, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "", err
	}
	return unix.ByteSliceToString(u.Release[:]), nil
}

func (Linux) PowerOff() error {
	unix.Sync()
	return unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF)
}

func (Linux) Network(ctx context.Context, logf func(string, ...any)) (string, error) {
	return dhcp(ctx, logf)
}

// InInitramfs reports whether the root filesystem is an initramfs (ramfs or tmpfs): the
// boot image or a test virtual machine, never an installed system or a container. The
// agent refuses to run anywhere else, where it could wipe an installed system's drives.
func InInitramfs() bool {
	var st unix.Statfs_t
	if err := unix.Statfs("/", &st); err != nil {
		return false
	}
	return st.Type == unix.RAMFS_MAGIC || st.Type == unix.TMPFS_MAGIC
}

// errNoInterfaces is returned when no wired interface is there to configure.
var errNoInterfaces = errors.New("no wired network interface (is its driver in the image?)")

func joinErrs(errs []string) string { return strings.Join(errs, "; ") }
