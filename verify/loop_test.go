package verify

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/decom-project/decom/internal/faultfs"
	"github.com/decom-project/decom/internal/loopdev"
	"github.com/decom-project/decom/wipe"
)

// wipeLoop wipes a fresh loop device with one pass of p through the gate and returns
// the loop device and the pass record.
func wipeLoop(t *testing.T, size int64, p wipe.Pattern) (*loopdev.Loop, wipe.PassRecord) {
	t.Helper()
	l := loopdev.New(t, size, false, nil)
	g := &wipe.Gate{}
	tgt, err := g.Check(context.Background(), l.Path)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := g.Open(context.Background(), tgt)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	rec := wipe.Overwrite(context.Background(), dev, wipe.PassPlan{Method: wipe.CustomMethod([]wipe.Pattern{p}, 1, false)}, wipe.Options{})
	if rec.Outcome != wipe.OutcomeCompleted {
		t.Fatalf("wipe: %s %s", rec.Outcome, rec.Error)
	}
	return l, rec.Passes[0]
}

// corruptImage flips single bytes of a loop device's image at the given offsets; the
// loop device reads its image through the page cache, so the change is what it shows.
func corruptImage(t *testing.T, image string, offsets []int64) {
	t.Helper()
	f, err := os.OpenFile(image, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	for _, off := range offsets {
		if _, err := f.ReadAt(b, off); err != nil {
			t.Fatal(err)
		}
		b[0] ^= 0xa5
		if _, err := f.WriteAt(b, off); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
}

func openLoop(t *testing.T, l *loopdev.Loop) *Reader {
	t.Helper()
	d, err := Open(l.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	if !d.Target().Direct {
		t.Error("loop device read without O_DIRECT")
	}
	return d
}

// On a real loop device: full verification finds every corrupt byte; sampling finds
// one with the probability its coverage implies, and always in the first or last block.
func TestLoopCorruptBytes(t *testing.T) {
	const size = 32 << 20
	l, pr := wipeLoop(t, size, wipe.Fixed(0))
	exp, err := ExpectPass(pr.Pattern, pr.Keys)
	if err != nil {
		t.Fatal(err)
	}
	dev := openLoop(t, l)
	if res := Run(context.Background(), dev.Target(), exp, Options{Mode: ModeFull}); !res.Verified {
		t.Fatalf("clean device: %s", res.Error)
	}

	rng := rand.New(rand.NewPCG(11, 12))
	offsets := corrupt(make([]byte, size), 25, rng) // 25 distinct offsets, far apart
	corruptImage(t, l.Backing, offsets)
	res := Run(context.Background(), dev.Target(), exp, Options{Mode: ModeFull, MaxMismatches: 100})
	if res.Verified || res.MismatchedBytes != int64(len(offsets)) {
		t.Fatalf("full: verified %v, %d bytes mismatched, want %d", res.Verified, res.MismatchedBytes, len(offsets))
	}
	var found []int64
	for _, m := range res.Mismatches {
		found = append(found, m.Offset)
	}
	if !slices.Equal(found, offsets) {
		t.Errorf("full verification found %v, want %v", found, offsets)
	}
	corruptImage(t, l.Backing, offsets) // flip back

	// One corrupt byte at a time, a fresh seed each time.
	const trials = 200
	detected, covered := 0, 0.0
	for seed := uint64(1); seed <= trials; seed++ {
		off := []int64{rng.Int64N(size)}
		corruptImage(t, l.Backing, off)
		res := Run(context.Background(), dev.Target(), exp, Options{Seed: seed})
		corruptImage(t, l.Backing, off)
		if res.MismatchedBytes > 0 {
			detected++
		}
		covered += res.Coverage
	}
	p := covered / trials
	if p < DefaultCoverage {
		t.Fatalf("a %.0f%% sample read only %.3f of the device", 100*DefaultCoverage, p)
	}
	rate := float64(detected) / trials
	if sd := math.Sqrt(p * (1 - p) / trials); math.Abs(rate-p) > 4*sd {
		t.Errorf("sampled detection rate %.3f, coverage %.3f (4 sd = %.3f)", rate, p, 4*sd)
	}
	t.Logf("sampled %.1f%%: detected %d of %d single corrupt bytes", 100*p, detected, trials)

	for _, off := range []int64{0, 100, size - 1, size - 200} {
		corruptImage(t, l.Backing, []int64{off})
		for seed := uint64(1); seed <= 10; seed++ {
			if res := Run(context.Background(), dev.Target(), exp, Options{Seed: seed}); res.Verified {
				t.Fatalf("corrupt byte at %d (first or last block) missed with seed %d", off, seed)
			}
		}
		corruptImage(t, l.Backing, []int64{off})
	}
}

// A random pass is checked against its keystream: clean it passes, with one corrupt
// byte it fails, wherever the sample falls.
func TestLoopRandomPass(t *testing.T) {
	const size = 32 << 20
	l, pr := wipeLoop(t, size, wipe.Random())
	exp, err := ExpectPass(pr.Pattern, pr.Keys)
	if err != nil {
		t.Fatal(err)
	}
	dev := openLoop(t, l)
	layout, err := Locations(size, 512, DefaultCoverage, 77, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if res := Run(context.Background(), dev.Target(), exp, Options{Seed: 77}); !res.Verified || res.LocationsDigest != layout.Digest() {
		t.Fatalf("clean random pass: %s", res.Error)
	}
	rng := rand.New(rand.NewPCG(21, 22))
	for range 20 {
		b := layout.Blocks[rng.IntN(len(layout.Blocks))]
		off := b.Offset + rng.Int64N(b.Length)
		corruptImage(t, l.Backing, []int64{off})
		res := Run(context.Background(), dev.Target(), exp, Options{Seed: 77})
		corruptImage(t, l.Backing, []int64{off})
		if res.Verified || res.MismatchedBytes != 1 || res.Mismatches[0].Offset != off {
			t.Fatalf("corrupt byte at %d: verified %v mismatches %+v", off, res.Verified, res.Mismatches)
		}
	}
	if res := Run(context.Background(), dev.Target(), exp, Options{Mode: ModeFull}); !res.Verified {
		t.Fatalf("clean random pass, full: %s", res.Error)
	}
}

// Unreadable ranges of a real block device are read errors, and fail verification.
func TestLoopReadErrors(t *testing.T) {
	const size = 16 << 20
	bad := []wipe.Range{{Offset: 5 << 20, Length: 8192}, {Offset: size - 4096, Length: 4096}}
	disk := faultfs.Mount(t, size)
	l := disk.Attach(t)
	// The disk holds zeros (a sparse backing file); then the bad ranges go bad.
	var faults []faultfs.Range
	for _, r := range bad {
		faults = append(faults, faultfs.Range{Off: r.Offset, Len: r.Length, Ops: faultfs.Read})
	}
	disk.SetFaults(faults...)
	dev := openLoop(t, l)
	exp, _ := ExpectPass(wipe.Fixed(0), nil)
	for _, mode := range []string{ModeFull, ModeSample} {
		res := Run(context.Background(), dev.Target(), exp, Options{Mode: mode})
		if res.Verified || res.Outcome != OutcomeFailed || res.MismatchedBytes != 0 {
			t.Fatalf("%s: outcome %s mismatched %d", mode, res.Outcome, res.MismatchedBytes)
		}
		if mode == ModeFull {
			if !slices.Equal(res.ReadErrors, bad) {
				t.Errorf("full: read errors %+v, want %+v", res.ReadErrors, bad)
			}
			continue
		}
		// A sample reads parts of the bad ranges: the sampled parts are reported, and
		// the last block is always among them.
		last := false
		for _, e := range res.ReadErrors {
			in := slices.ContainsFunc(bad, func(b wipe.Range) bool {
				return e.Offset >= b.Offset && e.Offset+e.Length <= b.Offset+b.Length
			})
			if !in {
				t.Errorf("sample: read error %+v outside the bad ranges", e)
			}
			last = last || e.Offset+e.Length == size
		}
		if !last {
			t.Errorf("sample: the unreadable last block is not reported: %+v", res.ReadErrors)
		}
	}
}

// A device that stops answering reads (a faultfs disk whose reads at 8 MiB hang; not
// up to the end, where udev's probes read):
// the stall is reported and ends when the device answers again; with GiveUpStalled
// the verification fails at once; cancelled, it is aborted after StopGrace. Either
// way Run returns while the read is still stuck, and says so. The loop device serves
// one request at a time: reads of lower blocks issued after the stuck one (workers
// race to the syscall) wait behind it, so the stall's offset is at most 8 MiB.
func TestLoopReadStall(t *testing.T) {
	const size, hangAt = 16 << 20, 8 << 20
	exp, _ := ExpectPass(wipe.Fixed(0), nil)
	stalled := func(t *testing.T) (*faultfs.Disk, *Reader) {
		disk := faultfs.Mount(t, size) // zeros: a sparse backing file
		disk.Hang(faultfs.Range{Off: hangAt, Len: 1 << 20, Ops: faultfs.Read})
		return disk, openLoop(t, disk.Attach(t))
	}

	t.Run("reported", func(t *testing.T) {
		disk, dev := stalled(t)
		var seen []wipe.Stall
		opts := Options{Mode: ModeFull, StallTimeout: 2 * time.Second, Stalled: func(s wipe.Stall) {
			seen = append(seen, s)
			if disk.Waiting() == 0 {
				t.Error("stalled, but no read hangs")
			}
			disk.Release()
		}}
		res := Run(context.Background(), dev.Target(), exp, opts)
		if !res.Verified || len(seen) != 1 || len(res.Stalls) != 1 || len(res.PendingIO) != 0 {
			t.Fatalf("verified %v (%s), stalls seen %+v, recorded %+v, pending %+v", res.Verified, res.Error, seen, res.Stalls, res.PendingIO)
		}
		if s := res.Stalls[0]; s.Phase != wipe.PhaseVerify || s.Offset > hangAt || s.Resumed == nil || s.GivenUp {
			t.Errorf("stall %+v", s)
		}
	})

	t.Run("given up", func(t *testing.T) {
		disk, dev := stalled(t)
		opts := Options{Mode: ModeFull, StallTimeout: 2 * time.Second, GiveUpStalled: true}
		res := Run(context.Background(), dev.Target(), exp, opts)
		if disk.Waiting() == 0 {
			t.Fatal("the read no longer hangs: the test proves nothing")
		}
		if res.Verified || res.Outcome != OutcomeFailed || len(res.Stalls) != 1 || !res.Stalls[0].GivenUp {
			t.Fatalf("verified %v outcome %s stalls %+v", res.Verified, res.Outcome, res.Stalls)
		}
		if !strings.HasPrefix(res.Error, "stalled: no read completed for 2s (offset ") ||
			!strings.Contains(res.Error, "; given up; ") || !strings.Contains(res.Error, "outstanding in the kernel") {
			t.Errorf("error %q", res.Error)
		}
		if !pendingAt(res.PendingIO, hangAt) || res.Stalls[0].Offset > hangAt {
			t.Errorf("stall at %d, pending %+v", res.Stalls[0].Offset, res.PendingIO)
		}
	})

	t.Run("interrupted", func(t *testing.T) {
		disk, dev := stalled(t)
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			for disk.Waiting() == 0 {
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
		}()
		res := Run(ctx, dev.Target(), exp, Options{Mode: ModeFull, StopGrace: 200 * time.Millisecond})
		if disk.Waiting() == 0 {
			t.Fatal("the read no longer hangs: the test proves nothing")
		}
		if res.Verified || res.Outcome != OutcomeAborted || !pendingAt(res.PendingIO, hangAt) ||
			!strings.HasPrefix(res.Error, "interrupted; ") {
			t.Fatalf("verified %v outcome %s pending %+v error %q", res.Verified, res.Outcome, res.PendingIO, res.Error)
		}
	})
}

// pendingAt reports whether a read at off is among the pending requests.
func pendingAt(pending []wipe.PendingIO, off int64) bool {
	return slices.ContainsFunc(pending, func(p wipe.PendingIO) bool { return p.Op == "read" && p.Offset == off })
}
