//go:build !agentimage

// Package tlog owns decom's transparency log: the append-only Merkle tree in which the central
// registry records every certificate it accepts, stored in the C2SP tlog-tiles layout and
// committed to by checkpoints (C2SP tlog-checkpoint) that the registry signs as notes
// (C2SP signed-note, golang.org/x/mod/sumdb/note keys).
//
// The server side is [Log], a thin layer over github.com/transparency-dev/tessera with its POSIX
// backend. It adds what tessera leaves to its callers:
//
//   - [Log.Append] returns only once the entry is in a published checkpoint, so an upload can be
//     acknowledged as logged;
//   - appends are idempotent: the same bytes always get the same index, across restarts, because
//     the level-0 tiles (the RFC 6962 leaf hashes) are read back into an index when the log opens;
//   - proofs are built from an in-memory cache of tiles (full tiles never change);
//   - [Log.TileHandler] serves the tlog-tiles read API straight from the directory.
//
// The client side is three pure functions an auditor runs offline ([VerifyCheckpoint],
// [VerifyInclusion], [VerifyConsistency]) plus [GenerateKey] to make the registry's key pair.
//
// A typical server (Example runs it, and the auditor below, on a temporary directory; the
// error checks are left out here):
//
//	signer, err := note.NewSigner(skey) // skey from GenerateKey, kept secret
//	l, err := tlog.Open(ctx, filepath.Join(dir, "log"), signer)
//	defer l.Close()
//	mux.Handle("/log/", http.StripPrefix("/log", l.TileHandler()))
//	idx, err = l.Append(ctx, bundleJSON) // acknowledge the upload after this returns
//
// and an auditor, holding the registry's verifier key:
//
//	cp, err := tlog.VerifyCheckpoint(checkpointBytes, vkey)
//	proof, err := l.InclusionProof(ctx, idx, cp.Size) // the registry's API serves it
//	err = tlog.VerifyInclusion(bundleJSON, idx, proof, cp)
package tlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"
)

// Tuning of the tessera appender. Append's latency is about BatchMaxAge + the time to sequence a
// batch (a handful of fsynced files: 3–12 ms on an SSD) + the wait for the next checkpoint (at
// most CheckpointInterval while entries keep arriving) + pollInterval: 60–100 ms typically,
// 120–200 ms at the 99th percentile. tessera forms a batch every BatchMaxAge and sequences batches
// one at a time, so a batch must be sequenced in less than BatchMaxAge or a backlog builds: on
// storage with slow fsync, raise BatchMaxAge. A shared log forms its batches itself, as described
// at [OpenShared], with the same BatchMaxAge and BatchMaxSize.
const (
	// BatchMaxSize is the most entries tessera sequences in one batch (one set of fsyncs).
	BatchMaxSize = 512
	// BatchMaxAge is how long the first entry of a batch waits for others to join it.
	BatchMaxAge = 20 * time.Millisecond
	// CheckpointInterval is the least time between two published checkpoints; 100 ms is the
	// smallest the POSIX backend accepts.
	CheckpointInterval = 100 * time.Millisecond
	// MaxEntrySize is the largest entry the log takes (tlog-tiles bundles length-prefix entries
	// with 16 bits).
	MaxEntrySize = tessera.DefaultEntrySizeLimit

	// pollInterval is how often the published checkpoint is re-read to release waiting Appends.
	pollInterval = 5 * time.Millisecond
	// closeTimeout bounds how long Close waits for in-flight appends and the final checkpoint.
	closeTimeout = 30 * time.Second
	// tileCacheSize is the number of tiles (at most 16 KiB each with their inner nodes) cached
	// for building proofs.
	tileCacheSize = 1024
	// lockFileName keeps a second process from opening the same log; it is never served.
	lockFileName = ".decom-tlog.lock"
	// turnLockFileName is flocked exclusively by the sharer of a log whose turn it is to
	// sequence (see OpenShared); it is never served.
	turnLockFileName = ".decom-tlog.turn.lock"
	// turnFlushAge is tessera's batch age in a shared log: the entries of a turn are handed to
	// tessera at once, so it need not wait for more.
	turnFlushAge = time.Millisecond
	// turnPollInterval is how often a sharer waiting for its turn tries the turn lock again.
	turnPollInterval = time.Millisecond
)

