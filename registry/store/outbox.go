package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Outbox is the registry's webhook outbox: one delivery per certificate and
// webhook endpoint, queued in the same transaction that records the certificate's
// log index (SetLogIndex, or PutCertificate of a record that has one), so that a
// certificate the log holds always has its deliveries queued, whatever crashes,
// and a certificate is queued once however many instances share the database: the
// log index is set once.
//
// Deliveries are leased like logging is (ClaimLog): an instance claims due
// deliveries, posts them, and records the result; a lease that runs out (its holder
// died or hung) lets another instance take the delivery again. Delivery is thus at
// least once: a holder that dies after the endpoint answered and before recording
// it leaves the delivery to be posted again.
type Outbox interface {
	// SetWebhooks makes urls the endpoints that certificates logged from now on
	// are queued for; the others stop being queued for (what is queued for them
	// stays). Every instance on one database should be given the same URLs.
	SetWebhooks(ctx context.Context, urls []string) error
	// ClaimDeliveries leases to holder, until lease ends, up to limit pending
	// deliveries to the given endpoints that are due by now (next attempt not in
	// the future) and not leased to another holder, oldest first.
	ClaimDeliveries(ctx context.Context, holder string, endpoints []string, limit int, lease time.Duration) ([]Delivery, error)
	// FinishDeliveries records the results of holder's attempts, in one
	// transaction: each delivered, to be tried again at a time, or given up. A
	// retry or a give-up by a holder whose lease another took over changes nothing
	// (that holder now owns it); Delivered always holds. Unknown ids are
	// ErrNotFound; the others are recorded all the same.
	FinishDeliveries(ctx context.Context, holder string, done []Finished) error
	// DeliveryCounts counts the deliveries in each state.
	DeliveryCounts(ctx context.Context) (map[string]int, error)
	// FailedAndPending counts the deliveries pending and given up, cheaply.
	FailedAndPending(ctx context.Context) (pending, failed int, err error)
}

// States of a delivery.
const (
	DeliveryPending   = "pending"
	DeliveryDelivered = "delivered"
	DeliveryFailed    = "failed"
)

// Delivery is a queued webhook delivery of one certificate to one endpoint.
type Delivery struct {
	ID       int64
	Endpoint string
	// Attempts is how many attempts were made before this one.
	Attempts int
	// Created is when the certificate was queued (when its log index was recorded).
	Created time.Time
	// Certificate is the certificate, as stored.
	Certificate Record
}

// DeliveryResult is what an attempt came to.
type DeliveryResult struct {
	// Delivered: the endpoint accepted it (2xx).
	Delivered bool
	// RetryAt, when not delivered, is when to try again; zero gives up: the
	// delivery is failed.
	RetryAt time.Time
	// Error says what went wrong, for the operator.
	Error string
}

// Finished is the result of an attempt at delivery ID.
type Finished struct {
	ID     int64
	Result DeliveryResult
}

// outboxColumns are the deliveries' columns scanDelivery reads, then the certificate's.
const outboxColumns = `d.id, d.endpoint, d.attempts, d.created`

// enqueueDeliveries queues the deliveries of the certificate id to every active
// endpoint; q is the transaction that records its log index.
func enqueueDeliveries(ctx context.Context, q queryer, d dialect, id string, now time.Time) error {
	_, err := q.ExecContext(ctx, `INSERT INTO webhook_deliveries (endpoint, certificate_id, created, state, attempts, next_attempt)
		SELECT url, $1, $2, 'pending', 0, $2 FROM webhook_endpoints WHERE active = 1
		ON CONFLICT (endpoint, certificate_id) DO NOTHING`, id, d.timeArg(now))
	if err != nil {
		return errBatch{fmt.Errorf("queue webhook deliveries of %s: %w", quote(id), err)}
	}
	return nil
}

