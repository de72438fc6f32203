package registry

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/decom-project/decom/registry/tlog"
)

// Logged time: a certificate's issued time comes from the agent's clock, which may be
// wrong; the registry's own clock says when the certificate reached it (Received, the
// "logged" time), and the log vouches for it twice over:
//
//   - a logged-time statement, a note signed by the log's key, binds the received time
//     to the certificate's log index and leaf hash (tlog.LoggedTime);
//   - the first checkpoint seen to cover the index carries, in a cosignature/v1
//     signature by the same key, the second it was signed at (tlog.CheckpointTime), and
//     an inclusion proof ties the certificate to it: the certificate was in the log
//     before that second ended.
//
// VerifyLogged checks both and that they agree (the statement's time is not after the
// checkpoint's). Both times are the registry's clock: a registry whose clock is wrong,
// or that lies, can sign wrong times; what it cannot do is sign two times that
// contradict each other, or change a time once a checkpoint carrying it is published.

// LoggedTime is the evidence of when the registry logged a certificate, in receipts and
// in GET /api/v1/certificates/{id}.
type LoggedTime struct {
	// Received is when the registry received the certificate, by its clock.
	Received time.Time `json:"received"`
	// Statement is the logged-time statement, a signed note by the log's key.
	Statement string `json:"statement"`
	// Checkpoint is the first signed checkpoint the registry saw covering the
	// certificate, verbatim, with its time signature; empty for a certificate logged
	// before the registry recorded it.
	Checkpoint string `json:"checkpoint,omitempty"`
	// CheckpointTime is the time in Checkpoint's time signature.
	CheckpointTime *time.Time `json:"checkpoint_time,omitempty"`
	// InclusionProof proves the certificate is in Checkpoint's tree (base64 hashes).
	InclusionProof []string `json:"inclusion_proof,omitempty"`
}

// LoggedProof is what VerifyLogged proved.
type LoggedProof struct {
	// Received is the signed received time.
	Received time.Time
	// InLogBefore, when not zero, is the end of the second the first checkpoint was
	// signed in: the certificate was in the log before it.
	InLogBefore time.Time
	// Checkpoint is the first checkpoint, when there is one.
	Checkpoint *tlog.Checkpoint
}

// VerifyLogged checks the logged-time evidence of a receipt as an auditor would, with
// the log's key alone: the statement is signed by logKey and is about bundle at the
// receipt's index; the first checkpoint, if given, is signed by logKey with a time,
// the bundle is in it, and the received time is not after the checkpoint's second.
// A receipt without evidence is ErrInconsistent.
func VerifyLogged(r Receipt, bundle []byte, logKey string) (LoggedProof, error) {
	var p LoggedProof
	lt := r.Logged
	if lt == nil || lt.Statement == "" {
		return p, fmt.Errorf("%w: the registry gave no signed logged time", ErrInconsistent)
	}
	st, err := tlog.VerifyLoggedTime([]byte(lt.Statement), logKey)
	if err != nil {
		return p, fmt.Errorf("%w: logged time: %v", ErrInconsistent, err)
	}
	if !st.Covers(bundle) || st.Index != r.LogIndex {
		return p, fmt.Errorf("%w: the logged-time statement is about entry %d with another leaf hash, not this certificate at %d", ErrInconsistent, st.Index, r.LogIndex)
	}
	if !st.Received.Equal(lt.Received) {
		return p, fmt.Errorf("%w: the registry says it received the certificate at %v, its signed statement says %v", ErrInconsistent, lt.Received, st.Received)
	}
	p.Received = st.Received
	if lt.Checkpoint == "" {
		return p, nil
	}
	cp, when, err := tlog.CheckpointTime([]byte(lt.Checkpoint), logKey)
	if err != nil {
		return p, fmt.Errorf("%w: first checkpoint: %v", ErrInconsistent, err)
	}
	if lt.CheckpointTime == nil || !lt.CheckpointTime.Equal(when) {
		return p, fmt.Errorf("%w: the registry says its first checkpoint was signed at %v, the checkpoint says %v", ErrInconsistent, lt.CheckpointTime, when)
	}
	proof, err := decodeHashes(lt.InclusionProof)
	if err != nil {
		return p, err
	}
	if err := tlog.VerifyInclusion(bundle, r.LogIndex, proof, cp); err != nil {
		return p, fmt.Errorf("%w: inclusion of entry %d in the first checkpoint: %v", ErrInconsistent, r.LogIndex, err)
	}
	p.InLogBefore = when.Add(time.Second)
	if !st.Received.Before(p.InLogBefore) {
		return p, fmt.Errorf("%w: the registry signed that it received the certificate at %v, after its checkpoint of %v held it",
			ErrInconsistent, st.Received, when)
	}
	p.Checkpoint = &cp
	return p, nil
}

