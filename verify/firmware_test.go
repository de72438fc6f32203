package verify

import (
	"bytes"
	"context"
	"crypto/rand"
	"testing"
)

// memTarget is a Target over bytes in memory.
func memTarget(b []byte) Target {
	return Target{R: bytes.NewReader(b), Size: int64(len(b)), SectorSize: 512}
}

func TestCheckErased(t *testing.T) {
	ctx := context.Background()
	const size = 8 << 20
	data := make([]byte, size)
	rand.Read(data)
	snap, err := TakeSnapshot(ctx, memTarget(data), 0.10, 42, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Digests) < 2000 || len(snap.Digests) != len(snap.Layout.Blocks) || snap.Seed != 42 {
		t.Fatalf("snapshot of %d digests for %d blocks, seed %d", len(snap.Digests), len(snap.Layout.Blocks), snap.Seed)
	}

	// Unchanged media fail both checks.
	for _, crypto := range []bool{false, true} {
		if r := CheckErased(ctx, memTarget(data), snap, crypto); r.Verified || r.MismatchedBlocks != int64(len(snap.Digests)) || r.Outcome != OutcomeFailed {
			t.Errorf("crypto=%v on unchanged media: verified %v, %d of %d blocks mismatched", crypto, r.Verified, r.MismatchedBlocks, len(snap.Digests))
		}
	}

	// A crypto erase: new noise everywhere.
	noise := make([]byte, size)
	rand.Read(noise)
	if r := CheckErased(ctx, memTarget(noise), snap, true); !r.Verified || r.Mode != ModeSampleChanged || r.BlocksRead != int64(len(snap.Digests)) {
		t.Errorf("crypto erase: %+v", r)
	}
	// Noise is not an erase to a uniform value.
	if r := CheckErased(ctx, memTarget(noise), snap, false); r.Verified {
		t.Error("random data passed as a uniform erase")
	}
	// Block erase to zeros, or to ones.
	for _, v := range []byte{0x00, 0xff} {
		erased := bytes.Repeat([]byte{v}, size)
		r := CheckErased(ctx, memTarget(erased), snap, false)
		if !r.Verified || r.Mode != ModeSampleUniform || r.MismatchedBlocks != 0 {
			t.Errorf("erase to %#x: %+v", v, r)
		}
	}
	// One block left behind is found, where it is.
	partly := bytes.Repeat([]byte{0}, size)
	b := snap.Layout.Blocks[len(snap.Layout.Blocks)/2]
	copy(partly[b.Offset:b.Offset+b.Length], data[b.Offset:])
	r := CheckErased(ctx, memTarget(partly), snap, false)
	if r.Verified || r.MismatchedBlocks != 1 || len(r.Mismatches) != 1 || r.Mismatches[0].Offset != b.Offset {
		t.Errorf("one block not erased: verified %v, %d mismatched, %+v", r.Verified, r.MismatchedBlocks, r.Mismatches)
	}
	// With crypto, a block that kept its old bytes fails.
	kept := bytes.Clone(noise)
	copy(kept[b.Offset:b.Offset+b.Length], data[b.Offset:])
	if r := CheckErased(ctx, memTarget(kept), snap, true); r.Verified || r.MismatchedBlocks != 1 {
		t.Errorf("crypto erase that missed a block: verified %v, %d mismatched", r.Verified, r.MismatchedBlocks)
	}
	// Without contents, a uniform erase is checked the same; a crypto erase cannot be.
	layoutOnly, err := TakeSnapshot(ctx, memTarget(data), 0.10, 42, false)
	if err != nil || len(layoutOnly.Digests) != 0 || layoutOnly.Layout.Digest() != snap.Layout.Digest() {
		t.Fatalf("layout-only snapshot: %v, %d digests, same layout %v", err, len(layoutOnly.Digests), layoutOnly.Layout.Digest() == snap.Layout.Digest())
	}
	if r := CheckErased(ctx, memTarget(bytes.Repeat([]byte{0}, size)), layoutOnly, false); !r.Verified {
		t.Errorf("uniform erase against a layout-only snapshot: %+v", r)
	}
	if r := CheckErased(ctx, memTarget(noise), layoutOnly, true); r.Verified || r.Error == "" {
		t.Errorf("crypto erase against a layout-only snapshot: verified %v, error %q", r.Verified, r.Error)
	}
	// A device that cannot be read any more fails.
	short := Target{R: bytes.NewReader(noise[:size/2]), Size: size, SectorSize: 512}
	if r := CheckErased(ctx, short, snap, true); r.Verified || len(r.ReadErrors) == 0 {
		t.Errorf("unreadable half: verified %v, %d read errors", r.Verified, len(r.ReadErrors))
	}
}

// Sampled blocks that overlap (the first or last block with a random one) are merged
// into one longer than the layout's block size; the firmware checks must read it whole.
func TestCheckErasedMergedBlocks(t *testing.T) {
	ctx := context.Background()
	const size = 11272192 // 10.75 MiB: the last subsection's last slot overlaps the last block
	var seed uint64
	var layout Layout
	for seed = 1; seed < 10000; seed++ {
		l, err := Locations(size, 512, 0.10, seed, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if l.longest() > int64(l.BlockSize) {
			layout = l
			break
		}
	}
	if layout.Blocks == nil {
		t.Fatal("no seed below 10000 merges two sampled blocks; the test needs another size")
	}
	data := make([]byte, size)
	rand.Read(data)
	snap, err := TakeSnapshot(ctx, memTarget(data), 0.10, seed, true)
	if err != nil {
		t.Fatal(err)
	}
	noise := make([]byte, size)
	rand.Read(noise)
	if r := CheckErased(ctx, memTarget(noise), snap, true); !r.Verified {
		t.Errorf("crypto erase, seed %d (a block of %d bytes, block size %d): %+v", seed, layout.longest(), layout.BlockSize, r)
	}
	if r := CheckErased(ctx, memTarget(make([]byte, size)), snap, false); !r.Verified {
		t.Errorf("uniform erase, seed %d: %+v", seed, r)
	}
}

// longest is the length of the layout's longest block: overlapping blocks are merged,
// so it may exceed BlockSize, and the firmware checks must read past one buffer.
func (l Layout) longest() int64 {
	var n int64
	for _, b := range l.Blocks {
		n = max(n, b.Length)
	}
	return n
}
