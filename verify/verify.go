package verify

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/decom-project/decom/internal/blockio"
	"github.com/decom-project/decom/internal/iowatch"
	"github.com/decom-project/decom/internal/jsonint"
	"github.com/decom-project/decom/internal/ticker"
	"github.com/decom-project/decom/wipe"
)

// Modes of verification.
const (
	ModeSample = "sample" // NIST-style representative sampling
	ModeFull   = "full"   // every byte
)

// Outcomes of a verification.
const (
	OutcomePassed  = "passed"
	OutcomeFailed  = "failed"
	OutcomeAborted = "aborted"
)

// DefaultCoverage is the share of a device a sampled verification reads.
const DefaultCoverage = 0.10

// Options tune a verification. The zero value samples 10% with a fresh seed.
type Options struct {
	Mode string
	// Coverage is the share of the device a sample reads (default 0.10).
	Coverage float64
	// Seed selects the sampled blocks; 0 draws a fresh one. The seed used is in the
	// Result.
	Seed uint64
	// BlockSize is the read size of a full verification and the largest sampled
	// block (default 1 MiB, a multiple of 4096).
	BlockSize int
	// QueueDepth is the number of reads in flight (default 8).
	QueueDepth int
	// MaxMismatches is how many mismatches are described in the Result (default 16);
	// all of them are counted.
	MaxMismatches int
	// Retries is how often a failed read is tried again before it is narrowed down
	// to the unreadable sectors (default 2).
	Retries int
	// Exclude lists ranges known not to hold the expectation: the bad ranges a wipe
	// could not write, already reported as its exceptions. What is read there is
	// neither a mismatch nor a read error; the Result counts it as excluded.
	Exclude []wipe.Range
	// Progress, when not nil, receives progress events every ProgressInterval
	// (default 1s) and at the end.
	Progress         func(Event)
	ProgressInterval time.Duration
	// StallTimeout makes a device that answers no read for this long, although
	// one is waiting, stalled: the Result lists the stall, Stalled is called (with
	// Phase verify, and StallDevice and StallPass as the stall's device and pass)
	// and progress events say so. 0 never.
	StallTimeout time.Duration
	StallDevice  string
	StallPass    int
	// GiveUpStalled ends a stalled verification at once, as failed, without waiting
	// for the reads it leaves unanswered (the Result's PendingIO).
	GiveUpStalled bool
	Stalled       func(wipe.Stall)
	// StopGrace is how long, once ctx is cancelled, Run waits for the reads in
	// flight before it returns the aborted Result with them in PendingIO
	// (default 3s).
	StopGrace time.Duration
}

func (o Options) withDefaults() Options {
	if o.Mode == "" {
		o.Mode = ModeSample
	}
	if o.Coverage == 0 {
		o.Coverage = DefaultCoverage
	}
	if o.BlockSize == 0 {
		o.BlockSize = 1 << 20
	}
	if o.QueueDepth == 0 {
		o.QueueDepth = 8
	}
	if o.MaxMismatches == 0 {
		o.MaxMismatches = 16
	}
	if o.Retries == 0 {
		o.Retries = 2
	}
	if o.ProgressInterval == 0 {
		o.ProgressInterval = time.Second
	}
	if o.StopGrace == 0 {
		o.StopGrace = wipe.DefaultStopGrace
	}
	return o
}

// Validate reports options no verification can honour.
func (o Options) Validate() error {
	o = o.withDefaults()
	switch {
	case o.Mode != ModeSample && o.Mode != ModeFull:
		return fmt.Errorf("verification mode %q: want sample or full", o.Mode)
	case !(o.Coverage > 0 && o.Coverage <= 1):
		return fmt.Errorf("coverage %g: want more than 0%% and at most 100%%", o.Coverage*100)
	case o.BlockSize < 4096 || o.BlockSize%4096 != 0 || o.BlockSize > 64<<20:
		return fmt.Errorf("block size %d: want a multiple of 4096 up to 64 MiB", o.BlockSize)
	case o.QueueDepth < 1 || o.QueueDepth > 256:
		return fmt.Errorf("queue depth %d: want 1 to 256", o.QueueDepth)
	}
	return nil
}

