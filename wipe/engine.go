package wipe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/decom-project/decom/internal/blockio"
	"github.com/decom-project/decom/internal/iowatch"
	"github.com/decom-project/decom/internal/ticker"
)

// Options tune the overwrite engine. The zero value means the defaults.
type Options struct {
	// BlockSize is the size of one write, a multiple of 4096 (default 1 MiB).
	BlockSize int
	// QueueDepth is the number of writes in flight per target (default 8).
	QueueDepth int
	// Retries is how often a failed write is tried again before its range is
	// narrowed down to bad sectors (default 2).
	Retries int
	// MaxBadRanges ends a wipe as failed when more ranges than this are unwritable
	// (default 4096): the drive is dying, not speckled.
	MaxBadRanges int
	// SyncEvery bounds the unflushed bytes in buffered mode (default 256 MiB).
	SyncEvery int64
	// ProgressInterval is the time between progress events (default 1s).
	ProgressInterval time.Duration
	// Progress, when not nil, receives progress events. It is called from the
	// engine's own goroutine, one call at a time per target.
	Progress func(Event)
	// PassStarted, when not nil, is called as each pass begins (number is 1-based),
	// before its first write.
	PassStarted func(number int, p Pattern)
	// AfterPass, when not nil, is called after each pass that ran to its end and was
	// flushed, before the next pass starts: the moment to read the pass back. last
	// says it is the final pass. An error ends the wipe as failed with it (a
	// verification given up as stalled, say).
	AfterPass func(ctx context.Context, pass PassRecord, last bool) error
	// StallTimeout makes a target that answers no write (or flush) for this long,
	// although one is waiting, stalled: the record lists the stall, Stalled is
	// called, progress events say so, and it is logged. 0 never.
	StallTimeout time.Duration
	// GiveUpStalled ends the wipe of a stalled target at once, as failed, without
	// waiting for the writes it leaves unanswered (the record's PendingIO).
	GiveUpStalled bool
	// Stalled, when not nil, is called when the target stalls.
	Stalled func(Stall)
	// StopGrace is how long, once ctx is cancelled, the engine waits for the writes
	// in flight (and then for a flush of what was written) before it stops waiting
	// and returns the aborted record, with the writes still unanswered in its
	// PendingIO (default 3s).
	StopGrace time.Duration
	// Checkpoint, when not nil, receives the wipe's durable progress (see
	// Checkpoint): the moment to journal it. It is called from the engine's
	// goroutines, one call at a time, and the wipe waits for it: a pass's first
	// write follows the return of the checkpoint that gives its keys.
	Checkpoint func(Checkpoint)
	// CheckpointInterval is the least time between two checkpoints of a running
	// pass (default DefaultCheckpointInterval). The engine spaces them further when
	// they are slow: the flush and the Checkpoint call take at most a
	// 1/CheckpointCostRatio share of the time (a drive whose flush takes 200 ms is
	// checkpointed every 20 s).
	CheckpointInterval time.Duration
	// Resume continues an interrupted wipe instead of starting it afresh.
	Resume *Resume
	Logger *slog.Logger

	// pool generates the blocks of random passes; nil means the process's pool,
	// shared by every target being wiped (tests give a pool of their own).
	pool *keyPool
}

// Defaults of Options.
const (
	DefaultBlockSize  = 1 << 20
	DefaultQueueDepth = 8
	DefaultStopGrace  = 3 * time.Second
)

