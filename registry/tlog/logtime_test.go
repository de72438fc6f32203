package tlog

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	flog "github.com/transparency-dev/formats/log"
	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

// openTimedLog opens a log whose checkpoints carry the time, signed by its key.
func openTimedLog(t *testing.T) (*Log, string, string) {
	t.Helper()
	s, skey, vkey := testKey(t, testOrigin)
	ts, err := NewTimeSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Open(context.Background(), logDir(t), s, ts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, skey, vkey
}

// setCosigTime rewrites the time inside the checkpoint's time signature, keeping the
// Ed25519 signature: what a registry would do to make a checkpoint look older.
func setCosigTime(t *testing.T, cp []byte, vkey string, when time.Time) []byte {
	t.Helper()
	tkey, err := TimeVerifierKey(vkey)
	if err != nil {
		t.Fatal(err)
	}
	tv, err := fnote.NewVerifierForCosignatureV1(tkey)
	if err != nil {
		t.Fatal(err)
	}
	var hb [4]byte
	binary.BigEndian.PutUint32(hb[:], tv.KeyHash())
	lines := strings.Split(string(cp), "\n")
	done := false
	for i, line := range lines {
		name, b64, ok := strings.Cut(strings.TrimPrefix(line, "— "), " ")
		if !strings.HasPrefix(line, "— ") || !ok || name != tv.Name() {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(raw) != 4+8+64 || !bytes.Equal(raw[:4], hb[:]) {
			continue
		}
		binary.BigEndian.PutUint64(raw[4:], uint64(when.Unix()))
		lines[i] = "— " + name + " " + base64.StdEncoding.EncodeToString(raw)
		done = true
	}
	if !done {
		t.Fatalf("no time signature in\n%s", cp)
	}
	return []byte(strings.Join(lines, "\n"))
}

// TestCheckpointTime: a checkpoint carries the time it was signed, signed by the log's
// key; transparency-dev's own note verifiers read it; the checkpoint's text is still
// exactly the three tlog-checkpoint lines; and a changed time does not verify.
func TestCheckpointTime(t *testing.T) {
	l, _, vkey := openTimedLog(t)
	before := time.Now().Truncate(time.Second)
	if _, err := l.Append(t.Context(), makeEntry(1)); err != nil {
		t.Fatal(err)
	}
	raw, _ := latest(t, l, vkey)
	after := time.Now()
	cp, when, err := CheckpointTime(raw, vkey)
	if err != nil {
		t.Fatalf("CheckpointTime: %v\n%s", err, raw)
	}
	if cp.Size != 1 || when.Before(before) || when.After(after) {
		t.Errorf("checkpoint of size %d signed at %v, want size 1 and a time in [%v, %v]", cp.Size, when, before, after)
	}

	// An independent checker: x/mod's note and transparency-dev/formats only.
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(raw, note.VerifierList(v))
	if err != nil {
		t.Fatalf("the log's key alone does not open the checkpoint: %v", err)
	}
	if len(n.UnverifiedSigs) != 1 {
		t.Errorf("with the log's key alone, %d unverified signatures, want the time signature", len(n.UnverifiedSigs))
	}
	var fc flog.Checkpoint
	if rest, err := fc.Unmarshal([]byte(n.Text)); err != nil || len(rest) != 0 || fc.Size != 1 {
		t.Errorf("checkpoint text %q: %v, extension lines %q", n.Text, err, rest)
	}
	tv, err := fnote.NewVerifierForCosignatureV1(vkey)
	if err != nil {
		t.Fatal(err)
	}
	n, err = note.Open(raw, note.VerifierList(v, tv))
	if err != nil || len(n.Sigs) != 2 {
		t.Fatalf("formats' cosignature/v1 verifier of the log's key: %v (%d signatures)", err, len(n.Sigs))
	}
	for _, s := range n.Sigs {
		if s.Hash == tv.KeyHash() {
			ts, err := fnote.CoSigV1Timestamp(s)
			if err != nil || !ts.Equal(when) {
				t.Errorf("formats reads the time %v (%v), CheckpointTime %v", ts, err, when)
			}
		}
	}

	// Backdated by an hour: the log's signature still holds, the time does not.
	forged := setCosigTime(t, raw, vkey, when.Add(-time.Hour))
	if _, err := VerifyCheckpoint(forged, vkey); err != nil {
		t.Fatalf("the log's own signature should not cover the time signature: %v", err)
	}
	if _, _, err := CheckpointTime(forged, vkey); !errors.Is(err, ErrNoCheckpointTime) {
		t.Errorf("backdated time: %v, want ErrNoCheckpointTime", err)
	}
	if _, _, err := CheckpointTime(setCosigTime(t, raw, vkey, when), vkey); err != nil {
		t.Errorf("the rewriter changes nothing when the time stays: %v", err)
	}

	// A log without the time signer: its checkpoints verify, and have no time.
	s2, _, vkey2 := testKey(t, testOrigin)
	plain := openLog(t, logDir(t), s2)
	defer plain.Close()
	raw2, _ := latest(t, plain, vkey2)
	if _, _, err := CheckpointTime(raw2, vkey2); !errors.Is(err, ErrNoCheckpointTime) {
		t.Errorf("checkpoint without a time signature: %v, want ErrNoCheckpointTime", err)
	}
	// The time signature of another key is no time of this log.
	if _, _, err := CheckpointTime(raw, vkey2); err == nil {
		t.Error("another log's key accepts the checkpoint")
	}
}

// TestLoggedTimeStatement: the log signs a statement of when it received an entry it
// holds, which verifies with its key; any change to it, another key, another entry or
// another index is refused.
func TestLoggedTimeStatement(t *testing.T) {
	l, _, vkey := openTimedLog(t)
	entry := makeEntry(7)
	idx, err := l.Append(t.Context(), entry)
	if err != nil {
		t.Fatal(err)
	}
	received := time.Date(2026, 12, 3, 15, 4, 5, 123456000, time.UTC)
	st, err := l.SignLoggedTime(t.Context(), entry, idx, received)
	if err != nil {
		t.Fatal(err)
	}
	lt, err := VerifyLoggedTime(st, vkey)
	if err != nil {
		t.Fatalf("VerifyLoggedTime: %v\n%s", err, st)
	}
	if lt.Index != idx || !lt.Received.Equal(received) || lt.Origin != testOrigin || !lt.Covers(entry) || lt.Covers(makeEntry(8)) {
		t.Errorf("statement says %+v", lt)
	}

	tampered := bytes.Replace(st, []byte("15:04:05.123456Z"), []byte("15:04:04.123456Z"), 1)
	if bytes.Equal(tampered, st) {
		t.Fatalf("no received time to change in\n%s", st)
	}
	if _, err := VerifyLoggedTime(tampered, vkey); !errors.Is(err, ErrInvalidStatement) {
		t.Errorf("changed time: %v, want ErrInvalidStatement", err)
	}
	_, _, otherKey := testKey(t, testOrigin)
	if _, err := VerifyLoggedTime(st, otherKey); !errors.Is(err, ErrInvalidStatement) {
		t.Errorf("another key: %v, want ErrInvalidStatement", err)
	}
	// A statement is never taken for a checkpoint.
	if _, err := VerifyCheckpoint(st, vkey); err == nil {
		t.Error("a logged-time statement verifies as a checkpoint")
	}

	if _, err := l.SignLoggedTime(t.Context(), makeEntry(8), idx, received); err == nil {
		t.Error("signed a statement for an entry the log does not hold")
	}
	if _, err := l.SignLoggedTime(t.Context(), entry, idx+1, received); err == nil {
		t.Error("signed a statement naming the wrong index")
	}
}
