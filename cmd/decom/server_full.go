//go:build !agentimage

package main

import "github.com/spf13/cobra"

// fullOnlyCommands are the commands of the full decom that the boot image's build
// (tag agentimage, server_lean.go) leaves out, and with them what only they link:
// running and administering a registry server (SQLite, PostgreSQL, the transparency
// log's storage, the web pages and metrics), and building the boot image (go-diskfs's
// filesystems, the initramfs writer). The agent on site uses neither: it uploads with
// the registry client, which every build keeps.
func fullOnlyCommands(g *globalOptions) []*cobra.Command {
	return []*cobra.Command{newRegistryCommand(g), newImageCommand(g)}
}
