package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/sanitize"
)

func newPlanCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Work with approved plans (decom wipe --plan-out, --approved)",
		Long: `An approved plan lists, host by host, exactly what decom wipe --approved may
sanitize: decom wipe --dry-run --plan-out FILE writes one host's plan, a person reviews
it, and decom plan merge joins several hosts' plans into one file for one review.
decom plan push sends an approved plan to the registry, whose job page then shows
which planned hosts have reported and which drives are missing or failed.

` + exitCodeHelp,
		Args: argsUsage(cobra.NoArgs),
	}
	cmd.AddCommand(newPlanMergeCommand(g), newPlanPushCommand(g))
	return cmd
}

type planMergeOptions struct {
	// Out is the merged file (-o is decom's --output, table or json).
	Out string
	// Job names the merged plan's job.
	Job string
}

func (o *planMergeOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.Out, "out", "", "write the merged plan to this file (required)")
	f.StringVar(&o.Job, "job", "", "the job the merged plan is for (plans that name another job are refused)")
}

func newPlanMergeCommand(g *globalOptions) *cobra.Command {
	var opts planMergeOptions
	cmd := &cobra.Command{
		Use:   "merge PLAN... --out FILE",
		Short: "Merge hosts' plans into one file with a section per host",
		Long: `Reads each plan file, checks it (format version, host identity, targets), and
writes one file with every host's section. Two sections for the same host (by DMI
system serial and UUID, or hostname when a host has neither) are an error: one
review approves one plan per host. The merged plan names the job of its plans, or
--job NAME; plans of different jobs are an error. The file is written atomically;
on any error nothing is written.

` + exitCodeHelp,
		Args: argsUsage(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error { return runPlanMerge(opts, g, args) },
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

func runPlanMerge(opts planMergeOptions, g *globalOptions, args []string) error {
	if opts.Out == "" {
		return usageErrorf("--out FILE is required: where the merged plan goes")
	}
	if err := checkJob(opts.Job); err != nil {
		return err
	}
	files := []sanitize.PlanFile{{Format: sanitize.PlanFormat, Job: opts.Job}}
	for _, a := range args {
		f, _, err := readPlanFile(a)
		if err != nil {
			return err
		}
		files = append(files, f)
	}
	merged, err := sanitize.MergePlans(files...)
	if err != nil {
		return badInputf("merge: %v", err)
	}
	data, err := merged.Marshal()
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(opts.Out)
	if err != nil {
		return err
	}
	if _, err := certificates.WriteFileAtomic(filepath.Dir(abs), filepath.Base(abs), data, 0o644); err != nil {
		return fmt.Errorf("write plan: %w", err)
	}
	sum := sha256.Sum256(data)
	fmt.Fprintf(g.stdout, "%s: %d hosts, sha256 %s\n", abs, len(merged.Hosts), hex.EncodeToString(sum[:]))
	return nil
}
