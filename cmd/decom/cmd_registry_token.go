//go:build !agentimage

package main

import (
	"github.com/spf13/cobra"
)

func newRegistryTokenCommand(g *globalOptions) *cobra.Command {
	var so registryStoreOptions
	cmd := &cobra.Command{Use: "token", Short: "Create, revoke and list API tokens", Args: argsUsage(cobra.NoArgs)}
	so.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(newRegistryTokenCreateCommand(g, &so), newRegistryTokenRevokeCommand(g, &so), newRegistryTokenListCommand(g, &so))
	return cmd
}