// Result is what a verification found. Its JSON form is stable: fields are only
// added. The one change: the seed, once a number, is a string (a number still reads).
type Result struct {
	Mode     string `json:"mode"`
	Expected string `json:"expected"`
	// Pass is the wipe pass verified (from 1), 0 for a verification on its own.
	Pass int `json:"pass,omitempty"`
	// Seed is the sampling seed, written as a JSON string (see jsonint): a reader
	// that rounds it to a float64 would sample other blocks.
	Seed              jsonint.Uint64 `json:"seed,omitempty"`
	CoverageRequested float64        `json:"coverage_requested,omitempty"`
	Coverage          float64        `json:"coverage"`
	Subsections       int            `json:"subsections,omitempty"`
	SampleBlockSize   int            `json:"sample_block_size,omitempty"`
	// LocationsDigest identifies the sampled blocks (Layout.Digest).
	LocationsDigest  string       `json:"locations_sha256,omitempty"`
	IOMode           string       `json:"io_mode,omitempty"`
	SizeBytes        int64        `json:"size_bytes"`
	BlocksRead       int64        `json:"blocks_read"`
	BytesRead        int64        `json:"bytes_read"`
	MismatchedBlocks int64        `json:"mismatched_blocks"`
	MismatchedBytes  int64        `json:"mismatched_bytes"`
	Mismatches       []Mismatch   `json:"mismatches"`
	ReadErrors       []wipe.Range `json:"read_errors"`
	// ExcludedBytes were read (or found unreadable) inside Options.Exclude.
	ExcludedBytes int64 `json:"excluded_bytes,omitempty"`
	// Stalls are the times the device answered no read for longer than
	// Options.StallTimeout; PendingIO the reads still unanswered when Run stopped
	// waiting for them.
	Stalls    []wipe.Stall     `json:"stalls,omitempty"`
	PendingIO []wipe.PendingIO `json:"pending_io,omitempty"`
	Verified  bool             `json:"verified"`
	Outcome   string           `json:"outcome"`
	Error     string           `json:"error,omitempty"`
	Started   time.Time        `json:"started"`
	Finished  time.Time        `json:"finished"`
}

// Mismatch shows where the device differs from what was expected: up to 16 bytes
// from the first differing byte of a block.
type Mismatch struct {
	Offset   int64      `json:"offset"`
	Expected wipe.Bytes `json:"expected"`
	Found    wipe.Bytes `json:"found"`
}

// Event is a progress report.
type Event struct {
	Mode  string  `json:"mode"`
	Pass  int     `json:"pass,omitempty"`
	Done  int64   `json:"bytes_read"`
	Total int64   `json:"bytes_total"`
	Rate  float64 `json:"rate_bytes_per_second"`
	Final bool    `json:"done,omitempty"`
	// Stalled is set while the device answers no read.
	Stalled bool `json:"stalled,omitempty"`
}

// NewSeed draws a sampling seed (never 0).
func NewSeed() (uint64, error) {
	var b [8]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			return 0, err
		}
		if s := binary.BigEndian.Uint64(b[:]); s != 0 {
			return s, nil
		}
	}
}

// Target is what Run reads: the device, its size and sector size.
type Target struct {
	R          io.ReaderAt
	Size       int64
	SectorSize int
	// Direct reports whether reads bypass the page cache.
	Direct bool
}

