// Package store keeps the central registry's state: the certificates it received,
// the API tokens that may submit them, and the agent keys enrolled to sign them.
//
// One interface, Store, has two implementations that pass the same conformance
// suite: embedded SQLite (the default, [OpenSQLite], a file in the registry's data
// directory) and PostgreSQL ([OpenPostgres], for sites that run several registry
// instances behind a load balancer). [Open] picks one from the server's flags.
//
// Both keep no state in the process that matters: uniqueness (one row per
// certificate ID, one active token per name, one row per key) is enforced by the
// database, so any number of goroutines, or of registry instances sharing one
// PostgreSQL database, may write at once.
//
// Errors wrap the sentinels below; callers test them with errors.Is and turn them
// into HTTP statuses at the server's edge.
package store

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors of the store; callers test them with errors.Is.
var (
	// ErrNotFound is a certificate, token name or key the store does not have.
	ErrNotFound = errors.New("not found")
	// ErrConflict is a write that contradicts what is stored: the same certificate
	// ID with a different bundle, a log index already set to another value, a token
	// name already active, a revoked key enrolled again.
	ErrConflict = errors.New("conflict")
	// ErrUnauthorized is an API token that is unknown, revoked or malformed.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrInvalid is an argument the store refuses: an empty ID, a string that is not
	// UTF-8, a malformed public key, a negative limit.
	ErrInvalid = errors.New("invalid argument")
	// ErrInvalidCursor is a search cursor the store did not make.
	ErrInvalidCursor = fmt.Errorf("%w: bad cursor", ErrInvalid)
)

// Limits of a search page.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// Limits of stored strings, in bytes. Longer values are refused by the writing
// methods and match nothing in a search.
const (
	MaxIDLen   = 256
	MaxTextLen = 1024
	MaxNameLen = 128
)

