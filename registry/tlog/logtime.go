package tlog

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
)

// Times the log vouches for. A log entry is the exact bytes of what was logged, and a
// checkpoint's first three lines are the tlog-checkpoint ones, so neither says when. Two
// signatures by the log's key add that, without changing either:
//
//   - A checkpoint time: every checkpoint carries, after the log's own signature, a
//     cosignature/v1 signature (C2SP tlog-cosignature) by the same Ed25519 key, which signs
//     the checkpoint's text together with the Unix time, in seconds, at which it was signed.
//     [CheckpointTime] verifies it; so does anyone with transparency-dev/formats' note
//     package (NewVerifierForCosignatureV1 of the log's verifier key). A checkpoint signed
//     at T proves every entry below its size was in the log before T+1s (the time is cut
//     to the second), by the log's clock. Clients that know only the log's ordinary key
//     see an unknown signature and ignore it, as signed notes allow.
//   - A logged-time statement: a signed note by the log's key saying that the entry with
//     this RFC 6962 leaf hash, at this index of this log, was received at this time (to
//     the microsecond, by the log's clock). [Log.SignLoggedTime] makes one for an entry
//     the log holds; [VerifyLoggedTime] checks it. Its first line has spaces, which an
//     origin (a key name) cannot have, so no statement is ever a checkpoint of the log.

// loggedTimeHeader is the first line of a logged-time statement.
const loggedTimeHeader = "decom logged-time statement v1"

// ErrNoCheckpointTime is returned by CheckpointTime for a checkpoint without a valid
// time signature by the log's key: one signed before the log signed times, or one whose
// time signature was altered.
var ErrNoCheckpointTime = errors.New("tlog: checkpoint carries no time signed by the log's key")

// ErrInvalidStatement is returned by VerifyLoggedTime for a statement that does not
// parse or is not signed by the log's key.
var ErrInvalidStatement = errors.New("tlog: invalid logged-time statement")

// NewTimeSigner returns the signer that adds the checkpoint time: a cosignature/v1
// signer with the log's own Ed25519 signer key (from GenerateKey). Give it to Open or
// OpenShared as a cosigner.
func NewTimeSigner(signerKey string) (note.Signer, error) {
	s, err := fnote.NewSignerForCosignatureV1(strings.TrimSpace(signerKey))
	if err != nil {
		return nil, fmt.Errorf("tlog: time signer: %w", err)
	}
	return s, nil
}

// TimeVerifierKey is the verifier key of the checkpoint time signatures (a
// cosignature/v1 key, algorithm 0x04) of the log whose verifier key is given.
func TimeVerifierKey(verifierKey string) (string, error) {
	k, err := fnote.VKeyToCosignatureV1(strings.TrimSpace(verifierKey))
	if err != nil {
		return "", fmt.Errorf("tlog: time verifier key: %w", err)
	}
	return k, nil
}

// CheckpointTime verifies the checkpoint cp with the log's verifierKey, as
// VerifyCheckpoint does, and its time signature by the same key, and returns both.
// A checkpoint that verifies but has no valid time signature is ErrNoCheckpointTime.
func CheckpointTime(cp []byte, verifierKey string) (Checkpoint, time.Time, error) {
	c, err := VerifyCheckpoint(cp, verifierKey)
	if err != nil {
		return c, time.Time{}, err
	}
	tv, err := fnote.NewVerifierForCosignatureV1(strings.TrimSpace(verifierKey))
	if err != nil {
		return c, time.Time{}, fmt.Errorf("tlog: checkpoint time: %w", err)
	}
	n, err := note.Open(cp, note.VerifierList(tv))
	if err != nil {
		// A time signature that does not verify makes note.Open fail; one that is
		// missing leaves the note with no known signer.
		return c, time.Time{}, fmt.Errorf("%w: %w", ErrNoCheckpointTime, err)
	}
	for _, s := range n.Sigs {
		if s.Name == tv.Name() && s.Hash == tv.KeyHash() {
			t, err := fnote.CoSigV1Timestamp(s)
			if err != nil {
				return c, time.Time{}, fmt.Errorf("%w: %w", ErrNoCheckpointTime, err)
			}
			return c, t.UTC(), nil
		}
	}
	return c, time.Time{}, ErrNoCheckpointTime
}

