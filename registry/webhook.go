//go:build !agentimage

package registry

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/decom-project/decom/registry/store"
)

// Webhooks: on each certificate the registry has stored and logged, a JSON POST
// (WebhookEvent) to every configured URL, signed with a shared secret:
//
//	Decom-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>
//
// A receiver recomputes the HMAC over the timestamp, a dot and the raw body, compares
// it in constant time, and refuses a timestamp further than a few minutes from its
// clock (VerifyWebhook does all three). Each attempt is signed afresh, so a retry
// days later still carries a recent timestamp; its body is the same every time.
//
// Deliveries come from the store's outbox (store.Outbox), queued in the transaction
// that records the certificate's log index: they survive a crash or a kill, and are
// queued once per certificate however many instances share the database. Delivery is
// at least once: a receiver deduplicates by the event's event_id.

// WebhookEventType is the type of the one event the registry sends.
const WebhookEventType = "certificate.logged"

// WebhookSignatureHeader carries a delivery's signature.
const WebhookSignatureHeader = "Decom-Signature"

// WebhookEvent is the body of a webhook delivery.
type WebhookEvent struct {
	// EventID is the same on every attempt and from every instance: the idempotency
	// key. It is "certificate.logged:" and the certificate ID.
	EventID       string    `json:"event_id"`
	Type          string    `json:"type"`
	CertificateID string    `json:"certificate_id"`
	Status        string    `json:"status"`
	Outcome       string    `json:"outcome"`
	Serial        string    `json:"serial,omitempty"`
	WWN           string    `json:"wwn,omitempty"`
	AssetNumber   string    `json:"asset_number,omitempty"`
	Method        string    `json:"method"`
	Organization  string    `json:"organization,omitempty"`
	Customer      string    `json:"customer,omitempty"`
	LogIndex      uint64    `json:"log_index"`
	Issued        time.Time `json:"issued"`
	Received      time.Time `json:"received"`
	// Queued is when the certificate was logged and its delivery queued.
	Queued time.Time `json:"queued"`
	// PageURL, BundleURL and APIURL lead to the certificate on the registry: absolute
	// with the server's --public-url, else paths on the registry.
	PageURL   string `json:"page_url"`
	BundleURL string `json:"bundle_url"`
	APIURL    string `json:"api_url"`
}

// WebhookConfig configures webhook delivery. Zero durations take the defaults.
type WebhookConfig struct {
	// URLs receive every event.
	URLs []string
	// Secret keys the HMAC; at least 16 bytes.
	Secret []byte
	// RetryBase is the wait after the first failed attempt, doubling on each
	// failure (with ±20% jitter) up to RetryMax. Defaults: 5 s, 1 h.
	RetryBase, RetryMax time.Duration
	// GiveUp bounds how long after it was queued a delivery is tried; then it is
	// marked failed. Default 72 h.
	GiveUp time.Duration
	// Timeout bounds one attempt. Default 10 s.
	Timeout time.Duration
	// Poll is how often the outbox is read for deliveries other instances queued or
	// that became due. Default 1 s.
	Poll time.Duration
	// Client posts the events; nil is a client with Timeout.
	Client *http.Client
}

// MinWebhookSecret is the shortest secret accepted.
const MinWebhookSecret = 16

// CheckWebhookURL refuses a webhook URL that is not an absolute http or https URL.
func CheckWebhookURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" {
		return fmt.Errorf("webhook URL %q: want an absolute http:// or https:// URL", s)
	}
	return nil
}

func (c *WebhookConfig) check() error {
	if len(c.URLs) == 0 {
		return errors.New("webhooks: no URL")
	}
	for _, u := range c.URLs {
		if err := CheckWebhookURL(u); err != nil {
			return err
		}
	}
	if len(c.Secret) < MinWebhookSecret {
		return fmt.Errorf("webhook secret: %d bytes, want at least %d", len(c.Secret), MinWebhookSecret)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.RetryBase, 5*time.Second)
	def(&c.RetryMax, time.Hour)
	def(&c.GiveUp, 72*time.Hour)
	def(&c.Timeout, 10*time.Second)
	def(&c.Poll, time.Second)
	if c.Client == nil {
		// A round posts up to webhookBatch deliveries at once: keep that many
		// connections per endpoint alive between rounds (Go's default keeps 2, and
		// every round then dialled, and for HTTPS shook hands, anew).
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConnsPerHost = webhookBatch
		c.Client = &http.Client{Timeout: c.Timeout, Transport: t}
	}
	return nil
}

