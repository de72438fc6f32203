package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/decom-project/decom/wipe"
)

func newMethodsCommand(g *globalOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "methods",
		Short: "List the overwrite methods with their passes and NIST SP 800-88 class",
		Long: `Lists the overwrite methods decom wipe --method accepts, with their pass sequences,
whether their standard requires verification, and what NIST SP 800-88 credits them with.
An overwrite is a Clear technique; on flash media it never achieves Purge.

nist-purge is not an overwrite: decom chooses each drive's own sanitize command
(NVMe sanitize or format, ATA sanitize or enhanced security erase, SCSI sanitize)
by NIST SP 800-88 Appendix A, and refuses drives that cannot be purged.

` + exitCodeHelp,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(*cobra.Command, []string) error { return runMethods(g) },
	}
}

func runMethods(g *globalOptions) error {
	methods := append(wipe.Methods(), wipe.PurgeMethod())
	if g.Output == outputJSON {
		return writeJSON(g.stdout, struct {
			Methods []wipe.Method `json:"methods"`
		}{methods})
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "METHOD\tPASSES\tVERIFY\tNIST\tSTANDARD\tSEQUENCE")
	for _, m := range methods {
		verify := "-"
		if m.Verify {
			verify = "required"
		}
		if m.Name == wipe.MethodNISTPurge {
			fmt.Fprintf(tw, "%s\t-\t%s\t%s\t%s\t%s\n", m.Name, verify, m.NISTClass, m.Standard, "the drive's own sanitize command, per drive")
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", m.Name, len(m.Passes), verify, m.NISTClass, m.Standard, passList(m.Passes))
	}
	return tw.Flush()
}

// passList renders a pass sequence compactly: "0x00,0xff,random", long runs elided.
func passList(ps []wipe.Pattern) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.String()
	}
	if len(names) > 8 {
		return strings.Join(names[:4], ",") + ",…," + strings.Join(names[len(names)-2:], ",")
	}
	return strings.Join(names, ",")
}
