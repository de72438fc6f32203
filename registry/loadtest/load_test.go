package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/decom-project/decom/registry"
	"github.com/decom-project/decom/registry/tlog"
)

// What the registry should sustain on a 2-core machine with SQLite.
const (
	targetUploadsPerSec = 1000
	targetUploadP99     = 250 * time.Millisecond
	targetLookupsPerSec = 5000
)

// Bounds of a load run.
const (
	maxUploads    = 20000
	loadTimeout   = 120 * time.Second
	uploadTimeout = 100 * time.Second // of the uploads, within loadTimeout
	// Environment of TestLoad and the benchmarks.
	envFull     = "DECOM_LOAD_FULL"      // "1": the full run, 20,000 uploads
	envReport   = "DECOM_LOAD_REPORT"    // the Markdown report's path
	envAgents   = "DECOM_LOAD_AGENTS"    // concurrent agents (default 64; 512 with a rate)
	envRate     = "DECOM_LOAD_RATE"      // uploads started per second (open loop); unset: closed loop
	envLogLevel = "DECOM_LOAD_LOG_LEVEL" // the server's --log-level (default info: every request logged)
)

type loadSettings struct {
	full              bool
	uploads, lookups  int
	plan              plan
	lookupAgents      int
	serverLogLevel    string
	verifyLookupEvery int // lookups whose receipt is verified client-side: one in this many
}

// plan is how uploads arrive. Closed loop (rate 0): each agent uploads, waits for the answer,
// uploads again, so throughput is at most agents / latency. Open loop: uploads start rate per
// second whatever the latency, as independent machines finishing wipes send them, with up to
// agents in flight; latency is counted from when an upload was due, so an agent's lateness is
// not hidden.
type plan struct {
	agents int
	rate   int
}

func (p plan) String() string {
	if p.rate == 0 {
		return fmt.Sprintf("closed loop, %d agents", p.agents)
	}
	return fmt.Sprintf("open loop, %d uploads/s, at most %d in flight", p.rate, p.agents)
}

func settings(t testing.TB) loadSettings {
	t.Helper()
	s := loadSettings{uploads: 2000, lookups: 4000, plan: plan{agents: 64}, lookupAgents: 64,
		serverLogLevel: logRequests, verifyLookupEvery: 10}
	if os.Getenv(envFull) == "1" {
		s.full, s.uploads, s.lookups = true, maxUploads, maxUploads
	}
	if v := os.Getenv(envRate); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100000 {
			t.Fatalf("%s=%q: want uploads per second, 1 to 100000", envRate, v)
		}
		s.plan = plan{agents: 512, rate: n}
	}
	if v := os.Getenv(envAgents); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1024 {
			t.Fatalf("%s=%q: want 1 to 1024", envAgents, v)
		}
		s.plan.agents = n
	}
	if v := os.Getenv(envLogLevel); v != "" {
		s.serverLogLevel = v
	}
	return s
}

