// Package blockio holds the block I/O that the writer (wipe) and the verifier
// (verify) share, so that both open, read, write and retry the same way:
//
//   - Open opens a block device or image file, read-write or read-only, exclusively
//     or not, with O_DIRECT where the target takes it and through the page cache
//     where it does not, and describes it from fstat; an image file's unaligned last
//     bytes go through a buffered reopening of the very descriptor opened.
//   - Retry tries a failed request again, then narrows it down to the bad sectors.
//   - AlignedBuffer and AlignedBuffers make buffers O_DIRECT accepts; Vanished tells
//     a device that is gone from one with bad blocks; Geometry and DevNo read and name
//     a device.
//
// It checks nothing about which device is the right one: that is the safety gate's
// work (wipe.Gate), which compares what Open describes with its plan.
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

// hugePage is the size of a transparent huge page on amd64 and arm64 (4 KiB pages).
const hugePage = 2 << 20

// AlignedBuffers returns n buffers of size bytes each (a multiple of Align), carved
// from one allocation whose whole 2 MiB pages are offered to the kernel as transparent
// huge pages (madvise MADV_HUGEPAGE, which the kernel may ignore) and mapped at once,
// every page touched. A random pass's ring of block buffers is memory fresh from the
// kernel, written at once: mapped 4 KiB at a time it cost 256 page faults per MiB,
// which in a virtual machine weighed more than generating the keystream into it.
// Huge pages also make fewer, larger pieces of each O_DIRECT write for the kernel to
// pin.
func AlignedBuffers(n, size int) [][]byte {
	if n <= 0 {
		return nil
	}
	slab := make([]byte, n*size+hugePage)
	start := int(uintptr(unsafe.Pointer(&slab[0])) & (hugePage - 1))
	if start != 0 {
		start = hugePage - start
	}
	slab = slab[start : start+n*size]
	if whole := len(slab) &^ (hugePage - 1); whole > 0 {
		_ = unix.Madvise(slab[:whole], unix.MADV_HUGEPAGE) // advice: without it, 4 KiB pages
	}
	for i := 0; i < len(slab); i += Align {
		slab[i] = 0
	}
	out := make([][]byte, n)
	for i := range out {
		out[i] = slab[i*size : (i+1)*size : (i+1)*size]
	}
	return out
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
