package wipe

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// cacheTarget is a drive with a volatile write cache: a write lands in the cache
// (what a read would see) and reaches the medium only with the next Sync. At the
// power cut, after cutAfter writes, the cache is lost and the target answers nothing
// more: what survives is the medium.
type cacheTarget struct {
	mu       sync.Mutex
	medium   []byte
	cache    []cachedWrite
	writes   int
	cutAfter int
	cut      bool
	onCut    func()
}

type cachedWrite struct {
	off  int64
	data []byte
}

var errPowerCut = errors.New("power cut")

func (c *cacheTarget) WriteAt(p []byte, off int64) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return 0, errPowerCut
	}
	c.writes++
	if c.cutAfter > 0 && c.writes > c.cutAfter {
		c.cut = true
		c.cache = nil
		go c.onCut()
		return 0, errPowerCut
	}
	c.cache = append(c.cache, cachedWrite{off, bytes.Clone(p)})
	return len(p), nil
}

func (c *cacheTarget) Sync() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return errPowerCut
	}
	for _, w := range c.cache {
		copy(c.medium[w.off:], w.data)
	}
	c.cache = nil
	return nil
}

// wasCut reports whether the power was cut. Writers the wipe abandoned may still be
// calling WriteAt, so it is read under the lock.
func (c *cacheTarget) wasCut() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cut
}

func (c *cacheTarget) durable() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.medium)
}

// A wipe cut off at random points, each time resumed from the last checkpoint it
// reported, ends with the method's last pass on every byte; and no checkpoint ever
// claims a byte that was not on the medium when it was reported.
func TestResumeAfterPowerCuts(t *testing.T) {
	const size = 4<<20 + 8192 // not a multiple of the block size
	m := mustMethod(t, "dod-3")
	plan := PassPlan{Method: m}
	passes := plan.Passes()
	rng := rand.New(rand.NewPCG(7, 17))
	for iter := range 30 {
		tgt := Target{Path: "/dev/mem0", Kind: KindDrive, SectorSize: 512, Identity: Identity{SizeBytes: size}}
		medium := bytes.Repeat([]byte{0xa5}, size)
		var resume *Resume
		cuts := 0
		for {
			ctx, cancel := context.WithCancel(context.Background())
			dev := &cacheTarget{medium: medium, onCut: cancel}
			if cuts < 3 {
				dev.cutAfter = 1 + rng.IntN(3*size/(64<<10)) // somewhere in the three passes
			}
			var last *Checkpoint
			var done []PassRecord
			opts := Options{BlockSize: 64 << 10, QueueDepth: 4, CheckpointInterval: 1, Resume: resume,
				StopGrace: 1}
			opts.Checkpoint = func(c Checkpoint) {
				// What the checkpoint claims must be on the medium now.
				pr := PassRecord{Pattern: c.Pattern, Keys: c.Keys}
				want := expected(t, pr, size)[:c.Offset]
				if got := dev.durable()[:c.Offset]; !bytes.Equal(got, want) {
					// Called from the engine's goroutines: no Fatal here.
					t.Errorf("iteration %d: checkpoint pass %d offset %d claims bytes not on the medium", iter, c.Pass, c.Offset)
				}
				if c.Completed {
					done = append(done, *c.Record)
				}
				cp := c
				last = &cp
			}
			if resume != nil {
				done = append([]PassRecord(nil), resume.Done...)
			}
			rec := overwrite(ctx, dev, tgt, true, plan, opts)
			cancel()
			if t.Failed() {
				t.FailNow()
			}
			medium = dev.durable()
			if !dev.wasCut() {
				if rec.Outcome != OutcomeCompleted {
					t.Fatalf("iteration %d: outcome %s: %s", iter, rec.Outcome, rec.Error)
				}
				if len(rec.Passes) != len(passes) {
					t.Fatalf("iteration %d: %d passes recorded", iter, len(rec.Passes))
				}
				if !bytes.Equal(medium, expected(t, rec.Passes[len(passes)-1], size)) {
					t.Fatalf("iteration %d: after %d cuts the medium does not hold the last pass", iter, cuts)
				}
				for _, pr := range rec.Passes {
					if pr.BytesWritten != size || !pr.Completed {
						t.Errorf("iteration %d: pass %d wrote %d, completed %v", iter, pr.Number, pr.BytesWritten, pr.Completed)
					}
				}
				break
			}
			cuts++
			// Resume from the journal's view: the last checkpoint.
			switch {
			case last == nil:
				resume = nil
			case last.Completed:
				resume = &Resume{Done: done, Pass: last.Pass + 1}
			default:
				resume = &Resume{Done: done, Pass: last.Pass, Offset: last.Offset, Keys: last.Keys, Bad: last.Bad}
			}
		}
	}
}

