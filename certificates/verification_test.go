package certificates

import "testing"

func TestVerificationLines(t *testing.T) {
	// twoChecks reads pass 1 back in full and the last pass, 3, by sample; swapped,
	// the full read is the last.
	twoChecks := func(swapped bool) *Certificate {
		c := pdfTestCertificate()
		c.Verification.Checks = append([]Check{{Pass: 1, Mode: "full", Coverage: 1, Outcome: "passed"}}, c.Verification.Checks...)
		if swapped {
			c.Verification.Method = "full"
			c.Verification.Checks[0], c.Verification.Checks[1] = c.Verification.Checks[1], c.Verification.Checks[0]
		}
		return c
	}
	failed := func(c *Certificate) *Certificate {
		c.Outcome, c.Status = OutcomeFailed, StatusFailureRecord
		c.Verification.Verified = false
		c.Verification.Checks[len(c.Verification.Checks)-1].Outcome = "failed"
		return c
	}
	exceptions := pdfTestCertificate()
	exceptions.Outcome, exceptions.Status = OutcomeExceptions, StatusExceptionsCert
	unverified := pdfTestCertificate()
	unverified.Outcome, unverified.Status = OutcomeUnverified, StatusUnverifiedRecord
	unverified.Verification = Verification{Method: "none", Checks: []Check{}}
	firmware := pdfTestCertificate()
	firmware.Sanitization.Category, firmware.Sanitization.Technique = CategoryPurge, "nvme-sanitize-crypto-erase"
	firmware.Verification.Checks[0].Mode, firmware.Verification.Checks[0].Coverage = "sample-changed", 0.01
	noneButChecks := pdfTestCertificate()
	noneButChecks.Verification.Method = "none"

	for _, tc := range []struct {
		name           string
		c              *Certificate
		summary, brief string
	}{
		{"sampled", pdfTestCertificate(), "sampled 10.0% (seed 9176458128335120123), 1 check(s), passed", "yes (sample 10.0%)"},
		{"two checks, sampled last", twoChecks(false), "sampled 10.0% (seed 9176458128335120123), 2 check(s), passed", "yes (sample 10.0%)"},
		{"two checks, full last", twoChecks(true), "full read-back, 2 check(s), passed", "yes (full)"},
		{"failed read-back", failed(pdfTestCertificate()), "sampled 10.0% (seed 9176458128335120123), 1 check(s), FAILED", "FAILED (sample 10.0%)"},
		{"exceptions, read back right", exceptions, "sampled 10.0% (seed 9176458128335120123), 1 check(s), passed", "yes (sample 10.0%)"},
		{"not read back", unverified, "none: the media were not read back", "UNVERIFIED"},
		{"failed wipe, not read back", pdfFailed(pdfTestCertificate()), "none: the media were not read back", "no"},
		{"method none", noneButChecks, "none: the media were not read back", "no"},
		{"firmware sanitize", firmware, "sampled 1.0% (sample-changed, seed 9176458128335120123), 1 check(s), passed", "yes (sample-changed 1.0%)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.VerificationSummary(); got != tc.summary {
				t.Errorf("VerificationSummary() = %q, want %q", got, tc.summary)
			}
			if got := tc.c.VerificationBrief(); got != tc.brief {
				t.Errorf("VerificationBrief() = %q, want %q", got, tc.brief)
			}
		})
	}
}