// TestLoad uploads distinct certificates from many agents at once, then looks them up with
// proofs. It checks that every receipt verifies and that the log holds each certificate once;
// throughput and latency are measured and reported, not asserted.
//
// The server runs as deployed: reads need a token (the agents' holds upload and read),
// pages and search are rate limited (the defaults), and every certificate logged is
// posted, signed, to a webhook receiver on loopback, which checks each signature and
// must see every certificate's event.
func TestLoad(t *testing.T) {
	cfg := settings(t)
	bs := bundles(t, cfg.uploads) // signing is not what is measured
	data, token := newRegistryData(t)
	hooks := newHookReceiver(t)
	s := startServer(t, data, cfg.serverLogLevel, hooks.flags(t)...)
	s.ReadToken = token
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()

	uctx, ucancel := context.WithTimeout(ctx, uploadTimeout)
	up, err := runUploads(uctx, s, token, bs, cfg.plan)
	ucancel()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			writeReport(t, report(cfg, up, nil, s)) // too slow: that is a result too
		}
		t.Fatalf("uploads: %v\nso far: %s\nserver log:\n%s", err, up, s.logTail())
	}
	cp := checkUploadReceipts(t, s, bs, up)
	t.Logf("uploads: %s", up)

	ids := make([]string, len(bs))
	indexes := make([]uint64, len(bs))
	for i, b := range bs {
		ids[i], indexes[i] = b.ID, up.receipts[i].LogIndex
	}
	lk, err := runLookups(ctx, s, token, ids, indexes, cfg.lookups, cfg.lookupAgents, cfg.verifyLookupEvery)
	if err != nil {
		t.Fatalf("lookups: %v\nserver log:\n%s", err, s.logTail())
	}
	for _, v := range lk.sampled {
		if _, err := registry.VerifyReceipt(v.receipt, bs[v.i].JSON, s.LogKey); err != nil {
			t.Errorf("proof of %s: %v", bs[v.i].ID, err)
		}
	}
	t.Logf("lookups: %s; %d receipts verified client-side", lk, len(lk.sampled))

	if inLog := s.audit(t, cp); len(inLog) != len(bs) {
		t.Errorf("the log holds %d certificates, want the %d uploaded", len(inLog), len(bs))
	}
	if got, bad := hooks.wait(len(bs), time.Minute); got != len(bs) || bad > 0 {
		t.Errorf("webhooks: %d of %d certificates' events received, %d with a bad signature", got, len(bs), bad)
	} else {
		t.Logf("webhooks: every certificate's event received and its signature checked (%d posts)", hooks.posts())
	}
	for _, line := range s.logErrors() {
		t.Errorf("server logged an error: %s", line)
	}

	writeReport(t, report(cfg, up, lk, s))
}

// writeReport logs the report and writes it to $DECOM_LOAD_REPORT, by default
// decom-registry-load.md in the temporary directory.
func writeReport(t *testing.T, rep string) {
	t.Log("\n" + rep)
	path := os.Getenv(envReport)
	if path == "" {
		path = filepath.Join(os.TempDir(), "decom-registry-load.md")
	}
	if err := os.WriteFile(path, []byte(rep), 0o644); err != nil {
		t.Errorf("write the report: %v", err)
		return
	}
	t.Logf("report written to %s", path)
}

// checkUploadReceipts verifies every receipt as an auditor would, and checks that the log holds
// exactly the uploads and only grew while they were made. It returns the log's checkpoint.
func checkUploadReceipts(t testing.TB, s *server, bs []bundle, up *uploadRun) tlog.Checkpoint {
	t.Helper()
	cp, _ := s.checkpoint(t)
	if cp.Size != uint64(len(bs)) {
		t.Errorf("the log has %d entries after %d uploads to an empty registry", cp.Size, len(bs))
	}
	seen := make(map[uint64]int, len(bs))
	seenCP := map[string]tlog.Checkpoint{}
	for i, r := range up.receipts {
		if r.ID != bs[i].ID || !r.Created || up.status[i] != http.StatusCreated {
			t.Errorf("upload %d: answered %d with receipt for %q created=%v, want 201 for %q created", i, up.status[i], r.ID, r.Created, bs[i].ID)
		}
		rcp, err := registry.VerifyReceipt(r, bs[i].JSON, s.LogKey)
		if err != nil {
			t.Errorf("receipt of %s: %v", r.ID, err)
			continue
		}
		if rcp.Size != r.TreeSize {
			t.Errorf("receipt of %s: tree size %d, but its checkpoint has %d", r.ID, r.TreeSize, rcp.Size)
		}
		if j, dup := seen[r.LogIndex]; dup {
			t.Errorf("log index %d was given to %s and %s", r.LogIndex, bs[j].ID, r.ID)
		}
		seen[r.LogIndex] = i
		seenCP[r.Checkpoint] = rcp
	}
	// Every checkpoint an agent was shown is a prefix of today's log.
	c := agentClient()
	defer c.CloseIdleConnections()
	for _, old := range seenCP {
		if err := s.consistent(c, old, cp); err != nil {
			t.Errorf("checkpoint of size %d is not consistent with the log of size %d: %v", old.Size, cp.Size, err)
		}
	}
	return cp
}

