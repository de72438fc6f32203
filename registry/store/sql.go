package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// dialect is what differs between the databases. The SQL itself is shared: both
// take $1-style parameters, ON CONFLICT … DO NOTHING and RETURNING.
type dialect interface {
	name() string
	// migrations are the schema versions, in order: the statements of
	// migrations[i] make version i+1.
	migrations() [][]string
	// lockMigrations serialises migrations between processes inside tx.
	lockMigrations(ctx context.Context, tx *sql.Tx) error
	// timeArg is how a time is passed to the database.
	timeArg(t time.Time) any
	// isUniqueViolation reports whether err is a unique constraint refusing a row.
	isUniqueViolation(err error) bool
	// skipLocked ends a SELECT of rows to claim: rows another transaction is
	// claiming are skipped, not waited for (PostgreSQL; SQLite has one writer).
	skipLocked() string
}

// sqlStore is the Store over database/sql shared by both databases.
type sqlStore struct {
	d dialect
	w *sql.DB // writes; for SQLite one connection
	r *sql.DB // reads; for SQLite a pool of read-only connections
	// batch, when set, commits certificates in groups (SQLite).
	batch *batcher
	// readStmts, when set (SQLite), keeps the hottest reads' statements prepared on
	// the reader pool (readRow); PostgreSQL's driver caches its own.
	readStmts *sync.Map
	// closers run at Close, in order, after the databases are closed.
	closers   []func() error
	now       func() time.Time
	closeOnce sync.Once
	closeErr  error
}

func newSQLStore(d dialect, w, r *sql.DB) *sqlStore {
	return &sqlStore{d: d, w: w, r: r, now: time.Now}
}

// timeUnit is the precision of stored times: PostgreSQL's timestamptz keeps
// microseconds, and SQLite is made to do the same.
const timeUnit = time.Microsecond

func (s *sqlStore) stamp() time.Time { return s.now().UTC().Truncate(timeUnit) }

// Times a record may hold, and the range search bounds are clamped to.
var (
	minTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

// timeCol scans a time stored as unix microseconds (SQLite) or as a timestamp
// (PostgreSQL). NULL leaves the zero time.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*c.t = time.Time{}
	case int64:
		*c.t = time.UnixMicro(v).UTC()
	case time.Time:
		*c.t = v.UTC()
	default:
		return fmt.Errorf("scan time: unexpected %T", v)
	}
	return nil
}

// fold is how searchable names are compared: case-insensitively, ignoring
// surrounding spaces (ATA serials come padded with them).
func fold(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// textOK reports whether s can be stored: UTF-8 (PostgreSQL refuses anything
// else), no NUL byte (neither can hold one in text), and at most max bytes.
func textOK(s string, max int) bool {
	return len(s) <= max && utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}

// quote shows a caller's string in an error without letting it fill the log.
func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "…"
	}
	return strconv.QuoteToASCII(s)
}

func (s *sqlStore) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", s.d.name(), err)
	}
	if s.r != s.w {
		if err := s.r.PingContext(ctx); err != nil {
			return fmt.Errorf("ping %s: %w", s.d.name(), err)
		}
	}
	return nil
}

func (s *sqlStore) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *sqlStore) close() error {
	if s.batch != nil {
		s.batch.stop()
	}
	var errs []error
	if s.r != s.w {
		errs = append(errs, s.r.Close())
	}
	errs = append(errs, s.w.Close())
	for _, f := range s.closers {
		errs = append(errs, f())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close %s: %w", s.d.name(), err)
	}
	return nil
}