var (
	// ErrClosed is returned by calls on a Log after Close.
	ErrClosed = errors.New("tlog: log is closed")
	// ErrEntryTooLarge is returned by Append for an entry longer than MaxEntrySize.
	ErrEntryTooLarge = errors.New("tlog: entry too large")
	// ErrOutOfRange is returned for a proof request naming an index or tree size that the latest
	// published checkpoint does not cover. Servers map it to 400 or 404.
	ErrOutOfRange = errors.New("tlog: index or tree size outside the published log")
	// ErrLocked is returned by Open when another process has the log open, and by OpenShared
	// when a process has it open with Open.
	ErrLocked = errors.New("tlog: log is in use by another process")
)

// Log is a transparency log stored in a directory in the tlog-tiles layout. It is safe for
// concurrent use. A directory is open either in one process ([Open]) or in any number of
// processes that share it ([OpenShared]), never both.
type Log struct {
	dir    string
	origin string
	shared bool
	signer note.Signer

	appender *tessera.Appender
	shutdown func(context.Context) error
	reader   tessera.LogReader
	tiles    *lru.Cache[tileKey, *nodeTile]
	lock     *os.File

	// ctx lives as long as the Log; tessera's goroutines and the checkpoint poller run on it.
	ctx      context.Context
	cancel   context.CancelFunc
	pollDone chan struct{}

	pub atomic.Pointer[published]

	mu       sync.Mutex
	closed   bool
	index    map[[32]byte]uint64 // leaf hash -> index, for every sequenced entry
	indexed  uint64              // entries read from the level-0 tiles into index
	inflight map[[32]byte]*pending
	adds     sync.WaitGroup

	// catchUp serialises reading other processes' entries into index (shared logs): asked
	// counts the requests, covered is the count when the last completed read began.
	catchUpMu sync.Mutex
	asked     atomic.Uint64
	covered   uint64

	// Shared logs: entries wait in turnQueue for takeTurns, which hands them to tessera while
	// this process holds the turn lock. Close closes turnStop; takeTurns closes turnDone.
	turnMu    sync.Mutex
	turnQueue []*turnEntry
	turnWake  chan struct{}
	turnStop  chan struct{}
	turnDone  chan struct{}
}

// turnEntry is an entry of a shared log waiting to be sequenced; done is closed once idx/err are
// set.
type turnEntry struct {
	entry []byte
	done  chan struct{}
	idx   tessera.Index
	err   error
}

// published is a snapshot of the latest published checkpoint. changed is closed when a newer one
// replaces it.
type published struct {
	raw     []byte
	cp      Checkpoint
	changed chan struct{}
}

// pending is an append under way; done is closed once idx/err are set.
type pending struct {
	done chan struct{}
	idx  uint64
	err  error
}

// Open opens the log stored in dir, creating the directory and an empty log if needed. Checkpoints
// are signed with signer, whose name is the log's origin (e.g. "decom.example/registry"); an
// existing log whose checkpoint carries another origin or key hash is refused. ctx bounds the
// opening only: the Log's background work (tessera's sequencer, checkpoint publisher and
// partial-tile garbage collector, and a poller of the published checkpoint) runs until Close.
//
// Opening reads every level-0 tile once to rebuild the duplicate index (32 bytes per entry on
// disk, about 100 bytes per entry in memory).
//
// cosigners add their signatures to every checkpoint after signer's: [NewTimeSigner] of the same
// key makes each checkpoint carry the time it was signed (see logtime.go).
func Open(ctx context.Context, dir string, signer note.Signer, cosigners ...note.Signer) (*Log, error) {
	return open(ctx, dir, signer, false, cosigners)
}

