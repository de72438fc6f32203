package wipe

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

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
	// A write that overlaps hang waits until release is closed, as on a drive that
	// stopped answering; hung counts the writes that have started waiting.
	hang    Range
	release chan struct{}
	hung    chan struct{}
}

func (m *memTarget) WriteAt(p []byte, off int64) (int, error) {
	if m.release != nil && off < m.hang.Offset+m.hang.Length && m.hang.Offset < off+int64(len(p)) {
		m.hung <- struct{}{}
		<-m.release
	}
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
	s.FillAt(want, 0)
	return want
}

func TestOverwriteEveryMethodLeavesItsLastPass(t *testing.T) {
	const size = 3<<20 + 4096*3 + 512 // not a multiple of the block size
	for _, m := range append(Methods(), CustomMethod([]Pattern{Fixed(0x92, 0x49, 0x24)}, 1, false)) {
		t.Run(m.Name, func(t *testing.T) {
			mem, tgt := memDrive(size)
			rec := overwrite(context.Background(), mem, tgt, true, PassPlan{Method: m}, Options{BlockSize: 1 << 20, QueueDepth: 3})
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
	rec := overwrite(context.Background(), mem, tgt, true, PassPlan{Method: CustomMethod([]Pattern{Random(), Random()}, 1, false)}, Options{})
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
	rec := overwrite(context.Background(), mem, tgt, true, PassPlan{Method: mustMethod(t, "dod-3")}, Options{})
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
	rec := overwrite(context.Background(), mem, tgt, true, PassPlan{Method: mustMethod(t, "zero")}, Options{})
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
	rec := overwrite(context.Background(), mem, tgt, true, PassPlan{Method: mustMethod(t, "zero")}, Options{MaxBadRanges: 10})
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
	rec := overwrite(ctx, mem, tgt, true, PassPlan{Method: mustMethod(t, "dod-3")}, opts)
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

// hangAt makes the memTarget's block at off hang until the returned release is called
// (at the latest when the test ends).
func (m *memTarget) hangAt(t *testing.T, off int64) (release func()) {
	m.hang, m.release, m.hung = Range{Offset: off, Length: 1 << 20}, make(chan struct{}), make(chan struct{}, 16)
	var once sync.Once
	release = func() { once.Do(func() { close(m.release) }) }
	t.Cleanup(release)
	return release
}

// A write the target never answers: once cancelled, the engine waits StopGrace, then
// returns the aborted record without it. AbortedAt is the stuck block's offset (the
// other workers wrote everything above it: the offset is a lower bound, not the count
// of blocks handed out), the record lists the write still pending, and when the write
// finally returns nothing more is written.
func TestOverwriteStopsWaitingForAStuckWrite(t *testing.T) {
	const size = 16 << 20
	mem, tgt := memDrive(size)
	release := mem.hangAt(t, 5<<20)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-mem.hung
		cancel()
	}()
	opts := Options{BlockSize: 1 << 20, QueueDepth: 4, StopGrace: 100 * time.Millisecond}
	rec := overwrite(ctx, mem, tgt, true, PassPlan{Method: mustMethod(t, "dod-3")}, opts)
	if rec.Outcome != OutcomeAborted || rec.AbortedAt == nil || *rec.AbortedAt != (Position{Pass: 1, Offset: 5 << 20}) {
		t.Fatalf("outcome %s aborted at %+v", rec.Outcome, rec.AbortedAt)
	}
	if len(rec.PendingIO) != 1 || rec.PendingIO[0].Op != "write" || rec.PendingIO[0].Offset != 5<<20 || rec.PendingIO[0].Length != 1<<20 {
		t.Errorf("pending %+v", rec.PendingIO)
	}
	if want := "interrupted; a write of 1048576 bytes at offset 5242880 was still outstanding in the kernel"; !strings.HasPrefix(rec.Error, want) {
		t.Errorf("error %q, want it to begin %q", rec.Error, want)
	}
	if rec.Passes[0].Flushed {
		t.Error("a pass with a write outstanding is recorded as flushed")
	}
	if !bytes.Equal(mem.data[:5<<20], bytes.Repeat([]byte{0}, 5<<20)) {
		t.Error("the bytes below AbortedAt do not hold pass 1")
	}
	mem.mu.Lock()
	before := mem.written
	mem.mu.Unlock()
	release()
	time.Sleep(100 * time.Millisecond)
	mem.mu.Lock()
	defer mem.mu.Unlock()
	if mem.written != before+1<<20 {
		t.Errorf("after the release %d bytes were written, want only the stuck block's %d", mem.written-before, 1<<20)
	}
}

// A stall is reported once, with where the pass stood, and ends when the target
// answers again; the wipe then completes.
func TestOverwriteReportsAStall(t *testing.T) {
	mem, tgt := memDrive(8 << 20)
	release := mem.hangAt(t, 3<<20)
	var stalls []Stall
	var stalledEvents int
	var mu sync.Mutex
	opts := Options{StallTimeout: 200 * time.Millisecond, ProgressInterval: 5 * time.Millisecond,
		Stalled: func(s Stall) {
			stalls = append(stalls, s)
			go func() { time.Sleep(50 * time.Millisecond); release() }()
		},
		Progress: func(ev Event) {
			mu.Lock()
			defer mu.Unlock()
			if ev.Stalled {
				stalledEvents++
			}
		}}
	rec := overwrite(context.Background(), mem, tgt, true, PassPlan{Method: mustMethod(t, "zero")}, opts)
	if rec.Outcome != OutcomeCompleted {
		t.Fatalf("outcome %s: %s", rec.Outcome, rec.Error)
	}
	if len(stalls) != 1 || len(rec.Stalls) != 1 {
		t.Fatalf("stalls reported %+v, recorded %+v", stalls, rec.Stalls)
	}
	s := rec.Stalls[0]
	if s.Phase != PhaseWrite || s.Pass != 1 || s.Offset != 3<<20 || s.Device != tgt.Path || s.GivenUp || s.Resumed == nil ||
		s.Timeout != 0.2 || s.Detected.Sub(s.Since) < 200*time.Millisecond || s.Resumed.Before(s.Detected) {
		t.Errorf("stall %+v", s)
	}
	if stalledEvents == 0 {
		t.Error("no progress event said stalled")
	}
	if len(rec.PendingIO) != 0 {
		t.Errorf("pending %+v", rec.PendingIO)
	}
}

// With GiveUpStalled a stalled wipe ends at once as failed, its passes not run.
func TestOverwriteGivesUpAStalledTarget(t *testing.T) {
	mem, tgt := memDrive(8 << 20)
	mem.hangAt(t, 3<<20)
	opts := Options{StallTimeout: 200 * time.Millisecond, GiveUpStalled: true}
	rec := overwrite(context.Background(), mem, tgt, true, PassPlan{Method: mustMethod(t, "dod-3")}, opts)
	if rec.Outcome != OutcomeFailed || len(rec.Passes) != 1 || rec.Passes[0].Completed || rec.AbortedAt != nil {
		t.Fatalf("outcome %s, %d passes, aborted at %+v", rec.Outcome, len(rec.Passes), rec.AbortedAt)
	}
	if want := "stalled: no write completed for 200ms (pass 1, offset 3145728); given up; a write of 1048576 bytes at offset 3145728 was still outstanding"; !strings.HasPrefix(rec.Error, want) {
		t.Errorf("error %q, want it to begin %q", rec.Error, want)
	}
	if len(rec.Stalls) != 1 || !rec.Stalls[0].GivenUp || rec.Stalls[0].Resumed != nil || len(rec.PendingIO) != 1 {
		t.Errorf("stalls %+v pending %+v", rec.Stalls, rec.PendingIO)
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

func mustMethod(t testing.TB, name string) Method {
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
	opts := Options{AfterPass: func(_ context.Context, pr PassRecord, last bool) error {
		if !bytes.Equal(mem.data, expected(t, pr, 2<<20)) {
			t.Errorf("pass %d: the device does not hold it when AfterPass runs", pr.Number)
		}
		seen = append(seen, fmt.Sprintf("%d:%s:%v", pr.Number, pr.Pattern, last))
		return nil
	}}
	overwrite(context.Background(), mem, tgt, true, PassPlan{Method: mustMethod(t, "dod-3")}, opts)
	if want := []string{"1:0x00:false", "2:0xff:false", "3:random:true"}; !slices.Equal(seen, want) {
		t.Errorf("AfterPass saw %v, want %v", seen, want)
	}
}
