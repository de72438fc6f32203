package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Jobs: a job names a decommissioning job (a rack, a data hall) that certificates
// state (certificates.Sanitization.Job). The store keeps, for each certificate of a
// job, the host and drive fields the job view shows, and the approved plans pushed
// for jobs, so that the registry can tell which planned drives have a certificate
// and which are missing.

// MaxPlanLen bounds a stored plan file, in bytes.
const MaxPlanLen = 4 << 20

// Jobs is the part of Store that serves the job view.
type Jobs interface {
	// JobSummaries lists every job that has a certificate or a plan, the most
	// recently active first.
	JobSummaries(ctx context.Context) ([]JobSummary, error)
	// JobCertificates returns the certificates of a job, as received (oldest
	// first), with their job fields; none for a job the store does not know.
	JobCertificates(ctx context.Context, job string) ([]JobRecord, error)
	// PutPlan stores an approved plan file for its job, keyed by the SHA-256 of its
	// bytes, which it checks. Putting a stored plan again returns it with
	// created=false. A plan without a job, an empty or oversized body (MaxPlanLen),
	// or a digest that is not the body's is ErrInvalid. A zero Uploaded is set to
	// the current time.
	PutPlan(ctx context.Context, p Plan) (stored Plan, created bool, err error)
	// Plans returns the plans pushed for a job, oldest first.
	Plans(ctx context.Context, job string) ([]Plan, error)
}

// JobFields are what the job view shows of a certificate beyond the fields that
// are searched: its job and approved plan, its host, and its drive.
type JobFields struct {
	Job        string // Sanitization.Job; required
	PlanSHA256 string // Sanitization.ApprovedPlanSHA256
	Hostname   string // Source
	// SystemSerial and SystemUUID are the host's DMI identity (Source).
	SystemSerial string
	SystemUUID   string
	Model        string // Media.Model
	Path         string // Media.Path
	SizeBytes    uint64 // Media.SizeBytes
}

// JobRecord is a certificate of a job: its stored record (without the bundle and
// the checkpoint) and its job fields.
type JobRecord struct {
	Record
	JobFields
}

// JobSummary counts what a job holds. A drive is counted once, by its serial
// number, else its WWN, else its host and path; Outcomes counts each drive's latest
// certificate's outcome.
type JobSummary struct {
	Name         string
	Hosts        int
	Drives       int
	Certificates int
	Plans        int
	Outcomes     map[string]int
	// LastReport is when the job's latest certificate was received; zero if none.
	LastReport time.Time
	// LastPlan is when its latest plan was pushed; zero if none.
	LastPlan time.Time
}

// Plan is an approved plan file pushed for a job.
type Plan struct {
	SHA256   string // hex SHA-256 of Body
	Job      string
	Body     []byte
	Uploaded time.Time
}

// HostKey is how the job view tells hosts apart: their DMI system serial and UUID,
// else their hostname (the rule approved plans match hosts by).
func HostKey(hostname, systemSerial, systemUUID string) string {
	if systemSerial != "" || systemUUID != "" {
		return "dmi:" + systemSerial + "/" + systemUUID
	}
	return "hostname:" + hostname
}

// DriveKey is how the job view tells drives apart: by serial number (folded),
// else WWN (folded), else by host and path.
func DriveKey(serial, wwn, host, path string) string {
	switch {
	case fold(serial) != "":
		return "serial:" + fold(serial)
	case fold(wwn) != "":
		return "wwn:" + fold(wwn)
	}
	return "path:" + host + "|" + path
}

func checkJobFields(id string, j JobFields) error {
	if j.Job == "" {
		return fmt.Errorf("%w: certificate %s: job fields without a job", ErrInvalid, id)
	}
	for _, f := range []struct{ name, v string }{
		{"job", j.Job}, {"plan SHA-256", j.PlanSHA256}, {"hostname", j.Hostname}, {"system serial", j.SystemSerial},
		{"system UUID", j.SystemUUID}, {"model", j.Model}, {"path", j.Path},
	} {
		if !textOK(f.v, MaxTextLen) {
			return fmt.Errorf("%w: certificate %s: %s %s: want UTF-8 without NUL, at most %d bytes", ErrInvalid, id, f.name, quote(f.v), MaxTextLen)
		}
	}
	if j.SizeBytes > math.MaxInt64 {
		return fmt.Errorf("%w: certificate %s: size %d", ErrInvalid, id, j.SizeBytes)
	}
	return nil
}

