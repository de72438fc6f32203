package blockio

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// FileSector is the sector size of an image file: the unit its O_DIRECT requests
// are aligned to, and below which a request goes through the page cache.
const FileSector = 512

// ErrUnsupported is Open's error for a path that is neither a block device nor a
// regular file (a directory, a character device, a socket).
var ErrUnsupported = errors.New("neither a block device nor a regular file")

// ErrReadOnly is the error of a write to a File opened read-only.
var ErrReadOnly = errors.New("opened read-only")

// Mode says how Open opens a target.
type Mode struct {
	// Write opens for writing only (O_WRONLY); otherwise Open opens read-only and
	// the File refuses every write.
	Write bool
	// Exclusive opens with O_EXCL: for a block device, the kernel refuses (EBUSY)
	// when it is mounted or claimed by another program, and refuses others while
	// the File is open. Leave it unset for regular files.
	Exclusive bool
	// Buffered goes through the page cache. Otherwise Open asks for O_DIRECT and,
	// where the target refuses it (a file on ramfs, say), falls back to the page
	// cache; File.Direct says which it got.
	Buffered bool
}

// File is a block device or an image file opened for the writer or the verifier:
// the descriptor, what fstat said of it when it was opened, its size and sector size.
//
// Requests whose length is a multiple of the sector size go through the main
// descriptor (with O_DIRECT when Direct, so they must then be aligned in memory and
// offset too). An image file whose size is not a multiple of FileSector has a
// second, buffered descriptor for its last bytes: a request of any other length goes
// there. That descriptor is a reopening of the main one through /proc/self/fd,
// checked with fstat to be the same file, never a new lookup of the file's path: a
// file renamed over the path meanwhile cannot be reached through it.
type File struct {
	// Direct reports whether requests bypass the page cache (O_DIRECT).
	Direct bool
	// Block is true for a block device, false for a regular file.
	Block bool
	// Dev is the device of the filesystem a regular file lives on (st_dev); Rdev a
	// block device's own number (st_rdev); Inode the file's inode.
	Dev, Rdev, Inode uint64
	// Size is the size in bytes; SectorSize the logical sector size (FileSector
	// for a regular file).
	Size       int64
	SectorSize int

	f     *os.File
	tail  *os.File
	write bool
}

// Open opens path as mode says and describes what it opened. A failure of the open
// itself is the bare errno (EBUSY for an exclusive open refused, ENOENT, EACCES …),
// for the caller to word; it fails with ErrUnsupported unless path is a block
// device or a regular file. It checks nothing about what the target should be: the
// caller compares Rdev, Dev, Inode and Size with what it expects.
func Open(path string, mode Mode) (*File, error) {
	flags := unix.O_RDONLY | unix.O_CLOEXEC
	if mode.Write {
		flags = unix.O_WRONLY | unix.O_CLOEXEC
	}
	if mode.Exclusive {
		flags |= unix.O_EXCL
	}
	direct := !mode.Buffered
	var fd int
	var err error
	if direct {
		fd, err = unix.Open(path, flags|unix.O_DIRECT, 0)
		if errors.Is(err, unix.EINVAL) {
			direct = false
		}
	}
	if !direct {
		fd, err = unix.Open(path, flags, 0)
	}
	if err != nil {
		return nil, err
	}
	f := &File{Direct: direct, f: os.NewFile(uintptr(fd), path), write: mode.Write}
	if err := f.describe(); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// describe fills in what fstat and the block device's ioctls say, and opens the
// tail descriptor an image file may need.
func (f *File) describe() error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.f.Fd()), &st); err != nil {
		return fmt.Errorf("fstat: %w", err)
	}
	f.Dev, f.Rdev, f.Inode = st.Dev, st.Rdev, st.Ino
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFBLK:
		f.Block = true
		return f.Regeometry()
	case unix.S_IFREG:
		f.Size, f.SectorSize = st.Size, FileSector
	default:
		return ErrUnsupported
	}
	if f.Direct && f.Size%FileSector != 0 {
		tail, err := f.reopen()
		if err != nil {
			return fmt.Errorf("reopen for the last %d bytes: %w", f.Size%FileSector, err)
		}
		f.tail = tail
	}
	return nil
}

// reopen opens the file f is open on once more, with f's access mode, through
// /proc/self/fd (which names the open file itself, not a path), and checks with
// fstat that it got the same file. The reopening goes through the page cache.
func (f *File) reopen() (*os.File, error) {
	flags := os.O_RDONLY | unix.O_CLOEXEC
	if f.write {
		flags = os.O_WRONLY | unix.O_CLOEXEC
	}
	g, err := os.OpenFile(f.ProcPath(), flags, 0)
	if err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(g.Fd()), &st); err != nil {
		g.Close()
		return nil, err
	}
	if st.Dev != f.Dev || st.Ino != f.Inode {
		g.Close()
		return nil, errors.New("the descriptor reopened is not the file opened")
	}
	return g, nil
}

// DevNo is the device number in sysfs form ("7:0"): a block device's own, or that of
// the filesystem a regular file lives on.
func (f *File) DevNo() string {
	if f.Block {
		return DevNo(f.Rdev)
	}
	return DevNo(f.Dev)
}

// OS returns the main descriptor, for locks and ioctls. Reads and writes go through
// ReadAt and WriteAt, which know about the tail.
func (f *File) OS() *os.File { return f.f }

// ProcPath names the main descriptor under /proc/self/fd: opening it opens the very
// file or device this File is open on, whatever its path names now.
func (f *File) ProcPath() string { return fmt.Sprintf("/proc/self/fd/%d", f.f.Fd()) }

// through picks the descriptor for a request of n bytes.
func (f *File) through(n int) *os.File {
	if f.tail != nil && n%f.SectorSize != 0 {
		return f.tail
	}
	return f.f
}

// ReadAt reads len(p) bytes at off (see File for the alignment O_DIRECT needs).
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	return f.through(len(p)).ReadAt(p, off)
}

// WriteAt writes p at off (see File for the alignment O_DIRECT needs). A File
// opened read-only refuses with ErrReadOnly, without a system call.
func (f *File) WriteAt(p []byte, off int64) (int, error) {
	if !f.write {
		return 0, fmt.Errorf("write at offset %d: %w", off, ErrReadOnly)
	}
	return f.through(len(p)).WriteAt(p, off)
}

// Sync flushes what was written to the medium (fsync); for a drive this asks it to
// empty its volatile cache.
func (f *File) Sync() error {
	if f.tail != nil {
		if err := f.tail.Sync(); err != nil {
			return err
		}
	}
	return f.f.Sync()
}

// Regeometry reads a block device's size and sector size again (after a Host
// Protected Area was removed, say). For a regular file it does nothing.
func (f *File) Regeometry() error {
	if !f.Block {
		return nil
	}
	size, ssz, err := Geometry(f.f)
	if err != nil {
		return err
	}
	f.Size, f.SectorSize = int64(size), ssz
	return nil
}

// DropCache discards the kernel's cached pages of a block device (BLKFLSBUF), so
// that what is read afterwards comes from the drive. For a regular file it does
// nothing.
func (f *File) DropCache() error {
	if !f.Block {
		return nil
	}
	return unix.IoctlSetInt(int(f.f.Fd()), unix.BLKFLSBUF, 0)
}

// Close closes both descriptors; locks held on them go with them.
func (f *File) Close() error {
	var err error
	if f.tail != nil {
		err = f.tail.Close()
	}
	return errors.Join(err, f.f.Close())
}