// OpenShared opens the log in dir like [Open], for a process that shares the directory with
// others doing the same: several registry instances behind a load balancer, each appending.
// tessera's POSIX backend serialises their sequencing and publishing with fcntl locks in the
// directory, so the directory must be on a filesystem whose fcntl locks, flocks and renames hold
// between all the sharers (a local filesystem; a cluster filesystem such as CephFS — not NFS).
//
// The sharers also take turns at sequencing, under an flock of their own in the directory:
// Append collects entries for BatchMaxAge (at most BatchMaxSize of them), waits for the turn,
// hands them to tessera and gives the turn up once tessera has sequenced them, so tessera's tree
// lock is only ever asked for by the sharer whose turn it is, and never has to be waited for.
// tessera's locks alone are not enough: fcntl locks belong to a process, not to a goroutine, and
// the kernel refuses a lock that must be waited for (EDEADLK) when it sees a cycle of processes
// waiting for each other. If sharer B holds the tree lock while one of B's goroutines waits for a
// lock that a goroutine of sharer A holds (A's checkpoint publisher or garbage collector, which
// will let go), A's sequencer asking for the tree lock closes such a cycle, is refused, and
// tessera panics, ending process A. Every process sharing a directory must therefore take turns
// (be a decom that does).
//
// Append stays idempotent across the processes with one condition: when it does not know an
// entry, it reads the entries the others integrated since it last looked, so bytes already in
// the log get their first index; but two processes appending the same new bytes at the same
// moment both log them. Callers that need each entry once must make sure that only one process
// appends a given entry at a time (the registry leases each certificate in its shared store).
// One process opens a directory once: tessera's locks do not separate two sharers in one process.
func OpenShared(ctx context.Context, dir string, signer note.Signer, cosigners ...note.Signer) (*Log, error) {
	return open(ctx, dir, signer, true, cosigners)
}

func open(ctx context.Context, dir string, signer note.Signer, shared bool, cosigners []note.Signer) (l *Log, err error) {
	if signer == nil {
		return nil, errors.New("tlog: open: nil signer")
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("tlog: open: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("tlog: open: %w", err)
	}
	lock, err := lockDir(dir, shared)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			lock.Close()
		}
	}()
	// Check the key before tessera starts: its publisher would otherwise re-sign the existing tree
	// with the wrong key.
	if raw, err := os.ReadFile(filepath.Join(dir, layout.CheckpointPath)); err == nil {
		if _, err := parseOwnCheckpoint(raw, signer); err != nil {
			return nil, fmt.Errorf("tlog: open %s: existing checkpoint was not signed by key %q: %w", dir, signer.Name(), err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("tlog: open: %w", err)
	}

	driver, err := posix.New(ctx, posix.Config{Path: dir})
	if err != nil {
		return nil, fmt.Errorf("tlog: open: posix storage: %w", err)
	}
	lctx, cancel := context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			cancel()
		}
	}()
	// A shared log batches in decom (each process takes its turn with a batch), so
	// tessera flushes what it is handed at once.
	batchAge := BatchMaxAge
	if shared {
		batchAge = turnFlushAge
	}
	opts := tessera.NewAppendOptions().
		WithCheckpointSigner(signer, cosigners...).
		WithBatching(BatchMaxSize, batchAge).
		WithCheckpointInterval(CheckpointInterval).
		WithShutdownTimeout(closeTimeout)
	appender, shutdown, reader, err := newAppender(ctx, lctx, dir, shared, driver, opts)
	if err != nil {
		return nil, fmt.Errorf("tlog: open: %w", err)
	}
	tiles, err := lru.New[tileKey, *nodeTile](tileCacheSize)
	if err != nil {
		return nil, fmt.Errorf("tlog: open: %w", err)
	}
	l = &Log{
		dir:      dir,
		origin:   signer.Name(),
		shared:   shared,
		signer:   signer,
		appender: appender,
		shutdown: shutdown,
		reader:   reader,
		tiles:    tiles,
		lock:     lock,
		ctx:      lctx,
		cancel:   cancel,
		pollDone: make(chan struct{}),
		inflight: make(map[[32]byte]*pending),
	}

	raw, err := firstCheckpoint(ctx, reader)
	if err != nil {
		return nil, fmt.Errorf("tlog: open: read checkpoint: %w", err)
	}
	cp, err := parseOwnCheckpoint(raw, signer)
	if err != nil {
		return nil, fmt.Errorf("tlog: open: %w", err)
	}
	l.pub.Store(&published{raw: raw, cp: cp, changed: make(chan struct{})})

	// The integrated tree may be ahead of the published checkpoint after a crash; its entries are
	// in the log (tessera publishes them shortly) so they belong in the index.
	size, err := reader.IntegratedSize(ctx)
	if err != nil {
		return nil, fmt.Errorf("tlog: open: %w", err)
	}
	l.index = make(map[[32]byte]uint64, size)
	if err := indexTiles(ctx, reader, l.index, 0, size); err != nil {
		return nil, fmt.Errorf("tlog: open: rebuild index: %w", err)
	}
	l.indexed = size
	go l.pollCheckpoints()
	if shared {
		l.turnWake = make(chan struct{}, 1)
		l.turnStop = make(chan struct{})
		l.turnDone = make(chan struct{})
		go l.takeTurns()
	}
	return l, nil
}