// SignWebhook is the Decom-Signature header value of body sent at t.
func SignWebhook(secret, body []byte, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(webhookMAC(secret, ts, body))
}

func webhookMAC(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// ErrWebhookSignature is a delivery whose signature does not check.
var ErrWebhookSignature = errors.New("webhook signature")

// VerifyWebhook checks a delivery as a receiver should: header is its
// Decom-Signature, body its raw bytes. A timestamp further than tolerance from now
// (a replay, or a clock far off) is refused.
func VerifyWebhook(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs [][]byte
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			if b, err := hex.DecodeString(v); err == nil {
				sigs = append(sigs, b)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return fmt.Errorf("%w: malformed header %q", ErrWebhookSignature, header)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("%w: timestamp %d is %v from now, more than %v", ErrWebhookSignature, sec, d.Round(time.Second), tolerance)
	}
	want := webhookMAC(secret, ts, body)
	for _, s := range sigs {
		if hmac.Equal(s, want) {
			return nil
		}
	}
	return fmt.Errorf("%w: no signature matches", ErrWebhookSignature)
}

// webhooks delivers the outbox.
type webhooks struct {
	cfg     WebhookConfig
	srv     *Server
	wake    chan struct{}
	results *prometheus.CounterVec
	pending prometheus.Gauge
	failed  prometheus.Gauge
}

func newWebhooks(cfg WebhookConfig, s *Server, reg *prometheus.Registry) (*webhooks, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	w := &webhooks{cfg: cfg, srv: s, wake: make(chan struct{}, 1),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "decom_registry_webhook_attempts_total",
			Help: "Webhook delivery attempts by this instance, by result: delivered, retry (to be tried again), failed (given up)."}, []string{"result"}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{Name: "decom_registry_webhook_pending",
			Help: "Webhook deliveries queued and not yet delivered, all instances."}),
		failed: prometheus.NewGauge(prometheus.GaugeOpts{Name: "decom_registry_webhook_failed",
			Help: "Webhook deliveries given up, all instances, ever."}),
	}
	for _, r := range []string{"delivered", "retry", "failed"} {
		w.results.WithLabelValues(r)
	}
	reg.MustRegister(w.results, w.pending, w.failed)
	return w, nil
}

// notify tells the deliverer that a certificate was logged.
func (w *webhooks) notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// lease bounds how long an instance holds deliveries it claimed: past it, another
// instance (or this one restarted) posts them again. It covers one attempt and
// recording its result; a delivery in flight when its instance died waits for it.
func (w *webhooks) lease() time.Duration { return w.cfg.Timeout + 5*time.Second }

// webhookBatch is the most deliveries one round claims and posts at once.
const webhookBatch = 64

// webhookGather is how long a round woken by a new certificate waits for others:
// at a busy registry each round then carries many, and costs the store two
// transactions however many it carries.
const webhookGather = 50 * time.Millisecond

// gaugeEvery is how often the pending and failed gauges are counted again.
const gaugeEvery = 10 * time.Second

