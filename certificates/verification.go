package certificates

import "fmt"

// The one-line descriptions of how a wipe was read back. decom cert show and decom
// cert verify print VerificationSummary; the summary tables of decom wipe and of the
// boot agent print VerificationBrief. Both describe the last check, the reading back
// of the pass that counts, and call the read-back passed only when every check
// passed (Verification.Verified). The PDF and the registry's page show the same
// facts field by field.

// VerificationSummary says in one line how the media were read back and what that
// found: "sampled 10.0% (seed 42), 1 check(s), passed", "full read-back, 2 check(s),
// FAILED", or "none: the media were not read back". A check of a drive that sanitized
// itself names its mode: "sampled 1.0% (sample-uniform, seed 42), …".
func (c *Certificate) VerificationSummary() string {
	v := c.Verification
	last, ok := lastCheck(v)
	if !ok || v.Method == "none" {
		return "none: the media were not read back"
	}
	how := "full read-back"
	switch last.Mode {
	case "full":
	case "sample":
		how = fmt.Sprintf("sampled %.1f%% (seed %s)", 100*last.Coverage, last.Seed)
	default:
		how = fmt.Sprintf("sampled %.1f%% (%s, seed %s)", 100*last.Coverage, last.Mode, last.Seed)
	}
	result := "passed"
	if !v.Verified {
		result = "FAILED"
	}
	return fmt.Sprintf("%s, %d check(s), %s", how, len(v.Checks), result)
}

// VerificationBrief says the same in a table cell: "yes (sample 10.0%)", "yes
// (full)", "FAILED (sample 10.0%)"; "no" when the media were not read back, and
// "UNVERIFIED" when that makes the document a record of an unverified sanitization
// rather than a certificate. A wipe with exceptions whose read-back passed is "yes":
// its exceptions are its outcome's to tell.
func (c *Certificate) VerificationBrief() string {
	if c.Outcome == OutcomeUnverified {
		return "UNVERIFIED"
	}
	v := c.Verification
	last, ok := lastCheck(v)
	if !ok || v.Method == "none" {
		return "no"
	}
	how := last.Mode
	if how != "full" {
		how = fmt.Sprintf("%s %.1f%%", last.Mode, 100*last.Coverage)
	}
	if !v.Verified {
		return "FAILED (" + how + ")"
	}
	return "yes (" + how + ")"
}

// lastCheck is the verification's last check, the reading back of the pass that
// counts; false when there is none.
func lastCheck(v Verification) (Check, bool) {
	if len(v.Checks) == 0 {
		return Check{}, false
	}
	return v.Checks[len(v.Checks)-1], true
}