// newAppender starts tessera on driver; for a shared log, during a turn: tessera takes its tree
// lock to check or create the tree. lctx is the Log's context, ctx bounds the wait for the turn.
func newAppender(ctx, lctx context.Context, dir string, shared bool, driver tessera.Driver, opts *tessera.AppendOptions) (*tessera.Appender, func(context.Context) error, tessera.LogReader, error) {
	if shared {
		turn, err := waitTurn(ctx, dir, nil)
		if err != nil {
			return nil, nil, nil, err
		}
		defer turn.Close()
	}
	return tessera.NewAppender(lctx, driver, opts)
}

// waitTurn takes the turn lock of the shared log in dir, trying every turnPollInterval until it
// gets it, ctx ends or stop is closed. Closing the returned file gives the turn up.
func waitTurn(ctx context.Context, dir string, stop <-chan struct{}) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, turnLockFileName), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("take the turn to sequence: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("take the turn to sequence: %w", err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("take the turn to sequence: %w", ctx.Err())
		case <-stop:
			f.Close()
			return nil, ErrClosed
		case <-time.After(turnPollInterval):
		}
	}
}

// takeTurns sequences the entries of a shared log that Append queues, in turns, until Close: it
// waits for an entry, lets others join it for BatchMaxAge (which also leaves the other sharers
// time to take their turns), takes the turn, hands up to BatchMaxSize entries to tessera, waits
// until tessera has sequenced them all, gives the turn up and reports their indexes. A turn once
// taken is finished even if Close is under way: tessera must not be left holding its tree lock.
func (l *Log) takeTurns() {
	defer close(l.turnDone)
	defer l.failTurnQueue(ErrClosed)
	for {
		select {
		case <-l.turnWake:
		case <-l.turnStop:
			return
		}
		select {
		case <-time.After(BatchMaxAge):
		case <-l.turnStop:
			return
		}
		l.turnMu.Lock()
		empty := len(l.turnQueue) == 0
		l.turnMu.Unlock()
		if empty {
			continue
		}
		turn, err := waitTurn(l.ctx, l.dir, l.turnStop)
		if errors.Is(err, ErrClosed) {
			return
		}
		if err != nil {
			l.failTurnQueue(err)
			continue
		}
		l.turnMu.Lock()
		batch := l.turnQueue
		l.turnQueue = nil
		if len(batch) > BatchMaxSize {
			l.turnQueue = slices.Clone(batch[BatchMaxSize:])
			batch = batch[:BatchMaxSize]
			l.wakeTurns()
		}
		l.turnMu.Unlock()
		futures := make([]tessera.IndexFuture, len(batch))
		for i, e := range batch {
			futures[i] = l.appender.Add(l.ctx, tessera.NewEntry(e.entry))
		}
		for i, e := range batch {
			e.idx, e.err = futures[i]()
		}
		turn.Close()
		for _, e := range batch {
			close(e.done)
		}
	}
}

