package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/decom-project/decom/certificates"
)

func newCertShowCommand(g *globalOptions) *cobra.Command {
	var opts certKeyOptions
	cmd := &cobra.Command{
		Use:   "show FILE",
		Short: "Show what a certificate says",
		Long: `Shows every field of a certificate, as a table or as JSON (the signed content). With
--key the signature is checked first; without it the output says it was not.

` + exitCodeHelp,
		Args: argsUsage(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error { return runCertShow(opts, g, args[0]) },
	}
	opts.AddFlags(cmd.Flags(), false)
	return cmd
}

func runCertShow(opts certKeyOptions, g *globalOptions, path string) error {
	keys, err := opts.trusted()
	if err != nil {
		return err
	}
	c, fp, checked, err := loadCertificate(path, keys)
	if err != nil {
		return err
	}
	if g.Output == outputJSON {
		return writeJSON(g.stdout, struct {
			SignatureChecked bool                      `json:"signature_checked"`
			KeyFingerprint   string                    `json:"key_fingerprint"`
			Certificate      *certificates.Certificate `json:"certificate"`
		}{checked, fp, c})
	}
	return writeCertDetail(g.stdout, c, fp, checked)
}

func writeCertDetail(w io.Writer, c *certificates.Certificate, fp string, checked bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, dash(v)) }
	row("Document:", c.Title())
	if note := c.Caveat(); note != "" {
		row("Note:", note)
	}
	sig := "NOT CHECKED (give --key to check it); the key's hint: " + fp
	if checked {
		sig = "valid, key " + fp
	}
	row("Signature:", sig)
	row("ID:", c.ID)
	row("Issued:", c.Issued.Format(time.RFC3339))
	row("Outcome:", c.Outcome)
	row("Performed by:", personLine(c.PerformedBy))
	if c.ValidatedBy != nil {
		row("Validated by:", personLine(*c.ValidatedBy))
	}
	row("Organization:", c.Organization)
	row("Customer:", c.Customer)
	m := c.Media
	row("Media:", strings.TrimSpace(fmt.Sprintf("%s %s (%s, %s)", m.Manufacturer, m.Model, m.Kind, m.Path)))
	row("Serial:", m.Serial)
	row("WWN:", m.WWN)
	row("Firmware:", m.Firmware)
	row("Capacity:", fmt.Sprintf("%s (%d bytes), sectors %d/%d", humanSize(m.SizeBytes), m.SizeBytes, m.LogicalSectorSize, m.PhysicalSectorSize))
	row("Media type:", strings.TrimSpace(m.MediaType+" "+m.Transport))
	row("Asset number:", m.AssetNumber)
	row("Hidden areas:", m.HiddenAreas)
	row("Source host:", strings.TrimSpace(fmt.Sprintf("%s %s %s %s", c.Source.Hostname, c.Source.SystemVendor, c.Source.SystemProduct, c.Source.SystemSerial)))
	s := c.Sanitization
	row("Method type:", c.CategoryText())
	row("Technique:", s.Technique)
	if d := c.Destruction; d != nil {
		row("Destruction:", c.DestructionSummary())
		if d.Follows != "" {
			row("Follows:", d.Follows)
		}
		for _, e := range d.Evidence {
			row("Evidence:", fmt.Sprintf("%s, %d bytes, sha256 %s", e.Name, e.SizeBytes, e.SHA256))
		}
	}
	row("Method:", fmt.Sprintf("%s — %s, %d round(s)", s.Method, s.MethodTitle, s.Rounds))
	row("Tool:", fmt.Sprintf("%s %s (commit %s)", s.Tool.Name, s.Tool.Version, s.Tool.Commit))
	row("Time:", fmt.Sprintf("%s to %s", s.Started.Format(time.RFC3339), s.Finished.Format(time.RFC3339)))
	if text := c.InterruptionsText(); text != "" {
		row("Interruptions:", text)
	}
	if s.ApprovedPlanSHA256 != "" {
		row("Approved plan:", "sha256:"+s.ApprovedPlanSHA256)
	}
	if s.Job != "" {
		row("Job:", s.Job)
	}
	row("Verification:", c.VerificationSummary())
	row("Verify required:", verifyRequired(c))
	row("Destination:", strings.TrimSpace(c.Destination.Kind+" "+c.Destination.Details))
	row("Data backed up:", c.DataBackedUp)
	row("Notes:", c.Notes)
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nPasses:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\tPATTERN\tWRITTEN\tCOMPLETED\tBAD RANGES")
	for _, p := range s.Passes {
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%v\t%d\n", p.Number, p.Pattern, humanSize(p.BytesWritten), p.Completed, len(p.BadRanges))
	}
	return tw.Flush()
}

// verifyRequired says whether the method requires reading back; schema 1
// certificates did not say.
func verifyRequired(c *certificates.Certificate) string {
	switch {
	case c.SchemaVersion == certificates.SchemaVersion1:
		return "not stated (schema 1)"
	case c.Sanitization.VerifyRequired:
		return "yes, by the method"
	}
	return "no"
}
