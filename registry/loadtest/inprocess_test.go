package loadtest

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"k8s.io/klog/v2"

	"github.com/decom-project/decom/registry"
	"github.com/decom-project/decom/registry/store"
	"github.com/decom-project/decom/registry/tlog"
)

// inProcess is a registry served from the test process itself, built as `decom registry serve`
// builds it, so that go test -cpuprofile, -trace, -blockprofile see the server. Its timings
// split an upload's time between the store and the rest (signature check, log).
type inProcess struct {
	srv     *httptest.Server
	store   *timedStore
	handler atomic.Int64 // nanoseconds in the upload handler
}

func (p *inProcess) url() string { return p.srv.URL }

// cpuTime is the whole test process's CPU time: the agents' too.
func (p *inProcess) cpuTime() time.Duration { return ownCPUTime() }

func (p *inProcess) rss() uint64 { return 0 }

// timedStore adds up the time spent in the store's calls an upload makes.
type timedStore struct {
	store.Store
	put, setIndex, token, keys atomic.Int64
}

func since(a *atomic.Int64, t0 time.Time) { a.Add(int64(time.Since(t0))) }

func (s *timedStore) PutCertificate(ctx context.Context, c store.Record) (store.Record, bool, error) {
	defer since(&s.put, time.Now())
	return s.Store.PutCertificate(ctx, c)
}

func (s *timedStore) SetLogIndex(ctx context.Context, id string, index uint64) error {
	defer since(&s.setIndex, time.Now())
	return s.Store.SetLogIndex(ctx, id, index)
}

func (s *timedStore) SetLogged(ctx context.Context, id string, index uint64, checkpoint []byte) error {
	defer since(&s.setIndex, time.Now())
	return s.Store.SetLogged(ctx, id, index, checkpoint)
}

func (s *timedStore) CheckToken(ctx context.Context, token string) (store.TokenInfo, error) {
	defer since(&s.token, time.Now())
	return s.Store.CheckToken(ctx, token)
}

func (s *timedStore) ActiveKeys(ctx context.Context) ([]store.Key, error) {
	defer since(&s.keys, time.Now())
	return s.Store.ActiveKeys(ctx)
}

func (s *timedStore) Keys(ctx context.Context) ([]store.Key, error) {
	defer since(&s.keys, time.Now())
	return s.Store.Keys(ctx)
}

// startInProcess serves a fresh registry on a loopback port of the test process; its request
// log goes to a file, at info level, as the real server's does.
func startInProcess(t testing.TB) (p *inProcess, token string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.OpenSQLite(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	agent, _ := keys(t)
	pub, err := os.ReadFile(agent.pub)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddKey(ctx, pub, "agent"); err != nil {
		t.Fatal(err)
	}
	if token, err = st.CreateToken(ctx, "loadtest", store.ScopeUpload, store.ScopeRead); err != nil {
		t.Fatal(err)
	}
	klog.SetSlogLogger(slog.New(slog.DiscardHandler)) // tessera's notes would break the benchmark lines
	skey, vkey, err := tlog.GenerateKey("loadtest.decom.invalid/registry")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	// The log signs its checkpoints' times as decom registry serve's does.
	timeSigner, err := tlog.NewTimeSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	lg, err := tlog.Open(ctx, filepath.Join(dir, "log"), signer, timeSigner)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lg.Close() })
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logFile.Close() })
	p = &inProcess{store: &timedStore{Store: st}}
	// Access control and the rate limit as decom registry serve has them by default.
	srv, err := registry.New(registry.Config{Store: p.store, Log: lg, LogKey: vkey,
		Logger: slog.New(slog.NewJSONHandler(logFile, nil)), RateLimit: registry.RateLimit{PerSecond: 10, Burst: 60}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	p.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			defer since(&p.handler, time.Now())
		}
		h.ServeHTTP(w, r)
	})}}
	p.srv.Start()
	t.Cleanup(p.srv.Close)
	return p, token
}

// BenchmarkUploadInProcess is BenchmarkUpload with the server in the test process, to profile
// it and to split an upload's time:
//
//	go test -run '^$' -bench UploadInProcess -benchtime 5000x -cpuprofile cpu.out ./registry/loadtest/
func BenchmarkUploadInProcess(b *testing.B) {
	if b.N > maxUploads {
		b.Fatalf("%d uploads: at most %d (use -benchtime %dx)", b.N, maxUploads, maxUploads)
	}
	cfg := settings(b)
	bs := bundles(b, b.N)
	p, token := startInProcess(b)
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	b.ResetTimer()
	up, err := runUploads(ctx, p, token, bs, cfg.plan)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	l := sorted(up.latencies)
	n := float64(b.N)
	b.ReportMetric(up.perSecond(), "certs/s")
	b.ReportMetric(ms(pct(l, 50)), "p50-ms")
	b.ReportMetric(ms(pct(l, 99)), "p99-ms")
	b.ReportMetric(ms(time.Duration(p.handler.Load()))/n, "handler-ms/op")
	b.ReportMetric(ms(time.Duration(p.store.put.Load()))/n, "put-ms/op")
	b.ReportMetric(ms(time.Duration(p.store.setIndex.Load()))/n, "setindex-ms/op")
	b.ReportMetric(ms(time.Duration(p.store.token.Load()))/n, "token-ms/op")
	b.ReportMetric(ms(time.Duration(p.store.keys.Load()))/n, "keys-ms/op")
}

// BenchmarkProofLookupInProcess is BenchmarkProofLookup with the server in the test process, to
// profile it.
func BenchmarkProofLookupInProcess(b *testing.B) {
	p, token := startInProcess(b)
	benchProofLookup(b, p, token)
}