// uploadRun is what runUploads measured.
type uploadRun struct {
	plan      plan
	elapsed   time.Duration
	latencies []time.Duration // of each upload
	finished  []time.Duration // when each upload was answered, from the start
	status    []int
	receipts  []registry.Receipt
	serverCPU time.Duration
	agentCPU  time.Duration // of this process: the agents (and the server too, in process)
}

func (u *uploadRun) perSecond() float64 { return float64(len(u.latencies)) / u.elapsed.Seconds() }

// answered keeps only the uploads that were answered: all of them unless the run failed.
func (u *uploadRun) answered() *uploadRun {
	a := *u
	a.latencies, a.finished = nil, nil
	for i, code := range u.status {
		if code != 0 {
			a.latencies, a.finished = append(a.latencies, u.latencies[i]), append(a.finished, u.finished[i])
		}
	}
	return &a
}

// steadyPerSecond is the rate between the 10th and the 90th percentile of completion times:
// the run without its ramp-up and tail.
func (u *uploadRun) steadyPerSecond() float64 {
	f := slices.Clone(u.finished)
	slices.Sort(f)
	lo, hi := f[len(f)/10], f[len(f)*9/10]
	if hi <= lo {
		return u.perSecond()
	}
	return float64(len(f)*9/10-len(f)/10) / (hi - lo).Seconds()
}

func (u *uploadRun) String() string {
	if len(u.latencies) == 0 {
		return "no uploads answered"
	}
	l := sorted(u.latencies)
	return fmt.Sprintf("%d uploads (%s) in %v: %.0f/s (steady %.0f/s), latency p50 %v p90 %v p99 %v max %v; CPU per upload: server %.2f ms, agents %.2f ms",
		len(l), u.plan, u.elapsed.Round(time.Millisecond), u.perSecond(), u.steadyPerSecond(),
		pct(l, 50), pct(l, 90), pct(l, 99), l[len(l)-1].Round(time.Millisecond),
		ms(u.serverCPU)/float64(len(l)), ms(u.agentCPU)/float64(len(l)))
}

// runUploads posts every bundle once, from p.agents goroutines that each have their own
// keep-alive connection, as p says. The first failure stops the run; what was answered until
// then is returned with the error.
func runUploads(ctx context.Context, s target, token string, bs []bundle, p plan) (*uploadRun, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	u := &uploadRun{plan: p, latencies: make([]time.Duration, len(bs)), finished: make([]time.Duration, len(bs)),
		status: make([]int, len(bs)), receipts: make([]registry.Receipt, len(bs))}
	var (
		next atomic.Int64
		mu   sync.Mutex
		errs []error
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if len(errs) < 10 {
			errs = append(errs, err)
		}
		cancel()
	}
	cpu0, own0 := s.cpuTime(), ownCPUTime()
	start := time.Now()
	var wg sync.WaitGroup
	for range p.agents {
		wg.Go(func() {
			c := agentClient()
			defer c.CloseIdleConnections()
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(bs) {
					return
				}
				t0 := time.Now()
				if p.rate > 0 {
					t0 = start.Add(time.Duration(i) * time.Second / time.Duration(p.rate))
					select {
					case <-time.After(time.Until(t0)):
					case <-ctx.Done():
						return
					}
				}
				code, body, err := upload(ctx, c, s.url(), token, bs[i].JSON)
				now := time.Now()
				u.latencies[i], u.finished[i], u.status[i] = now.Sub(t0), now.Sub(start), code
				switch {
				case ctx.Err() != nil:
					u.status[i] = 0 // cut short by the end of the run: not answered
				case err != nil:
					fail(fmt.Errorf("upload %d: %w", i, err))
				case code != http.StatusCreated && code != http.StatusOK:
					fail(fmt.Errorf("upload %d: %d: %s", i, code, body))
				default:
					if err := json.Unmarshal(body, &u.receipts[i]); err != nil {
						fail(fmt.Errorf("upload %d: receipt: %w", i, err))
					}
				}
			}
		})
	}
	wg.Wait()
	u.elapsed = time.Since(start)
	u.serverCPU, u.agentCPU = s.cpuTime()-cpu0, ownCPUTime()-own0
	if len(errs) > 0 {
		return u.answered(), errors.Join(errs...)
	}
	if err := ctx.Err(); err != nil {
		return u.answered(), fmt.Errorf("%d of %d uploads started: %w", min(next.Load(), int64(len(bs))), len(bs), err)
	}
	return u, nil
}