// LoggedTime is what a logged-time statement says: the log Origin received, at Received,
// the entry whose RFC 6962 leaf hash is LeafHash, and holds it at Index.
type LoggedTime struct {
	Origin   string
	Index    uint64
	LeafHash []byte
	Received time.Time
}

// Covers reports whether the statement is about entry (its exact bytes).
func (lt LoggedTime) Covers(entry []byte) bool {
	return bytes.Equal(lt.LeafHash, rfc6962.DefaultHasher.HashLeaf(entry))
}

func (lt LoggedTime) text() string {
	return loggedTimeHeader + "\n" +
		"origin " + lt.Origin + "\n" +
		"index " + strconv.FormatUint(lt.Index, 10) + "\n" +
		"leaf " + base64.StdEncoding.EncodeToString(lt.LeafHash) + "\n" +
		"received " + lt.Received.UTC().Format(time.RFC3339Nano) + "\n"
}

// VerifyLoggedTime checks that statement is a logged-time statement signed by the log's
// verifierKey, about that log, and returns what it says. The caller checks that it is
// about the entry it holds (LoggedTime.Covers) at the index it expects.
func VerifyLoggedTime(statement []byte, verifierKey string) (LoggedTime, error) {
	v, err := note.NewVerifier(strings.TrimSpace(verifierKey))
	if err != nil {
		return LoggedTime{}, fmt.Errorf("tlog: verify logged time: bad verifier key: %w", err)
	}
	n, err := note.Open(statement, note.VerifierList(v))
	if err != nil {
		return LoggedTime{}, fmt.Errorf("%w: %w", ErrInvalidStatement, err)
	}
	lt, err := parseLoggedTime(n.Text)
	if err != nil {
		return LoggedTime{}, fmt.Errorf("%w: %w", ErrInvalidStatement, err)
	}
	if lt.Origin != v.Name() {
		return LoggedTime{}, fmt.Errorf("%w: about the log %q, signed by %q", ErrInvalidStatement, lt.Origin, v.Name())
	}
	return lt, nil
}

// parseLoggedTime parses a statement's text, accepting only the form text() writes.
func parseLoggedTime(text string) (LoggedTime, error) {
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) != 5 || lines[0] != loggedTimeHeader {
		return LoggedTime{}, errors.New("not a logged-time statement")
	}
	field := func(i int, name string) (string, error) {
		v, ok := strings.CutPrefix(lines[i], name+" ")
		if !ok || v == "" {
			return "", fmt.Errorf("line %d: want %q", i+1, name)
		}
		return v, nil
	}
	var lt LoggedTime
	var err error
	var s string
	if lt.Origin, err = field(1, "origin"); err != nil {
		return lt, err
	}
	if s, err = field(2, "index"); err != nil {
		return lt, err
	}
	if lt.Index, err = strconv.ParseUint(s, 10, 64); err != nil {
		return lt, fmt.Errorf("index: %w", err)
	}
	if s, err = field(3, "leaf"); err != nil {
		return lt, err
	}
	if lt.LeafHash, err = base64.StdEncoding.DecodeString(s); err != nil || len(lt.LeafHash) != 32 {
		return lt, errors.New("leaf: want a base64 SHA-256 hash")
	}
	if s, err = field(4, "received"); err != nil {
		return lt, err
	}
	if lt.Received, err = time.Parse(time.RFC3339Nano, s); err != nil {
		return lt, fmt.Errorf("received: %w", err)
	}
	if lt.text() != text {
		return lt, errors.New("not in canonical form")
	}
	return lt, nil
}
