package main

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/decom-project/decom/registry"
)

// addSkewFlags adds the flags of how far a certificate's issued time (the agent's
// clock) may lie from the time the registry logged it (its own) before it is flagged.
func addSkewFlags(f *pflag.FlagSet, lim *registry.SkewLimits) {
	f.DurationVar(&lim.Ahead, "skew-ahead", registry.DefaultSkewLimits.Ahead,
		"flag a certificate issued more than this after the registry logged it (the agent's clock ran ahead)")
	f.DurationVar(&lim.Behind, "skew-behind", registry.DefaultSkewLimits.Behind,
		"flag a certificate issued more than this before the registry logged it (the agent's clock ran behind, or it was uploaded late)")
}

// checkSkewFlags refuses negative limits.
func checkSkewFlags(lim registry.SkewLimits) error {
	if lim.Ahead < 0 || lim.Behind < 0 {
		return usageErrorf("--skew-ahead and --skew-behind: want durations of 0 or more, such as 10m or 72h")
	}
	return nil
}

// loggedLines says what the registry's signed logged time proved, and compares the
// certificate's issued time with it; no comparison without a signed logged time.
func loggedLines(audit registry.Audit, issued time.Time, lim registry.SkewLimits) (string, *registry.ClockCheck) {
	if audit.Logged == nil {
		return "the registry signs no logged time: when it received the certificate is not proved", nil
	}
	c := registry.CheckClock(issued, audit.Logged.Received, lim)
	return registry.LoggedSentence(*audit.Logged), &c
}
