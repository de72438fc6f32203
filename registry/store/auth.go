package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/decom-project/decom/certificates"
)

// TokenPrefix starts every API token, so that secret scanners and people can
// tell one when they see it. 32 random bytes, base64url, follow it.
const TokenPrefix = "decom_"

var tokenLen = len(TokenPrefix) + base64.RawURLEncoding.EncodedLen(32)

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// checkName refuses names that would be hard to show or type: empty, too long,
// not UTF-8, or with control characters.
func checkName(what, name string) error {
	if name == "" || !textOK(name, MaxNameLen) || strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return fmt.Errorf("%w: %s name %s: want 1 to %d bytes of printable UTF-8", ErrInvalid, what, quote(name), MaxNameLen)
	}
	return nil
}

func (s *sqlStore) CreateToken(ctx context.Context, name string, scopes ...Scopes) (string, error) {
	if err := checkName("token", name); err != nil {
		return "", fmt.Errorf("create token: %w", err)
	}
	var sc Scopes
	for _, x := range scopes {
		sc |= x
	}
	if len(scopes) == 0 {
		sc = ScopeUpload
	}
	if !sc.valid() {
		return "", fmt.Errorf("create token %s: %w: scopes %#x: want some of %s", quote(name), ErrInvalid, uint8(sc), ScopeNames)
	}
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("create token %s: %w", quote(name), err)
	}
	token := TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	// A partial unique index allows one active (unrevoked) token per name.
	res, err := s.w.ExecContext(ctx, `INSERT INTO api_tokens (name, hash, created, scopes) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, name, tokenHash(token), s.d.timeArg(s.stamp()), sc.String())
	if err != nil {
		return "", fmt.Errorf("create token %s: %w", quote(name), err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return "", fmt.Errorf("create token %s: %w", quote(name), err)
	} else if n == 0 {
		return "", fmt.Errorf("create token %s: %w: the name has an active token; revoke it first", quote(name), ErrConflict)
	}
	return token, nil
}

func (s *sqlStore) RevokeToken(ctx context.Context, name string) error {
	if !textOK(name, MaxNameLen) {
		return fmt.Errorf("revoke token %s: %w", quote(name), ErrNotFound)
	}
	res, err := s.w.ExecContext(ctx, `UPDATE api_tokens SET revoked = $1 WHERE name = $2 AND revoked IS NULL`,
		s.d.timeArg(s.stamp()), name)
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", quote(name), err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("revoke token %s: %w", quote(name), err)
	} else if n > 0 {
		return nil
	}
	var one int
	err = s.w.QueryRowContext(ctx, `SELECT 1 FROM api_tokens WHERE name = $1 LIMIT 1`, name).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("revoke token %s: %w", quote(name), ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("revoke token %s: %w", quote(name), err)
	}
	return nil
}

func (s *sqlStore) CheckToken(ctx context.Context, token string) (TokenInfo, error) {
	// The format check says nothing about any stored token. The lookup is by the
	// token's SHA-256, so its timing tells an attacker about hashes, not tokens.
	if len(token) != tokenLen || !strings.HasPrefix(token, TokenPrefix) {
		return TokenInfo{}, ErrUnauthorized
	}
	want := tokenHash(token)
	var (
		t      TokenInfo
		hash   []byte
		scopes string
	)
	err := s.readRow(ctx, `SELECT name, hash, created, scopes FROM api_tokens WHERE hash = $1 AND revoked IS NULL`, want).
		Scan(&t.Name, &hash, timeCol{&t.Created}, &scopes)
	if errors.Is(err, sql.ErrNoRows) {
		return TokenInfo{}, ErrUnauthorized
	}
	if err != nil {
		return TokenInfo{}, fmt.Errorf("check token: %w", err)
	}
	if subtle.ConstantTimeCompare(hash, want) != 1 {
		return TokenInfo{}, ErrUnauthorized
	}
	if t.Scopes, err = ParseScopes(scopes); err != nil {
		return TokenInfo{}, fmt.Errorf("check token: stored token %s: %w", quote(t.Name), err)
	}
	return t, nil
}

func (s *sqlStore) ListTokens(ctx context.Context) ([]TokenInfo, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT name, created, revoked, scopes FROM api_tokens ORDER BY name, id`)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []TokenInfo
	for rows.Next() {
		var (
			t      TokenInfo
			scopes string
		)
		if err := rows.Scan(&t.Name, timeCol{&t.Created}, timeCol{&t.Revoked}, &scopes); err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		if t.Scopes, err = ParseScopes(scopes); err != nil {
			return nil, fmt.Errorf("list tokens: stored token %s: %w", quote(t.Name), err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// parsePublicKey reads exactly one PEM "PUBLIC KEY" and returns its fingerprint
// and its canonical PEM.
func parsePublicKey(pemBytes []byte) (fingerprint string, canonical []byte, err error) {
	block, rest := pem.Decode(pemBytes)
	switch {
	case block == nil:
		return "", nil, fmt.Errorf("%w: not a PEM public key", ErrInvalid)
	case block.Type != "PUBLIC KEY":
		return "", nil, fmt.Errorf("%w: PEM block %s is not a PUBLIC KEY", ErrInvalid, quote(block.Type))
	case len(bytes.TrimSpace(rest)) > 0:
		return "", nil, fmt.Errorf("%w: more than one PEM block: enroll one key at a time", ErrInvalid)
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(pemBytes)
	if err != nil {
		return "", nil, fmt.Errorf("%w: public key: %v", ErrInvalid, err)
	}
	if err := cryptoutils.ValidatePubKey(pub); err != nil {
		return "", nil, fmt.Errorf("%w: public key: %v", ErrInvalid, err)
	}
	fingerprint = certificates.Fingerprint(pub)
	canonical, err = cryptoutils.MarshalPublicKeyToPEM(pub)
	if fingerprint == "" || err != nil {
		return "", nil, fmt.Errorf("%w: public key: cannot encode %T", ErrInvalid, pub)
	}
	return fingerprint, canonical, nil
}

func (s *sqlStore) AddKey(ctx context.Context, pemPublicKey []byte, name string) (string, error) {
	if err := checkName("key", name); err != nil {
		return "", fmt.Errorf("add key: %w", err)
	}
	fp, canonical, err := parsePublicKey(pemPublicKey)
	if err != nil {
		return "", fmt.Errorf("add key %s: %w", quote(name), err)
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO agent_keys (fingerprint, name, pem, added) VALUES ($1, $2, $3, $4)
		ON CONFLICT (fingerprint) DO NOTHING`, fp, name, string(canonical), s.d.timeArg(s.stamp()))
	if err != nil {
		return "", fmt.Errorf("add key %s: %w", fp, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return "", fmt.Errorf("add key %s: %w", fp, err)
	} else if n == 1 {
		return fp, nil
	}
	var revoked time.Time
	if err := s.w.QueryRowContext(ctx, `SELECT revoked FROM agent_keys WHERE fingerprint = $1`, fp).Scan(timeCol{&revoked}); err != nil {
		return "", fmt.Errorf("add key %s: %w", fp, err)
	}
	if !revoked.IsZero() {
		return "", fmt.Errorf("add key %s: %w: the key was revoked, and a revoked key cannot be enrolled again", fp, ErrConflict)
	}
	return fp, nil
}

func (s *sqlStore) RevokeKey(ctx context.Context, fingerprint string, rev Revocation) (Key, error) {
	if !textOK(fingerprint, MaxNameLen) {
		return Key{}, fmt.Errorf("revoke key %s: %w", quote(fingerprint), ErrNotFound)
	}
	reason := strings.TrimSpace(rev.Reason)
	if reason == "" || !textOK(reason, MaxTextLen) || strings.IndexFunc(reason, unicode.IsControl) >= 0 {
		return Key{}, fmt.Errorf("revoke key %s: %w: reason %s: want 1 to %d bytes of printable UTF-8", quote(fingerprint), ErrInvalid, quote(reason), MaxTextLen)
	}
	now := s.stamp()
	from := now
	if !rev.Effective.IsZero() {
		from = rev.Effective.UTC().Truncate(timeUnit)
	}
	switch {
	case from.After(now):
		return Key{}, fmt.Errorf("revoke key %s: %w: effective time %s is in the future (now %s)", quote(fingerprint), ErrInvalid,
			from.Format(time.RFC3339), now.Format(time.RFC3339))
	case from.Before(minTime):
		return Key{}, fmt.Errorf("revoke key %s: %w: effective time %v", quote(fingerprint), ErrInvalid, from)
	}
	// Each statement is atomic: of revocations at the same time, one revokes an
	// active key, and the earliest effective time wins.
	if _, err := s.w.ExecContext(ctx, `UPDATE agent_keys SET revoked = $1, revoked_from = $2, revoke_reason = $3
		WHERE fingerprint = $4 AND revoked IS NULL`, s.d.timeArg(now), s.d.timeArg(from), reason, fingerprint); err != nil {
		return Key{}, fmt.Errorf("revoke key %s: %w", quote(fingerprint), err)
	}
	if _, err := s.w.ExecContext(ctx, `UPDATE agent_keys SET revoked_from = $1, revoke_reason = $2
		WHERE fingerprint = $3 AND revoked_from > $1`, s.d.timeArg(from), reason, fingerprint); err != nil {
		return Key{}, fmt.Errorf("revoke key %s: %w", quote(fingerprint), err)
	}
	k, err := scanKey(s.w.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM agent_keys WHERE fingerprint = $1`, fingerprint))
	if errors.Is(err, sql.ErrNoRows) {
		return Key{}, fmt.Errorf("revoke key %s: %w", quote(fingerprint), ErrNotFound)
	}
	if err != nil {
		return Key{}, fmt.Errorf("revoke key %s: %w", quote(fingerprint), err)
	}
	return k, nil
}

// keyColumns are the columns scanKey reads, in its order.
const keyColumns = `fingerprint, name, pem, added, revoked, revoked_from, revoke_reason`

func scanKey(row rowScanner) (Key, error) {
	var (
		k      Key
		pem    string
		reason sql.NullString
	)
	if err := row.Scan(&k.Fingerprint, &k.Name, &pem, timeCol{&k.Added}, timeCol{&k.Revoked}, timeCol{&k.RevokedFrom}, &reason); err != nil {
		return Key{}, err
	}
	k.RevokeReason = reason.String
	k.PEM = []byte(pem)
	var err error
	if k.PublicKey, err = cryptoutils.UnmarshalPEMToPublicKey(k.PEM); err != nil {
		return Key{}, fmt.Errorf("stored key %s: %w", k.Fingerprint, err)
	}
	return k, nil
}

func (s *sqlStore) ActiveKeys(ctx context.Context) ([]Key, error) {
	keys, err := s.keys(ctx, `WHERE revoked IS NULL`)
	if err != nil {
		return nil, fmt.Errorf("active keys: %w", err)
	}
	return keys, nil
}

func (s *sqlStore) Keys(ctx context.Context) ([]Key, error) {
	keys, err := s.keys(ctx, ``)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return keys, nil
}

// keys lists the keys a fixed condition selects, by fingerprint.
func (s *sqlStore) keys(ctx context.Context, where string) ([]Key, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+keyColumns+` FROM agent_keys `+where+` ORDER BY fingerprint`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []Key
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}
