//go:build !agentimage

package main

import (
	"context"

	"github.com/spf13/cobra"
)

// newRegistryTokenRevokeCommand builds decom registry token revoke; so are the
// store flags of decom registry token, set by the time the command runs.
func newRegistryTokenRevokeCommand(g *globalOptions, so *registryStoreOptions) *cobra.Command {
	return &cobra.Command{
		Use: "revoke NAME", Short: "Revoke a token", Args: argsUsage(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRegistryTokenRevoke(cmd.Context(), *so, args[0])
		},
	}
}

func runRegistryTokenRevoke(ctx context.Context, so registryStoreOptions, name string) error {
	st, err := so.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	return storeError(st.RevokeToken(ctx, name))
}
