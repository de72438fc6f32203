//go:build !agentimage

package registry

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/decom-project/decom/registry/store"
)

var testWebhookSecret = []byte("test-only webhook secret, 0123456789")

// hookRequest is a delivery a test receiver got.
type hookRequest struct {
	header http.Header
	body   []byte
	at     time.Time
}

// hookReceiver is a webhook endpoint on loopback; answer decides each status.
type hookReceiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []hookRequest
	answer func(n int, ev WebhookEvent) int // n: the attempts at this event so far, 1 for the first
	seen   map[string]int
}

func newHookReceiver(t *testing.T, answer func(n int, ev WebhookEvent) int) *hookReceiver {
	h := &hookReceiver{answer: answer, seen: map[string]int{}}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var ev WebhookEvent
		_ = json.Unmarshal(body, &ev)
		h.mu.Lock()
		h.got = append(h.got, hookRequest{header: r.Header.Clone(), body: body, at: time.Now()})
		h.seen[ev.EventID]++
		n := h.seen[ev.EventID]
		h.mu.Unlock()
		w.WriteHeader(h.answer(n, ev))
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookReceiver) requests() []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookRequest(nil), h.got...)
}

// withWebhooks serves r's store and log through a second server that posts
// webhooks, delivering until the test ends; it returns that server's URL.
func withWebhooks(t *testing.T, r *testRegistry, cfg WebhookConfig, reg *prometheus.Registry) (string, *Server) {
	t.Helper()
	srv, err := New(Config{Store: r.Store, Log: r.Log, LogKey: r.LogKey, Webhooks: &cfg, Registry: reg,
		PublicURL: "https://registry.example:8443"})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.RunWebhooks(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunWebhooks: %v", err)
		}
	})
	return hs.URL, srv
}

