package verify

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// MinSubsections is the number of equal parts a sampled device is split into, unless it
// has too few sectors for two blocks in each.
const MinSubsections = 1000

// Layout is where a sampled verification reads: sorted, non-overlapping blocks.
type Layout struct {
	Subsections int
	// BlockSize is the size of the sampled blocks; the last block of the device may
	// be shorter when the device is smaller than one block.
	BlockSize int
	Blocks    []Block
}

// Block is a byte range that is read.
type Block struct {
	Offset int64 `json:"offset"`
	Length int64 `json:"length"`
}

// Bytes is the number of bytes the layout reads.
func (l Layout) Bytes() int64 {
	var n int64
	for _, b := range l.Blocks {
		n += b.Length
	}
	return n
}

// Digest is a SHA-256 over the blocks' offsets and lengths: two verifications read the
// same locations exactly when their digests are equal.
func (l Layout) Digest() string {
	h := sha256.New()
	var buf [16]byte
	for _, b := range l.Blocks {
		binary.BigEndian.PutUint64(buf[:8], uint64(b.Offset))
		binary.BigEndian.PutUint64(buf[8:], uint64(b.Length))
		h.Write(buf[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Locations computes the sample of a device of size bytes with the given sector size:
// a pure function of its arguments, so a recorded seed reproduces the same blocks.
//
// The device is split into Subsections equal runs of whole sectors. In each, k blocks
// of BlockSize bytes are chosen pseudo-randomly among the run's aligned slots, without
// overlap, where k is at least 2 and otherwise what the coverage asks for. The first
// and the last addressable blocks of the device are added. maxBlock caps BlockSize;
// small devices get smaller blocks, down to one sector.
func Locations(size int64, sector int, coverage float64, seed uint64, maxBlock int) (Layout, error) {
	if sector <= 0 || size <= 0 {
		return Layout{}, fmt.Errorf("device of %d bytes with %d-byte sectors cannot be sampled", size, sector)
	}
	if !(coverage > 0 && coverage <= 1) {
		return Layout{}, fmt.Errorf("coverage %g: want more than 0 and at most 1", coverage)
	}
	maxBlock = max(maxBlock, sector)
	sectors := size / int64(sector)
	aligned := sectors * int64(sector)
	if sectors == 0 {
		// An image file smaller than a sector: read all of it.
		return Layout{Subsections: 1, BlockSize: int(size), Blocks: []Block{{0, size}}}, nil
	}
	subs := int64(MinSubsections)
	if sectors < 2*subs {
		subs = max(sectors/2, 1)
	}
	// Block size: what the coverage asks of the smallest subsection, split into as
	// few blocks as the cap allows but at least two, in whole sectors.
	smallest := sectors / subs
	target := float64(smallest) * coverage
	blocks := max(math.Ceil(target/float64(maxBlock/sector)-1e-9), 2)
	perBlock := max(int64(math.Ceil(target/blocks-1e-9)), 1)
	perBlock = min(perBlock, int64(maxBlock/sector), max(smallest/2, 1))
	blockBytes := perBlock * int64(sector)

	l := Layout{Subsections: int(subs), BlockSize: int(blockBytes)}
	l.Blocks = make([]Block, 0, 3+int(subs)*2)
	// The first and the last addressable blocks.
	edge := min(blockBytes, aligned)
	l.Blocks = append(l.Blocks, Block{0, edge}, Block{aligned - edge, edge})
	if aligned < size {
		l.Blocks = append(l.Blocks, Block{aligned, size - aligned}) // an image file's odd tail
	}
	for i := range subs {
		start := i * sectors / subs
		end := (i + 1) * sectors / subs
		slots := (end - start) / perBlock
		want := max(int64(math.Ceil(float64(end-start)*coverage/float64(perBlock)-1e-9)), 2)
		want = min(want, slots)
		rng := rand.New(rand.NewPCG(seed, uint64(i)))
		for _, s := range choose(rng, slots, want) {
			l.Blocks = append(l.Blocks, Block{(start + s*perBlock) * int64(sector), blockBytes})
		}
	}
	l.Blocks = normalize(l.Blocks)
	return l, nil
}

// choose picks k distinct numbers in [0, n), sorted, with Floyd's algorithm: memory in
// k, not n.
func choose(rng *rand.Rand, n, k int64) []int64 {
	if k <= 0 || n <= 0 {
		return nil
	}
	picked := make(map[int64]bool, k)
	out := make([]int64, 0, k)
	for j := n - k; j < n; j++ {
		t := rng.Int64N(j + 1)
		if picked[t] {
			t = j
		}
		picked[t] = true
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// normalize sorts blocks and merges overlapping ones, so no byte is read twice.
func normalize(bs []Block) []Block {
	slices.SortFunc(bs, func(a, b Block) int {
		switch {
		case a.Offset < b.Offset:
			return -1
		case a.Offset > b.Offset:
			return 1
		}
		return 0
	})
	out := bs[:0]
	for _, b := range bs {
		if n := len(out); n > 0 && out[n-1].Offset+out[n-1].Length > b.Offset {
			out[n-1].Length = max(out[n-1].Offset+out[n-1].Length, b.Offset+b.Length) - out[n-1].Offset
			continue
		}
		out = append(out, b)
	}
	return out
}