// migrate brings the schema to the newest version, in one transaction, holding
// the dialect's lock so that instances starting together do not race.
func migrate(ctx context.Context, db *sql.DB, d dialect) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", d.name(), err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if err := d.lockMigrations(ctx, tx); err != nil {
		return fmt.Errorf("migrate %s: lock: %w", d.name(), err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		applied BIGINT NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate %s: %w", d.name(), err)
	}
	var have int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return fmt.Errorf("migrate %s: read version: %w", d.name(), err)
	}
	ms := d.migrations()
	if have > len(ms) {
		return fmt.Errorf("migrate %s: the database has schema version %d, newer than this decom knows (%d): upgrade decom", d.name(), have, len(ms))
	}
	for v := have + 1; v <= len(ms); v++ {
		for _, stmt := range ms[v-1] {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("migrate %s to version %d: %w", d.name(), v, err)
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied) VALUES ($1, $2)`, v, time.Now().Unix()); err != nil {
			return fmt.Errorf("migrate %s to version %d: %w", d.name(), v, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate %s: %w", d.name(), err)
	}
	return nil
}

// certColumns are the columns scanRecord reads, in its order.
const certColumns = `seq, id, status, outcome, serial, wwn, asset_number, method, organization,
	customer, key_fingerprint, issued, bundle, log_index, received, log_checkpoint`

// certColumnsOf is certColumns qualified with a table's alias, for joins.
func certColumnsOf(alias string) string {
	cols := strings.Split(certColumns, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

type rowScanner interface{ Scan(dest ...any) error }

func scanRecord(row rowScanner) (rec Record, seq int64, err error) {
	var logIndex sql.NullInt64
	err = row.Scan(&seq, &rec.ID, &rec.Status, &rec.Outcome, &rec.Serial, &rec.WWN, &rec.AssetNumber,
		&rec.Method, &rec.Organization, &rec.Customer, &rec.KeyFingerprint, timeCol{&rec.Issued},
		&rec.Bundle, &logIndex, timeCol{&rec.Received}, &rec.LogCheckpoint)
	if logIndex.Valid {
		v := uint64(logIndex.Int64)
		rec.LogIndex = &v
	}
	return rec, seq, err
}

// checkRecord refuses a record the store cannot hold faithfully.
func checkRecord(c *Record) error {
	if c.ID == "" || !textOK(c.ID, MaxIDLen) {
		return fmt.Errorf("%w: certificate ID %s", ErrInvalid, quote(c.ID))
	}
	for _, f := range []struct{ name, v string }{
		{"status", c.Status}, {"outcome", c.Outcome}, {"serial", c.Serial}, {"WWN", c.WWN},
		{"asset number", c.AssetNumber}, {"method", c.Method}, {"organization", c.Organization},
		{"customer", c.Customer}, {"key fingerprint", c.KeyFingerprint},
	} {
		if !textOK(f.v, MaxTextLen) {
			return fmt.Errorf("%w: certificate %s: %s %s: want UTF-8 without NUL, at most %d bytes", ErrInvalid, c.ID, f.name, quote(f.v), MaxTextLen)
		}
	}
	if c.Issued.IsZero() || c.Issued.Before(minTime) || c.Issued.After(maxTime) {
		return fmt.Errorf("%w: certificate %s: issue time %v", ErrInvalid, c.ID, c.Issued)
	}
	if !c.Received.IsZero() && (c.Received.Before(minTime) || c.Received.After(maxTime)) {
		return fmt.Errorf("%w: certificate %s: receive time %v", ErrInvalid, c.ID, c.Received)
	}
	if len(c.Bundle) == 0 {
		return fmt.Errorf("%w: certificate %s: no bundle", ErrInvalid, c.ID)
	}
	if c.LogIndex != nil && *c.LogIndex > math.MaxInt64 {
		return fmt.Errorf("%w: certificate %s: log index %d", ErrInvalid, c.ID, *c.LogIndex)
	}
	if c.Job != nil {
		if err := checkJobFields(c.ID, *c.Job); err != nil {
			return err
		}
	}
	return nil
}

func (s *sqlStore) PutCertificate(ctx context.Context, c Record) (Record, bool, error) {
	if err := checkRecord(&c); err != nil {
		return Record{}, false, fmt.Errorf("put certificate: %w", err)
	}
	c.Issued = c.Issued.UTC().Truncate(timeUnit)
	if c.Received.IsZero() {
		c.Received = s.stamp()
	}
	c.Received = c.Received.UTC().Truncate(timeUnit)
	c.Bundle = bytes.Clone(c.Bundle)
	if c.LogIndex != nil {
		v := *c.LogIndex
		c.LogIndex = &v
	}
	var (
		stored  Record
		created bool
		err     error
	)
	if s.batch != nil {
		stored, created, err = s.batch.put(ctx, c)
	} else {
		stored, created, err = putRecord(ctx, s.w, s.d, c)
	}
	if err != nil {
		return Record{}, false, fmt.Errorf("put certificate %s: %w", c.ID, err)
	}
	return stored, created, nil
}

// queryer is a database or a transaction.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// errBatch marks an error that is not the record's own: the transaction it ran
// in cannot go on.
type errBatch struct{ err error }

func (e errBatch) Error() string { return e.err.Error() }
func (e errBatch) Unwrap() error { return e.err }

// putRecord inserts c unless its ID is stored, in which case it returns the
// stored record if the bundles are the same. Its errors are ErrConflict, or
// errBatch.
func putRecord(ctx context.Context, q queryer, d dialect, c Record) (Record, bool, error) {
	var logIndex sql.NullInt64
	if c.LogIndex != nil {
		logIndex = sql.NullInt64{Int64: int64(*c.LogIndex), Valid: true}
	}
	var seq int64
	err := q.QueryRowContext(ctx, `INSERT INTO certificates (id, status, outcome, serial, wwn,
		asset_number, method, organization, customer, key_fingerprint, serial_key, wwn_key,
		asset_key, organization_key, customer_key, issued, bundle, log_index, received)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
		ON CONFLICT (id) DO NOTHING RETURNING seq`,
		c.ID, c.Status, c.Outcome, c.Serial, c.WWN, c.AssetNumber, c.Method, c.Organization,
		c.Customer, c.KeyFingerprint, fold(c.Serial), fold(c.WWN), fold(c.AssetNumber),
		fold(c.Organization), fold(c.Customer), d.timeArg(c.Issued), c.Bundle, logIndex,
		d.timeArg(c.Received)).Scan(&seq)
	switch {
	case err == nil && c.LogIndex != nil:
		if err := enqueueDeliveries(ctx, q, d, c.ID, c.Received); err != nil {
			return Record{}, false, err
		}
		if err := putJobFields(ctx, q, c); err != nil {
			return Record{}, false, err
		}
		return c, true, nil
	case err == nil:
		if err := putJobFields(ctx, q, c); err != nil {
			return Record{}, false, err
		}
		return c, true, nil
	case d.isUniqueViolation(err):
		// Not the ID (ON CONFLICT took that): the log index is another's.
		return Record{}, false, fmt.Errorf("%w: log index %d is another certificate's", ErrConflict, logIndex.Int64)
	case !errors.Is(err, sql.ErrNoRows):
		return Record{}, false, errBatch{err}
	}
	// The ID is stored already: committed (a conflicting insert waits for the
	// other writer to commit), or earlier in this transaction.
	old, _, err := scanRecord(q.QueryRowContext(ctx, `SELECT `+certColumns+` FROM certificates WHERE id = $1`, c.ID))
	if err != nil {
		return Record{}, false, errBatch{err}
	}
	if !bytes.Equal(old.Bundle, c.Bundle) {
		return Record{}, false, fmt.Errorf("%w: stored with a different bundle", ErrConflict)
	}
	// Without a transaction (PostgreSQL, one statement at a time) an earlier put
	// may have stored the certificate and not its job: this one does.
	if err := putJobFields(ctx, q, c); err != nil {
		return Record{}, false, err
	}
	return old, false, nil
}

func (s *sqlStore) get(ctx context.Context, db *sql.DB, id string) (Record, error) {
	rec, _, err := scanRecord(db.QueryRowContext(ctx, `SELECT `+certColumns+` FROM certificates WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, fmt.Errorf("certificate %s: %w", quote(id), ErrNotFound)
	}
	if err != nil {
		return Record{}, fmt.Errorf("certificate %s: %w", quote(id), err)
	}
	return rec, nil
}

