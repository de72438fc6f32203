package wipe

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"
)

// memTarget is an in-memory drive whose listed ranges fail writes with EIO, and
// which vanishes (ENODEV) after gone bytes when gone > 0.
type memTarget struct {
	mu      sync.Mutex
	data    []byte
	bad     []Range
	gone    int64
	written int64
	syncs   int
	onWrite func(written int64) // called after each write, unlocked
}

func (m *memTarget) WriteAt(p []byte, off int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gone > 0 && m.written >= m.gone {
		return 0, unix.ENODEV
	}
	for _, r := range m.bad {
		if off < r.Offset+r.Length && r.Offset < off+int64(len(p)) {
			return 0, unix.EIO
		}
	}
	m.written += int64(len(p))
	n := copy(m.data[off:], p)
	if m.onWrite != nil {
		w := m.written
		m.mu.Unlock()
		m.onWrite(w)
		m.mu.Lock()
	}
	return n, nil
}

func (m *memTarget) Sync() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.syncs++
	return nil
}

func memDrive(size int64) (*memTarget, Target) {
	m := &memTarget{data: bytes.Repeat([]byte{0xa5}, int(size))}
	return m, Target{Path: "/dev/mem0", Kind: KindDrive, SectorSize: 512, Identity: Identity{SizeBytes: uint64(size)}}
}

// expected regenerates what a pass must have left on the target.
func expected(t *testing.T, pr PassRecord, size int64) []byte {
	t.Helper()
	var keys Keys
	if pr.Keys != nil {
		keys = *pr.Keys
	}
	s, err := NewStream(pr.Pattern, keys)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, size)
	s.FillAt(want, 0, nil)
	return want
}

func TestOverwriteEveryMethodLeavesItsLastPass(t *testing.T) {
	const size = 3<<20 + 4096*3 + 512 // not a multiple of the block size
	for _, m := range append(Methods(), CustomMethod([]Pattern{Fixed(0x92, 0x49, 0x24)}, 1, false)) {
		t.Run(m.Name, func(t *testing.T) {
			mem, tgt := memDrive(size)
			rec := overwrite(context.Background(), mem, tgt, true, Plan{Method: m}, Options{BlockSize: 1 << 20, QueueDepth: 3})
			if rec.Outcome != OutcomeCompleted || rec.Error != "" {
				t.Fatalf("outcome %s: %s", rec.Outcome, rec.Error)
			}
			if len(rec.Passes) != len(m.Passes) {
				t.Fatalf("%d passes recorded, want %d", len(rec.Passes), len(m.Passes))
			}
			for _, pr := range rec.Passes {
				if !pr.Completed || !pr.Flushed || pr.BytesWritten != size || len(pr.BadRanges) != 0 {
					t.Errorf("pass %d: %+v", pr.Number, pr)
				}
				if (pr.Pattern.Kind == KindRandom) != (pr.Keys != nil) {
					t.Errorf("pass %d: keys %v for a %s pass", pr.Number, pr.Keys, pr.Pattern.Kind)
				}
			}
			if mem.syncs != len(m.Passes) {
				t.Errorf("%d flushes for %d passes", mem.syncs, len(m.Passes))
			}
			if rec.BytesWritten != uint64(size*len(m.Passes)) {
				t.Errorf("bytes written %d", rec.BytesWritten)
			}
			last := rec.Passes[len(rec.Passes)-1]
			if !bytes.Equal(mem.data, expected(t, last, size)) {
				t.Errorf("target does not hold the last pass (%s)", last.Pattern)
			}
		})
	}
}

// Two random passes use different keys, and a random pass is not all one byte.
func TestRandomPassesAreKeyedApart(t *testing.T) {
	mem, tgt := memDrive(1 << 20)
	rec := overwrite(context.Background(), mem, tgt, true, Plan{Method: CustomMethod([]Pattern{Random(), Random()}, 1, false)}, Options{})
	a, b := rec.Passes[0].Keys, rec.Passes[1].Keys
	if a == nil || b == nil || bytes.Equal(a.Key, b.Key) {
		t.Fatalf("keys %v and %v", a, b)
	}
	if bytes.Count(mem.data, mem.data[:1]) == len(mem.data) {
		t.Error("random pass wrote one repeated byte")
	}
}

