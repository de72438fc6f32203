// Package blockio holds the small pieces of direct block I/O that the writer and the
// verifier share: buffers aligned for O_DIRECT and the errors that mean a device is
// gone rather than damaged.
package blockio

import (
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Align is the memory alignment of AlignedBuffer: the page size, which satisfies
// every logical block size O_DIRECT may ask for.
const Align = 4096

// AlignedBuffer returns size bytes whose address is a multiple of Align.
func AlignedBuffer(size int) []byte {
	b := make([]byte, size+Align)
	off := int(uintptr(unsafe.Pointer(&b[0])) & (Align - 1))
	if off != 0 {
		off = Align - off
	}
	return b[off : off+size : off+size]
}

// Vanished reports whether an I/O error means the device is gone (unplugged, removed,
// its medium ejected), rather than that some of its blocks are bad.
func Vanished(err error) bool {
	for _, e := range []error{unix.ENODEV, unix.ENXIO, unix.ENOMEDIUM, unix.ESHUTDOWN, unix.EBADF} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// DevNo formats a device number the way sysfs does ("8:0").
func DevNo(dev uint64) string {
	return fmt.Sprintf("%d:%d", unix.Major(dev), unix.Minor(dev))
}

// Geometry returns an open block device's size in bytes and its logical sector size.
func Geometry(f *os.File) (size uint64, sector int, err error) {
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), unix.BLKGETSIZE64, uintptr(unsafe.Pointer(&size))); errno != 0 {
		return 0, 0, fmt.Errorf("read device size: %w", errno)
	}
	if sector, err = unix.IoctlGetInt(int(f.Fd()), unix.BLKSSZGET); err != nil {
		return 0, 0, fmt.Errorf("read sector size: %w", err)
	}
	return size, sector, nil
}