func (o Options) withDefaults() Options {
	if o.BlockSize == 0 {
		o.BlockSize = DefaultBlockSize
	}
	if o.QueueDepth == 0 {
		o.QueueDepth = DefaultQueueDepth
	}
	if o.Retries == 0 {
		o.Retries = 2
	}
	if o.MaxBadRanges == 0 {
		o.MaxBadRanges = 4096
	}
	if o.SyncEvery == 0 {
		o.SyncEvery = 256 << 20
	}
	if o.ProgressInterval == 0 {
		o.ProgressInterval = time.Second
	}
	if o.StopGrace == 0 {
		o.StopGrace = DefaultStopGrace
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = DefaultCheckpointInterval
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.pool == nil {
		o.pool = defaultKeyPool()
	}
	return o
}

// Validate reports options no engine can honour.
func (o Options) Validate() error {
	o = o.withDefaults()
	if o.BlockSize < 4096 || o.BlockSize%4096 != 0 || o.BlockSize > 64<<20 {
		return fmt.Errorf("block size %d: want a multiple of 4096 up to 64 MiB", o.BlockSize)
	}
	if o.QueueDepth < 1 || o.QueueDepth > 256 {
		return fmt.Errorf("queue depth %d: want 1 to 256", o.QueueDepth)
	}
	return nil
}

// PassPlan is what to write: a method, repeated, optionally followed by zeros.
type PassPlan struct {
	Method Method
	Rounds int
	Blank  bool
}

// Passes is the plan's pass sequence.
func (p PassPlan) Passes() []Pattern { return p.Method.Sequence(p.Rounds, p.Blank) }

// writeTarget is what the engine writes to; *Device in production.
//
// WriteAt must write all of p or return an error; Sync must not return before what
// was written is on the medium.
type writeTarget interface {
	WriteAt(p []byte, off int64) (int, error)
	Sync() error
}

// Overwrite runs plan's passes over dev and returns what happened. It never returns
// early without a record: a cancelled ctx gives an aborted record saying where the
// wipe stopped.
func Overwrite(ctx context.Context, dev *Handle, plan PassPlan, opts Options) Record {
	return overwrite(ctx, dev, dev.Target, dev.Direct, plan, opts)
}

func overwrite(ctx context.Context, w writeTarget, t Target, direct bool, plan PassPlan, opts Options) Record {
	opts = opts.withDefaults()
	passes := plan.Passes()
	rec := Record{
		Device: t.Path, Kind: t.Kind, Identity: t.Identity,
		Method: plan.Method.Name, Title: plan.Method.Title, NISTClass: plan.Method.NISTClass, Technique: TechOverwrite,
		Rounds: max(plan.Rounds, 1), Blank: plan.Blank, VerifyRequired: plan.Method.Verify,
		IOMode: IODirect, BlockSize: opts.BlockSize, QueueDepth: opts.QueueDepth,
		Passes: []PassRecord{}, Warnings: slices.Clone(t.Warnings), Started: time.Now().UTC(),
	}
	if t.Kind != KindFile {
		d := t.Drive
		rec.Drive = &d
	}
	if !direct {
		rec.IOMode = IOBuffered
		rec.Warnings = append(rec.Warnings, "the target refused O_DIRECT: writes went through the page cache with periodic fdatasync")
		opts.Logger.Warn("O_DIRECT refused; writing through the page cache with periodic fdatasync", "device", t.Path)
	}
	if err := opts.Validate(); err != nil {
		rec.Outcome, rec.Error, rec.Finished = OutcomeFailed, err.Error(), time.Now().UTC()
		return rec
	}
	e := &engine{w: w, t: t, direct: direct, opts: opts, size: t.Size(), sector: int64(max(t.SectorSize, 512)),
		passes: len(passes), watch: iowatch.New(opts.QueueDepth + 1)}
	e.retry = blockio.Retry{Op: "write", Sector: e.sector, Retries: opts.Retries,
		Final: func(err error) bool { return errors.Is(err, errAbandoned) },
		Narrowing: func(off, n int64, err error) {
			opts.Logger.Warn("write failed; narrowing down the bad range", "device", t.Path, "offset", off, "length", n, "err", err)
		},
		Bad: func(r blockio.Range, err error) error { return e.recordBad(Range(r), err) },
	}
	e.allocate(passes)
	rec.Outcome = OutcomeCompleted
	first, start := 0, passStart{}
	if r := opts.Resume; r != nil {
		if err := r.check(passes, e.size); err != nil {
			rec.Outcome, rec.Error, rec.Finished = OutcomeFailed, err.Error(), time.Now().UTC()
			return rec
		}
		for _, d := range r.Done {
			rec.Passes = append(rec.Passes, d)
			rec.BytesWritten += d.BytesWritten
			if len(d.BadRanges) > 0 {
				rec.Outcome = OutcomeExceptions
			}
		}
		if r.AfterPass && opts.AfterPass != nil {
			if err := opts.AfterPass(ctx, r.Done[len(r.Done)-1], len(r.Done) == len(passes)); err != nil {
				rec.Outcome, rec.Error, rec.Finished = OutcomeFailed, err.Error(), time.Now().UTC()
				return rec
			}
		}
		first = r.Pass - 1
		start = passStart{offset: r.Offset / int64(opts.BlockSize) * int64(opts.BlockSize), keys: r.Keys, resumed: true}
		for _, b := range r.Bad {
			if b.Offset+b.Length <= start.offset {
				start.bad = append(start.bad, b)
			}
		}
	}
	for i := first; i < len(passes); i++ {
		p := passes[i]
		pr, stop := e.pass(ctx, i+1, p, passes[i+1:], start)
		start = passStart{}
		rec.Passes = append(rec.Passes, pr)
		rec.BytesWritten += pr.BytesWritten
		if len(pr.BadRanges) > 0 && rec.Outcome == OutcomeCompleted {
			rec.Outcome = OutcomeExceptions
		}
		if stop == nil && opts.AfterPass != nil {
			if err := opts.AfterPass(ctx, pr, i == len(passes)-1); err != nil {
				rec.Outcome, rec.Error = OutcomeFailed, err.Error()
				break
			}
		}
		if stop != nil {
			if errors.Is(stop, context.Canceled) || errors.Is(stop, context.DeadlineExceeded) {
				rec.Outcome = OutcomeAborted
				rec.AbortedAt = &Position{Pass: i + 1, Offset: e.reached}
				rec.Error = "interrupted"
			} else {
				rec.Outcome = OutcomeFailed
				rec.Error = stop.Error()
			}
			break
		}
	}
	rec.Stalls = e.stalls.List()
	if len(e.pending) > 0 {
		rec.PendingIO = e.pending
		rec.Error += "; " + DescribePending(e.pending)
	}
	rec.Finished = time.Now().UTC()
	return rec
}

// DescribePending says in a sentence what was left unanswered.
func DescribePending(pending []PendingIO) string {
	var parts []string
	total := 0
	since := pending[0].Since
	for _, op := range []string{iowatch.OpWrite, iowatch.OpRead, iowatch.OpFlush} {
		var of []PendingIO
		for _, p := range pending {
			if p.Op == op {
				of = append(of, p)
			}
			if p.Since.Before(since) {
				since = p.Since
			}
		}
		total += len(of)
		switch {
		case len(of) == 0:
		case op == iowatch.OpFlush:
			parts = append(parts, "a flush")
		case len(of) == 1:
			parts = append(parts, fmt.Sprintf("a %s of %d bytes at offset %d", op, of[0].Length, of[0].Offset))
		default:
			parts = append(parts, fmt.Sprintf("%d %ss (the lowest at offset %d)", len(of), op, of[0].Offset))
		}
	}
	verb := "was"
	if total > 1 {
		verb = "were"
	}
	return fmt.Sprintf("%s %s still outstanding in the kernel when decom stopped waiting (since %s)",
		strings.Join(parts, " and "), verb, since.UTC().Format(time.RFC3339))
}

// engine holds one target's buffers and counters across its passes.
type engine struct {
	w      writeTarget
	t      Target
	direct bool
	opts   Options
	size   int64
	sector int64
	passes int
	// retry retries a failed write, then narrows it down to the bad sectors.
	retry blockio.Retry

	bufs  [][]byte // the ring a random pass's blocks are generated into (see keyQueue)
	fixed [][]byte // per phase, for fixed passes

	// per pass
	next     atomic.Int64 // next block index to claim
	done     atomic.Int64 // bytes written
	synced   atomic.Int64 // bytes written when buffered mode last synced
	syncMu   sync.Mutex
	mu       sync.Mutex
	bad      []Range
	badCause map[int64]string      // error text by bad sector offset
	fatal    atomic.Pointer[error] // the first error that ends the pass
	reached  int64

	// watch follows the writes in flight, a slot per worker and one for flushes.
	watch     *iowatch.Watch
	abandoned atomic.Bool // the engine stopped waiting: workers issue nothing more
	cpMu      sync.Mutex  // one Checkpoint call at a time
	durable   int64       // the pass's last checkpointed offset (the checkpointer's)
	stalls    StallLog
	pending   []PendingIO // what was left unanswered
}

// errAbandoned ends a worker whose write returned after the engine stopped waiting.
var errAbandoned = errors.New("the wipe stopped waiting for this write")

// flushSlot is the watch slot of the flushes at the end of a pass.
func (e *engine) flushSlot() int { return e.opts.QueueDepth }

// keyLookahead is how many blocks of a random pass the pool may generate ahead of
// the writers, beyond one per writer: each costs a block's memory per target.
const keyLookahead = 2

// allocate makes every buffer the passes need, once: the write loop allocates
// nothing.
func (e *engine) allocate(passes []Pattern) {
	bs := e.opts.BlockSize
	period := 0
	random := false
	for _, p := range passes {
		if p.Kind == KindRandom {
			random = true
		} else {
			period = max(period, len(p.Value))
		}
	}
	if random {
		e.bufs = blockio.AlignedBuffers(e.opts.QueueDepth+keyLookahead, bs)
	}
	e.fixed = blockio.AlignedBuffers(period, bs)
}

// pass writes one pattern over the whole target. stop is non-nil when the wipe must
// end: cancelled, the device gone, too many bad ranges, or a failed flush.
// passStart is where a pass begins: at 0, or where an interrupted wipe continues.
type passStart struct {
	offset  int64
	keys    *Keys
	bad     []Range
	resumed bool
}

func (e *engine) pass(ctx context.Context, number int, p Pattern, rest []Pattern, start passStart) (PassRecord, error) {
	pr := PassRecord{Number: number, Pattern: p, BadRanges: []Range{}, Errors: []string{}, Started: time.Now().UTC()}
	if start.resumed {
		from := start.offset
		pr.ResumedFrom = &from
	}
	finish := func(stop error) (PassRecord, error) {
		pr.BytesWritten = uint64(e.done.Load())
		e.mu.Lock() // workers left behind by a stop may still record a bad range
		pr.BadRanges = MergeRanges(e.bad)
		pr.Errors = append(e.badRangeErrors(pr.BadRanges), pr.Errors...)
		e.mu.Unlock()
		pr.Finished = time.Now().UTC()
		return pr, stop
	}
	var keys Keys
	switch {
	case p.Kind == KindRandom && start.keys != nil:
		keys = *start.keys
		pr.Keys = &keys
	case p.Kind == KindRandom:
		var err error
		if keys, err = NewKeys(); err != nil {
			return finish(fmt.Errorf("draw random keys: %w", err))
		}
		pr.Keys = &keys
	}
	stream, err := NewStream(p, keys)
	if err != nil {
		return finish(err)
	}
	for phase := range stream.Period() {
		stream.FillAt(e.fixed[phase], int64(phase))
	}
	bs := int64(e.opts.BlockSize)
	e.next.Store(start.offset / bs)
	e.done.Store(start.offset)
	e.synced.Store(start.offset)
	e.bad, e.badCause = slices.Clone(start.bad), nil
	e.fatal.Store(nil)
	e.durable = start.offset

	if e.opts.PassStarted != nil {
		e.opts.PassStarted(number, p)
	}
	e.checkpoint(Checkpoint{Pass: number, Pattern: p, Keys: pr.Keys, Offset: start.offset, Bad: start.bad})
	stopProgress := e.reportProgress(number, p, rest, start.offset)
	e.watch.Reset()
	policy := e.policy(number)
	var gen *keyQueue
	if stream.Period() == 0 {
		// The pool fills the blocks ahead of the writers; the pass ends it before it
		// returns, whatever the writers left unfinished. Its generators need a P
		// while the writers are blocked in their writes (reserveProcs).
		defer reserveProcs(e.opts.QueueDepth)()
		gen = e.opts.pool.join(e.bufs, e.opts.QueueDepth, bs, e.size, start.offset/bs, func(buf []byte, off int64) {
			stream.FillOut(buf, off)
		})
		defer gen.leave()
	}
	var wg sync.WaitGroup
	for w := range e.opts.QueueDepth {
		wg.Go(func() { e.worker(ctx, w, stream, gen) })
	}
	writers := make(chan struct{})
	go func() { wg.Wait(); close(writers) }()
	all := writers
	if e.opts.Checkpoint != nil {
		// The checkpointer is waited for like a writer: its flushes are requests
		// the target may leave unanswered too.
		all = make(chan struct{})
		go func() {
			e.checkpointer(ctx, number, p, pr.Keys, writers, policy)
			close(all)
		}()
	}
	ending := e.watch.Wait(ctx, all, policy)
	e.reached = e.mark()
	stopProgress()
	if stopped, err := e.stoppedWaiting(ctx, ending); stopped {
		return finish(err)
	}

	if fatal := e.fatal.Load(); fatal != nil {
		return finish(*fatal)
	}
	if err := ctx.Err(); err != nil && e.reached < e.size {
		// Stopped: what was written is flushed, if the target answers in time, so
		// that AbortedAt is a lower bound of what is on the medium.
		switch ending, ferr := e.flush(ctx, policy); {
		case ending != iowatch.Done:
			e.abandon()
		case ferr == nil:
			pr.Flushed = true
		}
		return finish(err)
	}
	ending, err = e.flush(ctx, policy)
	if stopped, err := e.stoppedWaiting(ctx, ending); stopped {
		return finish(err)
	}
	if err != nil {
		msg := fmt.Sprintf("flush at the end of the pass failed: %v", err)
		pr.Errors = append(pr.Errors, msg)
		return finish(errors.New(msg))
	}
	pr.Flushed = true
	pr.Completed = true
	pr, stop := finish(nil)
	e.checkpoint(Checkpoint{Pass: number, Pattern: p, Keys: pr.Keys, Offset: e.size, Bad: pr.BadRanges,
		Completed: true, Record: &pr})
	return pr, stop
}

// checkpoint hands durable progress to Options.Checkpoint, one call at a time, and
// none once the engine has stopped waiting (abandon): the pass returns then, and what
// the callback writes (a resume journal) is its caller's again.
func (e *engine) checkpoint(c Checkpoint) {
	if e.opts.Checkpoint == nil {
		return
	}
	e.cpMu.Lock()
	defer e.cpMu.Unlock()
	if e.abandoned.Load() {
		return
	}
	c.At = time.Now().UTC()
	e.opts.Checkpoint(c)
}

// checkpointer flushes the target every CheckpointInterval while the pass's writers
// run and reports how far the pass is durable: the mark taken before a flush is
// covered by it, since every write below the mark had returned when the flush was
// issued. It ends when the writers have (the pass's own last flush follows) or the
// pass must stop.
func (e *engine) checkpointer(ctx context.Context, number int, p Pattern, keys *Keys, writers <-chan struct{}, policy iowatch.Policy) {
	wait := e.opts.CheckpointInterval
	for {
		t := time.NewTimer(wait)
		select {
		case <-writers:
			t.Stop()
			return
		case <-ctx.Done():
			t.Stop()
			<-writers
			return
		case <-t.C:
		}
		if e.abandoned.Load() || e.fatal.Load() != nil {
			<-writers
			return
		}
		mark := e.mark()
		if mark <= e.durable {
			continue
		}
		began := time.Now()
		e.watch.Begin(e.flushSlot(), iowatch.OpFlush, -1, 0)
		err := e.w.Sync()
		e.watch.End(e.flushSlot())
		if e.abandoned.Load() {
			<-writers
			return
		}
		if err != nil {
			e.fail(fmt.Errorf("flush for a checkpoint failed: %w", err))
			<-writers
			return
		}
		e.durable = mark
		e.mu.Lock()
		var bad []Range
		for _, r := range MergeRanges(e.bad) {
			if r.Offset < mark {
				bad = append(bad, r)
			}
		}
		e.mu.Unlock()
		e.checkpoint(Checkpoint{Pass: number, Pattern: p, Keys: keys, Offset: mark, Bad: bad})
		wait = max(e.opts.CheckpointInterval, CheckpointCostRatio*time.Since(began))
	}
}

// CheckpointCostRatio bounds what checkpoints cost a wipe: the time between two is at
// least this many times what the last one took (its flush, which a device may serve
// ahead of the writes queued behind it, and its journal).
const CheckpointCostRatio = 100

// flush syncs the target, waiting for it as for the writes.
func (e *engine) flush(ctx context.Context, policy iowatch.Policy) (iowatch.Ending, error) {
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.watch.Begin(e.flushSlot(), iowatch.OpFlush, -1, 0)
		err = e.w.Sync()
		e.watch.End(e.flushSlot())
	}()
	ending := e.watch.Wait(ctx, done, policy)
	if ending != iowatch.Done {
		return ending, nil
	}
	return ending, err
}

