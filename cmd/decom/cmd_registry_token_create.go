//go:build !agentimage

package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
)

// newRegistryTokenCreateCommand builds decom registry token create; so are the
// store flags of decom registry token, set by the time the command runs.
func newRegistryTokenCreateCommand(g *globalOptions, so *registryStoreOptions) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use: "create", Short: "Create an API token for an agent or a site; it is printed once", Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runRegistryTokenCreate(cmd.Context(), *so, name, g) },
	}
	cmd.Flags().StringVar(&name, "name", "", "who the token is for")
	return cmd
}

func runRegistryTokenCreate(ctx context.Context, so registryStoreOptions, name string, g *globalOptions) error {
	if name == "" {
		return usageErrorf("--name is required")
	}
	st, err := so.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	tok, err := st.CreateToken(ctx, name)
	if err != nil {
		return storeError(err)
	}
	_, err = fmt.Fprintln(g.stdout, tok)
	return err
}