// checkSignature checks a delivery's signature the way the README tells a
// receiver to, without the registry's code.
func checkSignature(t *testing.T, req hookRequest) {
	t.Helper()
	h := req.header.Get("Decom-Signature")
	var ts, sig string
	for _, p := range strings.Split(h, ",") {
		if v, ok := strings.CutPrefix(p, "t="); ok {
			ts = v
		}
		if v, ok := strings.CutPrefix(p, "v1="); ok {
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		t.Fatalf("Decom-Signature %q: no timestamp", h)
	}
	if d := req.at.Sub(time.Unix(sec, 0)); d < -time.Second || d > 5*time.Second {
		t.Errorf("signature timestamp %d is %v before the request arrived", sec, d)
	}
	mac := hmac.New(sha256.New, testWebhookSecret)
	mac.Write([]byte(ts + "." + string(req.body)))
	if want := hex.EncodeToString(mac.Sum(nil)); sig != want {
		t.Errorf("signature %s, want HMAC-SHA256(secret, t.body) = %s", sig, want)
	}
	if err := VerifyWebhook(testWebhookSecret, h, req.body, req.at, 5*time.Minute); err != nil {
		t.Errorf("VerifyWebhook: %v", err)
	}
}

// TestWebhookDeliveryAndRetry: every certificate uploaded is posted, signed, to
// every endpoint; an endpoint answering 500 gets it again, with the same body.
func TestWebhookDeliveryAndRetry(t *testing.T) {
	r := newTestRegistry(t)
	ok := newHookReceiver(t, func(int, WebhookEvent) int { return http.StatusNoContent })
	flaky := newHookReceiver(t, func(n int, _ WebhookEvent) int {
		if n == 1 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	reg := prometheus.NewRegistry()
	url, _ := withWebhooks(t, r, WebhookConfig{URLs: []string{ok.URL + "/hook", flaky.URL + "/hook"}, Secret: testWebhookSecret,
		RetryBase: 100 * time.Millisecond, Poll: 50 * time.Millisecond}, reg)
	up := *r
	up.URL = url
	const n = 3
	var ids []string
	certs := make(map[string]string) // ID → serial
	for i := range n {
		c := r.certificate(t, testCert{Serial: "SER,\"" + strconv.Itoa(i) + "\""})
		ids = append(ids, c.ID)
		certs[c.ID] = c.Media.Serial
		up.upload(t, c)
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		c, _ := r.Store.DeliveryCounts(t.Context())
		if c[store.DeliveryDelivered] == 2*n {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for name, h := range map[string]*hookReceiver{"ok": ok, "flaky": flaky} {
		got := h.requests()
		want := n
		if name == "flaky" {
			want = 2 * n
		}
		if len(got) != want {
			t.Fatalf("%s endpoint: %d requests, want %d", name, len(got), want)
		}
		bodies := map[string]string{}
		for _, req := range got {
			checkSignature(t, req)
			if ct := req.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			var ev WebhookEvent
			if err := json.Unmarshal(req.body, &ev); err != nil {
				t.Fatalf("body %s: %v", req.body, err)
			}
			serial, known := certs[ev.CertificateID]
			if !known || ev.Serial != serial || ev.Type != "certificate.logged" || ev.EventID != "certificate.logged:"+ev.CertificateID ||
				ev.Outcome != "sanitized" || ev.Status != "certificate-of-sanitization" || ev.Issued.IsZero() || ev.Received.IsZero() ||
				ev.PageURL != "https://registry.example:8443/certificates/"+ev.CertificateID ||
				ev.BundleURL != "https://registry.example:8443/api/v1/certificates/"+ev.CertificateID+"/bundle" {
				t.Errorf("%s endpoint: event %s", name, req.body)
			}
			rec, err := r.Store.GetCertificate(t.Context(), ev.CertificateID)
			if err != nil || rec.LogIndex == nil || *rec.LogIndex != ev.LogIndex {
				t.Errorf("event of %s: log index %d, stored %v (%v)", ev.CertificateID, ev.LogIndex, rec.LogIndex, err)
			}
			if prev, dup := bodies[ev.EventID]; dup && prev != string(req.body) {
				t.Errorf("a retry's body differs:\n%s\n%s", prev, req.body)
			}
			bodies[ev.EventID] = string(req.body)
			if a := req.header.Get("Decom-Delivery-Attempt"); name == "flaky" && a != "1" && a != "2" {
				t.Errorf("attempt header %q", a)
			}
		}
		for _, id := range ids {
			if _, ok := bodies["certificate.logged:"+id]; !ok {
				t.Errorf("%s endpoint: nothing for %s", name, id)
			}
		}
	}
	if got := testutil.ToFloat64(mustCounter(t, reg, "retry")); got != n {
		t.Errorf("retry attempts counted %v, want %d", got, n)
	}
}

func mustCounter(t *testing.T, reg *prometheus.Registry, result string) prometheus.Collector {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "decom_registry_webhook_attempts_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "x"}, func() float64 { return m.GetCounter().GetValue() })
				}
			}
		}
	}
	t.Fatalf("no webhook attempts metric with result %q", result)
	return nil
}

// TestWebhookGivesUp: a delivery that keeps failing is marked failed after the
// give-up bound, counted, and not tried again.
func TestWebhookGivesUp(t *testing.T) {
	r := newTestRegistry(t)
	down := newHookReceiver(t, func(int, WebhookEvent) int { return http.StatusServiceUnavailable })
	reg := prometheus.NewRegistry()
	url, _ := withWebhooks(t, r, WebhookConfig{URLs: []string{down.URL}, Secret: testWebhookSecret,
		RetryBase: 50 * time.Millisecond, RetryMax: 100 * time.Millisecond, GiveUp: 600 * time.Millisecond, Poll: 20 * time.Millisecond}, reg)
	up := *r
	up.URL = url
	up.upload(t, r.certificate(t, testCert{}))
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if c, _ := r.Store.DeliveryCounts(t.Context()); c[store.DeliveryFailed] == 1 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	c, _ := r.Store.DeliveryCounts(t.Context())
	if c[store.DeliveryFailed] != 1 || c[store.DeliveryPending] != 0 {
		t.Fatalf("deliveries %v, want 1 failed", c)
	}
	if got := testutil.ToFloat64(mustCounter(t, reg, "failed")); got != 1 {
		t.Errorf("failed attempts counted %v, want 1", got)
	}
	tries := len(down.requests())
	if tries < 3 {
		t.Errorf("%d attempts before giving up, want several", tries)
	}
	time.Sleep(300 * time.Millisecond)
	if n := len(down.requests()); n != tries {
		t.Errorf("%d attempts after giving up", n-tries)
	}
}

func TestVerifyWebhook(t *testing.T) {
	body := []byte(`{"event_id":"certificate.logged:x"}`)
	now := time.Unix(1_800_000_000, 0)
	h := SignWebhook(testWebhookSecret, body, now)
	if err := VerifyWebhook(testWebhookSecret, h, body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatalf("a good delivery: %v", err)
	}
	for name, tc := range map[string]struct {
		secret []byte
		header string
		body   []byte
		now    time.Time
	}{
		"tampered body": {testWebhookSecret, h, []byte(`{"event_id":"certificate.logged:y"}`), now},
		"wrong secret":  {[]byte("another secret, 0123456789"), h, body, now},
		"old timestamp": {testWebhookSecret, h, body, now.Add(6 * time.Minute)},
		"future":        {testWebhookSecret, h, body, now.Add(-6 * time.Minute)},
		"no signature":  {testWebhookSecret, "t=1800000000", body, now},
		"garbage":       {testWebhookSecret, "v1=zz", body, now},
		"moved time":    {testWebhookSecret, strings.Replace(h, "t=1800000000", "t=1800000001", 1), body, now},
	} {
		if err := VerifyWebhook(tc.secret, tc.header, tc.body, tc.now, 5*time.Minute); !errors.Is(err, ErrWebhookSignature) {
			t.Errorf("%s: %v, want ErrWebhookSignature", name, err)
		}
	}
}

func TestWebhookBackoff(t *testing.T) {
	base, max := time.Second, time.Minute
	prev := time.Duration(0)
	for a := range 12 {
		d := backoff(base, max, a)
		lo, hi := time.Duration(float64(min(base<<a, max))*0.8), time.Duration(float64(min(base<<a, max))*1.2)
		if d < lo || d > hi {
			t.Errorf("backoff after %d failures: %v, want in [%v, %v]", a+1, d, lo, hi)
		}
		if a < 5 && d <= prev/2 {
			t.Errorf("backoff does not grow: %v after %v", d, prev)
		}
		prev = d
	}
}

func TestWebhookConfigRefused(t *testing.T) {
	r := newTestRegistry(t)
	for name, cfg := range map[string]WebhookConfig{
		"no URL":       {Secret: testWebhookSecret},
		"bad URL":      {URLs: []string{"ftp://x/"}, Secret: testWebhookSecret},
		"short secret": {URLs: []string{"http://127.0.0.1:1/"}, Secret: []byte("short")},
	} {
		if _, err := New(Config{Store: r.Store, Log: r.Log, LogKey: r.LogKey, Webhooks: &cfg}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