// mark is how far the pass has certainly got: every block below it was written
// (or its bad sectors recorded).
func (e *engine) mark() int64 {
	next := e.next.Load() * int64(e.opts.BlockSize)
	return min(next, e.watch.Low(), e.size)
}

// abandon stops waiting for the writes in flight: they are recorded as pending, and
// a worker whose write returns later writes nothing more.
func (e *engine) abandon() {
	// Under cpMu: a checkpoint being handed on ends before the pass returns, and the
	// checkpointer, which may outlive the pass, hands on none after.
	e.cpMu.Lock()
	e.abandoned.Store(true)
	e.cpMu.Unlock()
	e.pending = append(e.pending, Pending(e.watch.Pending())...)
}

// Pending records the requests a watch was still waiting for when decom stopped
// waiting, for a record.
func Pending(reqs []iowatch.Request) []PendingIO {
	var out []PendingIO
	for _, r := range reqs {
		out = append(out, PendingIO{Op: r.Op, Offset: r.Offset, Length: r.Length, Since: r.Since.UTC()})
	}
	return out
}

// stoppedWaiting reports whether the wait ended without every request answered
// (interrupted, or given up at a stall); then it abandons the outstanding requests
// and returns the error the pass ends with.
func (e *engine) stoppedWaiting(ctx context.Context, ending iowatch.Ending) (bool, error) {
	switch ending {
	case iowatch.Abandoned:
		e.abandon()
		return true, ctx.Err()
	case iowatch.GivenUp:
		e.abandon()
		return true, e.givenUp()
	}
	return false, nil
}

