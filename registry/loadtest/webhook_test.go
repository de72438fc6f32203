package loadtest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/decom-project/decom/internal/pgtest"
	"github.com/decom-project/decom/registry"
)

// TestWebhooksSurviveKill: certificates uploaded while the webhook endpoint fails are
// still pending when the registry is killed (SIGKILL); after a restart on the same
// data every one of them is delivered, signed, once the endpoint answers again. With
// PostgreSQL two instances share the database: certificates go to both, one is
// killed, and every event is still delivered.
func TestWebhooksSurviveKill(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testWebhooksSurviveKill(t, "") })
	t.Run("postgres-two-instances", func(t *testing.T) {
		pg := pgtest.Start(t)
		testWebhooksSurviveKill(t, pg.NewDatabase(t))
	})
}

func testWebhooksSurviveKill(t *testing.T, db string) {
	const n = 40
	secret := []byte("loadtest webhook secret 0123456789abcdef")
	secretFile := filepath.Join(t.TempDir(), "webhook.secret")
	if err := os.WriteFile(secretFile, append(secret, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	var (
		up   atomic.Bool // the endpoint answers 200 when up, 500 otherwise
		mu   sync.Mutex
		got  = map[string]int{} // event ID → deliveries accepted
		bad  atomic.Int64       // deliveries with a bad signature
		hits atomic.Int64
	)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		body, _ := io.ReadAll(r.Body)
		if err := registry.VerifyWebhook(secret, r.Header.Get(registry.WebhookSignatureHeader), body, time.Now(), 5*time.Minute); err != nil {
			bad.Add(1)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if !up.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		var ev registry.WebhookEvent
		if err := json.Unmarshal(body, &ev); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		got[ev.EventID]++
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer recv.Close()
	flags := []string{"--webhook", recv.URL + "/hook", "--webhook-secret-file", secretFile,
		"--webhook-retry", "100ms", "--webhook-retry-max", "500ms"}

	var dbFlags []string
	if db != "" {
		dbFlags = []string{"--db", db}
	}
	flags = append(flags, dbFlags...)
	bs := bundles(t, n)
	data, token := newRegistryData(t, dbFlags...)
	s1 := startServer(t, data, logQuiet, flags...)
	other := s1
	if db != "" {
		other = startServer(t, data, logQuiet, flags...)
		defer other.kill()
	}
	c := agentClient()
	for i, b := range bs {
		to := s1
		if i%2 == 1 {
			to = other
		}
		code, body, err := upload(t.Context(), c, to.URL, token, b.JSON)
		if err != nil || code != http.StatusCreated {
			t.Fatalf("upload %s: %d %v %s", b.ID, code, err, body)
		}
	}
	// Let the registry try (and fail) a few times, then kill it.
	for deadline := time.Now().Add(20 * time.Second); hits.Load() < n && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if hits.Load() < n {
		t.Fatalf("only %d attempts before the kill, want at least %d", hits.Load(), n)
	}
	s1.kill()
	mu.Lock()
	if len(got) != 0 {
		t.Fatalf("%d events accepted while the endpoint was failing", len(got))
	}
	mu.Unlock()

	up.Store(true)
	s2 := startServer(t, data, logQuiet, flags...)
	defer s2.kill()
	// Deliveries in flight at the kill wait out their lease (15 s) first.
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		done := len(got)
		mu.Unlock()
		if done == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events delivered within 60 s of the restart\n%s", done, n, s2.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	dups := 0
	for _, b := range bs {
		if got["certificate.logged:"+b.ID] < 1 {
			t.Errorf("certificate %s: no event delivered", b.ID)
		}
		dups += got["certificate.logged:"+b.ID] - 1
	}
	// At least once: an event in flight at the kill may come twice (same event_id).
	t.Logf("%d events delivered, %d of them twice or more", n, dups)
	if bad.Load() != 0 {
		t.Errorf("%d deliveries with a bad signature", bad.Load())
	}
}
