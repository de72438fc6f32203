//go:build !agentimage

package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/decom-project/decom/registry/store"
)

// newRegistryKeyListCommand builds decom registry key list; so are the store flags
// of decom registry key, set by the time the command runs.
func newRegistryKeyListCommand(g *globalOptions, so *registryStoreOptions) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use: "list", Short: "List the active keys (--all: revoked ones too, with the revocations)", Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runRegistryKeyList(cmd.Context(), *so, all, g) },
	}
	cmd.Flags().BoolVar(&all, "all", false, "list revoked keys too, with when, from when and why")
	return cmd
}

func runRegistryKeyList(ctx context.Context, so registryStoreOptions, all bool, g *globalOptions) error {
	st, err := so.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	var keys []store.Key
	if all {
		keys, err = st.Keys(ctx)
	} else {
		keys, err = st.ActiveKeys(ctx)
	}
	if err != nil {
		return storeError(err)
	}
	if g.Output == outputJSON {
		out := make([]keyView, 0, len(keys))
		for _, k := range keys {
			out = append(out, newKeyView(k))
		}
		return writeJSON(g.stdout, out)
	}
	tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
	if !all {
		fmt.Fprintln(tw, "FINGERPRINT\tNAME\tADDED")
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", k.Fingerprint, k.Name, k.Added.Format(time.RFC3339))
		}
		return tw.Flush()
	}
	fmt.Fprintln(tw, "FINGERPRINT\tNAME\tADDED\tREVOKED\tEFFECTIVE\tREASON")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.Fingerprint, k.Name, k.Added.Format(time.RFC3339),
			timeOrDash(k.Revoked), timeOrDash(k.RevokedFrom), k.RevokeReason)
	}
	return tw.Flush()
}