// givenUp is the error of a wipe given up at a stall.
func (e *engine) givenUp() error {
	s, _ := e.stalls.Last()
	return fmt.Errorf("stalled: no write completed for %s (pass %d, offset %d); given up",
		time.Duration(s.Timeout*float64(time.Second)), s.Pass, s.Offset)
}

// policy is how the engine waits for pass number's writes.
func (e *engine) policy(number int) iowatch.Policy {
	return iowatch.Policy{StallTimeout: e.opts.StallTimeout, GiveUp: e.opts.GiveUpStalled, Grace: e.opts.StopGrace,
		Stalled: func(since time.Time) {
			s := Stall{Device: e.t.Path, Phase: PhaseWrite, Pass: number, Offset: e.mark(), Since: since.UTC(),
				Detected: time.Now().UTC(), Timeout: e.opts.StallTimeout.Seconds(), GivenUp: e.opts.GiveUpStalled}
			e.stalls.Add(s)
			e.opts.Logger.Warn("stalled: the target has answered no write for "+e.opts.StallTimeout.String(),
				"device", e.t.Path, "pass", number, "offset", s.Offset, "since", s.Since, "give_up", s.GivenUp)
			if e.opts.Stalled != nil {
				e.opts.Stalled(s)
			}
		},
		Resumed: func(at time.Time) {
			e.stalls.Resumed(at)
			e.opts.Logger.Info("the stalled target answers again", "device", e.t.Path, "pass", number)
		},
	}
}