// Run verifies that t holds what exp describes. It always returns a Result; a
// cancelled ctx gives an aborted one.
func Run(ctx context.Context, t Target, exp Expectation, opts Options) Result {
	opts = opts.withDefaults()
	res := Result{Mode: opts.Mode, Expected: exp.Description, SizeBytes: t.Size, Mismatches: []Mismatch{},
		ReadErrors: []wipe.Range{}, Started: time.Now().UTC(), IOMode: wipe.IOBuffered}
	if t.Direct {
		res.IOMode = wipe.IODirect
	}
	fail := func(err error) Result {
		res.Outcome, res.Error, res.Finished = OutcomeFailed, err.Error(), time.Now().UTC()
		return res
	}
	if err := opts.Validate(); err != nil {
		return fail(err)
	}
	sector := max(t.SectorSize, 512)
	var blocks func(yield func(Block) bool)
	var total int64
	if opts.Mode == ModeFull {
		bs := int64(opts.BlockSize)
		blocks = func(yield func(Block) bool) {
			for off := int64(0); off < t.Size; off += bs {
				if !yield(Block{off, min(bs, t.Size-off)}) {
					return
				}
			}
		}
		total = t.Size
	} else {
		if opts.Seed == 0 {
			seed, err := NewSeed()
			if err != nil {
				return fail(err)
			}
			opts.Seed = seed
		}
		layout, err := Locations(t.Size, sector, opts.Coverage, opts.Seed, opts.BlockSize)
		if err != nil {
			return fail(err)
		}
		res.Seed, res.CoverageRequested = jsonint.Uint64(opts.Seed), opts.Coverage
		res.Subsections, res.SampleBlockSize, res.LocationsDigest = layout.Subsections, layout.BlockSize, layout.Digest()
		blocks = slices.Values(layout.Blocks)
		total = layout.Bytes()
	}
	r := &reader{t: t, exp: exp, opts: opts, sector: int64(sector), total: total, watch: iowatch.New(opts.QueueDepth)}
	r.retry = blockio.Retry{Op: "read", Sector: r.sector, Retries: opts.Retries,
		Final: func(err error) bool { return errors.Is(err, errAbandoned) },
		Bad:   r.unreadable}
	ending := r.run(ctx, blocks)

	res.BlocksRead, res.BytesRead = r.blocks.Load(), r.bytes.Load()
	r.mu.Lock() // workers left behind by a stop may still finish a block
	res.MismatchedBlocks, res.MismatchedBytes = r.badBlocks, r.badBytes
	res.Mismatches = append(res.Mismatches, r.mismatches...)
	res.ReadErrors = wipe.MergeRanges(r.readErrs)
	r.mu.Unlock()
	res.ExcludedBytes = r.excludedBytes.Load()
	if t.Size > 0 {
		res.Coverage = float64(res.BytesRead+sumRanges(res.ReadErrors)) / float64(t.Size)
	}
	res.Finished = time.Now().UTC()
	res.Stalls = r.stalls.List()
	res.PendingIO = wipe.Pending(r.pending)
	switch {
	case ending == iowatch.GivenUp:
		s, _ := r.stalls.Last()
		res.Outcome = OutcomeFailed
		res.Error = fmt.Sprintf("stalled: no read completed for %s (offset %d); given up", opts.StallTimeout, s.Offset)
	case ending == iowatch.Abandoned:
		res.Outcome, res.Error = OutcomeAborted, "interrupted"
	case r.fatal.Load() != nil:
		res.Outcome, res.Error = OutcomeFailed, (*r.fatal.Load()).Error()
	case ctx.Err() != nil && !r.complete:
		res.Outcome, res.Error = OutcomeAborted, "interrupted"
	case res.MismatchedBytes > 0 || len(res.ReadErrors) > 0:
		res.Outcome = OutcomeFailed
		res.Error = fmt.Sprintf("%d bytes differ from what was expected in %d blocks; %d ranges unreadable",
			res.MismatchedBytes, res.MismatchedBlocks, len(res.ReadErrors))
	default:
		res.Outcome, res.Verified = OutcomePassed, true
	}
	if len(res.PendingIO) > 0 {
		res.Verified = false
		res.Error += "; " + wipe.DescribePending(res.PendingIO)
	}
	return res
}

// reader runs one verification's reads.
type reader struct {
	t      Target
	exp    Expectation
	opts   Options
	sector int64
	total  int64
	// retry retries a failed read, then narrows it down to the unreadable sectors.
	retry blockio.Retry

	blocks              atomic.Int64
	bytes               atomic.Int64
	excludedBytes       atomic.Int64
	mu                  sync.Mutex
	badBlocks, badBytes int64
	mismatches          []Mismatch
	readErrs            []wipe.Range
	fatal               atomic.Pointer[error] // the first error that ends the run
	complete            bool
	cut                 atomic.Bool // a block was left unread when ctx was cancelled

	// watch follows the reads in flight, a slot per worker.
	watch     *iowatch.Watch
	abandoned atomic.Bool // Run stopped waiting: workers read nothing more
	stalls    wipe.StallLog
	pending   []iowatch.Request
}

