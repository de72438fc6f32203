//go:build !agentimage

package main

import (
	"bytes"
	"context"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/decom-project/decom/registry"
)

// webhookOptions are registry serve's webhook flags.
type webhookOptions struct {
	URLs       []string
	SecretFile string
	RetryBase  time.Duration
	RetryMax   time.Duration
	GiveUp     time.Duration
}

func (o *webhookOptions) AddFlags(f *pflag.FlagSet) {
	f.StringArrayVar(&o.URLs, "webhook", nil, "POST a signed JSON event to this URL on every certificate logged (repeatable); needs --webhook-secret-file")
	f.StringVar(&o.SecretFile, "webhook-secret-file", "", "file holding the secret that signs webhook events (HMAC-SHA256; at least 16 bytes; surrounding white space is ignored)")
	f.DurationVar(&o.RetryBase, "webhook-retry", 5*time.Second, "wait after a failed webhook delivery, doubled on each further failure")
	f.DurationVar(&o.RetryMax, "webhook-retry-max", time.Hour, "longest wait between two attempts at a webhook delivery")
	f.DurationVar(&o.GiveUp, "webhook-give-up", 72*time.Hour, "how long a webhook delivery is tried before it is marked failed")
}

// config is the server's webhook configuration, nil without --webhook.
func (o webhookOptions) config() (*registry.WebhookConfig, error) {
	if len(o.URLs) == 0 {
		if o.SecretFile != "" {
			return nil, usageErrorf("--webhook-secret-file without --webhook")
		}
		return nil, nil
	}
	for _, u := range o.URLs {
		if err := registry.CheckWebhookURL(u); err != nil {
			return nil, usageErrorf("--webhook: %v", err)
		}
	}
	if o.SecretFile == "" {
		return nil, usageErrorf("--webhook needs --webhook-secret-file: events are always signed")
	}
	raw, err := os.ReadFile(o.SecretFile)
	if err != nil {
		return nil, badInputf("--webhook-secret-file: %v", err)
	}
	secret := bytes.TrimSpace(raw)
	if len(secret) < registry.MinWebhookSecret {
		return nil, badInputf("--webhook-secret-file %s: %d bytes of secret, want at least %d", o.SecretFile, len(secret), registry.MinWebhookSecret)
	}
	if o.RetryBase <= 0 || o.RetryMax < o.RetryBase || o.GiveUp <= 0 {
		return nil, usageErrorf("--webhook-retry, --webhook-retry-max, --webhook-give-up: want 0 < retry <= retry-max and give-up > 0")
	}
	return &registry.WebhookConfig{URLs: o.URLs, Secret: secret, RetryBase: o.RetryBase, RetryMax: o.RetryMax, GiveUp: o.GiveUp}, nil
}

// startWebhooks delivers the server's webhook outbox until the returned function
// is called; it waits for the deliverer to stop.
func startWebhooks(ctx context.Context, srv *registry.Server, g *globalOptions) func() {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.RunWebhooks(ctx); err != nil {
			g.log.Error().Err(err).Msg("webhooks stopped")
		}
	}()
	return func() { cancel(); <-done }
}
