//go:build !agentimage

package main

import (
	"github.com/spf13/cobra"
)

// decom registry: the commands that run a registry and administer its data. They
// are registered by addRegistryServerCommands (cmd_registry_server.go), one file per
// subcommand: cmd_registry_serve.go, cmd_registry_token*.go, cmd_registry_key*.go.
// Every one of them opens the registry's store, so a build that leaves the registry
// server out leaves out all of them, with their files.

func newRegistryCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "Run the central registry of certificates, and manage its tokens and keys",
		Args:  argsUsage(cobra.NoArgs),
	}
	addRegistryServerCommands(cmd, g)
	return cmd
}
