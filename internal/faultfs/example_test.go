package faultfs_test

import (
	"testing"

	"github.com/decom-project/decom/internal/faultfs"
	"github.com/decom-project/decom/internal/loopdev"
)

// A test makes a 64 MiB disk whose writes to the 64 KiB at 8 MiB fail, and a loop device
// over it. The loop device's Detach is registered after Mount, so it runs before the
// disk is unmounted.
//
// This example is compile-only: Mount needs a test's t, root and /dev/fuse, and it
// mounts a filesystem; the loop device would be written to.
func ExampleMount() {
	badSectors := func(t *testing.T) {
		d := faultfs.Mount(t, 64<<20, faultfs.Range{Off: 8 << 20, Len: 64 << 10, Ops: faultfs.Write})
		l, err := loopdev.Attach(d.Path(), false)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Detach() })
		// write to l.Path, then read d.Backing() to see what reached the "disk"
	}
	_ = badSectors
}

// A test makes a disk that stops answering writes past 8 MiB until it releases them.
//
// This example is compile-only, for the reasons ExampleMount gives.
func ExampleDisk_Hang() {
	hangingDisk := func(t *testing.T) {
		d := faultfs.Mount(t, 64<<20)
		d.Hang(faultfs.Range{Off: 8 << 20, Len: 56 << 20, Ops: faultfs.Write})
		l := d.Attach(t)
		t.Logf("writes to %s past 8 MiB block in the kernel until d.Release()", l.Path)
	}
	_ = hangingDisk
}