// Store is the registry's storage. Every method is safe for concurrent use, and
// so is every number of Stores (processes, hosts) open on the same PostgreSQL
// database.
type Store interface {
	// PutCertificate stores a certificate, durably, before it returns. It is
	// idempotent: putting an ID that is stored with the same bundle bytes returns
	// the stored record and created=false; the same ID with different bytes is
	// ErrConflict, and so is a LogIndex another certificate has. A zero Received
	// is set to the current time. Times are stored to the microsecond, in UTC.
	// The record must have an ID, an Issued time and a Bundle, and all its
	// strings must be UTF-8 without NUL bytes (ErrInvalid otherwise). If ctx ends
	// first, the certificate may or may not be stored: putting it again says.
	PutCertificate(ctx context.Context, c Record) (stored Record, created bool, err error)
	// SetLogIndex records where the transparency log integrated a certificate.
	// Setting the index it already has is a no-op; another index is ErrConflict,
	// and so is an index another certificate has. An unknown ID is ErrNotFound.
	SetLogIndex(ctx context.Context, id string, index uint64) error
	// SetLogged is SetLogIndex that also records checkpoint, the first signed
	// checkpoint of the log seen to cover the index (Record.LogCheckpoint). When the
	// index is set already, the checkpoint recorded with it is kept.
	SetLogged(ctx context.Context, id string, index uint64, checkpoint []byte) error
	// GetCertificate returns the certificate with this exact ID, or ErrNotFound.
	GetCertificate(ctx context.Context, id string) (Record, error)
	// Search returns the certificates matching every field the query sets, newest
	// received first, a page at a time. See Query for how fields match.
	Search(ctx context.Context, q Query) (Page, error)
	// ClaimLog leases the logging of a certificate to holder until the lease ends:
	// registry instances that share one transparency log claim a certificate before
	// appending it, so that two of them never log it twice. It returns the stored
	// record and whether holder has the lease now: it does when the certificate has no
	// log index and no other holder's lease is running (holder may renew its own).
	// A record with a LogIndex is never claimed. An unknown ID is ErrNotFound.
	// Leases compare the instances' clocks, which must agree to well within lease.
	ClaimLog(ctx context.Context, id, holder string, lease time.Duration) (rec Record, claimed bool, err error)
	// BindLog ties the database to the transparency log whose verifier key is given:
	// its certificates' log indexes point into that log. The first call records the
	// key; a later call with another key is ErrConflict (a registry instance with its
	// own log, pointed at a database another log's indexes are in).
	BindLog(ctx context.Context, verifierKey string) error
	// Pending returns up to limit certificates the transparency log has not yet
	// integrated (no LogIndex), oldest first: what a restarted server submits to
	// the log again.
	Pending(ctx context.Context, limit int) ([]Record, error)

	// CreateToken makes an API token for name, allowed the union of scopes, and
	// returns it; it is the only time the plaintext is seen, since the store keeps
	// only its SHA-256. No scopes means ScopeUpload alone, what every token could do
	// before tokens had scopes (and what tokens made then keep). A name that has an
	// active token is ErrConflict; a revoked name may be used again. Scopes that are
	// none of ScopeUpload, ScopeRead and ScopeAdmin are ErrInvalid.
	CreateToken(ctx context.Context, name string, scopes ...Scopes) (token string, err error)
	// RevokeToken revokes the active token of name. Revoking a name whose tokens
	// are all revoked already is a no-op; a name never used is ErrNotFound.
	RevokeToken(ctx context.Context, name string) error
	// CheckToken returns the name, creation time and scopes of an active token, or
	// ErrUnauthorized.
	CheckToken(ctx context.Context, token string) (TokenInfo, error)
	// ListTokens lists every token ever made, revoked ones too, by name.
	ListTokens(ctx context.Context) ([]TokenInfo, error)

	// AddKey enrolls an agent's public key (PEM "PUBLIC KEY", SPKI) under a name
	// and returns its fingerprint, "SHA256:" and the hex SHA-256 of the DER SPKI
	// (certificates.Fingerprint). Enrolling an active key again returns its
	// fingerprint and keeps its first name; enrolling a revoked key is
	// ErrConflict: a revoked key stays revoked. Anything but one valid public key
	// is ErrInvalid.
	AddKey(ctx context.Context, pemPublicKey []byte, name string) (fingerprint string, err error)
	// RevokeKey revokes a key from rev.Effective on and returns the key as stored.
	// History is kept, not rewritten: a certificate the registry received before
	// the effective time stays valid, one received at or after it is not (see
	// Key.ValidFor). A zero Effective means now; a time in the future is
	// ErrInvalid, and so is a Reason that is empty or not printable UTF-8 of at
	// most MaxTextLen bytes. Revoking a revoked key again can only move its
	// effective time earlier (a compromise found to have begun before it was
	// revoked), and then records the new reason; an effective time no earlier than
	// the stored one changes nothing. An unknown fingerprint is ErrNotFound.
	RevokeKey(ctx context.Context, fingerprint string, rev Revocation) (Key, error)
	// ActiveKeys returns the keys that are not revoked, by fingerprint.
	ActiveKeys(ctx context.Context) ([]Key, error)
	// Keys returns every enrolled key, revoked ones too, by fingerprint.
	Keys(ctx context.Context) ([]Key, error)

	// Outbox queues and leases webhook deliveries (outbox.go).
	Outbox

	// Jobs serves the registry's job view (jobs.go).
	Jobs

	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the database. The Store must not be used afterwards.
	Close() error
}

// Record is a stored certificate: the fields the registry searches by, copied from
// the verified certificate, and the Sigstore bundle itself.
type Record struct {
	ID             string // certificates.Certificate.ID
	Status         string
	Outcome        string
	Serial         string // Media.Serial
	WWN            string // Media.WWN
	AssetNumber    string // Media.AssetNumber
	Method         string // Sanitization.Method
	Organization   string
	Customer       string
	KeyFingerprint string // the enrolled key that signed the bundle
	Issued         time.Time
	Bundle         []byte // the Sigstore bundle (JSON), exactly as received
	LogIndex       *uint64
	Received       time.Time
	// LogCheckpoint is the signed checkpoint that covered LogIndex when the index
	// was recorded (SetLogged), verbatim; nil if none was recorded. Its time
	// signature bounds when the certificate was in the log.
	LogCheckpoint []byte
	// Job is what the job view needs of a certificate of a job; PutCertificate
	// stores it when set, and the reads of Record leave it nil (see
	// Jobs.JobCertificates).
	Job *JobFields
}

