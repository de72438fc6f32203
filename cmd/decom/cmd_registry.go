package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/mod/sumdb/note"
	"k8s.io/klog/v2"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/internal/logging"
	"github.com/decom-project/decom/registry"
	"github.com/decom-project/decom/registry/store"
	"github.com/decom-project/decom/registry/tlog"
)

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

type registryServeOptions struct {
	registryStoreOptions
	Addr    string
	TLSCert string
	TLSKey  string
	Origin  string
}

func newRegistryCommand(g *globalOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "Run the central registry of certificates, and manage its tokens and keys",
		Args:  argsUsage(cobra.NoArgs),
	}
	var serve registryServeOptions
	serveCmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the registry: API, transparency log, auditor pages",
		Long: `Serves the registry over HTTP (HTTPS with --tls-cert and --tls-key): agents upload
certificates with an API token (decom registry token), signed by an enrolled key (decom
registry key); every accepted certificate is stored and appended to a transparency log
whose checkpoints the registry signs with its own key (made on first start, in the data
directory). Auditors search and check certificates at /, and fetch proofs from the API.
SIGINT or SIGTERM shut it down gracefully.

` + exitCodeHelp,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runRegistryServe(cmd.Context(), serve, g) },
	}
	serve.registryStoreOptions.AddFlags(serveCmd.Flags())
	serveCmd.Flags().StringVar(&serve.Addr, "addr", "127.0.0.1:8443", "address to listen on")
	serveCmd.Flags().StringVar(&serve.TLSCert, "tls-cert", "", "TLS certificate (PEM); with --tls-key, serve HTTPS")
	serveCmd.Flags().StringVar(&serve.TLSKey, "tls-key", "", "TLS private key (PEM)")
	serveCmd.Flags().StringVar(&serve.Origin, "origin", "", "the log's name in its checkpoints (default: decom-registry/HOSTNAME; fixed at first start)")
	cmd.AddCommand(serveCmd, newRegistryTokenCommand(g), newRegistryKeyCommand(g))
	return cmd
}

// logKeys loads the log's signing key from the data directory, making it at first.
// Instances sharing a data directory may start together: the first key written wins
// and the others use it. log.pub, the verifier key for auditors, is derived from it.
func logKeys(dir, origin string) (note.Signer, string, error) {
	keyPath := filepath.Join(dir, "log.key")
	skey, err := os.ReadFile(keyPath)
	if errors.Is(err, os.ErrNotExist) {
		if origin == "" {
			host, _ := os.Hostname()
			origin = "decom-registry/" + strings.ReplaceAll(host, " ", "-")
		}
		s, _, genErr := tlog.GenerateKey(origin)
		if genErr != nil {
			return nil, "", usageErrorf("--origin: %v", genErr)
		}
		_, err = certificates.CreateFileAtomic(dir, "log.key", []byte(s+"\n"), 0o600)
		if err != nil && !errors.Is(err, os.ErrExist) {
			return nil, "", err
		}
		skey, err = os.ReadFile(keyPath)
	}
	if err != nil {
		return nil, "", badInputf("log key: %v", err)
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		return nil, "", badInputf("log key %s: %v", keyPath, err)
	}
	verifier, err := tlog.VerifierKey(strings.TrimSpace(string(skey)))
	if err != nil {
		return nil, "", badInputf("log key %s: %v", keyPath, err)
	}
	switch pub, err := os.ReadFile(filepath.Join(dir, "log.pub")); {
	case errors.Is(err, os.ErrNotExist):
		if _, err := certificates.WriteFileAtomic(dir, "log.pub", []byte(verifier+"\n"), 0o644); err != nil {
			return nil, "", err
		}
	case err != nil:
		return nil, "", badInputf("log verifier key: %v", err)
	case strings.TrimSpace(string(pub)) != verifier:
		return nil, "", badInputf("%s does not hold the verifier key of %s", filepath.Join(dir, "log.pub"), keyPath)
	}
	if origin != "" && signer.Name() != origin {
		return nil, "", usageErrorf("--origin %q: this registry's log is %q", origin, signer.Name())
	}
	return signer, verifier, nil
}

