//go:build agentimage

package main

import "github.com/spf13/cobra"

// fullOnlyCommands, in the boot image's build, are hidden stand-ins for the commands
// it leaves out (see server_full.go): each says, as a usage error, that this decom
// does not have it.
func fullOnlyCommands(*globalOptions) []*cobra.Command {
	var cmds []*cobra.Command
	for _, name := range []string{"registry", "image"} {
		cmd := &cobra.Command{
			Use:                name,
			Hidden:             true,
			DisableFlagParsing: true,
			RunE: func(*cobra.Command, []string) error {
				return usageErrorf("%s: not in this decom, built for the boot image (tag agentimage): use the full decom", name)
			},
		}
		cmds = append(cmds, cmd)
	}
	return cmds
}
