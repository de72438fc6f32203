package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLiteFile is the database's file name in the data directory; SQLite keeps its
// write-ahead log beside it, in SQLiteFile+"-wal" and SQLiteFile+"-shm".
const SQLiteFile = "registry.db"

// sqlitePragmas are set on every connection.
//
//   - journal_mode=WAL: readers never block the writer nor the writer them.
//   - synchronous=FULL: every commit syncs the write-ahead log before it returns,
//     so a stored certificate survives not only the process being killed
//     (kill -9, a panic, the OOM killer) but a power cut or a kernel crash too.
//     NORMAL would survive the process dying and could lose the last commits
//     to a power cut; group commit (see batcher) makes FULL cheap enough.
//   - busy_timeout: a connection waits up to 10 s for a lock held by another
//     process (a backup, the sqlite3 shell) instead of failing SQLITE_BUSY. Within
//     one process writes never wait on SQLite's lock: they share one connection.
//   - foreign_keys, temp_store, cache_size: the usual hygiene.
var sqlitePragmas = []string{
	"busy_timeout(10000)",
	"journal_mode(WAL)",
	"synchronous(FULL)",
	"foreign_keys(1)",
	"temp_store(MEMORY)",
	"cache_size(-32768)", // 32 MiB per connection
}

// OpenSQLite opens (creating it if needed) the SQLite database in dir, and brings
// its schema up to date. Writes go through one connection, so concurrent writers
// queue in the process rather than fail with SQLITE_BUSY, and certificates put
// at the same time are committed together; reads use a pool of read-only
// connections that WAL lets run beside the writer.
func OpenSQLite(ctx context.Context, dir string) (Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("open sqlite: %w: no data directory", ErrInvalid)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	path := filepath.Join(abs, SQLiteFile)
	dsn := func(extra ...string) string {
		q := url.Values{}
		for _, p := range sqlitePragmas {
			q.Add("_pragma", p)
		}
		for _, p := range extra {
			q.Add("_pragma", p)
		}
		// BEGIN IMMEDIATE: a transaction that will write takes the lock at once,
		// so it never fails upgrading a read lock.
		q.Set("_txlock", "immediate")
		// A file: URI, so that a directory with ? or # in its name still works.
		return (&url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}).String()
	}

	w, err := sql.Open("sqlite", dsn())
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	// The writer first: it makes the file and switches it to WAL, which sticks.
	if err := migrate(ctx, w, sqliteDialect{}); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}

	r, err := sql.Open("sqlite", dsn("query_only(1)"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	readers := max(4, 2*runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	r.SetConnMaxIdleTime(5 * time.Minute)
	s := newSQLStore(sqliteDialect{}, w, r)
	s.readStmts = new(sync.Map)
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	s.batch = newBatcher(w, sqliteDialect{})
	return s, nil
}

type sqliteDialect struct{}

func (sqliteDialect) name() string { return "sqlite" }

// BEGIN IMMEDIATE (see _txlock) already holds the database's write lock.
func (sqliteDialect) lockMigrations(context.Context, *sql.Tx) error { return nil }

// Times are INTEGER unix microseconds, UTC: they sort, compare and index as
// numbers, with the precision PostgreSQL keeps.
func (sqliteDialect) timeArg(t time.Time) any { return t.UnixMicro() }

func (sqliteDialect) isUniqueViolation(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && (e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

func (sqliteDialect) skipLocked() string { return "" }

func (sqliteDialect) migrations() [][]string { return sqliteMigrations }

// sqliteMigrations: never edit a version once released; add one.
var sqliteMigrations = [][]string{
	// 1: certificates, tokens, keys.
	{
		// seq orders certificates as received (keyset pagination); it is the rowid,
		// so every index below ends in it and serves "ORDER BY seq DESC" directly.
		// The *_key columns hold the folded (lower-case, trimmed) values searched.
		`CREATE TABLE certificates (
			seq              INTEGER PRIMARY KEY,
			id               TEXT NOT NULL UNIQUE,
			status           TEXT NOT NULL,
			outcome          TEXT NOT NULL,
			serial           TEXT NOT NULL,
			wwn              TEXT NOT NULL,
			asset_number     TEXT NOT NULL,
			method           TEXT NOT NULL,
			organization     TEXT NOT NULL,
			customer         TEXT NOT NULL,
			key_fingerprint  TEXT NOT NULL,
			serial_key       TEXT NOT NULL,
			wwn_key          TEXT NOT NULL,
			asset_key        TEXT NOT NULL,
			organization_key TEXT NOT NULL,
			customer_key     TEXT NOT NULL,
			issued           INTEGER NOT NULL,
			bundle           BLOB NOT NULL,
			log_index        INTEGER UNIQUE,
			received         INTEGER NOT NULL
		) STRICT`,
		`CREATE INDEX certificates_serial ON certificates (serial_key)`,
		`CREATE INDEX certificates_wwn ON certificates (wwn_key)`,
		`CREATE INDEX certificates_asset ON certificates (asset_key)`,
		`CREATE INDEX certificates_organization ON certificates (organization_key)`,
		`CREATE INDEX certificates_customer ON certificates (customer_key)`,
		`CREATE INDEX certificates_outcome ON certificates (outcome)`,
		`CREATE INDEX certificates_method ON certificates (method)`,
		`CREATE INDEX certificates_issued ON certificates (issued)`,
		`CREATE INDEX certificates_pending ON certificates (seq) WHERE log_index IS NULL`,
		// Only the SHA-256 of a token is kept. One active token per name.
		`CREATE TABLE api_tokens (
			id      INTEGER PRIMARY KEY,
			name    TEXT NOT NULL,
			hash    BLOB NOT NULL UNIQUE,
			created INTEGER NOT NULL,
			revoked INTEGER
		) STRICT`,
		`CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens (name) WHERE revoked IS NULL`,
		`CREATE TABLE agent_keys (
			fingerprint TEXT PRIMARY KEY,
			name        TEXT NOT NULL,
			pem         TEXT NOT NULL,
			added       INTEGER NOT NULL,
			revoked     INTEGER
		) STRICT`,
	},
	// 2: the lease on logging a certificate, for instances sharing one log.
	{
		`ALTER TABLE certificates ADD COLUMN log_claim TEXT`,
		`ALTER TABLE certificates ADD COLUMN log_claim_until INTEGER`,
	},
	// 3: the transparency log the certificates' log indexes point into.
	{
		`CREATE TABLE log_binding (id INTEGER PRIMARY KEY CHECK (id = 1), verifier_key TEXT NOT NULL) STRICT`,
	},
	// 4: a revocation's effective time and reason. Keys revoked before took
	// effect when they were revoked, and have no reason.
	{
		`ALTER TABLE agent_keys ADD COLUMN revoked_from INTEGER`,
		`ALTER TABLE agent_keys ADD COLUMN revoke_reason TEXT`,
		`UPDATE agent_keys SET revoked_from = revoked, revoke_reason = '' WHERE revoked IS NOT NULL`,
	},
	// 5: what each token may do. Tokens made before could upload, and keep that.
	{
		`ALTER TABLE api_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT 'upload'`,
	},
	// 6: the first checkpoint seen to cover a certificate's log index.
	{
		`ALTER TABLE certificates ADD COLUMN log_checkpoint BLOB`,
	},
	// 7: the webhook outbox (outbox.go): the endpoints, and a delivery per
	// certificate and endpoint, queued with the certificate's log index.
	{
		`CREATE TABLE webhook_endpoints (url TEXT PRIMARY KEY, active INTEGER NOT NULL) STRICT`,
		`CREATE TABLE webhook_deliveries (
			id             INTEGER PRIMARY KEY,
			endpoint       TEXT NOT NULL,
			certificate_id TEXT NOT NULL,
			created        INTEGER NOT NULL,
			state          TEXT NOT NULL,
			attempts       INTEGER NOT NULL,
			next_attempt   INTEGER NOT NULL,
			claim          TEXT,
			claim_until    INTEGER,
			last_error     TEXT NOT NULL DEFAULT '',
			finished       INTEGER,
			UNIQUE (endpoint, certificate_id)
		) STRICT`,
		`CREATE INDEX webhook_deliveries_due ON webhook_deliveries (id) WHERE state = 'pending'`,
		`CREATE INDEX webhook_deliveries_failed ON webhook_deliveries (id) WHERE state = 'failed'`,
	},
	// 8: jobs (jobs.go): what the job view shows of each certificate of a job,
	// and the approved plans pushed for jobs.
	{
		`CREATE TABLE job_certificates (
			certificate_id TEXT PRIMARY KEY,
			job            TEXT NOT NULL,
			plan_sha256    TEXT NOT NULL,
			hostname       TEXT NOT NULL,
			system_serial  TEXT NOT NULL,
			system_uuid    TEXT NOT NULL,
			model          TEXT NOT NULL,
			path           TEXT NOT NULL,
			size_bytes     INTEGER NOT NULL
		) STRICT`,
		`CREATE INDEX job_certificates_job ON job_certificates (job)`,
		`CREATE TABLE job_plans (
			sha256   TEXT PRIMARY KEY,
			job      TEXT NOT NULL,
			body     BLOB NOT NULL,
			uploaded INTEGER NOT NULL
		) STRICT`,
		`CREATE INDEX job_plans_job ON job_plans (job)`,
	},
}