func runRegistryServe(ctx context.Context, o registryServeOptions, g *globalOptions) error {
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return usageErrorf("--tls-cert and --tls-key go together")
	}
	st, err := o.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	signer, verifier, err := logKeys(o.Data, o.Origin)
	if err != nil {
		return err
	}
	// The store's log indexes point into one log: an instance with a log of its own
	// (its own data directory) must not serve that database.
	if err := st.BindLog(ctx, verifier); errors.Is(err, store.ErrConflict) {
		return badInputf("%v, not this data directory's log %s: every instance on one database must share the data directory that holds the log", err, verifier)
	} else if err != nil {
		return fmt.Errorf("open the registry's store: %w", err)
	}
	klog.SetSlogLogger(logging.Slog(g.log)) // tessera logs through klog
	// With PostgreSQL, several instances may serve one registry: they share the data
	// directory (so it must be on a filesystem they all mount with working locks),
	// and with it the log.
	open := tlog.Open
	if o.DB != "" {
		open = tlog.OpenShared
	}
	lg, err := open(ctx, filepath.Join(o.Data, "log"), signer)
	if err != nil {
		return badInputf("open the transparency log: %v", err)
	}
	defer lg.Close()
	logger := logging.Slog(g.log)
	srv, err := registry.New(registry.Config{Store: st, Log: lg, LogKey: verifier, Logger: logger})
	if err != nil {
		return err
	}
	if n, err := srv.Recover(ctx); err != nil {
		return fmt.Errorf("bring the log up to date with the store: %w", err)
	} else if n > 0 {
		g.log.Warn().Int("certificates", n).Msg("stored certificates that were not yet in the log were appended")
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return usageErrorf("--addr: %v", err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute}
	scheme := "http"
	if o.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(o.TLSCert, o.TLSKey)
		if err != nil {
			return badInputf("TLS: %v", err)
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, hs.TLSConfig)
		scheme = "https"
	}
	g.log.Info().Str("url", scheme+"://"+ln.Addr().String()).Str("data", o.Data).Str("log_origin", signer.Name()).
		Str("log_key", verifier).Bool("log_shared", lg.Shared()).Msg("registry serving")
	fmt.Fprintf(g.stdout, "serving %s://%s (log %s)\n", scheme, ln.Addr(), verifier)
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	g.log.Info().Msg("shutting down")
	if err := hs.Shutdown(shutdown); err != nil {
		return err
	}
	return nil
}

func newRegistryTokenCommand(g *globalOptions) *cobra.Command {
	var so registryStoreOptions
	var name string
	cmd := &cobra.Command{Use: "token", Short: "Create, revoke and list API tokens", Args: argsUsage(cobra.NoArgs)}
	so.AddFlags(cmd.PersistentFlags())
	create := &cobra.Command{
		Use: "create", Short: "Create an API token for an agent or a site; it is printed once", Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if name == "" {
				return usageErrorf("--name is required")
			}
			st, err := so.open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			tok, err := st.CreateToken(cmd.Context(), name)
			if err != nil {
				return storeError(err)
			}
			_, err = fmt.Fprintln(g.stdout, tok)
			return err
		},
	}
	create.Flags().StringVar(&name, "name", "", "who the token is for")
	revoke := &cobra.Command{
		Use: "revoke NAME", Short: "Revoke a token", Args: argsUsage(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := so.open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			return storeError(st.RevokeToken(cmd.Context(), args[0]))
		},
	}
	list := &cobra.Command{
		Use: "list", Short: "List tokens (names and dates; tokens are stored only as hashes)", Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := so.open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			toks, err := st.ListTokens(cmd.Context())
			if err != nil {
				return storeError(err)
			}
			if g.Output == outputJSON {
				return writeJSON(g.stdout, toks)
			}
			tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tCREATED\tREVOKED")
			for _, t := range toks {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Name, t.Created.Format(time.RFC3339), timeOrDash(t.Revoked))
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(create, revoke, list)
	return cmd
}

func newRegistryKeyCommand(g *globalOptions) *cobra.Command {
	var so registryStoreOptions
	var name string
	cmd := &cobra.Command{Use: "key", Short: "Enrol, revoke and list the agent keys certificates must be signed with", Args: argsUsage(cobra.NoArgs)}
	so.AddFlags(cmd.PersistentFlags())
	add := &cobra.Command{
		Use: "add PUBKEY", Short: "Enrol an agent's public key (decom keys generate's .pub)", Args: argsUsage(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			pem, err := os.ReadFile(args[0])
			if err != nil {
				return badInputf("%v", err)
			}
			if name == "" {
				name = strings.TrimSuffix(filepath.Base(args[0]), ".pub")
			}
			st, err := so.open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			fp, err := st.AddKey(cmd.Context(), pem, name)
			if err != nil {
				return storeError(err)
			}
			_, err = fmt.Fprintln(g.stdout, fp)
			return err
		},
	}
	add.Flags().StringVar(&name, "name", "", "a name for the key (default: the file's name)")
	var rev registryKeyRevokeOptions
	revoke := &cobra.Command{
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
			return runRegistryKeyRevoke(cmd.Context(), so, rev, args[0], g)
		},
	}
	rev.AddFlags(revoke.Flags())
	var all bool
	list := &cobra.Command{
		Use: "list", Short: "List the active keys (--all: revoked ones too, with the revocations)", Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := so.open(cmd.Context())
			if err != nil {
				return err
			}
			defer st.Close()
			var keys []store.Key
			if all {
				keys, err = st.Keys(cmd.Context())
			} else {
				keys, err = st.ActiveKeys(cmd.Context())
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
		},
	}
	list.Flags().BoolVar(&all, "all", false, "list revoked keys too, with when, from when and why")
	cmd.AddCommand(add, revoke, list)
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
