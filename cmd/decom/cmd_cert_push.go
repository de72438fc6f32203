package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/decom-project/decom/registry"
)

// pushAttempts is how often decom cert push tries each certificate while the
// registry does not answer.
const pushAttempts = 5

func newCertPushCommand(g *globalOptions) *cobra.Command {
	var opts registryOptions
	cmd := &cobra.Command{
		Use:   "push DIR",
		Short: "Upload the certificates of a directory the registry has not acknowledged",
		Long: `Uploads every certificate (*.sigstore.json) in DIR that has no receipt beside it, with
retries and backoff, and stores each receipt (log index, inclusion proof, checkpoint)
beside its certificate. Certificates that could not be uploaded stay for the next push.

` + exitCodeHelp,
		Args: argsUsage(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCertPush(cmd.Context(), opts, cmd.Flags(), g, args[0])
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

// runCertPush sends a directory's waiting certificates; flags are the command's, to
// tell flags given from settings of the config file.
func runCertPush(ctx context.Context, o registryOptions, flags *pflag.FlagSet, g *globalOptions, dir string) error {
	cfg, err := loadConfig(g.Config)
	if err != nil {
		return err
	}
	o.apply(flags, cfg)
	if o.URL == "" || o.Token == "" {
		return usageErrorf("--registry and --token (or DECOM_REGISTRY and DECOM_REGISTRY_TOKEN) are required")
	}
	pushed, err := o.client().Push(ctx, dir, pushAttempts, func(s registry.Sent) {
		if s.Err != nil {
			g.log.Warn().Str("certificate", s.File).Err(s.Err).Msg("not uploaded; it stays for the next push")
			return
		}
		g.log.Info().Str("certificate", s.File).Uint64("log_index", s.Receipt.LogIndex).Msg("uploaded")
	})
	var dirErr *registry.DirError
	switch {
	case errors.Is(err, filepath.ErrBadPattern):
		return usageErrorf("%v", err)
	case errors.As(err, &dirErr):
		return badInputf("%v", err)
	case err != nil:
		return err
	}
	fmt.Fprintf(g.stdout, "%d uploaded, %d waiting, %d certificates in %s\n", pushed.Uploaded, pushed.Waiting, pushed.Certificates, dir)
	return pushed.Err()
}
