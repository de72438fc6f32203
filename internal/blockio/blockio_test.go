package blockio

import (
	"fmt"
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestAlignedBuffer(t *testing.T) {
	for _, size := range []int{512, 4096, 1 << 20, 3 << 20} {
		for range 8 {
			b := AlignedBuffer(size)
			if len(b) != size || cap(b) != size || uintptr(unsafe.Pointer(&b[0]))%Align != 0 {
				t.Fatalf("AlignedBuffer(%d): len %d cap %d at %p", size, len(b), cap(b), &b[0])
			}
		}
	}
}

func TestVanished(t *testing.T) {
	for err, want := range map[error]bool{
		unix.ENODEV: true, unix.ENXIO: true, unix.ENOMEDIUM: true,
		fmt.Errorf("write: %w", unix.ENODEV):            true,
		&os.PathError{Op: "write", Err: unix.ESHUTDOWN}: true,
		unix.EIO: false, unix.ENOSPC: false, os.ErrClosed: false,
	} {
		if got := Vanished(err); got != want {
			t.Errorf("Vanished(%v) = %v", err, got)
		}
	}
}