// wakeTurns tells takeTurns that entries are queued.
func (l *Log) wakeTurns() {
	select {
	case l.turnWake <- struct{}{}:
	default:
	}
}

// failTurnQueue ends every queued entry of a shared log with err.
func (l *Log) failTurnQueue(err error) {
	l.turnMu.Lock()
	q := l.turnQueue
	l.turnQueue = nil
	l.turnMu.Unlock()
	for _, e := range q {
		e.err = err
		close(e.done)
	}
}

// sequence hands entry to tessera and waits until it is sequenced; in a shared log, through
// takeTurns.
func (l *Log) sequence(entry []byte) (tessera.Index, error) {
	if !l.shared {
		return l.appender.Add(l.ctx, tessera.NewEntry(entry))()
	}
	e := &turnEntry{entry: entry, done: make(chan struct{})}
	l.turnMu.Lock()
	l.turnQueue = append(l.turnQueue, e)
	l.wakeTurns()
	l.turnMu.Unlock()
	select {
	case <-e.done:
		return e.idx, e.err
	case <-l.turnDone:
		// takeTurns has failed the queue on its way out, unless this entry came after.
		select {
		case <-e.done:
			return e.idx, e.err
		default:
			return tessera.Index{}, ErrClosed
		}
	}
}

// firstCheckpoint reads the published checkpoint. A log that crashed while being created has
// a tree but no checkpoint yet; tessera publishes one within a CheckpointInterval, so wait a little.
func firstCheckpoint(ctx context.Context, r tessera.LogReader) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 50*CheckpointInterval)
	defer cancel()
	for {
		raw, err := r.ReadCheckpoint(ctx)
		if !errors.Is(err, os.ErrNotExist) {
			return raw, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(pollInterval):
		}
	}
}

// lockDir takes a flock on the log's lock file, exclusive or shared, which the kernel drops if
// the process dies.
func lockDir(dir string, shared bool) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFileName), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("tlog: open: %w", err)
	}
	how := syscall.LOCK_EX
	if shared {
		how = syscall.LOCK_SH
	}
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("tlog: open %s: %w", dir, ErrLocked)
		}
		return nil, fmt.Errorf("tlog: open %s: lock: %w", dir, err)
	}
	return f, nil
}

// indexTiles maps the leaf hash of entries from..size-1 to their indexes in m, reading the
// level-0 tiles. Should the log hold the same entry twice, the first index wins.
func indexTiles(ctx context.Context, r tessera.LogReader, m map[[32]byte]uint64, from, size uint64) error {
	for t := from / layout.TileWidth; t*layout.TileWidth < size; t++ {
		p := layout.PartialTileSize(0, t, size)
		raw, err := r.ReadTile(ctx, 0, t, p)
		if err != nil {
			return fmt.Errorf("tile 0/%d: %w", t, err)
		}
		n := uint64(p)
		if n == 0 {
			n = layout.TileWidth
		}
		if uint64(len(raw)) < n*32 {
			return fmt.Errorf("tile 0/%d: %d bytes, want at least %d", t, len(raw), n*32)
		}
		first := uint64(0)
		if t == from/layout.TileWidth {
			first = from % layout.TileWidth
		}
		for i := first; i < n; i++ {
			var k [32]byte
			copy(k[:], raw[i*32:])
			if _, dup := m[k]; !dup {
				m[k] = t*layout.TileWidth + i
			}
		}
	}
	return nil
}

// Origin returns the log's origin, the name of its signing key.
func (l *Log) Origin() string { return l.origin }

// Shared reports whether the log was opened with OpenShared.
func (l *Log) Shared() bool { return l.shared }

