package wipe

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ring makes n buffers of bs bytes for a keyQueue.
func ring(n int, bs int64) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = make([]byte, bs)
	}
	return out
}

// consume takes and releases blocks first to the end of q, one writer, checking that
// each holds what fill put at its offset (its first byte: the block index), and
// returns how many it took.
func consume(t *testing.T, q *keyQueue, first, blocks int64) int64 {
	t.Helper()
	n := int64(0)
	for i := first; i < blocks; i++ {
		buf, ok := q.take(context.Background(), 0, i)
		if !ok {
			t.Errorf("block %d: queue gone", i)
			return n
		}
		if buf[0] != byte(i) {
			t.Errorf("block %d holds block %d's bytes", i, buf[0])
		}
		q.release(i)
		n++
	}
	return n
}

// One generator shared by two queues serves them in turn: with both waiting for
// blocks, the fills alternate (an unfair pool, serving the first queue until its ring
// is full, would fill AAAABBBB); then both run to their end.
func TestKeyPoolServesQueuesInTurn(t *testing.T) {
	const bs, blocks, slots = 4096, 64, 4
	pool := newKeyPool(1)
	var mu sync.Mutex
	var order []byte
	bJoined := make(chan struct{})
	fill := func(name byte) func([]byte, int64) {
		return func(buf []byte, off int64) {
			if name == 'A' && off == 0 {
				<-bJoined // the first fill waits until both queues are there
			}
			buf[0] = byte(off / bs)
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
		}
	}
	a := pool.join(ring(slots, bs), 1, bs, blocks*bs, 0, fill('A'))
	b := pool.join(ring(slots, bs), 1, bs, blocks*bs, 0, fill('B'))
	close(bJoined)
	// Until a block is taken, the generator can fill only the two rings.
	deadline := time.Now().Add(time.Minute)
	for {
		mu.Lock()
		n := len(order)
		mu.Unlock()
		if n == 2*slots {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a minute the generator filled %d of %d slots", n, 2*slots)
		}
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	if got := string(order); got != "ABABABAB" {
		t.Errorf("fill order %s, want ABABABAB", got)
	}
	mu.Unlock()
	var wg sync.WaitGroup
	var took [2]int64
	wg.Go(func() { took[0] = consume(t, a, 0, blocks) })
	wg.Go(func() { took[1] = consume(t, b, 0, blocks) })
	wg.Wait()
	a.leave()
	b.leave()
	if took != [2]int64{blocks, blocks} {
		t.Errorf("took %v blocks, want %d from each", took, blocks)
	}
	waitPoolIdle(t, pool)
}

// A queue that begins at a later block (a resumed pass) and ends in a short block
// gets exactly its blocks, from several generators and several writers.
func TestKeyQueueDeliversEveryBlockOnce(t *testing.T) {
	const bs, first = 4096, 3
	size := int64(40*bs + 100)
	pool := newKeyPool(3)
	var fills atomic.Int64
	q := pool.join(ring(6, bs), 4, bs, size, first, func(buf []byte, off int64) {
		fills.Add(1)
		for i := range buf {
			buf[i] = byte(off/bs) ^ byte(i)
		}
	})
	var next atomic.Int64
	next.Store(first)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i*bs >= size {
					return
				}
				buf, ok := q.take(context.Background(), w, i)
				if !ok {
					t.Errorf("block %d: queue gone", i)
					return
				}
				if want := min(bs, size-i*bs); int64(len(buf)) != want {
					t.Errorf("block %d: %d bytes, want %d", i, len(buf), want)
				}
				for j := range buf {
					if buf[j] != byte(i)^byte(j) {
						t.Errorf("block %d byte %d: not its bytes", i, j)
						break
					}
				}
				q.release(i)
			}
		})
	}
	wg.Wait()
	q.leave()
	if got := fills.Load(); got != 41-first {
		t.Errorf("%d fills, want %d", got, 41-first)
	}
	waitPoolIdle(t, pool)
}

// A writer waiting for a block stops waiting when its context ends or the queue
// leaves.
func TestKeyQueueTakeStops(t *testing.T) {
	pool := newKeyPool(1)
	hold := make(chan struct{})
	q := pool.join(ring(1, 4096), 2, 4096, 1<<20, 0, func([]byte, int64) { <-hold })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, ok := q.take(ctx, 0, 0); ok {
		t.Error("take returned a block for a cancelled context")
	}
	got := make(chan bool)
	go func() { _, ok := q.take(context.Background(), 1, 0); got <- ok }()
	go func() { time.Sleep(10 * time.Millisecond); close(hold) }()
	q.leave() // waits for the fill the generator is in
	if <-got {
		t.Error("take returned a block after the queue left")
	}
	waitPoolIdle(t, pool)
}

// waitPoolIdle fails unless the pool has no queue and, within a minute, no
// generator running.
func waitPoolIdle(t *testing.T, pool *keyPool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		pool.mu.Lock()
		queues, running := len(pool.queues), pool.running
		pool.mu.Unlock()
		if queues == 0 && running == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pool still has %d queues and %d generators running", queues, running)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitGoroutines fails unless, within a minute, no more goroutines run than before.
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines left, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(time.Millisecond)
	}
}