// lookupRun is what runLookups measured.
type lookupRun struct {
	agents    int
	elapsed   time.Duration
	latencies []time.Duration
	sampled   []sampledReceipt
	serverCPU time.Duration
}

type sampledReceipt struct {
	i       int // index into the ids looked up
	receipt registry.Receipt
}

func (l *lookupRun) perSecond() float64 { return float64(len(l.latencies)) / l.elapsed.Seconds() }

func (l *lookupRun) String() string {
	s := sorted(l.latencies)
	return fmt.Sprintf("%d lookups with proof by %d agents in %v: %.0f/s, latency p50 %v p99 %v; server CPU %.3f ms/lookup",
		len(s), l.agents, l.elapsed.Round(time.Millisecond), l.perSecond(), pct(s, 50), pct(s, 99),
		ms(l.serverCPU)/float64(len(s)))
}

// runLookups fetches n proofs (GET /api/v1/certificates/{id}/proof) of random certificates, with
// token (of the read scope), from agents goroutines, checks that each names the expected log index, and keeps one receipt in
// verifyEvery for the caller to verify (outside the timing).
func runLookups(ctx context.Context, s target, token string, ids []string, indexes []uint64, n, agents, verifyEvery int) (*lookupRun, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	l := &lookupRun{agents: agents, latencies: make([]time.Duration, n)}
	var (
		next atomic.Int64
		mu   sync.Mutex
		errs []error
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if len(errs) < 10 {
			errs = append(errs, err)
		}
		cancel()
	}
	cpu0 := s.cpuTime()
	start := time.Now()
	var wg sync.WaitGroup
	for a := range agents {
		wg.Go(func() {
			c := agentClient()
			defer c.CloseIdleConnections()
			r := rand.New(rand.NewPCG(uint64(a), 42))
			for ctx.Err() == nil {
				k := int(next.Add(1) - 1)
				if k >= n {
					return
				}
				i := r.IntN(len(ids))
				t0 := time.Now()
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url()+"/api/v1/certificates/"+url.PathEscape(ids[i])+"/proof", nil)
				if err != nil {
					fail(err)
					return
				}
				req.Header.Set("Authorization", "Bearer "+token)
				code, body, err := do(c, req)
				l.latencies[k] = time.Since(t0)
				if err != nil || code != http.StatusOK {
					fail(fmt.Errorf("proof of %s: %d %v: %s", ids[i], code, err, body))
					continue
				}
				var rc registry.Receipt
				if err := json.Unmarshal(body, &rc); err != nil {
					fail(fmt.Errorf("proof of %s: %w", ids[i], err))
					continue
				}
				if rc.ID != ids[i] || rc.LogIndex != indexes[i] {
					fail(fmt.Errorf("proof of %s: receipt for %s at index %d, want index %d", ids[i], rc.ID, rc.LogIndex, indexes[i]))
					continue
				}
				if k%verifyEvery == 0 {
					mu.Lock()
					l.sampled = append(l.sampled, sampledReceipt{i: i, receipt: rc})
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	l.elapsed = time.Since(start)
	l.serverCPU = s.cpuTime() - cpu0
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%d of %d lookups done: %w", next.Load(), n, err)
	}
	return l, nil
}

// report is the run's figures as a Markdown snippet. lk is nil when the uploads did not finish
// in time.
func report(cfg loadSettings, up *uploadRun, lk *lookupRun, s target) string {
	mode := "short run (checks correctness; its figures are not comparable with the targets)"
	if cfg.full {
		mode = "full run"
	}
	met := func(ok bool) string {
		switch {
		case !cfg.full:
			return "—"
		case ok:
			return "met"
		}
		return "**missed**"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "### Registry load test — %s\n\n", mode)
	fmt.Fprintf(&b, "%s, %s/%s, %d CPUs, %s. `decom registry serve` (SQLite, tessera POSIX log, --log-level %s; reads need a token, pages and search rate limited, every certificate posted to a signed webhook on loopback) and the agents, one keep-alive connection each, share the machine. Uploads: %s.\n\n",
		time.Now().UTC().Format("2006-01-02"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version(), cfg.serverLogLevel, up.plan)
	fmt.Fprintf(&b, "| measure | measured | target | |\n|---|---|---|---|\n")
	l := sorted(up.latencies)
	if len(l) == 0 {
		fmt.Fprintf(&b, "| uploads | none answered in %.0f s | %d | **missed** |\n", up.elapsed.Seconds(), cfg.uploads)
		return b.String()
	}
	done := fmt.Sprintf("%d in %.1f s", len(l), up.elapsed.Seconds())
	if len(l) < cfg.uploads {
		done = fmt.Sprintf("only %d answered in %.0f s: stopped at the time bound", len(l), up.elapsed.Seconds())
	}
	fmt.Fprintf(&b, "| uploads (distinct certificates) | %s | %d | |\n", done, cfg.uploads)
	fmt.Fprintf(&b, "| certificates/s, sustained | %.0f | ≥ %d | %s |\n", up.perSecond(), targetUploadsPerSec, met(len(l) == cfg.uploads && up.perSecond() >= targetUploadsPerSec))
	fmt.Fprintf(&b, "| certificates/s, steady (10th–90th percentile of completions) | %.0f | | |\n", up.steadyPerSecond())
	fmt.Fprintf(&b, "| upload latency p50 / p90 | %v / %v | | |\n", pct(l, 50), pct(l, 90))
	fmt.Fprintf(&b, "| upload latency p99 | %v | < %v | %s |\n", pct(l, 99), targetUploadP99, met(pct(l, 99) < targetUploadP99))
	fmt.Fprintf(&b, "| upload latency max | %v | | |\n", l[len(l)-1].Round(time.Millisecond))
	fmt.Fprintf(&b, "| CPU per upload: server / agents | %.2f ms / %.2f ms (%.1f + %.1f cores busy) | | |\n",
		ms(up.serverCPU)/float64(len(l)), ms(up.agentCPU)/float64(len(l)),
		up.serverCPU.Seconds()/up.elapsed.Seconds(), up.agentCPU.Seconds()/up.elapsed.Seconds())
	if lk != nil {
		ll := sorted(lk.latencies)
		fmt.Fprintf(&b, "| lookups with proof/s (%d agents, %d lookups) | %.0f | ≥ %d | %s |\n", lk.agents, len(ll), lk.perSecond(), targetLookupsPerSec, met(lk.perSecond() >= targetLookupsPerSec))
		fmt.Fprintf(&b, "| lookup latency p50 / p99 | %v / %v | | |\n", pct(ll, 50), pct(ll, 99))
		fmt.Fprintf(&b, "| server CPU per lookup | %.3f ms | | |\n", ms(lk.serverCPU)/float64(len(ll)))
	}
	if rss := s.rss(); rss > 0 {
		fmt.Fprintf(&b, "| server resident memory at the end | %d MiB | | |\n", rss>>20)
	}
	if lk != nil {
		fmt.Fprintf(&b, "\nEvery upload receipt, and one lookup receipt in %d, was verified client-side (registry.VerifyReceipt); the log holds each certificate once.\n", cfg.verifyLookupEvery)
	}
	return b.String()
}

// ownCPUTime is the CPU time (user + system) this process used so far.
func ownCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func sorted(d []time.Duration) []time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s
}

// pct is the p-th percentile (nearest rank) of sorted durations.
func pct(s []time.Duration, p int) time.Duration {
	i := (len(s)*p + 99) / 100
	i = min(max(i-1, 0), len(s)-1)
	return s[i].Round(100 * time.Microsecond)
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkUpload measures uploads of distinct certificates against a fresh registry process, by
// 64 agents unless DECOM_LOAD_AGENTS or DECOM_LOAD_RATE say otherwise (at most 20,000 uploads:
// -benchtime 20000x for the full run).
func BenchmarkUpload(b *testing.B) {
	if b.N > maxUploads {
		b.Fatalf("%d uploads: at most %d (use -benchtime %dx)", b.N, maxUploads, maxUploads)
	}
	cfg := settings(b)
	bs := bundles(b, b.N)
	data, token := newRegistryData(b)
	s := startServer(b, data, cfg.serverLogLevel)
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	b.ResetTimer()
	up, err := runUploads(ctx, s, token, bs, cfg.plan)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	l := sorted(up.latencies)
	b.ReportMetric(up.perSecond(), "certs/s")
	b.ReportMetric(ms(pct(l, 50)), "p50-ms")
	b.ReportMetric(ms(pct(l, 99)), "p99-ms")
	b.ReportMetric(ms(up.serverCPU)/float64(b.N), "server-cpu-ms/op")
}

// BenchmarkProofLookup measures GET /api/v1/certificates/{id}/proof of random certificates
// among 2,000, by 64 agents.
func BenchmarkProofLookup(b *testing.B) {
	cfg := settings(b)
	data, token := newRegistryData(b)
	benchProofLookup(b, startServer(b, data, cfg.serverLogLevel), token)
}

// benchProofLookup uploads 2,000 certificates to s, then times b.N lookups with proof.
func benchProofLookup(b *testing.B, s target, token string) {
	cfg := settings(b)
	bs := bundles(b, 2000)
	ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
	defer cancel()
	up, err := runUploads(ctx, s, token, bs, cfg.plan)
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]string, len(bs))
	indexes := make([]uint64, len(bs))
	for i, bd := range bs {
		ids[i], indexes[i] = bd.ID, up.receipts[i].LogIndex
	}
	b.ResetTimer()
	lk, err := runLookups(ctx, s, token, ids, indexes, b.N, cfg.lookupAgents, b.N+1)
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(lk.perSecond(), "lookups/s")
	b.ReportMetric(ms(pct(sorted(lk.latencies), 99)), "p99-ms")
}

// hookReceiver is a webhook endpoint on loopback for a load run: it checks each
// post's signature and counts the certificates whose event it received.
type hookReceiver struct {
	secret []byte
	srv    *httptest.Server
	mu     sync.Mutex
	seen   map[string]bool
	n, bad int
}

func newHookReceiver(t testing.TB) *hookReceiver {
	h := &hookReceiver{secret: []byte("load test webhook secret, 32 bytes"), seen: map[string]bool{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var ev registry.WebhookEvent
		ok := err == nil && registry.VerifyWebhook(h.secret, r.Header.Get("Decom-Signature"), body, time.Now(), 5*time.Minute) == nil &&
			json.Unmarshal(body, &ev) == nil
		h.mu.Lock()
		h.n++
		if ok {
			h.seen[ev.CertificateID] = true
		} else {
			h.bad++
		}
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// flags are the server's flags that post to the receiver.
func (h *hookReceiver) flags(t testing.TB) []string {
	f := filepath.Join(t.TempDir(), "webhook.secret")
	if err := os.WriteFile(f, h.secret, 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"--webhook", h.srv.URL, "--webhook-secret-file", f}
}

func (h *hookReceiver) posts() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// wait waits up to limit for want certificates' events, and returns how many came
// and how many posts had a bad signature.
func (h *hookReceiver) wait(want int, limit time.Duration) (got, bad int) {
	deadline := time.Now().Add(limit)
	for {
		h.mu.Lock()
		got, bad = len(h.seen), h.bad
		h.mu.Unlock()
		if got >= want || time.Now().After(deadline) {
			return got, bad
		}
		time.Sleep(100 * time.Millisecond)
	}
}