// Query selects certificates: every field that is set must match (AND). Serial,
// WWN, AssetNumber, Organization and Customer match case-insensitively and
// ignoring surrounding spaces (a value of only spaces matches nothing); ID,
// Outcome and Method match exactly. Nothing is matched by pattern: "%" and "_"
// are ordinary characters. Issued must fall in [From, To): From inclusive, To
// exclusive, compared to the microsecond; a zero time leaves that end open. A
// value that no certificate could hold (longer than the stored limits, not UTF-8,
// with a NUL byte) matches nothing.
type Query struct {
	Serial       string
	WWN          string
	AssetNumber  string
	ID           string
	Outcome      string
	Method       string
	Organization string
	Customer     string
	From, To     time.Time
	// Limit is the page size: 0 means DefaultLimit, more than MaxLimit means
	// MaxLimit, less than 0 is ErrInvalid.
	Limit int
	// Cursor is a previous Page's Next; "" starts at the newest certificate. A
	// cursor the store did not make is ErrInvalidCursor.
	Cursor string
}

// Page is one page of search results. Pagination is by key, not offset: a
// certificate stored while a client pages through a search never makes another
// appear twice or be skipped; it appears on no page of that walk, since pages go
// from newest to oldest.
type Page struct {
	Records []Record
	// Next is the cursor of the next page; "" on the last page.
	Next string
}

// TokenInfo describes an API token; the token itself is never stored.
type TokenInfo struct {
	Name    string
	Created time.Time
	Revoked time.Time // zero while the token is active
	Scopes  Scopes    // what the token may do
}

// Key is an enrolled agent key.
type Key struct {
	Fingerprint string
	Name        string
	PEM         []byte // PEM "PUBLIC KEY", re-encoded from the parsed key
	PublicKey   crypto.PublicKey
	Added       time.Time
	// Revoked is when the key was revoked, by the registry's clock; zero while
	// the key is active.
	Revoked time.Time
	// RevokedFrom is the revocation's effective time, never after Revoked: the
	// certificates the registry received from then on are not valid. Zero while
	// the key is active.
	RevokedFrom time.Time
	// RevokeReason is why the key was revoked; "" for a key revoked before the
	// registry recorded reasons.
	RevokeReason string
}

// Revocation is what revoking a key records.
type Revocation struct {
	// Reason says why, for auditors: "USB stick lost", "laptop stolen".
	Reason string
	// Effective is when the key stopped being trustworthy; zero means now.
	// Certificates the registry received from then on are not valid.
	Effective time.Time
}

// ValidFor reports whether a certificate signed with k, received by the registry
// at received, is valid as far as the key goes: the key is not revoked, or its
// revocation took effect after received.
func (k Key) ValidFor(received time.Time) bool {
	return k.Revoked.IsZero() || received.Before(k.RevokedFrom)
}

// Open opens the registry's store: PostgreSQL when dbURL is set (a postgres:// or
// postgresql:// URL, or a libpq keyword/value string), else SQLite in dataDir.
func Open(ctx context.Context, dataDir, dbURL string) (Store, error) {
	if dbURL == "" {
		return OpenSQLite(ctx, dataDir)
	}
	if i := strings.Index(dbURL, "://"); i >= 0 {
		if scheme := dbURL[:i]; scheme != "postgres" && scheme != "postgresql" {
			return nil, fmt.Errorf("open store: %w: database URL scheme %q: want postgres://", ErrInvalid, scheme)
		}
	}
	return OpenPostgres(ctx, dbURL)
}
