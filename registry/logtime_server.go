//go:build !agentimage

package registry

import (
	"context"
	"encoding/base64"
	"fmt"

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
	cp, when, err := tlog.CheckpointTime(rec.LogCheckpoint, s.logKey)
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
