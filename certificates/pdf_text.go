package certificates

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/decom-project/decom/internal/humanize"
)

// The wording of the page's values, and text helpers.

func outcomeSentence(c *Certificate) string {
	switch c.Outcome {
	case OutcomeSanitized:
		return "the media were sanitized as described below"
	case OutcomeExceptions:
		return "sanitized except for the areas listed below"
	case OutcomeUnverified:
		return "written, but NOT read back; not certified as sanitized"
	case OutcomeAborted:
		return "the wipe was aborted; the media are NOT sanitized"
	case OutcomeDestroyed:
		return "the media were destroyed as described below"
	}
	return "the wipe failed; the media are NOT sanitized"
}

func abortedWhere(c *Certificate) string {
	a := c.Sanitization.AbortedAt
	if a == nil {
		return ""
	}
	s := fmt.Sprintf(" in pass %d at byte %s", a.Pass, humanize.Thousands(uint64(max(a.Offset, 0))))
	if c.Media.SizeBytes > 0 {
		s += fmt.Sprintf(" of %s (%.1f%%)", humanize.Thousands(c.Media.SizeBytes), 100*float64(a.Offset)/float64(c.Media.SizeBytes))
	}
	return s
}

// InterruptionsText says how often the sanitization was interrupted and resumed,
// and where; "" when it never was.
func (c *Certificate) InterruptionsText() string {
	ins := c.Sanitization.Interruptions
	if len(ins) == 0 {
		return ""
	}
	var parts []string
	for _, in := range ins {
		at := fmt.Sprintf("pass %d at byte %s", in.Pass, humanize.Thousands(uint64(max(in.Offset, 0))))
		if c.Media.SizeBytes > 0 {
			at = fmt.Sprintf("pass %d at %.1f%%", in.Pass, 100*float64(in.Offset)/float64(c.Media.SizeBytes))
		}
		parts = append(parts, fmt.Sprintf("%s (last progress %s, resumed %s)", at,
			in.LastCheckpoint.UTC().Format("2006-01-02 15:04 MST"), in.Resumed.UTC().Format("2006-01-02 15:04 MST")))
	}
	times := "once"
	if len(ins) > 1 {
		times = fmt.Sprintf("%d times", len(ins))
	}
	return fmt.Sprintf("Interrupted %s (power cut, crash or stop) and resumed from its journal: %s.",
		times, strings.Join(parts, "; "))
}

// abortedShort says briefly where an aborted wipe stopped.
func abortedShort(c *Certificate) string {
	a := c.Sanitization.AbortedAt
	if a == nil {
		return ""
	}
	if c.Media.SizeBytes == 0 {
		return fmt.Sprintf(", stopped in pass %d", a.Pass)
	}
	return fmt.Sprintf(", stopped in pass %d at %.1f%% of the media", a.Pass, 100*float64(a.Offset)/float64(c.Media.SizeBytes))
}

func mediaType(m Media) string {
	kind := m.Kind
	if m.Partition > 0 {
		kind = fmt.Sprintf("partition %d", m.Partition)
	}
	sectors := ""
	switch {
	case m.LogicalSectorSize > 0 && m.PhysicalSectorSize > 0 && m.LogicalSectorSize != m.PhysicalSectorSize:
		sectors = fmt.Sprintf("%d/%d B sectors", m.LogicalSectorSize, m.PhysicalSectorSize)
	case m.LogicalSectorSize > 0:
		sectors = fmt.Sprintf("%d B sectors", m.LogicalSectorSize)
	}
	return joinNonEmpty(", ", strings.ToUpper(m.MediaType), joinNonEmpty(" ", strings.ToUpper(m.Transport), kind), sectors)
}

func capacity(m Media) string {
	if m.SizeBytes == 0 {
		return ""
	}
	return humanize.Decimal(m.SizeBytes) + " (" + humanize.Thousands(m.SizeBytes) + " bytes)"
}

func sourceHost(s Source) string {
	system := joinNonEmpty(" ", s.SystemVendor, s.SystemProduct)
	return joinNonEmpty(", ", s.Hostname, system, prefixed("serial ", s.SystemSerial), prefixed("UUID ", s.SystemUUID))
}

func normTechnique(t string) string {
	t = strings.ToLower(strings.TrimSpace(t))
	t = strings.NewReplacer("_", "-", " ", "-").Replace(t)
	switch t {
	case "crypto-erase", "cryptographic-erase", "crypto-scramble":
		return "crypto-erase"
	}
	return t
}

func methodSummary(s Sanitization) string {
	title := s.MethodTitle
	if title == "" {
		title = s.Method
	} else if s.Method != "" {
		title += " (" + s.Method + ")"
	}
	n := len(s.Passes)
	parts := []string{title, plural(n, "pass", "passes") + " written"}
	if s.Rounds > 1 {
		parts = append(parts, plural(s.Rounds, "round", "rounds"))
	}
	if s.FinalBlank {
		parts = append(parts, "final blank pass")
	}
	return strings.Join(parts, "; ")
}

