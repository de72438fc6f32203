package blockio

import (
	"fmt"
	"os"
	"runtime"
	"strings"
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

// AlignedBuffers gives n aligned buffers of their own (writing one to its end changes
// no other), and its memory is marked for huge pages unless the kernel has them off.
func TestAlignedBuffers(t *testing.T) {
	if AlignedBuffers(0, 4096) != nil {
		t.Error("AlignedBuffers(0, 4096) is not nil")
	}
	for _, c := range []struct{ n, size int }{{1, 4096}, {3, 1 << 20}, {10, 1 << 20}, {2, 3 << 20}} {
		bs := AlignedBuffers(c.n, c.size)
		if len(bs) != c.n {
			t.Fatalf("AlignedBuffers(%d, %d): %d buffers", c.n, c.size, len(bs))
		}
		for i, b := range bs {
			if len(b) != c.size || cap(b) != c.size || uintptr(unsafe.Pointer(&b[0]))%Align != 0 {
				t.Fatalf("AlignedBuffers(%d, %d)[%d]: len %d cap %d at %p", c.n, c.size, i, len(b), cap(b), &b[0])
			}
			for j := range b {
				b[j] = byte(i + 1)
			}
		}
		for i, b := range bs {
			for j, v := range b {
				if v != byte(i+1) {
					t.Fatalf("AlignedBuffers(%d, %d)[%d][%d] = %d: buffers overlap", c.n, c.size, i, j, v)
				}
			}
		}
	}

	mode, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil || strings.Contains(string(mode), "[never]") {
		t.Skipf("transparent huge pages off or unknown here (%q, %v)", mode, err)
	}
	bs := AlignedBuffers(4, 1<<20)
	addr := uint64(uintptr(unsafe.Pointer(&bs[0][0])))
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	eligible := ""
	var in bool
	for _, line := range strings.Split(string(smaps), "\n") {
		var lo, hi uint64
		if n, _ := fmt.Sscanf(line, "%x-%x ", &lo, &hi); n == 2 {
			in = lo <= addr && addr < hi
			continue
		}
		if v, ok := strings.CutPrefix(line, "THPeligible:"); ok && in {
			eligible = strings.TrimSpace(v)
		}
	}
	if eligible != "1" {
		t.Errorf("the buffers' mapping is not eligible for huge pages (THPeligible %q)", eligible)
	}
	runtime.KeepAlive(bs)
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