// RunWebhooks records the configured endpoints in the store and delivers the outbox
// until ctx ends. Without webhooks configured it returns at once.
func (s *Server) RunWebhooks(ctx context.Context) error {
	w := s.webhooks
	if w == nil {
		return nil
	}
	for wait := time.Second; ; wait = min(2*wait, time.Minute) {
		err := s.store.SetWebhooks(ctx, w.cfg.URLs)
		if err == nil {
			break
		}
		s.logger.Error("webhooks: record the endpoints; trying again", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
	tick := time.NewTicker(w.cfg.Poll)
	defer tick.Stop()
	var counted time.Time
	for {
		for ctx.Err() == nil {
			n, err := w.round(ctx)
			if err != nil && ctx.Err() == nil {
				s.logger.Error("webhook outbox", "err", err)
				break
			}
			if n < webhookBatch {
				break
			}
		}
		if time.Since(counted) >= gaugeEvery {
			if pending, failed, err := s.store.FailedAndPending(ctx); err == nil {
				w.pending.Set(float64(pending))
				w.failed.Set(float64(failed))
				counted = time.Now()
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-w.wake:
			// Let the certificates logged just after this one join its round.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(webhookGather):
			}
		case <-tick.C:
		}
	}
}

// round claims a batch of due deliveries, attempts them all, and records their
// results in one transaction.
func (w *webhooks) round(ctx context.Context) (int, error) {
	ds, err := w.srv.store.ClaimDeliveries(ctx, w.srv.instance, w.cfg.URLs, webhookBatch, w.lease())
	if err != nil || len(ds) == 0 {
		return 0, err
	}
	results := make([]*store.DeliveryResult, len(ds))
	var wg sync.WaitGroup
	for i, d := range ds {
		wg.Go(func() { results[i] = w.attempt(ctx, d) })
	}
	wg.Wait()
	if ctx.Err() != nil {
		return len(ds), nil // shutting down: the leases run out and the deliveries are tried again
	}
	var done []store.Finished
	for i, r := range results {
		if r != nil {
			done = append(done, store.Finished{ID: ds[i].ID, Result: *r})
		}
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := w.srv.store.FinishDeliveries(fctx, w.srv.instance, done); err != nil {
		w.srv.logger.Error("webhook outbox: record deliveries", "count", len(done), "err", err)
	}
	return len(ds), nil
}

// webhookEvent is the event of a logged certificate, queued at queued.
func (s *Server) webhookEvent(rec store.Record, queued time.Time) WebhookEvent {
	base := strings.TrimRight(s.publicURL, "/")
	ev := WebhookEvent{EventID: WebhookEventType + ":" + rec.ID, Type: WebhookEventType, CertificateID: rec.ID,
		Status: rec.Status, Outcome: rec.Outcome, Serial: rec.Serial, WWN: rec.WWN, AssetNumber: rec.AssetNumber,
		Method: rec.Method, Organization: rec.Organization, Customer: rec.Customer, Issued: rec.Issued.UTC(),
		Received: rec.Received.UTC(), Queued: queued.UTC(),
		PageURL: CertificatePage(s.publicURL, rec.ID), BundleURL: base + "/api/v1/certificates/" + url.PathEscape(rec.ID) + "/bundle",
		APIURL: base + "/api/v1/certificates/" + url.PathEscape(rec.ID)}
	if rec.LogIndex != nil {
		ev.LogIndex = *rec.LogIndex
	}
	return ev
}

// attempt posts one delivery and says what came of it; nil leaves the delivery
// unrecorded, to be tried again when its lease runs out.
func (w *webhooks) attempt(ctx context.Context, d store.Delivery) *store.DeliveryResult {
	body, err := json.Marshal(w.srv.webhookEvent(d.Certificate, d.Created))
	if err != nil {
		w.srv.logger.Error("webhook body", "id", d.Certificate.ID, "err", err)
		return nil
	}
	err = w.post(ctx, d, body)
	if ctx.Err() != nil {
		return nil // shutting down
	}
	res := store.DeliveryResult{Delivered: err == nil}
	result := "delivered"
	if err != nil {
		res.Error = err.Error()
		delay := backoff(w.cfg.RetryBase, w.cfg.RetryMax, d.Attempts)
		if at := time.Now().Add(delay); at.Before(d.Created.Add(w.cfg.GiveUp)) {
			res.RetryAt = at
			result = "retry"
			w.srv.logger.Warn("webhook delivery failed; will retry", "endpoint", d.Endpoint, "id", d.Certificate.ID,
				"attempt", d.Attempts+1, "retry_in", delay.Round(time.Millisecond), "err", err)
		} else {
			result = "failed"
			w.srv.logger.Error("webhook delivery given up", "endpoint", d.Endpoint, "id", d.Certificate.ID,
				"attempts", d.Attempts+1, "queued", d.Created, "err", err)
		}
	}
	w.results.WithLabelValues(result).Inc()
	return &res
}

func (w *webhooks) post(ctx context.Context, d store.Delivery, body []byte) error {
	pctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(pctx, http.MethodPost, d.Endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "decom-registry-webhook")
	req.Header.Set("Decom-Event-Id", WebhookEventType+":"+d.Certificate.ID)
	req.Header.Set("Decom-Delivery-Attempt", strconv.Itoa(d.Attempts+1))
	req.Header.Set(WebhookSignatureHeader, SignWebhook(w.cfg.Secret, body, time.Now()))
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// backoff is the wait after the attempts+1-th failure: base doubled per earlier
// failure, capped at max, ±20% jitter so that retries of many deliveries spread.
func backoff(base, max time.Duration, attempts int) time.Duration {
	d := base
	for range attempts {
		if d >= max/2 {
			d = max
			break
		}
		d *= 2
	}
	d = min(d, max)
	jitter := time.Duration(rand.Int64N(int64(d)/5+1)) * 2
	return d - d/5 + jitter
}
