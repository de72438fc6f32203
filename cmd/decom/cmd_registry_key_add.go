//go:build !agentimage

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
)

// newRegistryKeyAddCommand builds decom registry key add; so are the store flags of
// decom registry key, set by the time the command runs.
func newRegistryKeyAddCommand(g *globalOptions, so *registryStoreOptions) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use: "add PUBKEY", Short: "Enrol an agent's public key (decom keys generate's .pub)", Args: argsUsage(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRegistryKeyAdd(cmd.Context(), *so, name, args[0], g)
		},
	}
	cmd.Flags().StringVar(&name, "name", "", "a name for the key (default: the file's name)")
	return cmd
}

func runRegistryKeyAdd(ctx context.Context, so registryStoreOptions, name, pubKey string, g *globalOptions) error {
	pem, err := os.ReadFile(pubKey)
	if err != nil {
		return badInputf("%v", err)
	}
	if name == "" {
		name = strings.TrimSuffix(filepath.Base(pubKey), ".pub")
	}
	st, err := so.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	fp, err := st.AddKey(ctx, pem, name)
	if err != nil {
		return storeError(err)
	}
	_, err = fmt.Fprintln(g.stdout, fp)
	return err
}
