package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

// OpenPostgres connects to the PostgreSQL database at url (a postgres:// URL or a
// libpq keyword/value string) and brings its schema up to date. The URL may tune
// the connection pool (pool_max_conns=…, default max(4, CPUs)) and, behind a
// transaction-pooling proxy such as PgBouncer, default_query_exec_mode=exec.
//
// Several registry instances may share the database: the store keeps nothing in
// the process, the database enforces uniqueness, and migrations take an advisory
// lock so that instances starting together apply each version once.
func OpenPostgres(ctx context.Context, url string) (Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's error would repeat the URL, password included.
		return nil, fmt.Errorf("open postgres: %w: cannot parse the database URL", ErrInvalid)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	s := newSQLStore(postgresDialect{}, db, db)
	s.closers = append(s.closers, func() error { pool.Close(); return nil })
	if err := s.Ping(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open postgres %s@%s/%s: %w", cfg.ConnConfig.User, cfg.ConnConfig.Host, cfg.ConnConfig.Database, err)
	}
	if err := migrate(ctx, db, postgresDialect{}); err != nil {
		s.Close()
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	return s, nil
}

type postgresDialect struct{}

func (postgresDialect) name() string { return "postgres" }

// migrationLock is the advisory lock key held while migrating ("decomreg").
const migrationLock = 0x6465636f6d726567

func (postgresDialect) lockMigrations(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock))
	return err
}

func (postgresDialect) timeArg(t time.Time) any { return t.UTC() }

func (postgresDialect) isUniqueViolation(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}

func (postgresDialect) skipLocked() string { return " FOR UPDATE SKIP LOCKED" }

func (postgresDialect) migrations() [][]string { return postgresMigrations }

// postgresMigrations: never edit a version once released; add one. They mirror
// sqliteMigrations, with PostgreSQL's types.
var postgresMigrations = [][]string{
	// 1: certificates, tokens, keys.
	{
		`CREATE TABLE certificates (
			seq              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
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
			issued           TIMESTAMPTZ NOT NULL,
			bundle           BYTEA NOT NULL,
			log_index        BIGINT UNIQUE,
			received         TIMESTAMPTZ NOT NULL
		)`,
		`CREATE INDEX certificates_serial ON certificates (serial_key, seq)`,
		`CREATE INDEX certificates_wwn ON certificates (wwn_key, seq)`,
		`CREATE INDEX certificates_asset ON certificates (asset_key, seq)`,
		`CREATE INDEX certificates_organization ON certificates (organization_key, seq)`,
		`CREATE INDEX certificates_customer ON certificates (customer_key, seq)`,
		`CREATE INDEX certificates_outcome ON certificates (outcome, seq)`,
		`CREATE INDEX certificates_method ON certificates (method, seq)`,
		`CREATE INDEX certificates_issued ON certificates (issued, seq)`,
		`CREATE INDEX certificates_pending ON certificates (seq) WHERE log_index IS NULL`,
		`CREATE TABLE api_tokens (
			id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			name    TEXT NOT NULL,
			hash    BYTEA NOT NULL UNIQUE,
			created TIMESTAMPTZ NOT NULL,
			revoked TIMESTAMPTZ
		)`,
		`CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens (name) WHERE revoked IS NULL`,
		`CREATE TABLE agent_keys (
			fingerprint TEXT PRIMARY KEY,
			name        TEXT NOT NULL,
			pem         TEXT NOT NULL,
			added       TIMESTAMPTZ NOT NULL,
			revoked     TIMESTAMPTZ
		)`,
	},
	// 2: the lease on logging a certificate, for instances sharing one log.
	{
		`ALTER TABLE certificates ADD COLUMN log_claim TEXT, ADD COLUMN log_claim_until TIMESTAMPTZ`,
	},
	// 3: the transparency log the certificates' log indexes point into.
	{
		`CREATE TABLE log_binding (id INTEGER PRIMARY KEY CHECK (id = 1), verifier_key TEXT NOT NULL)`,
	},
	// 4: a revocation's effective time and reason. Keys revoked before took
	// effect when they were revoked, and have no reason.
	{
		`ALTER TABLE agent_keys ADD COLUMN revoked_from TIMESTAMPTZ, ADD COLUMN revoke_reason TEXT`,
		`UPDATE agent_keys SET revoked_from = revoked, revoke_reason = '' WHERE revoked IS NOT NULL`,
	},
	// 5: what each token may do. Tokens made before could upload, and keep that.
	{
		`ALTER TABLE api_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT 'upload'`,
	},
	// 6: the first checkpoint seen to cover a certificate's log index.
	{
		`ALTER TABLE certificates ADD COLUMN log_checkpoint BYTEA`,
	},
	// 7: the webhook outbox (outbox.go): the endpoints, and a delivery per
	// certificate and endpoint, queued with the certificate's log index.
	{
		`CREATE TABLE webhook_endpoints (url TEXT PRIMARY KEY, active INTEGER NOT NULL)`,
		`CREATE TABLE webhook_deliveries (
			id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
			endpoint       TEXT NOT NULL,
			certificate_id TEXT NOT NULL,
			created        TIMESTAMPTZ NOT NULL,
			state          TEXT NOT NULL,
			attempts       INTEGER NOT NULL,
			next_attempt   TIMESTAMPTZ NOT NULL,
			claim          TEXT,
			claim_until    TIMESTAMPTZ,
			last_error     TEXT NOT NULL DEFAULT '',
			finished       TIMESTAMPTZ,
			UNIQUE (endpoint, certificate_id)
		)`,
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
			size_bytes     BIGINT NOT NULL
		)`,
		`CREATE INDEX job_certificates_job ON job_certificates (job)`,
		`CREATE TABLE job_plans (
			sha256   TEXT PRIMARY KEY,
			job      TEXT NOT NULL,
			body     BYTEA NOT NULL,
			uploaded TIMESTAMPTZ NOT NULL
		)`,
		`CREATE INDEX job_plans_job ON job_plans (job)`,
	},
}