func TestOverwriteRecordsBadRangesExactly(t *testing.T) {
	mem, tgt := memDrive(8 << 20)
	mem.bad = []Range{{Offset: 3 << 20, Length: 4096}, {Offset: 5<<20 + 512, Length: 1024}, {Offset: 8<<20 - 512, Length: 512}}
	rec := overwrite(context.Background(), mem, tgt, true, Plan{Method: mustMethod(t, "dod-3")}, Options{})
	if rec.Outcome != OutcomeExceptions {
		t.Fatalf("outcome %s (%s), want %s", rec.Outcome, rec.Error, OutcomeExceptions)
	}
	for _, pr := range rec.Passes {
		if !slices.Equal(pr.BadRanges, mem.bad) {
			t.Errorf("pass %d bad ranges %+v, want %+v", pr.Number, pr.BadRanges, mem.bad)
		}
		if want := uint64(8<<20 - 4096 - 1024 - 512); pr.BytesWritten != want {
			t.Errorf("pass %d wrote %d bytes, want %d", pr.Number, pr.BytesWritten, want)
		}
		if !pr.Completed || len(pr.Errors) != 3 || !strings.HasPrefix(pr.Errors[0], "unwritable: 4096 bytes at offset 3145728: input/output error") {
			t.Errorf("pass %d: completed %v errors %q", pr.Number, pr.Completed, pr.Errors)
		}
	}
	// Everything outside the bad ranges holds the last pass.
	want := expected(t, rec.Passes[2], 8<<20)
	for _, r := range mem.bad {
		copy(want[r.Offset:r.Offset+r.Length], mem.data[r.Offset:r.Offset+r.Length])
	}
	if !bytes.Equal(mem.data, want) {
		t.Error("good ranges do not hold the last pass")
	}
}

func TestOverwriteFailsWhenTheDeviceVanishes(t *testing.T) {
	mem, tgt := memDrive(16 << 20)
	mem.gone = 5 << 20
	rec := overwrite(context.Background(), mem, tgt, true, Plan{Method: mustMethod(t, "zero")}, Options{})
	if rec.Outcome != OutcomeFailed || rec.Passes[0].Completed {
		t.Fatalf("outcome %s completed %v", rec.Outcome, rec.Passes[0].Completed)
	}
	if rec.Error == "" || !bytes.Contains([]byte(rec.Error), []byte("gone")) {
		t.Errorf("error %q", rec.Error)
	}
}

func TestOverwriteFailsOnAFailingDrive(t *testing.T) {
	mem, tgt := memDrive(4 << 20)
	mem.bad = []Range{{Offset: 0, Length: 4 << 20}}
	rec := overwrite(context.Background(), mem, tgt, true, Plan{Method: mustMethod(t, "zero")}, Options{MaxBadRanges: 10})
	if rec.Outcome != OutcomeFailed {
		t.Fatalf("outcome %s, want failed", rec.Outcome)
	}
}

func TestOverwriteAbortsWhereItStopped(t *testing.T) {
	mem, tgt := memDrive(64 << 20)
	ctx, cancel := context.WithCancel(context.Background())
	mem.onWrite = func(written int64) {
		if written >= 64<<20+5<<20 { // 5 MiB into pass 2
			cancel()
		}
	}
	opts := Options{BlockSize: 1 << 20, QueueDepth: 2}
	rec := overwrite(ctx, mem, tgt, true, Plan{Method: mustMethod(t, "dod-3")}, opts)
	if rec.Outcome != OutcomeAborted || rec.AbortedAt == nil {
		t.Fatalf("outcome %s aborted at %v", rec.Outcome, rec.AbortedAt)
	}
	at := *rec.AbortedAt
	if at.Pass != 2 || at.Offset <= 0 || at.Offset >= 64<<20 || len(rec.Passes) != 2 || rec.Passes[1].Completed {
		t.Fatalf("aborted at %+v with %d passes", at, len(rec.Passes))
	}
	// Every byte below the offset holds pass 2's pattern.
	if !bytes.Equal(mem.data[:at.Offset], bytes.Repeat([]byte{0xff}, int(at.Offset))) {
		t.Error("bytes below the abort offset do not hold pass 2")
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, o := range []Options{{BlockSize: 1000}, {BlockSize: 128 << 20}, {QueueDepth: -1}, {QueueDepth: 1000}} {
		if o.Validate() == nil {
			t.Errorf("%+v accepted", o)
		}
	}
	if err := (Options{}).Validate(); err != nil {
		t.Error(err)
	}
}

func TestMergeRanges(t *testing.T) {
	got := MergeRanges([]Range{{10, 5}, {0, 5}, {5, 5}, {30, 1}, {29, 2}})
	want := []Range{{0, 15}, {29, 2}}
	if !slices.Equal(got, want) {
		t.Errorf("got %v want %v", got, want)
	}
	if got := MergeRanges(nil); got == nil || len(got) != 0 {
		t.Errorf("nil: %v", got)
	}
}

func mustMethod(t *testing.T, name string) Method {
	t.Helper()
	m, err := LookupMethod(name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// AfterPass sees every completed pass, in order, before the next one overwrites it.
func TestAfterPassSeesEachPass(t *testing.T) {
	mem, tgt := memDrive(2 << 20)
	var seen []string
	opts := Options{AfterPass: func(_ context.Context, pr PassRecord, last bool) {
		if !bytes.Equal(mem.data, expected(t, pr, 2<<20)) {
			t.Errorf("pass %d: the device does not hold it when AfterPass runs", pr.Number)
		}
		seen = append(seen, fmt.Sprintf("%d:%s:%v", pr.Number, pr.Pattern, last))
	}}
	overwrite(context.Background(), mem, tgt, true, Plan{Method: mustMethod(t, "dod-3")}, opts)
	if want := []string{"1:0x00:false", "2:0xff:false", "3:random:true"}; !slices.Equal(seen, want) {
		t.Errorf("AfterPass saw %v, want %v", seen, want)
	}
}
