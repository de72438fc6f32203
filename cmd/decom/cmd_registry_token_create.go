//go:build !agentimage

package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/decom-project/decom/registry/store"
)

// newRegistryTokenCreateCommand builds decom registry token create; so are the
// store flags of decom registry token, set by the time the command runs.
func newRegistryTokenCreateCommand(g *globalOptions, so *registryStoreOptions) *cobra.Command {
	var name, scope string
	cmd := &cobra.Command{
		Use: "create", Short: "Create an API token for an agent or a site; it is printed once", Args: argsUsage(cobra.NoArgs),
		Long: `Creates an API token and prints it; the registry keeps only its hash. --scope says what
it may do, any of: upload (agents: upload certificates, receive their receipts), read
(auditors: certificate pages, bundles, PDFs, proofs, searches, unless the registry
serves reads with --public-reads) and admin (/metrics). A token's scopes are fixed:
to change them, revoke it and create another.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runRegistryTokenCreate(cmd.Context(), *so, name, scope, g)
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "who the token is for")
	cmd.Flags().StringVar(&scope, "scope", "upload", "what the token may do, separated by commas: upload, read, admin")
	return cmd
}

func runRegistryTokenCreate(ctx context.Context, so registryStoreOptions, name, scope string, g *globalOptions) error {
	if name == "" {
		return usageErrorf("--name is required")
	}
	scopes, err := store.ParseScopes(scope)
	if err != nil {
		return usageErrorf("--scope: %v", err)
	}
	st, err := so.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	tok, err := st.CreateToken(ctx, name, scopes)
	if err != nil {
		return storeError(err)
	}
	_, err = fmt.Fprintln(g.stdout, tok)
	return err
}
