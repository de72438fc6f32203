package verify

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/decom-project/decom/wipe"
)

// memDevice is an in-memory device whose listed ranges fail reads with EIO.
type memDevice struct {
	data []byte
	bad  []wipe.Range
}

func (m *memDevice) ReadAt(p []byte, off int64) (int, error) {
	for _, r := range m.bad {
		if off < r.Offset+r.Length && r.Offset < off+int64(len(p)) {
			return 0, unix.EIO
		}
	}
	return copy(p, m.data[off:]), nil
}

func (m *memDevice) target() Target {
	return Target{R: m, Size: int64(len(m.data)), SectorSize: 512, Direct: true}
}

// wiped returns a device holding pattern p (with fresh keys when random).
func wiped(t testing.TB, size int, p wipe.Pattern) (*memDevice, Expectation) {
	t.Helper()
	var keys *wipe.Keys
	if p.Kind == wipe.KindRandom {
		k, err := wipe.NewKeys()
		if err != nil {
			t.Fatal(err)
		}
		keys = &k
	}
	exp, err := ExpectPass(p, keys)
	if err != nil {
		t.Fatal(err)
	}
	m := &memDevice{data: make([]byte, size)}
	exp.fill(m.data, 0)
	return m, exp
}

func TestCleanDevicePasses(t *testing.T) {
	for _, p := range []wipe.Pattern{wipe.Fixed(0), wipe.Fixed(0x92, 0x49, 0x24), wipe.Random()} {
		m, exp := wiped(t, 8<<20, p)
		for _, mode := range []string{ModeSample, ModeFull} {
			res := Run(context.Background(), m.target(), exp, Options{Mode: mode})
			if !res.Verified || res.Outcome != OutcomePassed || res.MismatchedBytes != 0 || len(res.ReadErrors) != 0 {
				t.Errorf("%s %s: %+v", p, mode, res)
			}
			if mode == ModeFull && (res.BytesRead != 8<<20 || res.Coverage != 1) {
				t.Errorf("%s full: read %d, coverage %g", p, res.BytesRead, res.Coverage)
			}
			if mode == ModeSample && (res.Seed == 0 || res.Coverage < 0.1 || res.Coverage > 0.2 || res.LocationsDigest == "") {
				t.Errorf("%s sample: seed %d coverage %g", p, res.Seed, res.Coverage)
			}
		}
	}
}

// Full verification finds every corrupted byte.
func TestFullFindsEveryCorruptByte(t *testing.T) {
	for _, p := range []wipe.Pattern{wipe.Fixed(0), wipe.Random()} {
		m, exp := wiped(t, 16<<20, p)
		offsets := corrupt(m.data, 20, rand.New(rand.NewPCG(1, 2)))
		res := Run(context.Background(), m.target(), exp, Options{Mode: ModeFull, MaxMismatches: 100})
		if res.Verified || res.Outcome != OutcomeFailed || res.MismatchedBytes != 20 {
			t.Fatalf("%s: verified %v, %d bytes mismatched", p, res.Verified, res.MismatchedBytes)
		}
		var found []int64
		for _, mm := range res.Mismatches {
			found = append(found, mm.Offset)
			if bytes.Equal(mm.Expected, mm.Found) || len(mm.Found) == 0 {
				t.Errorf("mismatch %+v shows no difference", mm)
			}
		}
		for _, off := range offsets {
			if !slices.Contains(found, off) {
				t.Errorf("%s: corrupt byte at %d not reported", p, off)
			}
		}
	}
}

// corrupt flips n distinct bytes at random offsets and returns the offsets, sorted.
func corrupt(data []byte, n int, rng *rand.Rand) []int64 {
	var offs []int64
	for len(offs) < n {
		off := rng.Int64N(int64(len(data)))
		if slices.Contains(offs, off) {
			continue
		}
		// Offsets 16+ bytes apart each get their own mismatch entry.
		if slices.ContainsFunc(offs, func(o int64) bool { return o/(1<<16) == off/(1<<16) }) {
			continue
		}
		data[off] ^= 0x5a
		offs = append(offs, off)
	}
	slices.Sort(offs)
	return offs
}

// Sampling finds a corrupt byte with the probability its coverage implies, and always
// when it is in the first or last block.
func TestSampleDetectionRate(t *testing.T) {
	const size = 8 << 20
	const seeds = 600
	m, exp := wiped(t, size, wipe.Fixed(0))
	rng := rand.New(rand.NewPCG(3, 4))
	for _, coverage := range []float64{0.05, 0.10, 0.25} {
		found, covered := 0, 0.0
		for seed := uint64(1); seed <= seeds; seed++ {
			off := rng.Int64N(size)
			m.data[off] = 1
			res := Run(context.Background(), m.target(), exp, Options{Coverage: coverage, Seed: seed})
			m.data[off] = 0
			if res.MismatchedBytes > 0 {
				found++
			}
			covered += res.Coverage
		}
		p := covered / seeds // the coverage achieved, which is what detection must match
		if p < coverage {
			t.Fatalf("coverage %.2f asked, %.4f read: a sample that reads less cannot pass this test", coverage, p)
		}
		rate := float64(found) / seeds
		sd := math.Sqrt(p * (1 - p) / seeds)
		if math.Abs(rate-p) > 4*sd {
			t.Errorf("coverage %.2f (achieved %.4f): detection rate %.4f, outside 4 standard deviations (%.4f)", coverage, p, rate, sd)
		}
		t.Logf("coverage %.2f: achieved %.4f, detected %d of %d (%.4f)", coverage, p, found, seeds, rate)
	}
	for seed := uint64(1); seed <= 50; seed++ {
		for _, off := range []int64{0, 511, size - 512, size - 1} {
			m.data[off] = 1
			res := Run(context.Background(), m.target(), exp, Options{Seed: seed})
			m.data[off] = 0
			if res.Verified || res.MismatchedBytes != 1 {
				t.Fatalf("seed %d: corrupt byte at %d (first or last block) not found", seed, off)
			}
		}
	}
}

