package wipe

import (
	"context"
	"runtime"
	"sync"
	"testing"
)

// withProcs runs the test with GOMAXPROCS n and gives the former value back after.
// Tests that use it must not run in parallel: GOMAXPROCS is the process's.
func withProcs(t *testing.T, n int) {
	t.Helper()
	old := runtime.GOMAXPROCS(n)
	t.Cleanup(func() { runtime.GOMAXPROCS(old) })
}

func wantProcs(t *testing.T, when string, want int) {
	t.Helper()
	if got := runtime.GOMAXPROCS(0); got != want {
		t.Errorf("%s: GOMAXPROCS %d, want %d", when, got, want)
	}
}

// Reservations add a P per writer beyond the cores, up to spareProcsPerCore per core,
// and the last release gives the former GOMAXPROCS back.
func TestReserveProcs(t *testing.T) {
	withProcs(t, 4)
	a := reserveProcs(3)
	wantProcs(t, "3 writers", 7)
	b := reserveProcs(5)
	wantProcs(t, "8 writers", 12)
	c := reserveProcs(20)
	wantProcs(t, "28 writers", 4+4*spareProcsPerCore)
	if n := cores(); n != 4 {
		t.Errorf("cores() = %d while reserved, want 4", n)
	}
	c()
	wantProcs(t, "8 writers again", 12)
	a()
	a() // a second call releases nothing more
	wantProcs(t, "5 writers", 9)
	b()
	wantProcs(t, "all released", 4)
	if n := cores(); n != 4 {
		t.Errorf("cores() = %d, want 4", n)
	}
	reserveProcs(0)()
	wantProcs(t, "no writers", 4)
}

// A GOMAXPROCS set by something else while reservations hold is left as it was set.
func TestReserveProcsYields(t *testing.T) {
	withProcs(t, 2)
	a := reserveProcs(4)
	wantProcs(t, "4 writers", 6)
	runtime.GOMAXPROCS(3)
	b := reserveProcs(1)
	wantProcs(t, "after another setting", 3)
	a()
	b()
	wantProcs(t, "released", 3)
	// The next reservation starts from that setting.
	c := reserveProcs(2)
	wantProcs(t, "a new reservation", 5)
	c()
	wantProcs(t, "released again", 3)
}

// procsTarget records the GOMAXPROCS its writes run under.
type procsTarget struct {
	mu   sync.Mutex
	seen map[int]int
}

func (p *procsTarget) WriteAt(b []byte, _ int64) (int, error) {
	p.mu.Lock()
	p.seen[runtime.GOMAXPROCS(0)]++
	p.mu.Unlock()
	return len(b), nil
}

func (*procsTarget) Sync() error { return nil }

// A random pass's writes run with a spare P per writer, a zero pass's without; the
// wipe leaves GOMAXPROCS as it found it.
func TestRandomPassReservesProcs(t *testing.T) {
	withProcs(t, 2)
	const size = 64 << 20
	tgt := Target{Path: "/dev/null0", Kind: KindDrive, SectorSize: 512, Identity: Identity{SizeBytes: size}}
	for _, tc := range []struct {
		method string
		want   int
	}{{"random", 2 + 4}, {"zero", 2}} {
		w := &procsTarget{seen: map[int]int{}}
		plan := PassPlan{Method: mustMethod(t, tc.method)}
		rec := overwrite(context.Background(), w, tgt, true, plan, Options{QueueDepth: 4, pool: newKeyPool(2)})
		if rec.Outcome != OutcomeCompleted {
			t.Fatalf("%s: %s", tc.method, rec.Error)
		}
		if len(w.seen) != 1 || w.seen[tc.want] == 0 {
			t.Errorf("%s pass: writes ran under GOMAXPROCS %v, want all under %d", tc.method, w.seen, tc.want)
		}
		wantProcs(t, "after the "+tc.method+" wipe", 2)
	}
}
