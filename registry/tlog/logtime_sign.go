//go:build !agentimage

package tlog

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// SignLoggedTime signs, with the log's key, a statement that entry (its exact bytes),
// which the log holds at index idx under a published checkpoint, was received at
// received. It refuses an entry the log does not hold there.
func (l *Log) SignLoggedTime(entry []byte, idx uint64, received time.Time) ([]byte, error) {
	if got, ok := l.Lookup(entry); !ok || got != idx {
		return nil, fmt.Errorf("tlog: sign logged time: the entry is not published at index %d", idx)
	}
	if received.IsZero() {
		return nil, errors.New("tlog: sign logged time: no time")
	}
	h := leafHash(entry)
	lt := LoggedTime{Origin: l.origin, Index: idx, LeafHash: h[:], Received: received}
	b, err := note.Sign(&note.Note{Text: lt.text()}, l.signer)
	if err != nil {
		return nil, fmt.Errorf("tlog: sign logged time: %w", err)
	}
	return b, nil
}