// SkewLimits are how far a certificate's issued time (the agent's clock) may lie from
// its logged time (the registry's) before the registry flags it.
type SkewLimits struct {
	// Ahead is how much later than logged issued may be: a certificate cannot be
	// issued after the registry received it, so only clock disagreement explains it.
	Ahead time.Duration
	// Behind is how much earlier than logged issued may be: agents keep certificates
	// in their spool while the registry is out of reach, so days are honest.
	Behind time.Duration
}

// DefaultSkewLimits flag a certificate issued more than 10 minutes after it was
// logged, or more than 72 hours (a long weekend offline) before.
var DefaultSkewLimits = SkewLimits{Ahead: 10 * time.Minute, Behind: 72 * time.Hour}

// The clock-skew flags.
const (
	// SkewIssuedAfterLogged: the agent's clock was ahead of the registry's.
	SkewIssuedAfterLogged = "issued-after-logged"
	// SkewIssuedLongBeforeLogged: the agent's clock was behind, or the
	// certificate was kept a long time before it was uploaded.
	SkewIssuedLongBeforeLogged = "issued-long-before-logged"
)

// ClockCheck compares a certificate's issued time with its logged time.
type ClockCheck struct {
	// IssuedMinusLogged is issued − logged, in seconds.
	IssuedMinusLogged float64 `json:"issued_minus_logged_seconds"`
	// Flag is empty, SkewIssuedAfterLogged or SkewIssuedLongBeforeLogged.
	Flag string `json:"flag,omitempty"`
	// Note says it in a sentence.
	Note string `json:"note"`
}

// CheckClock compares issued (the agent's clock) with logged (the registry's).
func CheckClock(issued, logged time.Time, lim SkewLimits) ClockCheck {
	d := issued.Sub(logged)
	c := ClockCheck{IssuedMinusLogged: math.Round(d.Seconds()*1e6) / 1e6}
	switch {
	case d > lim.Ahead:
		c.Flag = SkewIssuedAfterLogged
		c.Note = fmt.Sprintf("CLOCK SKEW: issued %s after the registry logged it (more than %s): the agent's clock was ahead, so its issued time is not to be trusted",
			roundDuration(d), lim.Ahead)
	case -d > lim.Behind:
		c.Flag = SkewIssuedLongBeforeLogged
		c.Note = fmt.Sprintf("CLOCK SKEW: issued %s before the registry logged it (more than %s): the agent's clock was behind, or the certificate was kept that long before upload",
			roundDuration(-d), lim.Behind)
	case d >= 0:
		c.Note = fmt.Sprintf("issued %s after logged, within %s", roundDuration(d), lim.Ahead)
	default:
		c.Note = fmt.Sprintf("issued %s before logged, within %s", roundDuration(-d), lim.Behind)
	}
	return c
}

func roundDuration(d time.Duration) time.Duration {
	if d >= time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(time.Millisecond)
}

// LoggedSentence says what VerifyLogged proved, in one line.
func LoggedSentence(p LoggedProof) string {
	s := "received " + utcTime(p.Received) + " by the registry's clock, signed by the log's key"
	if p.Checkpoint != nil {
		s += "; in the log before " + utcTime(p.InLogBefore) + " (by its checkpoint of tree size " + fmt.Sprint(p.Checkpoint.Size) +
			", signed at " + utcTime(p.InLogBefore.Add(-time.Second)) + ")"
	}
	return s
}

func utcTime(t time.Time) string {
	return t.UTC().Format("2006-01-02 15:04:05.999999 UTC")
}

// checkLogged verifies a receipt's logged time, if it has one, and that the log of
// the receipt's checkpoint cp extends the first checkpoint that held the certificate.
func (a *Auditor) checkLogged(ctx context.Context, r Receipt, bundle []byte, key string, cp tlog.Checkpoint) (*LoggedProof, error) {
	if r.Logged == nil {
		return nil, nil
	}
	p, err := VerifyLogged(r, bundle, key)
	if err != nil {
		return nil, err
	}
	if first := p.Checkpoint; first != nil {
		if first.Size > cp.Size {
			return nil, fmt.Errorf("%w: the first checkpoint holding the certificate has %d entries, the latest %d", ErrInconsistent, first.Size, cp.Size)
		}
		proof, err := a.Client.Consistency(ctx, first.Size, cp.Size)
		if err != nil {
			return nil, err
		}
		if err := extends(*first, cp, proof); err != nil {
			return nil, fmt.Errorf("the first checkpoint holding the certificate: %w", err)
		}
	}
	return &p, nil
}
