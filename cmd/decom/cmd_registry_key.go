//go:build !agentimage

package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/decom-project/decom/registry/store"
)

func newRegistryKeyCommand(g *globalOptions) *cobra.Command {
	var so registryStoreOptions
	cmd := &cobra.Command{Use: "key", Short: "Enrol, revoke and list the agent keys certificates must be signed with", Args: argsUsage(cobra.NoArgs)}
	so.AddFlags(cmd.PersistentFlags())
	cmd.AddCommand(newRegistryKeyAddCommand(g, &so), newRegistryKeyRevokeCommand(g, &so), newRegistryKeyListCommand(g, &so))
	return cmd
}

// keyView is how key commands show a key in JSON.
type keyView struct {
	Fingerprint  string     `json:"fingerprint"`
	Name         string     `json:"name"`
	Added        time.Time  `json:"added"`
	Revoked      *time.Time `json:"revoked,omitempty"`
	Effective    *time.Time `json:"revoked_effective,omitempty"`
	RevokeReason string     `json:"revoke_reason,omitempty"`
}

func newKeyView(k store.Key) keyView {
	v := keyView{Fingerprint: k.Fingerprint, Name: k.Name, Added: k.Added, RevokeReason: k.RevokeReason}
	if !k.Revoked.IsZero() {
		v.Revoked, v.Effective = &k.Revoked, &k.RevokedFrom
	}
	return v
}