func (s *sqlStore) GetCertificate(ctx context.Context, id string) (Record, error) {
	if !textOK(id, MaxIDLen) {
		return Record{}, fmt.Errorf("get certificate %s: %w", quote(id), ErrNotFound)
	}
	rec, _, err := scanRecord(s.readRow(ctx, `SELECT `+certColumns+` FROM certificates WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Record{}, fmt.Errorf("get certificate %s: %w", quote(id), ErrNotFound)
	}
	if err != nil {
		return Record{}, fmt.Errorf("get certificate %s: %w", quote(id), err)
	}
	return rec, nil
}

// readRow runs a one-row read on the reader pool, through a statement prepared
// once where the store keeps them (readStmts): for SQLite, preparing the
// statement cost about as much as running it.
func (s *sqlStore) readRow(ctx context.Context, query string, args ...any) *sql.Row {
	if s.readStmts != nil {
		if v, ok := s.readStmts.Load(query); ok {
			return v.(*sql.Stmt).QueryRowContext(ctx, args...)
		}
		if st, err := s.r.PrepareContext(ctx, query); err == nil {
			if v, loaded := s.readStmts.LoadOrStore(query, st); loaded {
				st.Close()
				st = v.(*sql.Stmt)
			}
			return st.QueryRowContext(ctx, args...)
		}
	}
	return s.r.QueryRowContext(ctx, query, args...)
}

func (s *sqlStore) SetLogIndex(ctx context.Context, id string, index uint64) error {
	return s.SetLogged(ctx, id, index, nil)
}

func (s *sqlStore) SetLogged(ctx context.Context, id string, index uint64, checkpoint []byte) error {
	if index > math.MaxInt64 {
		return fmt.Errorf("set log index of %s: %w: index %d", quote(id), ErrInvalid, index)
	}
	if !textOK(id, MaxIDLen) {
		return fmt.Errorf("set log index of %s: %w", quote(id), ErrNotFound)
	}
	var err error
	if s.batch != nil {
		err = s.batch.setLogIndex(ctx, id, index, checkpoint)
	} else {
		err = setLogIndex(ctx, s.w, s.d, id, index, checkpoint)
	}
	if eb := (errBatch{}); errors.As(err, &eb) {
		return fmt.Errorf("set log index of %s: %w", quote(id), eb.err)
	}
	return err
}

// setLogIndex records a certificate's log index unless it has one; the same index
// again is a no-op, another is ErrConflict. Its other errors are errBatch.
func setLogIndex(ctx context.Context, q queryer, d dialect, id string, index uint64, checkpoint []byte) error {
	var seq int64
	err := q.QueryRowContext(ctx, `UPDATE certificates SET log_index = $1, log_checkpoint = $3 WHERE id = $2 AND log_index IS NULL RETURNING seq`,
		int64(index), id, checkpoint).Scan(&seq)
	switch {
	case err == nil:
		// Logged now, and only now: queue its webhook deliveries in the same transaction.
		return enqueueDeliveries(ctx, q, d, id, time.Now().UTC().Truncate(timeUnit))
	case d.isUniqueViolation(err):
		return fmt.Errorf("set log index of %s: %w: index %d is another certificate's", quote(id), ErrConflict, index)
	case !errors.Is(err, sql.ErrNoRows):
		return errBatch{err}
	}
	old, _, err := scanRecord(q.QueryRowContext(ctx, `SELECT `+certColumns+` FROM certificates WHERE id = $1`, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("set log index of %s: %w", quote(id), ErrNotFound)
	case err != nil:
		return errBatch{err}
	case old.LogIndex == nil: // cannot be: log indexes are never unset
		return errBatch{fmt.Errorf("log index of %s not set", quote(id))}
	case *old.LogIndex != index:
		return fmt.Errorf("set log index of %s: %w: it is %d already", quote(id), ErrConflict, *old.LogIndex)
	}
	return nil
}

func (s *sqlStore) ClaimLog(ctx context.Context, id, holder string, lease time.Duration) (Record, bool, error) {
	if !textOK(id, MaxIDLen) {
		return Record{}, false, fmt.Errorf("claim logging of %s: %w", quote(id), ErrNotFound)
	}
	if holder == "" || !textOK(holder, MaxNameLen) || lease <= 0 {
		return Record{}, false, fmt.Errorf("claim logging of %s: %w: holder %s, lease %v", quote(id), ErrInvalid, quote(holder), lease)
	}
	now := s.stamp()
	var seq int64
	err := s.w.QueryRowContext(ctx, `UPDATE certificates SET log_claim = $1, log_claim_until = $2
		WHERE id = $3 AND log_index IS NULL AND (log_claim IS NULL OR log_claim = $1 OR log_claim_until < $4)
		RETURNING seq`, holder, s.d.timeArg(now.Add(lease)), id, s.d.timeArg(now)).Scan(&seq)
	claimed := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return Record{}, false, fmt.Errorf("claim logging of %s: %w", quote(id), err)
	}
	// Read back through the writer: a reader connection may not see the claim or an
	// index set an instant ago.
	rec, err := s.get(ctx, s.w, id)
	if err != nil {
		return Record{}, false, fmt.Errorf("claim logging of %s: %w", quote(id), err)
	}
	return rec, claimed && rec.LogIndex == nil, nil
}

func (s *sqlStore) BindLog(ctx context.Context, verifierKey string) error {
	if verifierKey == "" || !textOK(verifierKey, 1024) {
		return fmt.Errorf("bind the log: %w: verifier key %s", ErrInvalid, quote(verifierKey))
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO log_binding (id, verifier_key) VALUES (1, $1) ON CONFLICT (id) DO NOTHING`, verifierKey); err != nil {
		return fmt.Errorf("bind the log: %w", err)
	}
	var bound string
	if err := s.w.QueryRowContext(ctx, `SELECT verifier_key FROM log_binding WHERE id = 1`).Scan(&bound); err != nil {
		return fmt.Errorf("bind the log: %w", err)
	}
	if bound != verifierKey {
		return fmt.Errorf("bind the log: %w: the database belongs to the log %s", ErrConflict, quote(bound))
	}
	return nil
}

// Cursors are "c1" and the base64url of the last returned row's sequence number:
// opaque to clients, checked when they come back.
const cursorPrefix = "c1"

func encodeCursor(seq int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(seq))
	return cursorPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

func decodeCursor(c string) (int64, error) {
	rest, ok := strings.CutPrefix(c, cursorPrefix)
	if !ok || len(rest) != base64.RawURLEncoding.EncodedLen(8) {
		return 0, ErrInvalidCursor
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(rest)
	if err != nil || len(b) != 8 {
		return 0, ErrInvalidCursor
	}
	seq := binary.BigEndian.Uint64(b)
	if seq == 0 || seq > math.MaxInt64 {
		return 0, ErrInvalidCursor
	}
	return int64(seq), nil
}

func (s *sqlStore) Search(ctx context.Context, q Query) (Page, error) {
	limit := q.Limit
	switch {
	case limit < 0:
		return Page{}, fmt.Errorf("search: %w: limit %d", ErrInvalid, limit)
	case limit == 0:
		limit = DefaultLimit
	case limit > MaxLimit:
		limit = MaxLimit
	}
	var (
		where []string
		args  []any
	)
	// cond adds "col op $n"; col and op are never from the query, only values are.
	cond := func(col, op string, v any) {
		args = append(args, v)
		where = append(where, col+" "+op+" $"+strconv.Itoa(len(args)))
	}
	if q.Cursor != "" {
		seq, err := decodeCursor(q.Cursor)
		if err != nil {
			return Page{}, fmt.Errorf("search: %w", err)
		}
		cond("seq", "<", seq)
	}
	for _, f := range []struct {
		col, v  string
		folded  bool
		maxSize int
	}{
		{"id", q.ID, false, MaxIDLen},
		{"serial_key", q.Serial, true, MaxTextLen},
		{"wwn_key", q.WWN, true, MaxTextLen},
		{"asset_key", q.AssetNumber, true, MaxTextLen},
		{"organization_key", q.Organization, true, MaxTextLen},
		{"customer_key", q.Customer, true, MaxTextLen},
		{"outcome", q.Outcome, false, MaxTextLen},
		{"method", q.Method, false, MaxTextLen},
	} {
		if f.v == "" {
			continue
		}
		if !textOK(f.v, f.maxSize) {
			return Page{}, nil // no certificate can hold it
		}
		v := f.v
		if f.folded {
			// Only spaces: not "any", not "none", but nothing stored matches it.
			if v = fold(v); v == "" {
				return Page{}, nil
			}
		}
		cond(f.col, "=", v)
	}
	if !q.From.IsZero() {
		if q.From.After(maxTime) {
			return Page{}, nil
		}
		cond("issued", ">=", s.d.timeArg(maxT(q.From, minTime).UTC().Truncate(timeUnit)))
	}
	if !q.To.IsZero() {
		if !q.To.After(minTime) {
			return Page{}, nil
		}
		to := q.To.UTC().Truncate(timeUnit)
		if to.After(maxTime) {
			to = maxTime.Add(timeUnit)
		}
		cond("issued", "<", s.d.timeArg(to))
	}
	if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
		return Page{}, nil
	}
	query := `SELECT ` + certColumns + ` FROM certificates`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, limit+1)
	query += ` ORDER BY seq DESC LIMIT $` + strconv.Itoa(len(args))

	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return Page{}, fmt.Errorf("search: %w", err)
	}
	defer rows.Close()
	var (
		page    Page
		lastSeq int64
	)
	for rows.Next() {
		if len(page.Records) == limit {
			page.Next = encodeCursor(lastSeq)
			break
		}
		rec, seq, err := scanRecord(rows)
		if err != nil {
			return Page{}, fmt.Errorf("search: %w", err)
		}
		page.Records = append(page.Records, rec)
		lastSeq = seq
	}
	if err := rows.Err(); err != nil {
		return Page{}, fmt.Errorf("search: %w", err)
	}
	return page, nil
}

func maxT(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (s *sqlStore) Pending(ctx context.Context, limit int) ([]Record, error) {
	switch {
	case limit < 0:
		return nil, fmt.Errorf("pending certificates: %w: limit %d", ErrInvalid, limit)
	case limit == 0:
		limit = DefaultLimit
	case limit > MaxLimit:
		limit = MaxLimit
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+certColumns+` FROM certificates
		WHERE log_index IS NULL ORDER BY seq LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("pending certificates: %w", err)
	}
	defer rows.Close()
	var recs []Record
	for rows.Next() {
		rec, _, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("pending certificates: %w", err)
		}
		recs = append(recs, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pending certificates: %w", err)
	}
	return recs, nil
}