// putJobFields stores a certificate's job fields, once.
func putJobFields(ctx context.Context, q queryer, c Record) error {
	if c.Job == nil {
		return nil
	}
	j := c.Job
	if _, err := q.ExecContext(ctx, `INSERT INTO job_certificates (certificate_id, job, plan_sha256, hostname,
		system_serial, system_uuid, model, path, size_bytes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (certificate_id) DO NOTHING`,
		c.ID, j.Job, j.PlanSHA256, j.Hostname, j.SystemSerial, j.SystemUUID, j.Model, j.Path, int64(j.SizeBytes)); err != nil {
		return errBatch{err}
	}
	return nil
}

const jobColumns = `c.id, c.status, c.outcome, c.serial, c.wwn, c.asset_number, c.method, c.organization,
	c.customer, c.key_fingerprint, c.issued, c.received, c.log_index, j.job, j.plan_sha256, j.hostname,
	j.system_serial, j.system_uuid, j.model, j.path, j.size_bytes`

func (s *sqlStore) jobRecords(ctx context.Context, where string, args ...any) ([]JobRecord, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+jobColumns+` FROM job_certificates j
		JOIN certificates c ON c.id = j.certificate_id `+where+` ORDER BY c.seq`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []JobRecord
	for rows.Next() {
		var (
			r        JobRecord
			logIndex sql.NullInt64
			size     int64
		)
		if err := rows.Scan(&r.ID, &r.Status, &r.Outcome, &r.Serial, &r.WWN, &r.AssetNumber, &r.Method,
			&r.Organization, &r.Customer, &r.KeyFingerprint, timeCol{&r.Issued}, timeCol{&r.Received}, &logIndex,
			&r.JobFields.Job, &r.PlanSHA256, &r.Hostname, &r.SystemSerial, &r.SystemUUID, &r.JobFields.Model,
			&r.JobFields.Path, &size); err != nil {
			return nil, err
		}
		if logIndex.Valid {
			v := uint64(logIndex.Int64)
			r.LogIndex = &v
		}
		r.SizeBytes = uint64(size)
		out = append(out, r)
	}
	return out, rows.Err()
}

func (s *sqlStore) JobCertificates(ctx context.Context, job string) ([]JobRecord, error) {
	if !textOK(job, MaxTextLen) {
		return nil, nil
	}
	recs, err := s.jobRecords(ctx, `WHERE j.job = $1`, job)
	if err != nil {
		return nil, fmt.Errorf("job %s: certificates: %w", quote(job), err)
	}
	return recs, nil
}

