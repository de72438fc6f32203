//go:build !agentimage

package registry

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	"github.com/decom-project/decom/registry/store"
	"github.com/decom-project/decom/registry/tlog"
)

// loggedTime is the signed evidence of when the registry logged rec, at idx: the
// logged-time statement and, when the registry recorded one with a time signature,
// the first checkpoint that covered it with the proof of inclusion in it.
func (s *Server) loggedTime(ctx context.Context, rec store.Record, idx uint64) (*LoggedTime, error) {
	st, err := s.log.SignLoggedTime(ctx, rec.Bundle, idx, rec.Received)
	if err != nil {
		return nil, fmt.Errorf("logged time of %s: %w", rec.ID, err)
	}
	lt := &LoggedTime{Received: rec.Received, Statement: string(st)}
	if rec.LogCheckpoint == nil {
		return lt, nil
	}
	cp, when, err := s.checkpoints.time(rec.LogCheckpoint, s.logKey)
	if err != nil {
		// Recorded before the log signed times: the statement is all there is.
		s.logger.Debug("first checkpoint without a time", "id", rec.ID, "err", err)
		return lt, nil
	}
	proof, err := s.log.InclusionProof(ctx, idx, cp.Size)
	if err != nil {
		return nil, fmt.Errorf("logged time of %s: %w", rec.ID, err)
	}
	lt.Checkpoint, lt.CheckpointTime = string(rec.LogCheckpoint), &when
	lt.InclusionProof = make([]string, len(proof))
	for i, h := range proof {
		lt.InclusionProof[i] = base64.StdEncoding.EncodeToString(h)
	}
	return lt, nil
}

// info is the API's view of rec (see the function info), with its clock check.
func (s *Server) info(rec store.Record, keys map[string]store.Key, full bool) CertificateInfo {
	ci := info(rec, keys, full)
	ci.Clock = CheckClock(rec.Issued, rec.Received, s.skew)
	return ci
}

// checkLogged checks a receipt's logged time as an auditor would, and says what it
// proved.
func checkLogged(rc Receipt, bundle []byte, logKey string) (bool, string) {
	p, err := VerifyLogged(rc, bundle, logKey)
	if err != nil {
		return false, err.Error()
	}
	return true, LoggedSentence(p)
}

// checkpointTimes remembers the checkpoints whose signatures and signed time were
// checked: a checkpoint is published every 100 ms at most and covers every entry
// logged since the one before, so under load hundreds of receipts and lookups name
// the same one, and two signature checks each would cost more than the rest of the
// logged time. The receipts waiting for a new checkpoint all wake when it is
// published: the first checks it and the others wait for its result, rather than
// each checking it again. A failure is remembered too: the check depends on nothing
// but the checkpoint's bytes and the key (a checkpoint signed before the log signed
// times fails it the same way every time).
type checkpointTimes struct {
	mu   sync.Mutex
	seen map[[sha256.Size]byte]*checkedTime
	// check is tlog.CheckpointTime; tests count its calls.
	check func(cp []byte, key string) (tlog.Checkpoint, time.Time, error)
}

type checkedTime struct {
	ready chan struct{} // closed when the fields below are set
	cp    tlog.Checkpoint
	when  time.Time
	err   error
}

// maxCheckedTimes bounds the memory (about 200 bytes each): the map starts over
// when it is full. A lookup names the first checkpoint of its certificate, which
// may be any of the log's: the bound is large.
const maxCheckedTimes = 1 << 16

// time is tlog.CheckpointTime, remembered.
func (c *checkpointTimes) time(cp []byte, key string) (tlog.Checkpoint, time.Time, error) {
	id := sha256.Sum256([]byte(key + "\x00" + string(cp)))
	c.mu.Lock()
	if e, ok := c.seen[id]; ok {
		c.mu.Unlock()
		<-e.ready
		return e.cp, e.when, e.err
	}
	if c.seen == nil || len(c.seen) >= maxCheckedTimes {
		c.seen = map[[sha256.Size]byte]*checkedTime{}
	}
	e := &checkedTime{ready: make(chan struct{})}
	c.seen[id] = e
	c.mu.Unlock()

	check := c.check
	if check == nil {
		check = tlog.CheckpointTime
	}
	e.cp, e.when, e.err = check(cp, key)
	close(e.ready)
	return e.cp, e.when, e.err
}
