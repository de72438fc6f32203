package agent

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/internal/humanize"
)

// DriveResult is one line of the agent's summary.
type DriveResult struct {
	Device string
	Serial string
	Model  string
	Size   uint64
	// Outcome is decom wipe's (completed, completed-with-exceptions, failed,
	// aborted, refused), or "skipped" for a drive the agent left alone.
	Outcome string
	// Verified says how the wipe was read back, as certificates' VerificationBrief
	// says it: "yes (sample 10.0%)", "FAILED (full)", "UNVERIFIED", "no".
	Verified string
	// Sanitization is what the drive's certificate says (sanitized,
	// sanitized-with-exceptions, unverified, failed, aborted); "" when decom wipe
	// did not say.
	Sanitization string
	// Certificate is the certificate file, PDF its rendering; Uploaded whether the
	// registry holds it; Note the reason a drive was skipped, or what went wrong.
	Certificate string
	PDF         string
	Uploaded    bool
	UploadError string
	Note        string
	// Interruptions counts the times the wipe was cut off (a power loss, a crash)
	// and resumed from its journal; its certificate lists them.
	Interruptions int
}

// Outcome value for drives the agent did not hand to decom wipe.
const OutcomeSkipped = "skipped"

// Summary is what the agent reports at its end.
type Summary struct {
	Mode   string
	Drives []DriveResult
	// CertDir is where certificates went; OnData whether that is the data partition
	// (else RAM); Registry the registry they were sent to, if any.
	CertDir  string
	OnData   bool
	DataDev  string
	Registry string
	LogFile  string
	// RAMOnly says the boot has no writable medium and no boot medium (a network
	// boot or kexec): the machine is not powered off while certificates are only in RAM.
	RAMOnly bool
	// Problems are the failed steps worth repeating at the end.
	Problems []string
}

// Counts tallies the outcomes.
func (s *Summary) Counts() (c Counts) {
	for _, d := range s.Drives {
		switch {
		case d.Outcome == OutcomeSkipped:
			c.Skipped++
		case d.Sanitization == certificates.OutcomeSanitized:
			c.Sanitized++
		case d.Sanitization == certificates.OutcomeExceptions:
			c.Exceptions++
		case d.Sanitization == certificates.OutcomeUnverified:
			// Written but never read back: a record of unverified sanitization,
			// not a certificate.
			c.Unverified++
		default:
			// Failed, aborted, refused by decom wipe's gate, or without a word on
			// what its certificate says.
			c.Failed++
		}
	}
	return c
}

// Counts are the drives of a run by what became of them.
type Counts struct {
	Sanitized, Exceptions, Unverified, Failed, Skipped int
}

// Render writes the summary block that ends the agent's console output: a line per
// drive, sorted by device, then where the certificates are. Every line begins with
// "decom: "; the block opens with the line "decom: summary" and ends with the line that
// counts the outcomes, "decom: result: …".
func (s *Summary) Render(w io.Writer) {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DEVICE\tSERIAL\tMODEL\tSIZE\tOUTCOME\tVERIFIED\tCERTIFICATE")
	drives := slices.Clone(s.Drives)
	slices.SortStableFunc(drives, func(a, b DriveResult) int { return strings.Compare(a.Device, b.Device) })
	for _, d := range drives {
		cert := "-"
		switch {
		case d.Certificate != "" && d.Uploaded:
			cert = filepath.Base(d.Certificate) + " (uploaded)"
		case d.Certificate != "":
			cert = filepath.Base(d.Certificate)
		case d.Note != "":
			cert = d.Note
		}
		if d.Certificate != "" && d.Note != "" {
			cert += "; " + d.Note
		}
		if r := resumedAfter(d.Interruptions); r != "" && cert == "-" {
			cert = strings.TrimPrefix(r, "; ")
		} else {
			cert += r
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Device, dash(d.Serial), dash(d.Model), size(d.Size),
			d.Outcome, dash(d.Verified), cert)
	}
	tw.Flush()
	fmt.Fprintln(w, "decom: summary")
	for _, line := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
		fmt.Fprintf(w, "decom:   %s\n", strings.TrimRight(line, " "))
	}
	certs, uploaded, waiting := 0, 0, 0
	for _, d := range s.Drives {
		if d.Certificate == "" {
			continue
		}
		certs++
		if d.Uploaded {
			uploaded++
		} else {
			waiting++
		}
	}
	if certs > 0 {
		where := s.CertDir
		if s.OnData {
			where += fmt.Sprintf(" (%s partition %s)", DataLabel, s.DataDev)
		}
		fmt.Fprintf(w, "decom: certificates: %d in %s\n", certs, where)
		switch {
		case s.Registry != "" && waiting == 0:
			fmt.Fprintf(w, "decom: registry: all %d uploaded to %s\n", uploaded, s.Registry)
		case s.Registry != "":
			fmt.Fprintf(w, "decom: registry: %d uploaded to %s, %d not: they wait for `decom cert push`\n", uploaded, s.Registry, waiting)
		case s.OnData:
			fmt.Fprintf(w, "decom: registry: none configured; upload them later with `decom cert push`\n")
		}
		if !s.OnData && waiting > 0 && s.RAMOnly {
			fmt.Fprintf(w, "decom: WARNING: no %s partition: %d certificates are only in RAM: the machine stays on, trying the registry again, until it has them\n", DataLabel, waiting)
		} else if !s.OnData && waiting > 0 {
			fmt.Fprintf(w, "decom: WARNING: no %s partition: %d certificates are only in RAM and are lost at power off\n", DataLabel, waiting)
		}
	}
	if s.LogFile != "" {
		fmt.Fprintf(w, "decom: log: %s\n", s.LogFile)
	}
	for _, p := range s.Problems {
		fmt.Fprintf(w, "decom: problem: %s\n", p)
	}
	c := s.Counts()
	unverified := ""
	if c.Unverified > 0 {
		unverified = fmt.Sprintf(", %d written but not read back (no certificate of sanitization)", c.Unverified)
	}
	fmt.Fprintf(w, "decom: result: %d sanitized, %d with exceptions%s, %d failed, %d not wiped\n",
		c.Sanitized, c.Exceptions, unverified, c.Failed, c.Skipped)
}

// resumedAfter is what a drive's line adds for a wipe resumed from its journal.
func resumedAfter(interruptions int) string {
	switch interruptions {
	case 0:
		return ""
	case 1:
		return "; resumed after 1 interruption"
	}
	return fmt.Sprintf("; resumed after %d interruptions", interruptions)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// size prints a byte count in binary units, one decimal; "-" for none.
func size(n uint64) string {
	if n == 0 {
		return "-"
	}
	return humanize.Bytes(n)
}
