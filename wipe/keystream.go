package wipe

import (
	"context"
	"sync"
)

// keyPool generates the blocks of random passes for every target of a process: a
// fixed number of generator goroutines (the cores, GOMAXPROCS) serve all targets'
// queues in turn, so that one target's random pass fills blocks on several cores
// while its writers write, and many targets share the cores fairly.
//
// The generators run only while a queue is joined: the first join starts them, and
// they end when the last queue leaves, so a wipe that returns leaves none behind.
// Between blocks they wait on a condition, not in new goroutines: handing a block
// through the pool allocates nothing.
type keyPool struct {
	workers int // the generators that run while a queue is joined

	mu      sync.Mutex
	work    sync.Cond   // signalled when a block may be fillable or the last queue left
	running int         // generators running
	queues  []*keyQueue // joined queues, served round-robin
	turn    int         // the index in queues served next
}

// newKeyPool returns a pool of workers generators (at least one).
func newKeyPool(workers int) *keyPool {
	p := &keyPool{workers: max(workers, 1)}
	p.work.L = &p.mu
	return p
}

// defaultKeyPool is the process's pool, sized to the cores when first used.
var defaultKeyPool = sync.OnceValue(func() *keyPool { return newKeyPool(cores()) })

// slot states of a keyQueue.
const (
	slotFree    = iota // may be filled with the queue's next block
	slotFilling        // a generator is filling it
	slotReady          // holds its block, not yet taken
	slotTaken          // a writer has it
)

// keyQueue is one target's share of a pool for one pass: a ring of buffers that the
// pool fills with the pass's blocks in order, block i in slot i mod len(bufs), ahead of
// the writers that take them. A slot is filled again only once the writer of its
// previous block has released it, so the buffers are allocated once per target and the
// generators never run more than len(bufs) blocks ahead of the lowest unwritten one.
type keyQueue struct {
	pool *keyPool
	fill func(buf []byte, off int64) // fills buf with the bytes at offset off
	bufs [][]byte
	bs   int64 // block size
	size int64 // the target's size: the last block may be short

	// Under pool.mu.
	state   []int
	block   []int64 // the block index a slot was last filled (or is being filled) for
	next    int64   // the next block index to fill
	filling int     // slots being filled
	closed  bool
	idle    chan struct{} // closed by the generator that ends the last fill once closed

	// waiting[w] is the block writer w waits for (-1: none), under pool.mu; wake[w]
	// tells it that the block may be ready. Several writers can wait on one slot
	// (for blocks a ring apart), so a fill wakes the writer of its block only.
	waiting []int64
	wake    []chan struct{}
	done    chan struct{} // closed by leave: writers waiting for a block stop waiting
}

// join adds a queue for a pass whose blocks (of bs bytes, over size bytes) begin at
// block first, filled into bufs by fill, for writers numbered 0 to writers-1. The
// caller must leave it when the pass ends.
func (p *keyPool) join(bufs [][]byte, writers int, bs, size, first int64, fill func(buf []byte, off int64)) *keyQueue {
	q := &keyQueue{pool: p, fill: fill, bufs: bufs, bs: bs, size: size, next: first,
		state: make([]int, len(bufs)), block: make([]int64, len(bufs)),
		waiting: make([]int64, writers), wake: make([]chan struct{}, writers), done: make(chan struct{})}
	for w := range writers {
		q.waiting[w] = -1
		q.wake[w] = make(chan struct{}, 1)
	}
	p.mu.Lock()
	p.queues = append(p.queues, q)
	p.start()
	p.mu.Unlock()
	return q
}

// fillable reports whether the queue has a block to fill now. Under pool.mu.
func (q *keyQueue) fillable() bool {
	return !q.closed && q.next*q.bs < q.size && q.state[q.next%int64(len(q.bufs))] == slotFree
}

// start starts the generators that are not running. Under p.mu.
func (p *keyPool) start() {
	for p.running < p.workers {
		p.running++
		go p.generate()
	}
	p.work.Broadcast()
}

// claim picks the next block to fill, round-robin over the queues: one block from
// each fillable queue in turn. Under p.mu.
func (p *keyPool) claim() (*keyQueue, int, int64, bool) {
	for range p.queues {
		if p.turn >= len(p.queues) {
			p.turn = 0
		}
		q := p.queues[p.turn]
		p.turn++
		if !q.fillable() {
			continue
		}
		i := q.next
		s := int(i % int64(len(q.bufs)))
		q.next++
		q.state[s], q.block[s] = slotFilling, i
		q.filling++
		return q, s, i, true
	}
	return nil, 0, 0, false
}

// generate fills blocks while a queue is joined, waiting when none has a block to
// fill; it ends when no queue is left.
func (p *keyPool) generate() {
	p.mu.Lock()
	for {
		q, s, i, ok := p.claim()
		if !ok {
			if len(p.queues) == 0 {
				p.running--
				p.mu.Unlock()
				return
			}
			p.work.Wait()
			continue
		}
		p.mu.Unlock()
		off := i * q.bs
		q.fill(q.bufs[s][:min(q.bs, q.size-off)], off)
		p.mu.Lock()
		q.filling--
		if q.closed {
			q.state[s] = slotFree
			if q.filling == 0 {
				close(q.idle)
			}
			continue
		}
		q.state[s] = slotReady
		for w, b := range q.waiting {
			if b == i {
				select {
				case q.wake[w] <- struct{}{}:
				default: // already woken
				}
			}
		}
	}
}

// take waits for block i on behalf of writer w and returns its bytes. It returns
// false when ctx is done or the queue left. The writer must release the block when
// it is done with it.
func (q *keyQueue) take(ctx context.Context, w int, i int64) ([]byte, bool) {
	s := int(i % int64(len(q.bufs)))
	p := q.pool
	p.mu.Lock()
	for q.state[s] != slotReady || q.block[s] != i {
		q.waiting[w] = i
		p.mu.Unlock()
		select {
		case <-q.wake[w]:
		case <-ctx.Done():
			return nil, false
		case <-q.done:
			return nil, false
		}
		p.mu.Lock()
	}
	q.waiting[w] = -1
	q.state[s] = slotTaken
	p.mu.Unlock()
	off := i * q.bs
	return q.bufs[s][:min(q.bs, q.size-off)], true
}

// release hands block i's buffer back to the ring to be filled again.
func (q *keyQueue) release(i int64) {
	s := int(i % int64(len(q.bufs)))
	p := q.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	if q.closed || q.state[s] != slotTaken || q.block[s] != i {
		return
	}
	q.state[s] = slotFree
	if q.fillable() {
		p.work.Signal()
	}
}

// leave takes the queue out of the pool and waits until no generator fills its
// buffers any more; writers waiting in take stop waiting. A buffer a writer still
// holds stays its own.
func (q *keyQueue) leave() {
	p := q.pool
	p.mu.Lock()
	if q.closed {
		p.mu.Unlock()
		return
	}
	q.closed = true
	close(q.done)
	for i, o := range p.queues {
		if o == q {
			p.queues = append(p.queues[:i], p.queues[i+1:]...)
			if p.turn > i {
				p.turn--
			}
			break
		}
	}
	q.idle = make(chan struct{})
	if q.filling == 0 {
		close(q.idle)
	}
	if len(p.queues) == 0 {
		p.work.Broadcast() // the generators end
	}
	idle := q.idle
	p.mu.Unlock()
	<-idle
}
