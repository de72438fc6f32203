//go:build !agentimage

package tlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"golang.org/x/mod/sumdb/note"
)

// SignLoggedTime signs, with the log's key, a statement that entry (its exact bytes),
// which the log holds at index idx under the latest published checkpoint, was received
// at received. It refuses an entry whose leaf hash is not the one at idx. In a shared
// log the entry may have been appended by another process.
func (l *Log) SignLoggedTime(ctx context.Context, entry []byte, idx uint64, received time.Time) ([]byte, error) {
	if received.IsZero() {
		return nil, errors.New("tlog: sign logged time: no time")
	}
	size := l.pub.Load().cp.Size
	if idx >= size {
		return nil, fmt.Errorf("tlog: sign logged time: %w: index %d, published size %d", ErrOutOfRange, idx, size)
	}
	have, err := l.node(ctx, compact.NodeID{Level: 0, Index: idx}, size)
	if err != nil {
		return nil, fmt.Errorf("tlog: sign logged time: %w", err)
	}
	h := leafHash(entry)
	if !bytes.Equal(have, h[:]) {
		return nil, fmt.Errorf("tlog: sign logged time: the entry at index %d is not this one", idx)
	}
	lt := LoggedTime{Origin: l.origin, Index: idx, LeafHash: h[:], Received: received}
	b, err := note.Sign(&note.Note{Text: lt.text()}, l.signer)
	if err != nil {
		return nil, fmt.Errorf("tlog: sign logged time: %w", err)
	}
	return b, nil
}
