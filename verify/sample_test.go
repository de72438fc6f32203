package verify

import (
	"math"
	"testing"
)

func TestLocationsProperties(t *testing.T) {
	for _, c := range []struct {
		size     int64
		sector   int
		coverage float64
	}{
		{1 << 40, 4096, 0.10},     // 1 TiB, 4Kn
		{500 << 30, 512, 0.01},    // 500 GiB at 1%
		{32 << 20, 512, 0.10},     // a small loop device
		{8 << 20, 4096, 0.5},      // few sectors per subsection
		{100 * 512, 512, 0.10},    // fewer sectors than 2 per subsection: fewer subsections
		{3 * 512, 512, 0.10},      // tiny
		{1<<30 + 512, 512, 1.0},   // everything
		{64<<20 + 300, 512, 0.10}, // an image file with an odd tail
	} {
		l, err := Locations(c.size, c.sector, c.coverage, 42, 1<<20)
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		sectors := c.size / int64(c.sector)
		if want := min(int64(MinSubsections), max(sectors/2, 1)); int64(l.Subsections) != want {
			t.Errorf("%+v: %d subsections, want %d", c, l.Subsections, want)
		}
		aligned := sectors * int64(c.sector)
		first, last := l.Blocks[0], l.Blocks[len(l.Blocks)-1]
		if first.Offset != 0 {
			t.Errorf("%+v: the first block is not read", c)
		}
		if last.Offset+last.Length != c.size {
			t.Errorf("%+v: the last block is not read (ends at %d)", c, last.Offset+last.Length)
		}
		// Sorted, non-overlapping, aligned, inside the device.
		var prevEnd int64
		for _, b := range l.Blocks {
			if b.Offset < prevEnd || b.Length <= 0 || b.Offset+b.Length > c.size {
				t.Fatalf("%+v: block %+v after %d", c, b, prevEnd)
			}
			if b.Offset%int64(c.sector) != 0 || (b.Offset+b.Length < aligned && b.Length%int64(c.sector) != 0) {
				t.Fatalf("%+v: unaligned block %+v", c, b)
			}
			prevEnd = b.Offset + b.Length
		}
		// At least two blocks in every subsection.
		counts := make([]int, l.Subsections)
		for _, b := range l.Blocks {
			for off := b.Offset; off < min(b.Offset+b.Length, aligned); off += int64(l.BlockSize) {
				sec, subs := off/int64(c.sector), int64(l.Subsections)
				i := sec * subs / sectors
				for i+1 < subs && (i+1)*sectors/subs <= sec {
					i++
				}
				for i > 0 && i*sectors/subs > sec {
					i--
				}
				counts[i]++
			}
		}
		for i, n := range counts {
			if n < 2 && sectors >= 2 {
				t.Fatalf("%+v: subsection %d has %d blocks", c, i, n)
			}
		}
		got := float64(l.Bytes()) / float64(c.size)
		if c.size >= 1<<30 && math.Abs(got-c.coverage) > c.coverage*0.05 {
			t.Errorf("%+v: coverage %.4f, want about %.4f", c, got, c.coverage)
		}
		if got < c.coverage*0.95 && c.size >= 1<<20 {
			t.Errorf("%+v: coverage %.4f below the %.4f asked", c, got, c.coverage)
		}
	}
}

func TestLocationsAreReproducible(t *testing.T) {
	a, _ := Locations(10<<30, 512, 0.1, 7, 1<<20)
	b, _ := Locations(10<<30, 512, 0.1, 7, 1<<20)
	c, _ := Locations(10<<30, 512, 0.1, 8, 1<<20)
	if a.Digest() != b.Digest() || len(a.Blocks) != len(b.Blocks) {
		t.Error("the same seed gave different blocks")
	}
	if a.Digest() == c.Digest() {
		t.Error("different seeds gave the same blocks")
	}
}

func TestLocationsRejectsBadInput(t *testing.T) {
	for _, c := range []struct {
		size     int64
		sector   int
		coverage float64
	}{{0, 512, 0.1}, {-1, 512, 0.1}, {1 << 20, 0, 0.1}, {1 << 20, 512, 0}, {1 << 20, 512, 1.5}, {1 << 20, 512, math.NaN()}} {
		if _, err := Locations(c.size, c.sector, c.coverage, 1, 1<<20); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

func FuzzLocations(f *testing.F) {
	f.Add(int64(32<<20), 512, 0.1, uint64(1))
	f.Add(int64(1<<40+7), 4096, 0.001, uint64(99))
	f.Fuzz(func(t *testing.T, size int64, sector int, coverage float64, seed uint64) {
		if size > 1<<44 || sector > 1<<16 || (coverage > 0 && coverage < 1e-6) {
			return // keep each case cheap
		}
		l, err := Locations(size, sector, coverage, seed, 1<<20)
		if err != nil {
			return
		}
		var prev int64
		for _, b := range l.Blocks {
			if b.Offset < prev || b.Length <= 0 || b.Offset+b.Length > size {
				t.Fatalf("block %+v (size %d)", b, size)
			}
			prev = b.Offset + b.Length
		}
	})
}
