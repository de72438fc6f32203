package wipe

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// blkSecDiscard is BLKSECDISCARD, _IO(0x12, 125) in <linux/fs.h>.
const blkSecDiscard = 0x127d

// SecureDiscard has the device behind f (an eMMC or SD card, opened for writing by the
// safety gate) securely erase its first size bytes: BLKSECDISCARD, which the kernel turns
// into the card's secure erase or secure trim. It returns when the device has. A device
// that offers no secure erase fails with an error matching unix.EOPNOTSUPP.
func SecureDiscard(f *os.File, size int64) error {
	if size <= 0 {
		return fmt.Errorf("secure discard: size %d", size)
	}
	rng := [2]uint64{0, uint64(size)}
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, f.Fd(), blkSecDiscard, uintptr(unsafe.Pointer(&rng)))
	runtime.KeepAlive(f)
	switch {
	case errno == 0:
		return nil
	case errors.Is(errno, unix.EOPNOTSUPP):
		return fmt.Errorf("secure discard of %s: the device does not offer secure erase (BLKSECDISCARD): %w", f.Name(), errno)
	}
	return fmt.Errorf("secure discard of %s: BLKSECDISCARD: %w", f.Name(), errno)
}
