// Package iowatch follows the reads and writes a pool of workers has in flight on one
// device, so that the code waiting for them can tell which requests the device has
// not answered, how far it has certainly got, and when it has stopped answering.
//
// A worker owns one slot. It calls Claiming before it claims its next block (with a
// floor: no block it can claim starts below it) and again with the block's offset,
// Begin and End around each request it issues for the block, and Idle when the block
// is done. The caller waits with Wait,
// which reports a stall (no request completed for a while although one is in flight)
// and stops waiting when the context is cancelled and the grace period has run out,
// or, if asked to, when the device stalls. Requests still in flight then are
// abandoned: a thread blocked in the kernel cannot be called back, so the caller
// records them (Pending) and must not reuse their buffers or close their descriptor.
package iowatch

import (
	"cmp"
	"context"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Ops of a Request.
const (
	OpRead  = "read"
	OpWrite = "write"
	OpFlush = "flush"
)

// Request is an I/O request in flight.
type Request struct {
	Op     string
	Offset int64 // -1 for a flush
	Length int64
	Since  time.Time
}

// Watch follows the requests of a fixed set of slots. Its methods are safe for
// concurrent use; each slot is used by one goroutine at a time.
type Watch struct {
	slots   []slot
	last    atomic.Int64 // when a request last completed (or Reset ran), Unix nanoseconds
	stalled atomic.Bool
	// stallSince is last as it was when the stall was found.
	stallSince atomic.Int64
}

type slot struct {
	// floor is at or below the offset of the slot's request in flight, or of the
	// block it is about to claim; math.MaxInt64 when it has neither.
	floor atomic.Int64
	mu    sync.Mutex
	req   Request
	busy  bool
}

// New returns a Watch of n slots, all idle.
func New(n int) *Watch {
	w := &Watch{slots: make([]slot, n)}
	for i := range w.slots {
		w.slots[i].floor.Store(math.MaxInt64)
	}
	w.Reset()
	return w
}

// Reset starts the clock of stall detection anew, as at the start of a pass.
func (w *Watch) Reset() {
	w.last.Store(time.Now().UnixNano())
	w.stalled.Store(false)
}

// Claiming says that slot i is about to claim a block that starts at floor or above,
// or has claimed one at floor: until Idle, Low is at most floor.
func (w *Watch) Claiming(i int, floor int64) { w.slots[i].floor.Store(floor) }

// Idle says that slot i has finished its block (or claims no more).
func (w *Watch) Idle(i int) { w.slots[i].floor.Store(math.MaxInt64) }

// Begin says that slot i has issued a request.
func (w *Watch) Begin(i int, op string, off, n int64) {
	s := &w.slots[i]
	s.mu.Lock()
	s.req, s.busy = Request{Op: op, Offset: off, Length: n, Since: time.Now()}, true
	s.mu.Unlock()
}

// End says that slot i's request returned, successfully or not: the device answered.
func (w *Watch) End(i int) {
	s := &w.slots[i]
	s.mu.Lock()
	s.busy = false
	s.mu.Unlock()
	w.last.Store(time.Now().UnixNano())
}

// Low is the lowest floor of the slots (see Claiming), math.MaxInt64 when all are
// idle. A caller that hands out blocks in order from a counter reads the counter
// first, then Low: every block below the smaller of the two has been written.
func (w *Watch) Low() int64 {
	low := int64(math.MaxInt64)
	for i := range w.slots {
		low = min(low, w.slots[i].floor.Load())
	}
	return low
}

// Pending returns the requests in flight, by offset.
func (w *Watch) Pending() []Request {
	var out []Request
	for i := range w.slots {
		s := &w.slots[i]
		s.mu.Lock()
		if s.busy {
			out = append(out, s.req)
		}
		s.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b Request) int {
		return cmp.Or(cmp.Compare(a.Offset, b.Offset), a.Since.Compare(b.Since))
	})
	return out
}

// Stalled reports whether Wait has found the device stalled and it has not
// answered since.
func (w *Watch) Stalled() bool { return w.stalled.Load() }

// Policy says how Wait waits.
type Policy struct {
	// StallTimeout is how long the device may leave every request in flight
	// unanswered before it counts as stalled; 0 never.
	StallTimeout time.Duration
	// GiveUp ends the wait when the device stalls.
	GiveUp bool
	// Grace is how long Wait still waits once ctx is cancelled; 0 or less waits for
	// done however long it takes.
	Grace time.Duration
	// Stalled is called when the device stalls, with the time of its last progress;
	// Resumed when it answers again.
	Stalled func(since time.Time)
	Resumed func(at time.Time)
}

// Ending says why Wait returned.
type Ending int

const (
	// Done: the work ended; nothing is in flight any more.
	Done Ending = iota
	// Abandoned: ctx was cancelled and the work did not end within the grace period.
	Abandoned
	// GivenUp: the device stalled and the policy gives such a device up.
	GivenUp
)

// Wait waits until done is closed, watching for stalls, and returns why it stopped.
func (w *Watch) Wait(ctx context.Context, done <-chan struct{}, p Policy) Ending {
	var tick <-chan time.Time
	if p.StallTimeout > 0 {
		t := time.NewTicker(min(max(p.StallTimeout/10, 10*time.Millisecond), time.Second))
		defer t.Stop()
		tick = t.C
	}
	cancelled := ctx.Done()
	var grace <-chan time.Time
	for {
		select {
		case <-done:
			w.settle(p)
			return Done
		default:
		}
		select {
		case <-done:
			w.settle(p)
			return Done
		case <-cancelled:
			cancelled = nil
			if p.Grace > 0 {
				t := time.NewTimer(p.Grace)
				defer t.Stop()
				grace = t.C
			}
		case <-grace:
			select {
			case <-done:
				w.settle(p)
				return Done
			default:
				return Abandoned
			}
		case now := <-tick:
			if w.check(now, p) {
				return GivenUp
			}
		}
	}
}

// check notes a stall or its end, and reports whether to give up.
func (w *Watch) check(now time.Time, p Policy) bool {
	last := w.last.Load()
	if w.stalled.Load() {
		w.settle(p)
		return false
	}
	if now.Sub(time.Unix(0, last)) >= p.StallTimeout && w.Busy() {
		w.stallSince.Store(last)
		w.stalled.Store(true)
		if p.Stalled != nil {
			p.Stalled(time.Unix(0, last))
		}
		return p.GiveUp
	}
	return false
}

// settle ends a stall once a request has completed since it began.
func (w *Watch) settle(p Policy) {
	if !w.stalled.Load() {
		return
	}
	if last := w.last.Load(); last != w.stallSince.Load() {
		w.stalled.Store(false)
		if p.Resumed != nil {
			p.Resumed(time.Unix(0, last))
		}
	}
}

// Busy reports whether a request is in flight.
func (w *Watch) Busy() bool {
	for i := range w.slots {
		s := &w.slots[i]
		s.mu.Lock()
		busy := s.busy
		s.mu.Unlock()
		if busy {
			return true
		}
	}
	return false
}