func toolSummary(t Tool) string {
	commit := t.Commit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	return joinNonEmpty(" ", t.Name, t.Version, prefixed("commit ", commit))
}

func finished(s Sanitization) string {
	if s.Finished.IsZero() {
		return ""
	}
	f := stamp(s.Finished)
	if !s.Started.IsZero() && s.Finished.After(s.Started) {
		f += " (" + duration(s.Finished.Sub(s.Started)) + ")"
	}
	return f
}

func verificationMethod(c *Certificate) string {
	v := c.Verification
	if v.Method == "none" {
		if c.Sanitization.VerifyRequired {
			return "none: the media were not read back, although the method requires it"
		}
		return "none: the media were not read back"
	}
	return v.Method + " (" + plural(len(v.Checks), "pass", "passes") + " checked)"
}

func coverage(v Verification) string {
	ch, ok := lastCheck(v)
	if !ok {
		return ""
	}
	s := percent(ch.Coverage) + " read"
	if ch.CoverageRequested > 0 && v.Method == "sample" {
		s += ", " + percent(ch.CoverageRequested) + " requested"
	}
	return s
}

func sampling(ch Check) string {
	var parts []string
	if ch.Subsections > 0 {
		parts = append(parts, humanize.Thousands(uint64(ch.Subsections))+" subsections")
	}
	if ch.SampleBlockSize > 0 {
		parts = append(parts, "blocks of "+humanize.BinaryExact(uint64(ch.SampleBlockSize)))
	}
	return strings.Join(parts, ", ")
}

func verificationResult(v Verification) string {
	var mism, readErrs int64
	for _, ch := range v.Checks {
		mism += ch.MismatchedBytes
		readErrs += int64(len(ch.ReadErrors))
	}
	verdict := "NOT verified"
	if v.Verified {
		verdict = "verified"
	}
	if v.Method == "none" || len(v.Checks) == 0 {
		return verdict
	}
	s := verdict + ": " + bytesCount(mism) + " mismatched"
	if readErrs > 0 {
		s += ", " + plural(int(readErrs), "read error", "read errors")
	}
	return s
}

func totals(c *Certificate) string {
	var done, bad, errs int
	var badBytes int64
	for _, ps := range c.Sanitization.Passes {
		if ps.Completed {
			done++
		}
		bad += len(ps.BadRanges)
		errs += len(ps.Errors)
		for _, r := range ps.BadRanges {
			badBytes += r.Length
		}
	}
	var mism, readErrs, read int64
	for _, ch := range c.Verification.Checks {
		mism += ch.MismatchedBytes
		readErrs += int64(len(ch.ReadErrors))
		read += ch.BytesRead
	}
	s := fmt.Sprintf("Totals: %d of %s completed \u00b7 %s (%s) not written \u00b7 %s \u00b7 ",
		done, plural(len(c.Sanitization.Passes), "pass", "passes"), plural(bad, "bad range", "bad ranges"),
		humanize.Decimal(uint64(max(badBytes, 0))), plural(errs, "write error", "write errors"))
	if len(c.Verification.Checks) == 0 {
		return s + "not read back"
	}
	return s + fmt.Sprintf("read back: %s in %s, %s mismatched, %s", humanize.Decimal(uint64(max(read, 0))),
		plural(len(c.Verification.Checks), "check", "checks"), bytesCount(mism), plural(int(readErrs), "read error", "read errors"))
}

func rangesSummary(rs []Range) string {
	if len(rs) == 0 {
		return "0"
	}
	var n int64
	for _, r := range rs {
		n += r.Length
	}
	return fmt.Sprintf("%d (%s)", len(rs), humanize.Decimal(uint64(max(n, 0))))
}

func bytesCount(n int64) string {
	if n == 1 {
		return "1 byte"
	}
	return humanize.Thousands(uint64(max(n, 0))) + " bytes"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

func duration(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h > 0:
		return fmt.Sprintf("%dh %02dm %02ds", h, m, s)
	case m > 0:
		return fmt.Sprintf("%dm %02ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

func percent(f float64) string { return Percent(f) }

// Percent writes the fraction f (0.1069 is 10.69%) as a percentage with at most
// two decimals and no trailing zeros. It never rounds to 0% or 100% a fraction
// that is neither: a coverage just short of whole reads 99.99%, not 100%, and a
// sliver above nothing reads <0.01%.
func Percent(f float64) string {
	v := math.Round(f * 10000)
	switch {
	case v >= 10000 && f < 1:
		v = 9999
	case v <= 0 && f > 0:
		return "<0.01%"
	case v == 0:
		v = 0 // no "-0%"
	}
	return strconv.FormatFloat(v/100, 'f', -1, 64) + "%"
}

func joinNonEmpty(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

func prefixed(prefix, s string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	return prefix + s
}

func orDash(s string) string {
	if s == "" {
		return "\u2014"
	}
	return s
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
