package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// batcher commits the certificates that concurrent callers put in groups: one
// transaction, and so one sync of SQLite's write-ahead log, for all the
// certificates that arrived while the previous group was committing. This is what
// lets SQLite sync every commit (synchronous=FULL) and still store thousands of
// certificates a second. Each caller returns only after its own group is
// committed, and a lone caller waits for nobody: group commit, with no timer.
//
// The batcher holds nothing that outlives a call: a request is in memory only
// while its caller waits for the answer.
type batcher struct {
	db    *sql.DB
	d     dialect
	stmts *stmtCache
	reqs  chan *putReq // unbuffered: a request is taken or its caller is told
	quit  chan struct{}
	done  chan struct{}
}

type putReq struct {
	ctx context.Context
	rec Record
	// setIndex, when set, makes the request a SetLogIndex of rec.ID instead.
	setIndex *uint64
	// checkpoint goes with setIndex (SetLogged).
	checkpoint []byte
	res        chan putRes // buffered: the batcher never waits for a caller
}

type putRes struct {
	rec     Record
	created bool
	err     error
}

// maxBatch bounds a group, and so how long one transaction holds the writer.
const maxBatch = 256

var errClosed = errors.New("store is closed")

func newBatcher(db *sql.DB, d dialect) *batcher {
	b := &batcher{db: db, d: d, stmts: &stmtCache{db: db, m: map[string]*sql.Stmt{}}, reqs: make(chan *putReq), quit: make(chan struct{}), done: make(chan struct{})}
	go b.run()
	return b
}

// put stores c, committed with whatever else is being put at the same time. If
// ctx ends first, put returns its error, and c may or may not be stored: putting
// it again says which.
func (b *batcher) put(ctx context.Context, c Record) (Record, bool, error) {
	r := &putReq{ctx: ctx, rec: c, res: make(chan putRes, 1)}
	select {
	case b.reqs <- r:
	case <-b.quit:
		return Record{}, false, errClosed
	case <-ctx.Done():
		return Record{}, false, ctx.Err()
	}
	select {
	case res := <-r.res:
		return res.rec, res.created, res.err
	case <-ctx.Done():
		return Record{}, false, ctx.Err()
	}
}

// setLogIndex records a log index, committed with whatever else is being written at
// the same time: one sync for a whole group of uploads' indexes.
func (b *batcher) setLogIndex(ctx context.Context, id string, index uint64, checkpoint []byte) error {
	r := &putReq{ctx: ctx, rec: Record{ID: id}, setIndex: &index, checkpoint: checkpoint, res: make(chan putRes, 1)}
	select {
	case b.reqs <- r:
	case <-b.quit:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case res := <-r.res:
		return res.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// stop ends the batcher once the group being committed is.
func (b *batcher) stop() {
	close(b.quit)
	<-b.done
	b.stmts.close()
}

func (b *batcher) run() {
	defer close(b.done)
	for {
		var group []*putReq
		select {
		case r := <-b.reqs:
			group = append(group, r)
		case <-b.quit:
			return
		}
		// Everyone who queued while the last group committed joins this one.
	more:
		for len(group) < maxBatch {
			select {
			case r := <-b.reqs:
				group = append(group, r)
			default:
				break more
			}
		}
		b.commit(group)
	}
}

// commit stores a group in one transaction. If the transaction fails, each
// request is tried again alone, so that one cannot fail the others.
func (b *batcher) commit(group []*putReq) {
	live := group[:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.res <- putRes{err: err}
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	results, err := b.commitGroup(live)
	if err != nil && len(live) > 1 {
		for _, r := range live {
			b.commit([]*putReq{r})
		}
		return
	}
	for i, r := range live {
		if err != nil {
			r.res <- putRes{err: err}
		} else {
			r.res <- results[i]
		}
	}
}

func (b *batcher) commitGroup(group []*putReq) ([]putRes, error) {
	// Not any caller's context: one caller giving up must not undo the others.
	ctx := context.Background()
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer b.stmts.prepare(ctx) // once the transaction has freed the connection
	defer tx.Rollback()        //nolint:errcheck // after Commit it is a no-op
	q := cachedTx{tx, b.stmts}
	results := make([]putRes, len(group))
	for i, r := range group {
		var res putRes
		if r.setIndex != nil {
			res.err = setLogIndex(ctx, q, b.d, r.rec.ID, *r.setIndex, r.checkpoint)
		} else {
			res.rec, res.created, res.err = putRecord(ctx, q, b.d, r.rec)
		}
		if eb := (errBatch{}); errors.As(res.err, &eb) {
			return nil, eb.err
		}
		// A conflict fails only its own statement; the transaction goes on.
		results[i] = res
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	return results, nil
}

// stmtCache keeps the batcher's statements prepared: the same few run for every
// certificate, and preparing them anew each time cost SQLite more than running
// them. A statement is prepared between transactions (prepare): the writer has
// one connection, which a transaction holds.
type stmtCache struct {
	db     *sql.DB
	m      map[string]*sql.Stmt // used by the batcher's goroutine only, then by stop
	wanted []string             // run unprepared in the last transaction
}

// prepare prepares the statements the last transaction ran unprepared. A failure
// only leaves them unprepared.
func (c *stmtCache) prepare(ctx context.Context) {
	for _, q := range c.wanted {
		if _, ok := c.m[q]; ok {
			continue
		}
		if st, err := c.db.PrepareContext(ctx, q); err == nil {
			c.m[q] = st
		}
	}
	c.wanted = c.wanted[:0]
}

func (c *stmtCache) close() {
	for _, st := range c.m {
		st.Close()
	}
	clear(c.m)
}

// cachedTx runs a transaction's statements through the cache.
type cachedTx struct {
	tx *sql.Tx
	c  *stmtCache
}

func (t cachedTx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st, ok := t.c.m[query]; ok {
		return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	t.c.wanted = append(t.c.wanted, query)
	return t.tx.QueryRowContext(ctx, query, args...)
}

func (t cachedTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st, ok := t.c.m[query]; ok {
		return t.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	t.c.wanted = append(t.c.wanted, query)
	return t.tx.ExecContext(ctx, query, args...)
}