// A random pass is checked against its regenerated keystream: one corrupt byte,
// wherever the sample lands, fails it.
func TestRandomPassSampledAnywhere(t *testing.T) {
	m, exp := wiped(t, 8<<20, wipe.Random())
	l, err := Locations(8<<20, 512, 0.1, 99, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 40 {
		b := l.Blocks[rng.IntN(len(l.Blocks))]
		off := b.Offset + rng.Int64N(b.Length)
		m.data[off] ^= 1
		res := Run(context.Background(), m.target(), exp, Options{Seed: 99})
		m.data[off] ^= 1
		if res.Verified || res.MismatchedBytes != 1 || res.Mismatches[0].Offset != off {
			t.Fatalf("corrupt byte at %d: %+v", off, res.Mismatches)
		}
	}
	if res := Run(context.Background(), m.target(), exp, Options{Seed: 99}); !res.Verified {
		t.Fatalf("clean random pass failed: %s", res.Error)
	}
}

func TestReadErrorsFailVerification(t *testing.T) {
	m, exp := wiped(t, 8<<20, wipe.Fixed(0))
	m.bad = []wipe.Range{{Offset: 1 << 20, Length: 4096}, {Offset: 8<<20 - 512, Length: 512}}
	res := Run(context.Background(), m.target(), exp, Options{Mode: ModeFull})
	if res.Verified || res.Outcome != OutcomeFailed || !slices.Equal(res.ReadErrors, m.bad) || res.MismatchedBytes != 0 {
		t.Fatalf("outcome %s read errors %+v mismatched %d", res.Outcome, res.ReadErrors, res.MismatchedBytes)
	}
	if res.BytesRead != 8<<20-4096-512 {
		t.Errorf("bytes read %d", res.BytesRead)
	}
}

func TestVanishedDeviceFails(t *testing.T) {
	_, exp := wiped(t, 1<<20, wipe.Fixed(0))
	gone := Target{R: readerFunc(func([]byte, int64) (int, error) { return 0, unix.ENODEV }), Size: 1 << 20, SectorSize: 512}
	res := Run(context.Background(), gone, exp, Options{Mode: ModeFull})
	if res.Verified || res.Outcome != OutcomeFailed || res.Error == "" {
		t.Fatalf("%+v", res)
	}
}

func TestCancelledVerificationIsAborted(t *testing.T) {
	m, exp := wiped(t, 8<<20, wipe.Fixed(0))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := Run(ctx, m.target(), exp, Options{Mode: ModeFull})
	if res.Verified || res.Outcome != OutcomeAborted {
		t.Fatalf("%+v", res)
	}
}

func TestExpectBytes(t *testing.T) {
	exp, err := ExpectBytes([]byte("decom"), "test")
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 12)
	exp.fill(buf, 3)
	if string(buf) != "omdecomdecom" {
		t.Errorf("fill at 3: %q", buf)
	}
	if _, err := ExpectBytes(nil, ""); err == nil {
		t.Error("empty pattern accepted")
	}
	for _, s := range []string{"zero", "one", "0x55", "0x924924"} {
		if _, err := ParseExpect(s); err != nil {
			t.Errorf("ParseExpect(%q): %v", s, err)
		}
	}
	if _, err := ParseExpect("/no/such/pattern"); err == nil {
		t.Error("missing pattern file accepted")
	}
}

type readerFunc func([]byte, int64) (int, error)

func (f readerFunc) ReadAt(p []byte, off int64) (int, error) { return f(p, off) }

// The bad ranges a wipe could not write are its exceptions: verification excludes
// them and judges the rest.
func TestExcludedRanges(t *testing.T) {
	m, exp := wiped(t, 4<<20, wipe.Fixed(0))
	copy(m.data[1<<20:], "old data the wipe could not reach")
	m.bad = []wipe.Range{{Offset: 3 << 20, Length: 512}}
	exclude := []wipe.Range{{Offset: 1 << 20, Length: 4096}, {Offset: 3 << 20, Length: 512}}
	res := Run(context.Background(), m.target(), exp, Options{Mode: ModeFull, Exclude: exclude})
	if !res.Verified || res.ExcludedBytes != 4096+512 || len(res.ReadErrors) != 0 {
		t.Fatalf("verified %v excluded %d read errors %v: %s", res.Verified, res.ExcludedBytes, res.ReadErrors, res.Error)
	}
	m.data[2<<20] = 1 // outside the exclusions
	if res := Run(context.Background(), m.target(), exp, Options{Mode: ModeFull, Exclude: exclude}); res.Verified || res.MismatchedBytes != 1 {
		t.Fatalf("mismatch outside the exclusions: verified %v mismatched %d", res.Verified, res.MismatchedBytes)
	}
}