// worker claims blocks in order and writes them until the pass is done or must stop.
// A random pass's blocks come from gen, generated by the pool.
func (e *engine) worker(ctx context.Context, w int, stream *Stream, gen *keyQueue) {
	bs := int64(e.opts.BlockSize)
	for {
		if ctx.Err() != nil || e.fatal.Load() != nil || e.abandoned.Load() {
			return
		}
		e.watch.Claiming(w, e.next.Load()*bs)
		i := e.next.Add(1) - 1
		off := i * bs
		if off >= e.size {
			e.watch.Idle(w)
			return
		}
		e.watch.Claiming(w, off)
		n := min(bs, e.size-off)
		var buf []byte
		if p := stream.Period(); p > 0 {
			buf = e.fixed[off%int64(p)][:n]
		} else {
			var ok bool
			if buf, ok = gen.take(ctx, w, i); !ok {
				return // cancelled, or the pass stopped waiting: the block stays claimed
			}
		}
		written, err := e.writeBlock(ctx, w, buf, off)
		if gen != nil {
			// Released even after a failed write: a writer waiting for the block that
			// reuses the buffer must not wait for ever.
			gen.release(i)
		}
		e.done.Add(written)
		if err != nil {
			// The block stays claimed: the pass did not get past it. Cancelled, the
			// pass ends as aborted, not failed.
			if cerr := ctx.Err(); cerr == nil || !errors.Is(err, cerr) {
				e.fail(err)
			}
			return
		}
		e.watch.Idle(w)
		if !e.direct {
			e.maybeSync(w)
		}
	}
}

