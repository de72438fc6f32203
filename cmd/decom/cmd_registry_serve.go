//go:build !agentimage

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

type registryServeOptions struct {
	registryStoreOptions
	registryAccessOptions
	Addr    string
	TLSCert string
	TLSKey  string
	Origin  string
	// PublicURL is the registry's address as auditors reach it.
	PublicURL string
	// Skew is how far issued may lie from logged before a certificate is flagged.
	Skew registry.SkewLimits
	webhookOptions
}

func (o *registryServeOptions) AddFlags(f *pflag.FlagSet) {
	o.registryStoreOptions.AddFlags(f)
	o.registryAccessOptions.AddFlags(f)
	f.StringVar(&o.Addr, "addr", "127.0.0.1:8443", "address to listen on")
	f.StringVar(&o.TLSCert, "tls-cert", "", "TLS certificate (PEM); with --tls-key, serve HTTPS")
	f.StringVar(&o.TLSKey, "tls-key", "", "TLS private key (PEM)")
	f.StringVar(&o.PublicURL, "public-url", "", "the registry's address as auditors reach it, such as https://registry.example:8443; the PDFs it renders lead there by their QR code")
	addSkewFlags(f, &o.Skew)
	f.StringVar(&o.Origin, "origin", "", "the log's name in its checkpoints (default: decom-registry/HOSTNAME; fixed at first start)")
	o.webhookOptions.AddFlags(f)
}

func newRegistryServeCommand(g *globalOptions) *cobra.Command {
	var opts registryServeOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the registry: API, transparency log, auditor pages",
		Long: `Serves the registry over HTTP (HTTPS with --tls-cert and --tls-key): agents upload
certificates with an API token (decom registry token), signed by an enrolled key (decom
registry key); every accepted certificate is stored and appended to a transparency log
whose checkpoints the registry signs with its own key (made on first start, in the data
directory). The same key signs the time of each checkpoint (a cosignature/v1 signature)
and, in each receipt, when the registry received the certificate; certificates issued
more than --skew-ahead after, or more than --skew-behind before, that time are flagged. Auditors search and check certificates at /, and fetch proofs from the API.
With --webhook URL (repeatable) and --webhook-secret-file, every certificate logged
is POSTed to each URL as signed JSON, at least once, retried with backoff across
restarts; /metrics counts the attempts. GET /api/v1/search?format=csv|jsonl exports a
search; GET /api/v1/schema/certificate.json is the certificates' JSON Schema.
SIGINT or SIGTERM shut it down gracefully.

Reading certificates (pages, bundles, PDFs, proofs, searches) needs a token with the
read scope (decom registry token create --scope read; a browser signs in at /login),
unless --public-reads; the log's tiles, checkpoint, key and consistency proofs are
public either way. /metrics needs the admin scope, or --metrics-addr. Pages, PDFs and
searches are rate limited per client (--rate-limit, --rate-burst, --trusted-proxy).

` + exitCodeHelp,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return runRegistryServe(cmd.Context(), opts, g) },
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

// logKeys loads the log's signing key from the data directory, making it at first,
// and returns its signer, the signer of checkpoint times with the same key, and its
// verifier key.
// Instances sharing a data directory may start together: the first key written wins
// and the others use it. log.pub, the verifier key for auditors, is derived from it.
func logKeys(dir, origin string) (note.Signer, note.Signer, string, error) {
	keyPath := filepath.Join(dir, "log.key")
	skey, err := os.ReadFile(keyPath)
	if errors.Is(err, os.ErrNotExist) {
		if origin == "" {
			host, _ := os.Hostname()
			origin = "decom-registry/" + strings.ReplaceAll(host, " ", "-")
		}
		s, _, genErr := tlog.GenerateKey(origin)
		if genErr != nil {
			return nil, nil, "", usageErrorf("--origin: %v", genErr)
		}
		_, err = certificates.CreateFileAtomic(dir, "log.key", []byte(s+"\n"), 0o600)
		if err != nil && !errors.Is(err, os.ErrExist) {
			return nil, nil, "", err
		}
		skey, err = os.ReadFile(keyPath)
	}
	if err != nil {
		return nil, nil, "", badInputf("log key: %v", err)
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		return nil, nil, "", badInputf("log key %s: %v", keyPath, err)
	}
	verifier, err := tlog.VerifierKey(strings.TrimSpace(string(skey)))
	if err != nil {
		return nil, nil, "", badInputf("log key %s: %v", keyPath, err)
	}
	timeSigner, err := tlog.NewTimeSigner(string(skey))
	if err != nil {
		return nil, nil, "", badInputf("log key %s: %v", keyPath, err)
	}
	switch pub, err := os.ReadFile(filepath.Join(dir, "log.pub")); {
	case errors.Is(err, os.ErrNotExist):
		if _, err := certificates.WriteFileAtomic(dir, "log.pub", []byte(verifier+"\n"), 0o644); err != nil {
			return nil, nil, "", err
		}
	case err != nil:
		return nil, nil, "", badInputf("log verifier key: %v", err)
	case strings.TrimSpace(string(pub)) != verifier:
		return nil, nil, "", badInputf("%s does not hold the verifier key of %s", filepath.Join(dir, "log.pub"), keyPath)
	}
	if origin != "" && signer.Name() != origin {
		return nil, nil, "", usageErrorf("--origin %q: this registry's log is %q", origin, signer.Name())
	}
	return signer, timeSigner, verifier, nil
}

func runRegistryServe(ctx context.Context, o registryServeOptions, g *globalOptions) error {
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return usageErrorf("--tls-cert and --tls-key go together")
	}
	if err := checkSkewFlags(o.Skew); err != nil {
		return err
	}
	if o.PublicURL != "" {
		if err := registry.CheckPublicURL(o.PublicURL); err != nil {
			return usageErrorf("--public-url: %v", err)
		}
	}
	cfg := registry.Config{PublicURL: o.PublicURL, Skew: o.Skew}
	if err := o.registryAccessOptions.config(&cfg); err != nil {
		return err
	}
	hooks, err := o.webhookOptions.config()
	if err != nil {
		return err
	}
	cfg.Webhooks = hooks
	st, err := o.open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	signer, timeSigner, verifier, err := logKeys(o.Data, o.Origin)
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
	lg, err := open(ctx, filepath.Join(o.Data, "log"), signer, timeSigner)
	if err != nil {
		return badInputf("open the transparency log: %v", err)
	}
	defer lg.Close()
	logger := logging.Slog(g.log)
	cfg.Store, cfg.Log, cfg.LogKey, cfg.Logger = st, lg, verifier, logger
	srv, err := registry.New(cfg)
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
	var (
		ms  *http.Server
		mln net.Listener
	)
	if o.MetricsAddr != "" {
		if mln, err = net.Listen("tcp", o.MetricsAddr); err != nil {
			ln.Close()
			return usageErrorf("--metrics-addr: %v", err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", srv.MetricsHandler())
		ms = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
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
	done := make(chan error, 2)
	go func() { done <- hs.Serve(ln) }()
	if ms != nil {
		g.log.Info().Str("url", "http://"+mln.Addr().String()+"/metrics").Msg("metrics serving")
		go func() { done <- ms.Serve(mln) }()
		defer ms.Close()
	}
	hooksDone := startWebhooks(ctx, srv, g)
	defer hooksDone()
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
