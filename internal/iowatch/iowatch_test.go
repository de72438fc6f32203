package iowatch

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"
)

// Low never passes a block that is claimed and not finished, whatever the order the
// workers finish in.
func TestLowIsALowerBound(t *testing.T) {
	w := New(3)
	if got := w.Low(); got != math.MaxInt64 {
		t.Fatalf("idle: Low %d", got)
	}
	w.Claiming(0, 0)
	w.Claiming(1, 0)
	w.Claiming(1, 1<<20)
	w.Claiming(0, 0)
	w.Begin(1, OpWrite, 1<<20, 1<<20)
	w.Begin(0, OpWrite, 0, 1<<20)
	if got := w.Low(); got != 0 {
		t.Errorf("Low %d, want 0", got)
	}
	w.End(1)
	w.Idle(1) // the block at 1 MiB is done; the one at 0 is not
	if got := w.Low(); got != 0 {
		t.Errorf("Low %d after the higher block finished, want 0", got)
	}
	if p := w.Pending(); len(p) != 1 || p[0].Offset != 0 || p[0].Op != OpWrite {
		t.Errorf("pending %+v", p)
	}
	w.End(0)
	w.Idle(0)
	if got, p := w.Low(), w.Pending(); got != math.MaxInt64 || len(p) != 0 || w.Busy() {
		t.Errorf("all done: Low %d, pending %+v", got, p)
	}
}

func TestWaitDone(t *testing.T) {
	w := New(1)
	done := make(chan struct{})
	close(done)
	if e := w.Wait(context.Background(), done, Policy{StallTimeout: time.Millisecond, Grace: time.Millisecond}); e != Done {
		t.Errorf("Wait = %v, want Done", e)
	}
}

// Cancelled, Wait gives the work its grace, then abandons it; work that ends within
// the grace is Done.
func TestWaitGrace(t *testing.T) {
	w := New(1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if e := w.Wait(ctx, make(chan struct{}), Policy{Grace: 50 * time.Millisecond}); e != Abandoned {
		t.Errorf("Wait = %v, want Abandoned", e)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("abandoned after %v, before the grace", d)
	}
	done := make(chan struct{})
	go func() { time.Sleep(10 * time.Millisecond); close(done) }()
	if e := w.Wait(ctx, done, Policy{Grace: 10 * time.Second}); e != Done {
		t.Errorf("Wait = %v, want Done", e)
	}
}

// A request unanswered for the timeout is a stall, reported once; a request that
// completes ends it; with GiveUp, Wait returns at the stall.
func TestWaitStall(t *testing.T) {
	w := New(2)
	w.Begin(0, OpWrite, 4096, 4096)
	var mu sync.Mutex
	var stalls, resumes int
	done := make(chan struct{})
	p := Policy{StallTimeout: 30 * time.Millisecond,
		Stalled: func(since time.Time) {
			mu.Lock()
			defer mu.Unlock()
			stalls++
			if !w.Stalled() {
				t.Error("Stalled() false in the Stalled callback")
			}
			go func() {
				time.Sleep(60 * time.Millisecond) // still one stall, not two
				w.End(0)
				time.Sleep(50 * time.Millisecond)
				close(done)
			}()
		},
		Resumed: func(time.Time) {
			mu.Lock()
			defer mu.Unlock()
			resumes++
		}}
	if e := w.Wait(context.Background(), done, p); e != Done {
		t.Fatalf("Wait = %v, want Done", e)
	}
	if stalls != 1 || resumes != 1 || w.Stalled() {
		t.Errorf("%d stalls, %d resumes, stalled %v", stalls, resumes, w.Stalled())
	}

	// Nothing in flight is no stall, however long it lasts.
	w = New(1)
	quiet := make(chan struct{})
	go func() { time.Sleep(100 * time.Millisecond); close(quiet) }()
	if e := w.Wait(context.Background(), quiet, Policy{StallTimeout: 10 * time.Millisecond, GiveUp: true}); e != Done {
		t.Errorf("idle: Wait = %v, want Done", e)
	}

	w.Begin(0, OpRead, 0, 512)
	if e := w.Wait(context.Background(), make(chan struct{}), Policy{StallTimeout: 10 * time.Millisecond, GiveUp: true}); e != GivenUp {
		t.Errorf("Wait = %v, want GivenUp", e)
	}
}

// What the watch adds to each request of the write and read loops (one 1 MiB block
// takes about 200 µs to write at 5 GB/s).
func BenchmarkRequest(b *testing.B) {
	w := New(8)
	for i := 0; b.Loop(); i++ {
		s := i % 8
		w.Claiming(s, int64(i)<<20)
		w.Begin(s, "write", int64(i)<<20, 1<<20)
		w.End(s)
		w.Idle(s)
	}
}
