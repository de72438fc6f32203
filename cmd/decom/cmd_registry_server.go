//go:build !agentimage

package main

import (
	"context"
	"errors"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/decom-project/decom/registry/store"
)

// addRegistryServerCommands adds to decom registry the commands that run the
// registry server (serve) and administer its store (token, key): the one place that
// registers them, so that a build without the registry server can leave out this
// file and the files of those commands.
func addRegistryServerCommands(parent *cobra.Command, g *globalOptions) {
	parent.AddCommand(newRegistryServeCommand(g), newRegistryTokenCommand(g), newRegistryKeyCommand(g))
}

// registryStoreOptions name the registry's data: the directory (SQLite, the log,
// the log's key) and, for larger sites, a PostgreSQL URL.
type registryStoreOptions struct {
	Data string
	DB   string
}

func (o *registryStoreOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.Data, "data", "/var/lib/decom/registry", "data directory: the SQLite database, the transparency log and its key")
	f.StringVar(&o.DB, "db", "", "PostgreSQL URL (postgres://…) instead of SQLite in the data directory")
}

func (o registryStoreOptions) open(ctx context.Context) (store.Store, error) {
	if err := os.MkdirAll(o.Data, 0o700); err != nil {
		return nil, badInputf("data directory: %v", err)
	}
	s, err := store.Open(ctx, o.Data, o.DB)
	if err != nil {
		return nil, badInputf("open the registry's store: %v", err)
	}
	return s, nil
}

// storeError turns the store's errors into the command's.
func storeError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrInvalid):
		return usageErrorf("%v", err)
	}
	return err
}

func timeOrDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.RFC3339)
}