// Append adds entry (the exact bytes) to the log and returns its index once the entry is
// sequenced, integrated and committed to by a published checkpoint: the caller may acknowledge
// the upload when Append returns without error. Appending bytes already in the log returns the
// index they got the first time; concurrent appends of the same bytes share one.
//
// If ctx ends first, Append returns ctx.Err() but the entry may still be logged; appending it
// again returns its index.
func (l *Log) Append(ctx context.Context, entry []byte) (uint64, error) {
	if len(entry) > MaxEntrySize {
		return 0, fmt.Errorf("tlog: append: %w (%d > %d bytes)", ErrEntryTooLarge, len(entry), MaxEntrySize)
	}
	h := leafHash(entry)

	// known answers from the index, with l.mu held: done when the Log is closed or the
	// bytes are logged already (then it unlocks l.mu).
	known := func() (idx uint64, done bool, err error) {
		if l.closed {
			l.mu.Unlock()
			return 0, true, ErrClosed
		}
		idx, ok := l.index[h]
		if !ok {
			return 0, false, nil
		}
		l.mu.Unlock()
		if err := l.awaitPublished(ctx, idx); err != nil {
			return 0, true, fmt.Errorf("tlog: append: %w", err)
		}
		return idx, true, nil
	}
	l.mu.Lock()
	if idx, done, err := known(); done {
		return idx, err
	}
	p := l.inflight[h]
	if p == nil && l.shared {
		// Another process may have logged these bytes since this one last looked.
		l.mu.Unlock()
		if err := l.catchUp(ctx); err != nil {
			return 0, fmt.Errorf("tlog: append: %w", err)
		}
		l.mu.Lock()
		if idx, done, err := known(); done {
			return idx, err
		}
		p = l.inflight[h]
	}
	if p == nil {
		p = &pending{done: make(chan struct{})}
		l.inflight[h] = p
		l.adds.Add(1)
		// The add runs on the Log's context, not the caller's: once queued the entry will be
		// sequenced, and the index must learn where it went.
		go l.add(h, bytes.Clone(entry), p)
	}
	l.mu.Unlock()

	select {
	case <-p.done:
		if p.err != nil {
			return 0, p.err
		}
		return p.idx, nil
	case <-ctx.Done():
		return 0, fmt.Errorf("tlog: append: %w", ctx.Err())
	}
}

func (l *Log) add(h [32]byte, entry []byte, p *pending) {
	defer l.adds.Done()
	idx, err := l.sequence(entry)

	l.mu.Lock()
	delete(l.inflight, h)
	if err == nil {
		l.index[h] = idx.Index
	}
	l.mu.Unlock()

	if err == nil {
		err = l.awaitPublished(l.ctx, idx.Index)
	}
	if err != nil {
		err = fmt.Errorf("tlog: append: %w", err)
	}
	p.idx, p.err = idx.Index, err
	close(p.done)
}

// catchUp reads into the index the entries integrated since it was last read, by this process
// or others. Callers that ask while a read is under way wait for the next one, which begins
// after they asked and so sees everything integrated before.
func (l *Log) catchUp(ctx context.Context) error {
	ticket := l.asked.Add(1)
	l.catchUpMu.Lock()
	defer l.catchUpMu.Unlock()
	if l.covered >= ticket {
		return nil
	}
	begun := l.asked.Load()
	size, err := l.reader.IntegratedSize(ctx)
	if err != nil {
		return fmt.Errorf("read the tree size: %w", err)
	}
	l.mu.Lock()
	from := l.indexed
	l.mu.Unlock()
	if size > from {
		found := make(map[[32]byte]uint64, size-from)
		if err := indexTiles(ctx, l.reader, found, from, size); err != nil {
			return fmt.Errorf("read the log's new entries: %w", err)
		}
		l.mu.Lock()
		for h, idx := range found {
			if old, ok := l.index[h]; !ok || idx < old {
				l.index[h] = idx
			}
		}
		l.indexed = max(l.indexed, size)
		l.mu.Unlock()
	}
	l.covered = begun
	return nil
}

// Lookup returns the index of entry if it is in the log and covered by the latest published
// checkpoint.
func (l *Log) Lookup(entry []byte) (uint64, bool) {
	h := leafHash(entry)
	l.mu.Lock()
	idx, ok := l.index[h]
	l.mu.Unlock()
	if !ok || idx >= l.pub.Load().cp.Size {
		return 0, false
	}
	return idx, true
}

