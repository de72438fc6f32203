package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/decom-project/decom/registry"
)

type planPushOptions struct {
	registry registryOptions
}

func (o *planPushOptions) AddFlags(f *pflag.FlagSet) {
	o.registry.AddFlags(f)
}

func newPlanPushCommand(g *globalOptions) *cobra.Command {
	var opts planPushOptions
	cmd := &cobra.Command{
		Use:   "push PLAN --registry URL --token TOKEN",
		Short: "Send an approved plan to the registry's job view",
		Long: `Sends an approved plan file (one host's, or merged) to the registry for the job it
names (decom wipe --dry-run --plan-out FILE --job NAME, or decom plan merge --job NAME).
The registry's page of the job (/jobs/NAME) then shows each planned host, whether it
has reported, and each planned drive: wiped, failed, destroyed, or missing (no
certificate yet); certificates of the job for drives no plan lists are flagged.
The registry keeps the plan under the SHA-256 of its bytes, the digest decom wipe
--approved states in its certificates; pushing the same plan again changes nothing.

The token needs the upload scope. A plan that is malformed or names no job is bad
input (exit code 9), and so is a plan or token the registry refuses; a registry
that cannot be reached is exit code 10.

` + exitCodeHelp,
		Args: argsUsage(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPlanPush(cmd.Context(), opts, cmd.Flags(), g, args[0])
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

func runPlanPush(ctx context.Context, opts planPushOptions, flags *pflag.FlagSet, g *globalOptions, path string) error {
	cfg, err := loadConfig(g.Config)
	if err != nil {
		return err
	}
	opts.registry.apply(flags, cfg)
	if opts.registry.URL == "" || opts.registry.Token == "" {
		return usageErrorf("--registry and --token (or DECOM_REGISTRY and DECOM_REGISTRY_TOKEN) are required")
	}
	f, data, err := readPlanFile(path)
	if err != nil {
		return err
	}
	if f.Job == "" {
		return badInputf("plan %s names no job: write it with --job NAME (decom wipe --plan-out, or decom plan merge)", path)
	}
	client := opts.registry.client()
	rc, err := client.PushPlan(ctx, data)
	if errors.Is(err, registry.ErrRejected) {
		return badInputf("plan %s: %v", path, err)
	}
	if err != nil {
		return err
	}
	what := "pushed"
	if !rc.Created {
		what = "already held"
	}
	fmt.Fprintf(g.stdout, "%s: %s for job %q (%d hosts, %d drives), sha256 %s: %s\n", path, what, rc.Job, rc.Hosts, rc.Drives,
		rc.SHA256, registry.JobPage(client.URL, rc.Job))
	return nil
}
