//go:build !agentimage

package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
)

// newRegistryTokenListCommand builds decom registry token list; so are the store
// flags of decom registry token, set by the time the command runs.
func newRegistryTokenListCommand(g *globalOptions, so *registryStoreOptions) *cobra.Command {
	return &cobra.Command{
		Use: "list", Short: "List tokens (names and dates; tokens are stored only as hashes)", Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runRegistryTokenList(cmd.Context(), *so, g) },
	}
}

func runRegistryTokenList(ctx context.Context, so registryStoreOptions, g *globalOptions) error {
	st, err := so.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	toks, err := st.ListTokens(ctx)
	if err != nil {
		return storeError(err)
	}
	if g.Output == outputJSON {
		return writeJSON(g.stdout, toks)
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSCOPES\tCREATED\tREVOKED")
	for _, t := range toks {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.Scopes, t.Created.Format(time.RFC3339), timeOrDash(t.Revoked))
	}
	return tw.Flush()
}