func (s *sqlStore) SetWebhooks(ctx context.Context, urls []string) error {
	for _, u := range urls {
		if u == "" || !textOK(u, MaxTextLen) {
			return fmt.Errorf("set webhooks: %w: URL %s", ErrInvalid, quote(u))
		}
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("set webhooks: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if _, err := tx.ExecContext(ctx, `UPDATE webhook_endpoints SET active = 0`); err != nil {
		return fmt.Errorf("set webhooks: %w", err)
	}
	for _, u := range urls {
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_endpoints (url, active) VALUES ($1, 1)
			ON CONFLICT (url) DO UPDATE SET active = 1`, u); err != nil {
			return fmt.Errorf("set webhooks: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("set webhooks: %w", err)
	}
	return nil
}

func (s *sqlStore) ClaimDeliveries(ctx context.Context, holder string, endpoints []string, limit int, lease time.Duration) ([]Delivery, error) {
	if holder == "" || !textOK(holder, MaxNameLen) || lease <= 0 || limit < 0 {
		return nil, fmt.Errorf("claim deliveries: %w: holder %s, lease %v, limit %d", ErrInvalid, quote(holder), lease, limit)
	}
	if len(endpoints) == 0 || limit == 0 {
		return nil, nil
	}
	limit = min(limit, MaxLimit)
	now := s.stamp()
	args := []any{holder, s.d.timeArg(now.Add(lease)), s.d.timeArg(now), limit}
	var in []string
	for _, e := range slices.Compact(slices.Sorted(slices.Values(endpoints))) {
		args = append(args, e)
		in = append(in, "$"+strconv.Itoa(len(args)))
	}
	// The lease condition is in the outer WHERE too: PostgreSQL checks it again on
	// a row another transaction changed meanwhile, so two instances never both
	// claim a delivery.
	rows, err := s.w.QueryContext(ctx, claimQuery(s.d, in), args...)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("claim deliveries: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	// One query for every claimed delivery and its certificate.
	args = args[:0]
	in = in[:0]
	for _, id := range ids {
		args = append(args, id)
		in = append(in, "$"+strconv.Itoa(len(args)))
	}
	rows, err = s.w.QueryContext(ctx, `SELECT `+outboxColumns+`, `+certColumnsOf("c")+` FROM webhook_deliveries d
		JOIN certificates c ON c.id = d.certificate_id WHERE d.id IN (`+strings.Join(in, ", ")+`) ORDER BY d.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	defer rows.Close()
	out := make([]Delivery, 0, len(ids))
	for rows.Next() {
		var d Delivery
		rec, _, err := scanRecord(prefixedScan{rows, []any{&d.ID, &d.Endpoint, &d.Attempts, timeCol{&d.Created}}})
		if err != nil {
			return nil, fmt.Errorf("claim deliveries: %w", err)
		}
		d.Certificate = rec
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return out, nil
}

// claimQuery is ClaimDeliveries' statement: $1 the holder, $2 the lease's end, $3
// now, $4 the limit, and endpoints the parameters of the endpoints.
func claimQuery(d dialect, endpoints []string) string {
	free := `state = 'pending' AND next_attempt <= $3 AND (claim IS NULL OR claim_until < $3)`
	// (endpoint || '') keeps SQLite off the (endpoint, certificate_id) index, which
	// would read every delivery ever made to the endpoint at each claim, and on the
	// pending deliveries' index, in id order, up to the limit.
	return `UPDATE webhook_deliveries SET claim = $1, claim_until = $2
		WHERE ` + free + ` AND id IN (SELECT id FROM webhook_deliveries WHERE ` + free + `
			AND (endpoint || '') IN (` + strings.Join(endpoints, ", ") + `) ORDER BY id LIMIT $4` + d.skipLocked() + `)
		RETURNING id`
}

// prefixedScan scans a row whose first columns go to pre and the rest to what its
// Scan is given.
type prefixedScan struct {
	row rowScanner
	pre []any
}

func (p prefixedScan) Scan(dest ...any) error { return p.row.Scan(append(p.pre, dest...)...) }

func (s *sqlStore) FinishDeliveries(ctx context.Context, holder string, done []Finished) error {
	if len(done) == 0 {
		return nil
	}
	now := s.stamp()
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("finish deliveries: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	var unknown []error
	for _, f := range done {
		q, args := finishQuery(s.d, f.ID, holder, f.Result, now)
		r, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("finish delivery %d: %w", f.ID, err)
		}
		if n, err := r.RowsAffected(); err == nil && n == 0 {
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM webhook_deliveries WHERE id = $1`, f.ID).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				unknown = append(unknown, fmt.Errorf("finish delivery %d: %w", f.ID, ErrNotFound))
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("finish deliveries: %w", err)
	}
	return errors.Join(unknown...)
}

// finishQuery is the update that records one attempt's result.
func finishQuery(d dialect, id int64, holder string, res DeliveryResult, now time.Time) (string, []any) {
	msg := res.Error
	if len(msg) > MaxTextLen || !textOK(msg, MaxTextLen) {
		msg = strings.ToValidUTF8(strings.ReplaceAll(msg, "\x00", ""), "?")
		if len(msg) > MaxTextLen {
			msg = msg[:MaxTextLen]
		}
		msg = strings.ToValidUTF8(msg, "")
	}
	switch {
	case res.Delivered:
		return `UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, finished = $2,
			claim = NULL, claim_until = NULL, last_error = '' WHERE id = $1 AND state = 'pending'`,
			[]any{id, d.timeArg(now)}
	case res.RetryAt.IsZero():
		return `UPDATE webhook_deliveries SET state = 'failed', attempts = attempts + 1, finished = $2,
			claim = NULL, claim_until = NULL, last_error = $3 WHERE id = $1 AND state = 'pending' AND claim = $4`,
			[]any{id, d.timeArg(now), msg, holder}
	default:
		return `UPDATE webhook_deliveries SET attempts = attempts + 1, next_attempt = $2,
			claim = NULL, claim_until = NULL, last_error = $3 WHERE id = $1 AND state = 'pending' AND claim = $4`,
			[]any{id, d.timeArg(res.RetryAt.UTC().Truncate(timeUnit)), msg, holder}
	}
}

func (s *sqlStore) DeliveryCounts(ctx context.Context) (map[string]int, error) {
	counts := map[string]int{}
	// Pending and failed are counted through their partial indexes; delivered
	// deliveries, the bulk, are counted only when asked.
	for _, state := range []string{DeliveryPending, DeliveryFailed, DeliveryDelivered} {
		var n int
		if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_deliveries WHERE state = $1`, state).Scan(&n); err != nil {
			return nil, fmt.Errorf("count deliveries: %w", err)
		}
		counts[state] = n
	}
	return counts, nil
}

func (s *sqlStore) FailedAndPending(ctx context.Context) (pending, failed int, err error) {
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'pending'`).Scan(&pending); err != nil {
		return 0, 0, fmt.Errorf("count deliveries: %w", err)
	}
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM webhook_deliveries WHERE state = 'failed'`).Scan(&failed); err != nil {
		return 0, 0, fmt.Errorf("count deliveries: %w", err)
	}
	return pending, failed, nil
}