func TestResumeRefusesWhatDoesNotFit(t *testing.T) {
	m := mustMethod(t, "dod-3")
	zero := PassRecord{Number: 1, Pattern: Fixed(0), Completed: true}
	for name, r := range map[string]Resume{
		"pass past the end":        {Pass: 5, Done: []PassRecord{zero, zero, zero, zero}},
		"done count wrong":         {Pass: 2},
		"offset beyond the target": {Pass: 1, Offset: 2 << 20},
		"other pattern done":       {Pass: 2, Done: []PassRecord{{Number: 1, Pattern: Fixed(0xff), Completed: true}}},
		"random without keys":      {Pass: 3, Offset: 4096, Done: []PassRecord{zero, {Number: 2, Pattern: Fixed(0xff), Completed: true}}},
	} {
		t.Run(name, func(t *testing.T) {
			mem, tgt := memDrive(1 << 20)
			before := bytes.Clone(mem.data)
			rec := overwrite(context.Background(), mem, tgt, true, PassPlan{Method: m}, Options{Resume: &r})
			if rec.Outcome != OutcomeFailed || rec.Error == "" {
				t.Fatalf("outcome %s", rec.Outcome)
			}
			if !bytes.Equal(before, mem.data) {
				t.Error("a refused resume wrote")
			}
		})
	}
}

// A resumed random pass continues the same keystream: the bytes below the resume
// point, written by the first run, and those above, by the second, are one pass.
func TestResumedRandomPassIsOneKeystream(t *testing.T) {
	const size = 2 << 20
	mem, tgt := memDrive(size)
	keys, err := NewKeys()
	if err != nil {
		t.Fatal(err)
	}
	first := PassRecord{Pattern: Random(), Keys: &keys}
	copy(mem.data, expected(t, first, size)[:1<<20]) // the first run got half way
	m := CustomMethod([]Pattern{Random()}, 1, false)
	rec := overwrite(context.Background(), mem, tgt, true, PassPlan{Method: m},
		Options{BlockSize: 256 << 10, Resume: &Resume{Pass: 1, Offset: 1<<20 + 1000, Keys: &keys}})
	if rec.Outcome != OutcomeCompleted {
		t.Fatalf("outcome %s: %s", rec.Outcome, rec.Error)
	}
	pr := rec.Passes[0]
	if pr.ResumedFrom == nil || *pr.ResumedFrom != 1<<20 || pr.BytesWritten != size {
		t.Fatalf("resumed from %v, %d bytes", pr.ResumedFrom, pr.BytesWritten)
	}
	if !bytes.Equal(mem.data, expected(t, first, size)) {
		t.Error("the resumed pass is not the keystream it began")
	}
}

// slowFlush is a target whose flush takes a while; it notes when each flush began and
// how long it took.
type slowFlush struct {
	*memTarget
	flushTime time.Duration
	mu        sync.Mutex
	flushes   []flushSpan
}

type flushSpan struct {
	began time.Time
	took  time.Duration
}

func (s *slowFlush) WriteAt(p []byte, off int64) (int, error) {
	time.Sleep(200 * time.Microsecond) // a pass lasts long enough for several checkpoints
	return s.memTarget.WriteAt(p, off)
}

func (s *slowFlush) Sync() error {
	began := time.Now()
	time.Sleep(s.flushTime)
	s.mu.Lock()
	s.flushes = append(s.flushes, flushSpan{began, time.Since(began)})
	s.mu.Unlock()
	return nil
}