// run reads the blocks and returns how the wait for the reads ended.
func (r *reader) run(ctx context.Context, blocks func(yield func(Block) bool)) iowatch.Ending {
	work := make(chan Block, r.opts.QueueDepth)
	quit := make(chan struct{}) // closed when Run stops waiting
	r.watch.Reset()
	stop := r.reportProgress()
	var wg sync.WaitGroup
	for w := range r.opts.QueueDepth {
		got, want := blockio.AlignedBuffer(r.opts.BlockSize), blockio.AlignedBuffer(r.opts.BlockSize)
		wg.Go(func() {
			for b := range work {
				if r.abandoned.Load() {
					return
				}
				r.check(ctx, w, b, got, want)
			}
		})
	}
	complete := true
	wg.Go(func() {
		defer close(work)
		for b := range blocks {
			if ctx.Err() != nil || r.fatal.Load() != nil {
				complete = false
				return
			}
			// A merged block may be longer than a buffer: read it in pieces.
			for off := b.Offset; off < b.Offset+b.Length; off += int64(r.opts.BlockSize) {
				select {
				case work <- Block{off, min(int64(r.opts.BlockSize), b.Offset+b.Length-off)}:
				case <-ctx.Done():
					complete = false
					return
				case <-quit:
					complete = false
					return
				}
			}
		}
	})
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	ending := r.watch.Wait(ctx, done, r.policy())
	stop()
	if ending != iowatch.Done {
		r.abandoned.Store(true)
		close(quit)
		r.pending = r.watch.Pending()
		return ending
	}
	r.complete = complete && !r.cut.Load()
	return ending
}

// policy is how Run waits for the reads.
func (r *reader) policy() iowatch.Policy {
	return iowatch.Policy{StallTimeout: r.opts.StallTimeout, GiveUp: r.opts.GiveUpStalled, Grace: r.opts.StopGrace,
		Stalled: func(since time.Time) {
			off := int64(-1)
			if p := r.watch.Pending(); len(p) > 0 {
				off = p[0].Offset
			}
			s := wipe.Stall{Device: r.opts.StallDevice, Phase: wipe.PhaseVerify, Pass: r.opts.StallPass, Offset: off, Since: since.UTC(), Detected: time.Now().UTC(),
				Timeout: r.opts.StallTimeout.Seconds(), GivenUp: r.opts.GiveUpStalled}
			r.stalls.Add(s)
			if r.opts.Stalled != nil {
				r.opts.Stalled(s)
			}
		},
		Resumed: r.stalls.Resumed,
	}
}

// check reads one block and compares it with what is expected.
func (r *reader) check(ctx context.Context, w int, b Block, got, want []byte) {
	got, want = got[:b.Length], want[:b.Length]
	unreadable, err := r.readBlock(ctx, w, got, b.Offset)
	if err != nil {
		if cerr := ctx.Err(); cerr != nil && errors.Is(err, cerr) {
			r.cut.Store(true)
			return
		}
		r.fatal.CompareAndSwap(nil, &err)
		return
	}
	r.exp.fill(want, b.Offset)
	r.excuse(got, want, b.Offset)
	r.blocks.Add(1)
	r.bytes.Add(b.Length - unreadable)
	if !bytes.Equal(got, want) {
		r.compare(got, want, b.Offset)
	}
}

// excuse makes the bytes of a block that fall in an excluded range compare equal,
// and counts them.
func (r *reader) excuse(got, want []byte, off int64) {
	end := off + int64(len(got))
	for _, x := range r.opts.Exclude {
		lo, hi := max(x.Offset, off), min(x.Offset+x.Length, end)
		if lo >= hi {
			continue
		}
		copy(got[lo-off:hi-off], want[lo-off:hi-off])
		r.excludedBytes.Add(hi - lo)
	}
}

