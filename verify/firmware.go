package verify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/decom-project/decom/internal/blockio"
	"github.com/decom-project/decom/internal/jsonint"
	"github.com/decom-project/decom/wipe"
)

// Verification of a drive that sanitized itself. Its firmware decides what erased
// media read as, so there is no pattern to compare with; instead:
//
//   - after a cryptographic erase, every sampled block must differ from what the same
//     block held before (the old ciphertext now decrypts to noise under the new key);
//   - after any other erase (block erase, overwrite, a format with user-data erase,
//     secure erase), every sampled block must read as one byte value repeated (zeros on
//     most drives, ones on some), which no block of user data does by accident at
//     these sizes.

// Modes of a firmware verification (Result.Mode).
const (
	ModeSampleChanged = "sample-changed" // every sampled block differs from before
	ModeSampleUniform = "sample-uniform" // every sampled block is one repeated byte
)

// Snapshot is what sampled blocks held before a firmware sanitize: the blocks' places
// and their SHA-256 digests (not their contents: the certificate may carry it).
type Snapshot struct {
	Layout  Layout
	Seed    uint64
	Digests [][sha256.Size]byte
	Taken   time.Time
}

// TakeSnapshot lays out the blocks a sample of coverage would read, with seed (0 draws
// one), and, when contents is set (before a cryptographic erase, whose check compares),
// reads them and keeps their digests. Without contents nothing is read: the check of
// any other erase needs only where to read.
func TakeSnapshot(ctx context.Context, t Target, coverage float64, seed uint64, contents bool) (*Snapshot, error) {
	if seed == 0 {
		var err error
		if seed, err = NewSeed(); err != nil {
			return nil, err
		}
	}
	layout, err := Locations(t.Size, max(t.SectorSize, 512), coverage, seed, 1<<20)
	if err != nil {
		return nil, err
	}
	s := &Snapshot{Layout: layout, Seed: seed, Taken: time.Now()}
	if !contents {
		return s, nil
	}
	s.Digests = make([][sha256.Size]byte, len(layout.Blocks))
	buf := blockio.AlignedBuffer(layout.BlockSize)
	for i, b := range layout.Blocks {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h := sha256.New()
		if err := readBlock(t, buf, b, func(p []byte) { h.Write(p) }); err != nil {
			return nil, fmt.Errorf("verify: read the block at %d before the sanitize: %w", b.Offset, err)
		}
		h.Sum(s.Digests[i][:0])
	}
	return s, nil
}

// CheckErased reads the snapshot's blocks again after a firmware sanitize. With crypto
// set, every block must differ from before (the snapshot must hold their contents);
// otherwise every block must read as one repeated byte. The Result is a sampled verification's, with Mode ModeSampleChanged or
// ModeSampleUniform; a block that cannot be read fails it.
func CheckErased(ctx context.Context, t Target, before *Snapshot, crypto bool) Result {
	res := Result{Mode: ModeSampleUniform, Expected: "every sampled block reads as one repeated byte value",
		Seed: jsonint.Uint64(before.Seed), Subsections: before.Layout.Subsections, SampleBlockSize: before.Layout.BlockSize,
		LocationsDigest: before.Layout.Digest(), SizeBytes: t.Size, Mismatches: []Mismatch{}, ReadErrors: []wipe.Range{},
		Started: time.Now(), IOMode: ioModeOf(t)}
	if crypto && len(before.Digests) != len(before.Layout.Blocks) {
		res.Outcome, res.Error, res.Finished = OutcomeFailed, "verify: no contents were read before the cryptographic erase to compare with", time.Now()
		return res
	}
	if crypto {
		res.Mode = ModeSampleChanged
		res.Expected = "every sampled block differs from what it held before the cryptographic erase"
	}
	if t.Size > 0 {
		res.Coverage = float64(before.Layout.Bytes()) / float64(t.Size)
	}
	buf := blockio.AlignedBuffer(before.Layout.BlockSize)
	for i, b := range before.Layout.Blocks {
		if err := ctx.Err(); err != nil {
			res.Outcome, res.Error, res.Finished = OutcomeAborted, err.Error(), time.Now()
			return res
		}
		res.BlocksRead++
		// A merged block is longer than the buffer: it is read, hashed and checked
		// piece by piece; uniform means one byte value across all of it.
		h := sha256.New()
		var head []byte
		isUniform := true
		err := readBlock(t, buf, b, func(p []byte) {
			if head == nil {
				head = bytes.Clone(p[:min(16, len(p))])
			}
			if crypto {
				h.Write(p)
			} else {
				isUniform = isUniform && uniform(p) && p[0] == head[0]
			}
		})
		if err != nil {
			res.ReadErrors = append(res.ReadErrors, wipe.Range{Offset: b.Offset, Length: b.Length})
			continue
		}
		res.BytesRead += b.Length
		bad := !isUniform
		if crypto {
			var sum [sha256.Size]byte
			bad = [sha256.Size]byte(h.Sum(sum[:0])) == before.Digests[i]
		}
		if bad {
			res.MismatchedBlocks++
			res.MismatchedBytes += b.Length
			if len(res.Mismatches) < 16 {
				res.Mismatches = append(res.Mismatches, Mismatch{Offset: b.Offset, Found: wipe.Bytes(head)})
			}
		}
	}
	res.Verified = res.MismatchedBlocks == 0 && len(res.ReadErrors) == 0 && res.BlocksRead > 0
	res.Outcome = OutcomeFailed
	if res.Verified {
		res.Outcome = OutcomePassed
	}
	res.Finished = time.Now()
	return res
}

func ioModeOf(t Target) string {
	if t.Direct {
		return "direct"
	}
	return "buffered"
}

// readBlock reads b in pieces of at most len(buf) bytes and hands each to use, in
// order; the piece is only valid during the call.
func readBlock(t Target, buf []byte, b Block, use func(p []byte)) error {
	for off := b.Offset; off < b.Offset+b.Length; off += int64(len(buf)) {
		p := buf[:min(int64(len(buf)), b.Offset+b.Length-off)]
		if err := readAll(t, p, off); err != nil {
			return err
		}
		use(p)
	}
	return nil
}

func readAll(t Target, p []byte, off int64) error {
	n, err := t.R.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil {
		err = errors.New("short read")
	}
	return err
}

// uniform reports whether p is one byte value repeated.
func uniform(p []byte) bool {
	for _, c := range p[1:] {
		if c != p[0] {
			return false
		}
	}
	return len(p) > 0
}
