package verify

import (
	"errors"
	"fmt"
	"github.com/decom-project/decom/internal/blockio"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"

	"github.com/decom-project/decom/inventory"
)

// Device is a block device or image file opened read-only for verification.
type Device struct {
	Path  string
	DevNo string // the block device's major:minor, or the file's filesystem's
	Inode uint64 // for image files
	f     *os.File
	tail  *os.File // buffered, for an image file's unaligned last bytes
	t     Target
}

// Open opens path read-only, with O_DIRECT where the target allows it. It never opens
// anything for writing, and refuses nothing for being mounted: it only reads.
func Open(path string) (*Device, error) {
	direct := true
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_DIRECT, 0)
	if errors.Is(err, unix.EINVAL) {
		direct = false
		fd, err = unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", path, inventory.ErrNotFound)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	d := &Device{Path: path, f: os.NewFile(uintptr(fd), path)}
	if err := d.describe(direct); err != nil {
		d.f.Close()
		return nil, err
	}
	return d, nil
}

func (d *Device) describe(direct bool) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(d.f.Fd()), &st); err != nil {
		return fmt.Errorf("%s: %w", d.Path, err)
	}
	d.t = Target{R: d.f, Direct: direct, SectorSize: 512}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFBLK:
		d.DevNo = blockio.DevNo(st.Rdev)
		size, ssz, err := blockio.Geometry(d.f)
		if err != nil {
			return fmt.Errorf("%s: %w", d.Path, err)
		}
		d.t.Size, d.t.SectorSize = int64(size), ssz
	case unix.S_IFREG:
		d.DevNo = blockio.DevNo(st.Dev)
		d.Inode = st.Ino
		d.t.Size = st.Size
		if direct && st.Size%512 != 0 {
			tail, err := os.Open(d.f.Name())
			if err != nil {
				return fmt.Errorf("%s: %w", d.Path, err)
			}
			d.tail = tail
			d.t.R = d
		}
	default:
		return fmt.Errorf("%s: %w", d.Path, inventory.ErrNotBlockDevice)
	}
	if d.t.Size == 0 {
		return fmt.Errorf("%s: empty: nothing to verify", d.Path)
	}
	return nil
}

// ReadAt reads an image file, the unaligned tail through the page cache.
func (d *Device) ReadAt(p []byte, off int64) (int, error) {
	if len(p)%512 != 0 {
		return d.tail.ReadAt(p, off)
	}
	return d.f.ReadAt(p, off)
}

// Target is what Run reads.
func (d *Device) Target() Target { return d.t }

// Close releases the device.
func (d *Device) Close() error {
	var err error
	if d.tail != nil {
		err = d.tail.Close()
	}
	return errors.Join(err, d.f.Close())
}
