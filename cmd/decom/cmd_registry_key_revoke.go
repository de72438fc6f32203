//go:build !agentimage

package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/decom-project/decom/registry/store"
)

// newRegistryKeyRevokeCommand builds decom registry key revoke; so are the store
// flags of decom registry key, set by the time the command runs.
func newRegistryKeyRevokeCommand(g *globalOptions, so *registryStoreOptions) *cobra.Command {
	var opts registryKeyRevokeOptions
	cmd := &cobra.Command{
		Use:   "revoke FINGERPRINT --reason TEXT [--effective TIME]",
		Short: "Revoke a key: certificates it signs are refused from now on",
		Long: `Revokes an agent key. Uploads signed with it are refused from then on (within
two seconds on every registry instance). History is kept: a certificate the
registry received before the revocation took effect stays valid, and the registry
says so ("valid-key-revoked-later", with the date and the reason); one received at
or after it is shown as not valid ("invalid-key-revoked"), on its page, in the API
and in searches.

--reason is required: auditors read it beside every certificate the key signed.
--effective backdates the revocation, for a compromise found out late: certificates
the registry received from that time on become not valid. It takes an RFC 3339 time
(2026-03-01T09:00:00Z) or a date (2026-03-01, midnight UTC); it defaults to now and
cannot be in the future. Revoking a revoked key again can only move its effective
time earlier; the new reason then replaces the old one.

` + exitCodeHelp,
		Args: argsUsage(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRegistryKeyRevoke(cmd.Context(), *so, opts, args[0], g)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

type registryKeyRevokeOptions struct {
	Reason    string
	Effective string
}

func (o *registryKeyRevokeOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.Reason, "reason", "", "why the key is revoked, for auditors (required): \"stick lost\", \"laptop stolen\"")
	f.StringVar(&o.Effective, "effective", "", "from when the key is not to be trusted: an RFC 3339 time or a date, not in the future (default now)")
}

func runRegistryKeyRevoke(ctx context.Context, so registryStoreOptions, o registryKeyRevokeOptions, fingerprint string, g *globalOptions) error {
	if strings.TrimSpace(o.Reason) == "" {
		return usageErrorf("--reason is required: say why the key is revoked (auditors read it beside every certificate it signed)")
	}
	var effective time.Time
	if o.Effective != "" {
		t, err := parseEffective(o.Effective)
		if err != nil {
			return usageErrorf("--effective %q: want an RFC 3339 time (2026-03-01T09:00:00Z) or a date (2026-03-01)", o.Effective)
		}
		if t.After(time.Now()) {
			return usageErrorf("--effective %s is in the future: a revocation takes effect now at the latest", t.Format(time.RFC3339))
		}
		effective = t
	}
	st, err := so.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	k, err := st.RevokeKey(ctx, fingerprint, store.Revocation{Reason: o.Reason, Effective: effective})
	if err != nil {
		return storeError(err)
	}
	if g.Output == outputJSON {
		return writeJSON(g.stdout, newKeyView(k))
	}
	_, err = fmt.Fprintf(g.stdout, "Revoked %s (%s), effective %s: %s\n"+
		"Certificates the registry received from then on are not valid; those received before stay valid.\n",
		k.Fingerprint, k.Name, k.RevokedFrom.Format(time.RFC3339Nano), k.RevokeReason)
	return err
}

// parseEffective reads an RFC 3339 time, or a date meaning its midnight UTC.
func parseEffective(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, s)
}