// Two targets wiped at once share a one-generator pool: both progress, and each
// holds its own random pass. Target A's writes stop half way until B has written
// half of its blocks: a pool that served A alone would never let it finish.
func TestOverwriteTargetsShareAPool(t *testing.T) {
	const size = 16 << 20
	pool := newKeyPool(1)
	memA, tgtA := memDrive(size)
	memB, tgtB := memDrive(size)
	tgtB.Path = "/dev/mem1"
	var bWritten atomic.Int64
	memB.onWrite = func(w int64) { bWritten.Store(w) }
	waited := make(chan error, 1)
	memA.onWrite = func(w int64) {
		if w < size/2 {
			return
		}
		deadline := time.Now().Add(time.Minute)
		for bWritten.Load() < size/2 {
			if time.Now().After(deadline) {
				select {
				case waited <- errNoProgress:
				default:
				}
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	plan := PassPlan{Method: mustMethod(t, "random")}
	opts := Options{BlockSize: 256 << 10, QueueDepth: 4, pool: pool}
	before := runtime.NumGoroutine()
	var recA, recB Record
	var wg sync.WaitGroup
	wg.Go(func() { recA = overwrite(context.Background(), memA, tgtA, true, plan, opts) })
	wg.Go(func() { recB = overwrite(context.Background(), memB, tgtB, true, plan, opts) })
	wg.Wait()
	select {
	case err := <-waited:
		t.Fatal(err)
	default:
	}
	for _, c := range []struct {
		rec Record
		mem *memTarget
	}{{recA, memA}, {recB, memB}} {
		if c.rec.Outcome != OutcomeCompleted {
			t.Fatalf("%s: outcome %s: %s", c.rec.Device, c.rec.Outcome, c.rec.Error)
		}
		if !bytes.Equal(c.mem.data, expected(t, c.rec.Passes[0], size)) {
			t.Errorf("%s does not hold its random pass", c.rec.Device)
		}
	}
	if bytes.Equal(recA.Passes[0].Keys.Key, recB.Passes[0].Keys.Key) {
		t.Error("the two targets' passes share a key")
	}
	waitPoolIdle(t, pool)
	waitGoroutines(t, before)
}

var errNoProgress = errors.New("target B made no progress for a minute while A waited for it")

// After a wipe with random passes, completed or cancelled in the middle of one, no
// goroutine of it is left: not the pool's generators, not a writer waiting for a
// block.
func TestOverwriteLeavesNoGoroutines(t *testing.T) {
	for _, cancelAt := range []int64{0, 3<<20 + 5<<19} {
		name := "completed"
		if cancelAt > 0 {
			name = "cancelled"
		}
		t.Run(name, func(t *testing.T) {
			const size = 3 << 20
			pool := newKeyPool(2)
			mem, tgt := memDrive(size)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if cancelAt > 0 {
				mem.onWrite = func(w int64) {
					if w >= cancelAt {
						cancel()
					}
				}
			}
			before := runtime.NumGoroutine()
			plan := PassPlan{Method: CustomMethod([]Pattern{Random(), Random(), Fixed(0)}, 1, false)}
			rec := overwrite(ctx, mem, tgt, true, plan, Options{BlockSize: 64 << 10, QueueDepth: 4, pool: pool})
			want := OutcomeCompleted
			if cancelAt > 0 {
				want = OutcomeAborted
			}
			if rec.Outcome != want {
				t.Fatalf("outcome %s (%s), want %s", rec.Outcome, rec.Error, want)
			}
			if cancelAt > 0 && (rec.AbortedAt == nil || rec.AbortedAt.Pass != 2) {
				t.Fatalf("aborted at %+v, want in pass 2", rec.AbortedAt)
			}
			waitPoolIdle(t, pool)
			waitGoroutines(t, before)
		})
	}
}

// The process's pool is sized to the cores and used when Options name none.
func TestDefaultKeyPool(t *testing.T) {
	if got := (Options{}).withDefaults().pool; got != defaultKeyPool() || got.workers != runtime.GOMAXPROCS(0) {
		t.Errorf("default pool %p with %d workers, want the process's with %d", got, got.workers, runtime.GOMAXPROCS(0))
	}
}

// discard is a target that keeps nothing.
type discard struct{}

func (discard) WriteAt(p []byte, _ int64) (int, error) { return len(p), nil }
func (discard) Sync() error                            { return nil }

// BenchmarkOverwriteRandom: one random pass over 256 MiB written nowhere; allocs/block
// is the wipe's allocations spread over its blocks (its set-up: nothing is allocated
// per block).
func BenchmarkOverwriteRandom(b *testing.B) {
	const size = 256 << 20
	tgt := Target{Path: "/dev/null0", Kind: KindDrive, SectorSize: 512, Identity: Identity{SizeBytes: size}}
	plan := PassPlan{Method: mustMethod(b, "random")}
	b.SetBytes(size)
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		if rec := overwrite(context.Background(), discard{}, tgt, true, plan, Options{}); rec.Outcome != OutcomeCompleted {
			b.Fatal(rec.Error)
		}
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N*size/DefaultBlockSize), "allocs/block")
}

// BenchmarkKeyPool: the pool alone, handing 1 MiB blocks through with a fill that
// writes one byte; allocs/block shows that it allocates nothing per block.
func BenchmarkKeyPool(b *testing.B) {
	const bs, blocks = 1 << 20, 4096
	pool := newKeyPool(runtime.GOMAXPROCS(0))
	bufs := ring(DefaultQueueDepth+keyLookahead, bs)
	b.ReportAllocs()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for b.Loop() {
		q := pool.join(bufs, 1, bs, blocks*bs, 0, func(buf []byte, off int64) { buf[0] = byte(off) })
		for i := range int64(blocks) {
			if _, ok := q.take(context.Background(), 0, i); !ok {
				b.Fatal("queue gone")
			}
			q.release(i)
		}
		q.leave()
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N*blocks), "allocs/block")
}
