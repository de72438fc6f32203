package sanitize

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/registry"
	"github.com/decom-project/decom/verify"
	"github.com/decom-project/decom/wipe"
)

// Errors that carry a run's most severe outcome, for errors.Is.
var (
	ErrWipeFailed   = errors.New("wipe failed")
	ErrExceptions   = errors.New("wipe completed with exceptions")
	ErrVerifyFailed = errors.New("verification failed")
	// ErrInvalid: the run was asked something impossible (the same target twice).
	ErrInvalid = errors.New("invalid request")
)

// invalid is an ErrInvalid that says only what is wrong.
type invalid string

func (e invalid) Error() string        { return string(e) }
func (e invalid) Is(target error) bool { return target == ErrInvalid }

func invalidf(format string, args ...any) error { return invalid(fmt.Sprintf(format, args...)) }

// Result is what became of one target: its wipe record, what reading it back found,
// and its certificate. It is the "record" line of decom wipe's JSON output.
type Result struct {
	wipe.Record
	Verification []verify.Result `json:"verification"`
	// Verified is true only when the wipe completed and every verification of it
	// passed; never for an unverified or failed one.
	Verified bool `json:"verified"`
	// Certificate is the signed certificate (or record) written for the wipe, and
	// CertificatePDF its rendering.
	Certificate    string `json:"certificate,omitempty"`
	CertificateID  string `json:"certificate_id,omitempty"`
	CertificatePDF string `json:"certificate_pdf,omitempty"`
	// SanitizationOutcome is the outcome the wipe's certificate states (see
	// certificates.Outcome): "unverified" for a wipe nobody read back.
	SanitizationOutcome string `json:"sanitization_outcome,omitempty"`
	// CertificateStatus says what the signed document is: a certificate of
	// sanitization, or a record of an unverified, failed or aborted one.
	CertificateStatus string `json:"certificate_status,omitempty"`
	// Registry says where the certificate went: its receipt, or why it waits in
	// the certificate directory for decom cert push.
	RegistryReceipt *registry.Receipt `json:"registry_receipt,omitempty"`
	RegistryError   string            `json:"registry_error,omitempty"`
}

func newResult(rec wipe.Record, results []verify.Result, wanted bool) Result {
	r := Result{Record: rec, Verification: results, SanitizationOutcome: Outcome(rec, results)}
	r.Verified = wanted && rec.Outcome == wipe.OutcomeCompleted && len(results) > 0
	for _, v := range results {
		r.Verified = r.Verified && v.Verified
	}
	return r
}

// VerificationFailed reports whether a wipe that ran to its end failed (or skipped
// part of) its reading back.
func (r Result) VerificationFailed() bool {
	if r.Outcome != wipe.OutcomeCompleted && r.Outcome != wipe.OutcomeExceptions {
		return false
	}
	for _, v := range r.Verification {
		if !v.Verified {
			return true
		}
	}
	return false
}

func refusedRecord(t wipe.Target, p wipe.PassPlan, err error) wipe.Record {
	now := time.Now().UTC()
	return wipe.Record{Device: t.Path, Kind: t.Kind, Identity: t.Identity, Method: p.Method.Name,
		Title: p.Method.Title, NISTClass: p.Method.NISTClass, Rounds: p.Rounds, Blank: p.Blank,
		Passes: []wipe.PassRecord{}, Outcome: wipe.OutcomeRefused, Error: err.Error(), Started: now, Finished: now}
}

// outcomeError turns the results into the run's error: the most severe outcome
// decides (interrupted, failed, verification failed, refused, with exceptions).
func outcomeError(ctx context.Context, results []Result, plans []Plan) error {
	count := map[string]int{}
	verifyFailed := 0
	for _, r := range results {
		count[r.Outcome]++
		if r.VerificationFailed() {
			verifyFailed++
		}
	}
	for _, p := range plans {
		if p.Refusal != nil {
			count[wipe.OutcomeRefused]++
		}
	}
	switch {
	case count[wipe.OutcomeAborted] > 0 || ctx.Err() != nil:
		return fmt.Errorf("wipe %w", context.Canceled)
	case count[wipe.OutcomeFailed] > 0:
		return fmt.Errorf("%w: %d of %d targets", ErrWipeFailed, count[wipe.OutcomeFailed], len(results))
	case verifyFailed > 0:
		return fmt.Errorf("%w: %d of %d targets do not read back as written", ErrVerifyFailed, verifyFailed, len(results))
	case count[wipe.OutcomeRefused] > 0:
		return fmt.Errorf("%w: %d targets were refused; nothing was written to them", wipe.ErrRefused, count[wipe.OutcomeRefused])
	case count[wipe.OutcomeExceptions] > 0:
		return fmt.Errorf("%w: %d of %d targets have unwritable ranges", ErrExceptions, count[wipe.OutcomeExceptions], len(results))
	}
	return nil
}

// RefusalReasons are the gate's reasons for a refusal, or the error itself.
func RefusalReasons(err error) []string {
	var re *wipe.RefusedError
	if errors.As(err, &re) {
		return re.Reasons
	}
	return []string{err.Error()}
}

func refusalText(err error) string { return strings.Join(RefusalReasons(err), "; ") }

// refusalsError is the error for plans that were refused, nil when none was.
func refusalsError(plans []Plan) error {
	var msgs []string
	for _, p := range plans {
		if p.Refusal != nil {
			msgs = append(msgs, p.Refusal.Error())
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return refusals(strings.Join(msgs, "; "))
}

// refusals is the message of one or more gate refusals.
type refusals string

func (e refusals) Error() string        { return string(e) }
func (e refusals) Is(target error) bool { return target == wipe.ErrRefused }

// VerificationBrief says in a few words how the result was read back, as its
// certificate would: "yes (sample 10.0%)", "FAILED (full)", "UNVERIFIED", "no".
func (r Result) VerificationBrief() string {
	v := certificates.Verification{Verified: len(r.Verification) > 0}
	for _, c := range r.Verification {
		v.Checks = append(v.Checks, check(c))
		v.Verified = v.Verified && c.Verified
	}
	return (&certificates.Certificate{Outcome: r.SanitizationOutcome, Verification: v}).VerificationBrief()
}