// AwaitPublished blocks until this Log has seen a published checkpoint that covers index idx,
// or ctx ends. On a shared log another process may record an index a moment before this one
// reads the checkpoint that covers it.
func (l *Log) AwaitPublished(ctx context.Context, idx uint64) error {
	if err := l.awaitPublished(ctx, idx); err != nil {
		return fmt.Errorf("tlog: wait for entry %d to be published: %w", idx, err)
	}
	return nil
}

// awaitPublished blocks until a published checkpoint covers index idx.
func (l *Log) awaitPublished(ctx context.Context, idx uint64) error {
	for {
		p := l.pub.Load()
		if idx < p.cp.Size {
			return nil
		}
		select {
		case <-p.changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-l.ctx.Done():
			return ErrClosed
		}
	}
}

// pollCheckpoints re-reads the published checkpoint until the Log closes, releasing waiting
// Appends when it grows. tessera publishes from its own goroutine and offers no notification.
func (l *Log) pollCheckpoints() {
	defer close(l.pollDone)
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-t.C:
		}
		raw, err := l.reader.ReadCheckpoint(l.ctx)
		if err != nil {
			continue // transient; tessera replaces the file atomically
		}
		cur := l.pub.Load()
		if bytes.Equal(raw, cur.raw) {
			continue
		}
		cp, err := parseCheckpointBody(raw, l.origin)
		if err != nil || cp.Size < cur.cp.Size {
			continue
		}
		l.pub.Store(&published{raw: raw, cp: cp, changed: make(chan struct{})})
		close(cur.changed)
	}
}

// Checkpoint returns the latest published checkpoint, a signed note in the tlog-checkpoint format.
func (l *Log) Checkpoint(ctx context.Context) ([]byte, error) {
	return bytes.Clone(l.pub.Load().raw), nil
}

// Close stops accepting appends, waits (up to 30 s) for appends under way to be published, and
// stops the log's background work. Appends that were not acknowledged may or may not be in the
// log when it is next opened.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.closed = true
	l.mu.Unlock()

	var errs []error
	drained := make(chan struct{})
	go func() { l.adds.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(closeTimeout):
		errs = append(errs, errors.New("tlog: close: appends still in flight after timeout"))
	}
	if l.shared {
		close(l.turnStop)
		select {
		case <-l.turnDone:
		case <-time.After(closeTimeout):
			errs = append(errs, errors.New("tlog: close: a turn at sequencing still under way after timeout"))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	if err := l.shutdown(ctx); err != nil {
		errs = append(errs, fmt.Errorf("tlog: close: %w", err))
	}
	cancel()
	l.cancel()
	<-l.pollDone
	if err := l.lock.Close(); err != nil {
		errs = append(errs, fmt.Errorf("tlog: close: %w", err))
	}
	return errors.Join(errs...)
}

func leafHash(entry []byte) [32]byte {
	return [32]byte(rfc6962.DefaultHasher.HashLeaf(entry))
}

// ownVerifier recognises the signer's signature line by name and key hash without checking it:
// it reads checkpoints this process (or its predecessor on the same key) wrote.
type ownVerifier struct {
	name string
	hash uint32
}

func (v ownVerifier) Name() string            { return v.name }
func (v ownVerifier) KeyHash() uint32         { return v.hash }
func (v ownVerifier) Verify(_, _ []byte) bool { return true }
func parseOwnCheckpoint(raw []byte, signer note.Signer) (Checkpoint, error) {
	return parseCheckpoint(raw, ownVerifier{name: signer.Name(), hash: signer.KeyHash()})
}

// parseCheckpointBody parses a checkpoint note's text, ignoring its signatures.
func parseCheckpointBody(raw []byte, origin string) (Checkpoint, error) {
	i := bytes.Index(raw, []byte("\n\n"))
	if i < 0 {
		return Checkpoint{}, errors.New("malformed note")
	}
	return parseCheckpointText(raw[:i+1], origin)
}