// excluded reports whether [off, off+n) lies wholly in an excluded range.
func (r *reader) excluded(off, n int64) bool {
	for _, x := range r.opts.Exclude {
		if off >= x.Offset && off+n <= x.Offset+x.Length {
			return true
		}
	}
	return false
}

// compare records the differences of a block that did not match: every differing
// byte is counted, and each stretch of them (differences less than 16 bytes apart) is
// described by up to 16 bytes from its start, as long as the Result has room.
func (r *reader) compare(got, want []byte, off int64) {
	var n int64
	var found []Mismatch
	room := r.opts.MaxMismatches
	last := -1 // the last differing byte
	for i := range got {
		if got[i] == want[i] {
			continue
		}
		n++
		if (last < 0 || i-last > 16) && len(found) < room {
			end := min(i+16, len(got))
			found = append(found, Mismatch{Offset: off + int64(i),
				Expected: slices.Clone(want[i:end]), Found: slices.Clone(got[i:end])})
		}
		last = i
	}
	if n == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.badBlocks++
	r.badBytes += n
	// Keep the room's worth with the lowest offsets, whatever order blocks finish in.
	r.mismatches = append(r.mismatches, found...)
	slices.SortFunc(r.mismatches, func(a, b Mismatch) int { return cmp.Compare(a.Offset, b.Offset) })
	r.mismatches = r.mismatches[:min(len(r.mismatches), room)]
}

// readBlock reads buf at off, retrying, then narrowing a failing read down to the
// unreadable sectors, which are recorded and compared as equal (they are reported as
// read errors instead): each is filled with what was expected there, so that the
// comparison counts it neither as a match nor as a mismatch. It returns how many
// bytes could not be read. Only a vanished device (or ctx cancelled) is an error.
func (r *reader) readBlock(ctx context.Context, w int, buf []byte, off int64) (unreadable int64, err error) {
	read, bad, err := r.retry.Do(ctx, off, int64(len(buf)), func(o, n int64) error {
		return r.readFull(w, buf[o-off:o-off+n], o)
	})
	if err != nil {
		return 0, err
	}
	for _, b := range bad {
		r.exp.fill(buf[b.Offset-off:b.Offset-off+b.Length], b.Offset)
	}
	return int64(len(buf)) - read, nil
}

// unreadable records a sector that cannot be read as a read error, unless it lies in
// an excluded range.
func (r *reader) unreadable(b blockio.Range, _ error) error {
	if !r.excluded(b.Offset, b.Length) {
		r.mu.Lock()
		r.readErrs = append(r.readErrs, wipe.Range(b))
		r.mu.Unlock()
	}
	return nil
}

// readFull reads buf at off through worker w's watch slot. Once Run has stopped
// waiting, it reads nothing more.
func (r *reader) readFull(w int, buf []byte, off int64) error {
	for len(buf) > 0 {
		if r.abandoned.Load() {
			return errAbandoned
		}
		r.watch.Begin(w, iowatch.OpRead, off, int64(len(buf)))
		n, err := r.t.R.ReadAt(buf, off)
		r.watch.End(w)
		if n > 0 {
			buf, off = buf[n:], off+int64(n)
			continue
		}
		if err == nil || err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	return nil
}

func (r *reader) reportProgress() func() {
	if r.opts.Progress == nil {
		return func() {}
	}
	start := time.Now()
	event := func(final bool) {
		done := r.bytes.Load()
		ev := Event{Mode: r.opts.Mode, Done: done, Total: r.total, Final: final, Stalled: r.watch.Stalled()}
		if s := time.Since(start).Seconds(); s > 0 {
			ev.Rate = float64(done) / s
		}
		r.opts.Progress(ev)
	}
	return ticker.Start(r.opts.ProgressInterval, event)
}

// errAbandoned ends a worker whose read returned after Run stopped waiting.
var errAbandoned = errors.New("the verification stopped waiting for this read")

func sumRanges(rs []wipe.Range) int64 {
	var n int64
	for _, r := range rs {
		n += r.Length
	}
	return n
}
