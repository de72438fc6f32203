package inventory

import (
	"context"
	"errors"
	"fmt"
	"github.com/decom-project/decom/internal/blockio"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// fileDevNo returns the device number of the filesystem that holds path.
func fileDevNo(path string) (string, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return "", err
	}
	return blockio.DevNo(st.Dev), nil
}

// openForProbe opens /dev/NAME read-only, and only if it is the block device sysfs
// knows by devNo: a stale or substituted node is not read.
func openForProbe(root, name, devNo string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(root, "dev", name), os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		f.Close()
		return nil, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK || blockio.DevNo(st.Rdev) != devNo {
		f.Close()
		return nil, fmt.Errorf("%s is not the block device %s", f.Name(), devNo)
	}
	return f, nil
}

// Lookup describes the drive that path names: a block device node, a symlink to one
// (/dev/disk/by-id/…), or a partition, in which case its whole drive is returned.
// path is taken relative to opts.Root. Errors wrap ErrNotFound, ErrNotBlockDevice or
// ErrVanished.
func Lookup(ctx context.Context, opts Options, path string) (Device, error) {
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(opts.root(), path), &st); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return Device{}, fmt.Errorf("%s: %w", path, ErrNotFound)
		}
		return Device{}, fmt.Errorf("%s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return Device{}, fmt.Errorf("%s: %w", path, ErrNotBlockDevice)
	}
	return lookupDevNo(ctx, opts, path, blockio.DevNo(st.Rdev))
}