func (e *engine) fail(err error) { e.fatal.CompareAndSwap(nil, &err) }

// writeBlock writes buf at off, retrying; a block that keeps failing is narrowed
// down to the sectors that cannot be written, which are recorded as bad ranges. A
// failed write may still have written part of the block (the kernel splits large
// requests), so the narrowing rewrites all of it. It returns the bytes written; its
// error is fatal to the wipe, unless it is ctx's.
func (e *engine) writeBlock(ctx context.Context, w int, buf []byte, off int64) (int64, error) {
	written, _, err := e.retry.Do(ctx, off, int64(len(buf)), func(o, n int64) error {
		return e.writeFull(w, buf[o-off:o-off+n], o)
	})
	return written, err
}

// recordBad records a sector that cannot be written, and fails the wipe when there
// are too many.
func (e *engine) recordBad(r Range, err error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.bad = append(e.bad, r)
	if e.badCause == nil {
		e.badCause = map[int64]string{}
	}
	e.badCause[r.Offset] = err.Error()
	if len(e.bad) > e.opts.MaxBadRanges {
		return fmt.Errorf("more than %d unwritable sectors: the device is failing", e.opts.MaxBadRanges)
	}
	return nil
}

// badRangeErrors describes each merged bad range with the error of its first sector.
func (e *engine) badRangeErrors(merged []Range) []string {
	out := make([]string, 0, len(merged))
	for _, r := range merged {
		out = append(out, fmt.Sprintf("unwritable: %d bytes at offset %d: %s", r.Length, r.Offset, e.badCause[r.Offset]))
	}
	return out
}