func (s *sqlStore) JobSummaries(ctx context.Context) ([]JobSummary, error) {
	recs, err := s.jobRecords(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	type acc struct {
		sum    *JobSummary
		hosts  map[string]bool
		drives map[string]string // drive → its latest outcome
	}
	jobs := map[string]*acc{}
	get := func(name string) *acc {
		a, ok := jobs[name]
		if !ok {
			a = &acc{sum: &JobSummary{Name: name, Outcomes: map[string]int{}}, hosts: map[string]bool{}, drives: map[string]string{}}
			jobs[name] = a
		}
		return a
	}
	for _, r := range recs { // oldest first: a drive's later certificate wins
		a := get(r.JobFields.Job)
		host := HostKey(r.Hostname, r.SystemSerial, r.SystemUUID)
		a.hosts[host] = true
		a.drives[DriveKey(r.Serial, r.WWN, host, r.JobFields.Path)] = r.Outcome
		a.sum.Certificates++
		if r.Received.After(a.sum.LastReport) {
			a.sum.LastReport = r.Received
		}
	}
	rows, err := s.r.QueryContext(ctx, `SELECT job, COUNT(*), MAX(uploaded) FROM job_plans GROUP BY job`)
	if err != nil {
		return nil, fmt.Errorf("jobs: plans: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			name string
			n    int
			last time.Time
		)
		if err := rows.Scan(&name, &n, timeCol{&last}); err != nil {
			return nil, fmt.Errorf("jobs: plans: %w", err)
		}
		a := get(name)
		a.sum.Plans, a.sum.LastPlan = n, last
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("jobs: plans: %w", err)
	}
	out := make([]JobSummary, 0, len(jobs))
	for _, a := range jobs {
		a.sum.Hosts, a.sum.Drives = len(a.hosts), len(a.drives)
		for _, o := range a.drives {
			a.sum.Outcomes[o]++
		}
		out = append(out, *a.sum)
	}
	latest := func(j JobSummary) time.Time {
		if j.LastPlan.After(j.LastReport) {
			return j.LastPlan
		}
		return j.LastReport
	}
	slices.SortFunc(out, func(a, b JobSummary) int {
		if c := latest(b).Compare(latest(a)); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

func (s *sqlStore) PutPlan(ctx context.Context, p Plan) (Plan, bool, error) {
	sum := sha256.Sum256(p.Body)
	switch {
	case p.Job == "" || !textOK(p.Job, MaxTextLen):
		return Plan{}, false, fmt.Errorf("put plan: %w: job %s", ErrInvalid, quote(p.Job))
	case len(p.Body) == 0 || len(p.Body) > MaxPlanLen:
		return Plan{}, false, fmt.Errorf("put plan: %w: %d bytes (1 to %d)", ErrInvalid, len(p.Body), MaxPlanLen)
	case p.SHA256 != hex.EncodeToString(sum[:]):
		return Plan{}, false, fmt.Errorf("put plan: %w: SHA-256 %s is not the plan's", ErrInvalid, quote(p.SHA256))
	}
	if p.Uploaded.IsZero() {
		p.Uploaded = s.stamp()
	}
	p.Uploaded = p.Uploaded.UTC().Truncate(timeUnit)
	p.Body = slices.Clone(p.Body)
	var got string
	err := s.w.QueryRowContext(ctx, `INSERT INTO job_plans (sha256, job, body, uploaded) VALUES ($1, $2, $3, $4)
		ON CONFLICT (sha256) DO NOTHING RETURNING sha256`, p.SHA256, p.Job, p.Body, s.d.timeArg(p.Uploaded)).Scan(&got)
	switch {
	case err == nil:
		return p, true, nil
	case !errors.Is(err, sql.ErrNoRows):
		return Plan{}, false, fmt.Errorf("put plan %s: %w", p.SHA256, err)
	}
	var old Plan
	if err := s.w.QueryRowContext(ctx, `SELECT sha256, job, body, uploaded FROM job_plans WHERE sha256 = $1`, p.SHA256).
		Scan(&old.SHA256, &old.Job, &old.Body, timeCol{&old.Uploaded}); err != nil {
		return Plan{}, false, fmt.Errorf("put plan %s: %w", p.SHA256, err)
	}
	if old.Job != p.Job {
		return Plan{}, false, fmt.Errorf("put plan %s: %w: stored for job %s", p.SHA256, ErrConflict, quote(old.Job))
	}
	return old, false, nil
}

func (s *sqlStore) Plans(ctx context.Context, job string) ([]Plan, error) {
	if !textOK(job, MaxTextLen) {
		return nil, nil
	}
	rows, err := s.r.QueryContext(ctx, `SELECT sha256, job, body, uploaded FROM job_plans WHERE job = $1 ORDER BY uploaded, sha256`, job)
	if err != nil {
		return nil, fmt.Errorf("job %s: plans: %w", quote(job), err)
	}
	defer rows.Close()
	var out []Plan
	for rows.Next() {
		var p Plan
		if err := rows.Scan(&p.SHA256, &p.Job, &p.Body, timeCol{&p.Uploaded}); err != nil {
			return nil, fmt.Errorf("job %s: plans: %w", quote(job), err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("job %s: plans: %w", quote(job), err)
	}
	return out, nil
}