// Checkpoints of a target whose flush is slow are spaced so that each flush takes at
// most a CheckpointCostRatio share of the time since the one before.
func TestCheckpointsSpacedByTheirCost(t *testing.T) {
	const size = 8 << 20
	mem, tgt := memDrive(size)
	dev := &slowFlush{memTarget: mem, flushTime: 2 * time.Millisecond}
	var mid int
	rec := overwrite(context.Background(), dev, tgt, true, PassPlan{Method: mustMethod(t, "zero")},
		Options{BlockSize: 4096, QueueDepth: 1, CheckpointInterval: time.Microsecond,
			Checkpoint: func(c Checkpoint) {
				if !c.Completed && c.Offset > 0 {
					mid++
				}
			}})
	if rec.Outcome != OutcomeCompleted {
		t.Fatalf("outcome %s: %s", rec.Outcome, rec.Error)
	}
	// The flushes within the pass are all but the last one (the pass's own).
	spans := dev.flushes[:len(dev.flushes)-1]
	if len(spans) < 2 || mid != len(spans) {
		t.Fatalf("%d checkpoints within the pass, %d flushes for them: the pass was too short to tell", mid, len(spans))
	}
	for i := 1; i < len(spans); i++ {
		gap := spans[i].began.Sub(spans[i-1].began)
		if gap < CheckpointCostRatio*spans[i-1].took {
			t.Errorf("flush %d began %v after one that took %v: less than %d times its cost", i, gap, spans[i-1].took, CheckpointCostRatio)
		}
	}
}

// A wipe stopped while a checkpoint is being handed on returns only after that call
// has ended, and no checkpoint follows its return: the caller owns its journal again.
func TestNoCheckpointAfterStop(t *testing.T) {
	const size = 64 << 20
	tgt := Target{Path: "/dev/null0", Kind: KindDrive, SectorSize: 512, Identity: Identity{SizeBytes: size}}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu       sync.Mutex
		inFlight int
		calls    int
		held     bool
	)
	entered := make(chan struct{})
	release := make(chan struct{})
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(free) // a failed test leaves no wipe held
	opts := Options{BlockSize: 64 << 10, QueueDepth: 2, CheckpointInterval: time.Millisecond, StopGrace: time.Millisecond}
	opts.Checkpoint = func(c Checkpoint) {
		mu.Lock()
		inFlight++
		calls++
		first := c.Offset > 0 && !held
		held = held || first
		mu.Unlock()
		if first {
			close(entered) // the checkpointer's first: hold it while the wipe is stopped
			<-release
		}
		mu.Lock()
		inFlight--
		mu.Unlock()
	}
	slow := &slowTarget{delay: 100 * time.Microsecond}
	result := make(chan Record, 1)
	go func() { result <- overwrite(ctx, slow, tgt, true, PassPlan{Method: mustMethod(t, "zero")}, opts) }()
	<-entered
	cancel()
	// Without the engine waiting for it, the wipe returns within its grace while the
	// call is held; hold it long enough for that to show.
	select {
	case rec := <-result:
		t.Fatalf("the wipe returned (%s) while a checkpoint was being handed on", rec.Outcome)
	case <-time.After(200 * time.Millisecond):
	}
	free()
	rec := <-result
	mu.Lock()
	n, busy := calls, inFlight
	mu.Unlock()
	if busy != 0 {
		t.Fatalf("the wipe returned with %d checkpoint calls in progress", busy)
	}
	if rec.Outcome == OutcomeCompleted {
		t.Fatalf("outcome %s, want the wipe stopped", rec.Outcome)
	}
	time.Sleep(20 * time.Millisecond) // a checkpointer left running would hand on more by now
	mu.Lock()
	defer mu.Unlock()
	if calls != n {
		t.Errorf("%d checkpoints handed on after the wipe returned", calls-n)
	}
}

// slowTarget takes delay for every write and keeps nothing.
type slowTarget struct{ delay time.Duration }

func (s *slowTarget) WriteAt(p []byte, _ int64) (int, error) { time.Sleep(s.delay); return len(p), nil }
func (*slowTarget) Sync() error                              { return nil }