// writeFull writes buf at off through worker w's watch slot. Once the engine has
// stopped waiting (abandoned), it writes nothing more.
func (e *engine) writeFull(w int, buf []byte, off int64) error {
	for len(buf) > 0 {
		if e.abandoned.Load() {
			return errAbandoned
		}
		e.watch.Begin(w, iowatch.OpWrite, off, int64(len(buf)))
		n, err := e.w.WriteAt(buf, off)
		e.watch.End(w)
		if err != nil {
			return err
		}
		if n <= 0 {
			return io.ErrShortWrite
		}
		buf, off = buf[n:], off+int64(n)
	}
	return nil
}

// maybeSync bounds the dirty page cache in buffered mode; a failed sync cannot be
// pinned to a range and fails the wipe.
func (e *engine) maybeSync(w int) {
	if e.done.Load()-e.synced.Load() < e.opts.SyncEvery || !e.syncMu.TryLock() {
		return
	}
	defer e.syncMu.Unlock()
	mark := e.done.Load()
	e.watch.Begin(w, iowatch.OpFlush, -1, 0)
	err := e.w.Sync()
	e.watch.End(w)
	if err != nil {
		e.fail(fmt.Errorf("fdatasync in buffered mode failed: %w", err))
		return
	}
	e.synced.Store(mark)
}

// reportProgress sends progress events every interval until the returned function
// is called, which sends the pass's last event.
func (e *engine) reportProgress(number int, p Pattern, rest []Pattern, from int64) func() {
	if e.opts.Progress == nil {
		return func() {}
	}
	start := time.Now()
	event := func(final bool) {
		done := e.done.Load()
		elapsed := time.Since(start).Seconds()
		ev := Event{Device: e.t.Path, Pass: number, Passes: e.passes, Pattern: p.String(), Done: done,
			Size: e.size, Final: final, Stalled: e.watch.Stalled()}
		if elapsed > 0 {
			ev.Rate = float64(done-from) / elapsed
		}
		if ev.Rate > 0 {
			ev.ETA = float64(e.size-done+int64(len(rest))*e.size) / ev.Rate
		}
		e.opts.Progress(ev)
	}
	return ticker.Start(e.opts.ProgressInterval, event)
}

// MergeRanges sorts ranges and joins the ones that touch.
func MergeRanges(rs []Range) []Range {
	out := slices.Clone(rs)
	slices.SortFunc(out, func(a, b Range) int { return int(min(max(a.Offset-b.Offset, -1), 1)) })
	merged := out[:0]
	for _, r := range out {
		if n := len(merged); n > 0 && merged[n-1].Offset+merged[n-1].Length >= r.Offset {
			end := max(merged[n-1].Offset+merged[n-1].Length, r.Offset+r.Length)
			merged[n-1].Length = end - merged[n-1].Offset
			continue
		}
		merged = append(merged, r)
	}
	if merged == nil {
		return []Range{}
	}
	return merged
}
