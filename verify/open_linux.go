package verify

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/decom-project/decom/internal/blockio"
	"github.com/decom-project/decom/inventory"
)

// Reader is a block device or image file opened read-only for verification.
type Reader struct {
	Path  string
	DevNo string // the block device's major:minor, or the file's filesystem's
	Inode uint64 // for image files
	f     *blockio.File
	t     Target
}

// Open opens path read-only, with O_DIRECT where the target allows it. It never opens
// anything for writing, and refuses nothing for being mounted: it only reads. An
// image file's unaligned last bytes are read through a buffered reopening of the
// descriptor opened, not of path.
func Open(path string) (*Reader, error) {
	f, err := blockio.Open(path, blockio.Mode{})
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s: %w", path, inventory.ErrNotFound)
	case errors.Is(err, blockio.ErrUnsupported):
		return nil, fmt.Errorf("%s: %w", path, inventory.ErrNotBlockDevice)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.Size == 0 {
		f.Close()
		return nil, fmt.Errorf("%s: empty: nothing to verify", path)
	}
	d := &Reader{Path: path, DevNo: f.DevNo(), f: f,
		t: Target{R: f, Size: f.Size, SectorSize: f.SectorSize, Direct: f.Direct}}
	if !f.Block {
		d.Inode = f.Inode
	}
	return d, nil
}

// ReadAt reads the device, an image file's unaligned tail through the page cache.
func (d *Reader) ReadAt(p []byte, off int64) (int, error) { return d.f.ReadAt(p, off) }

// Target is what Run reads.
func (d *Reader) Target() Target { return d.t }

// Close releases the device.
func (d *Reader) Close() error { return d.f.Close() }
