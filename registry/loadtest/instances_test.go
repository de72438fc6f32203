package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/decom-project/decom/internal/pgtest"
	"github.com/decom-project/decom/registry"
	"github.com/decom-project/decom/registry/tlog"
)

// roundRobin is a load balancer in front of registry instances: each request goes to the next
// instance; one that does not answer gets a 502, as from a real balancer, and the agent retries.
func roundRobin(t testing.TB, backends ...*server) *httptest.Server {
	t.Helper()
	targets := make([]*url.URL, len(backends))
	for i, b := range backends {
		u, err := url.Parse(b.URL)
		if err != nil {
			t.Fatal(err)
		}
		targets[i] = u
	}
	var next atomic.Uint64
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(targets[(next.Add(1)-1)%uint64(len(targets))])
		},
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) { w.WriteHeader(http.StatusBadGateway) },
		Transport:    &http.Transport{MaxIdleConnsPerHost: 64, Proxy: nil},
	}
	lb := httptest.NewServer(proxy)
	t.Cleanup(lb.Close)
	return lb
}

// TestInstances runs one registry as two `decom registry serve` processes on one PostgreSQL
// database and one data directory, behind a round-robin balancer, as a site that outgrew one
// machine does. Agents upload through the balancer, some certificates reach both instances at
// the same moment, and one instance is killed (SIGKILL) mid-load and restarted. Afterwards the
// log holds every certificate exactly once, at the index both the store and every receipt
// name, and every checkpoint either instance served is consistent with the final one.
func TestInstances(t *testing.T) {
	const (
		agents   = 24
		nBundles = 2400
		killAt   = 800 // acknowledgements before instance b is killed
	)
	pg := pgtest.Start(t)
	db := pg.NewDatabase(t)
	bs := bundles(t, nBundles)
	data, token := newRegistryData(t, "--db", db)
	a := startServer(t, data, logQuiet, append([]string{"--db", db}, openReads...)...)
	b := startServer(t, data, logQuiet, append([]string{"--db", db}, openReads...)...)
	if a.LogKey != b.LogKey {
		t.Fatalf("the instances publish different log keys: %q and %q", a.LogKey, b.LogKey)
	}
	logKey := a.LogKey
	lb := roundRobin(t, a, b)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	var (
		mu       sync.Mutex
		receipts = map[int]registry.Receipt{} // bundle -> its first receipt
		served   = map[string]tlog.Checkpoint{}
		acks     atomic.Int64
		retried  atomic.Int64
		killed   = make(chan struct{})
		killOnce sync.Once
	)
	// record checks a receipt and that every receipt of the same bundle names the same entry.
	record := func(i int, body []byte) {
		var r registry.Receipt
		if err := json.Unmarshal(body, &r); err != nil {
			t.Errorf("bundle %d: receipt: %v", i, err)
			return
		}
		cp, err := registry.VerifyReceipt(r, bs[i].JSON, logKey)
		if err != nil {
			t.Errorf("bundle %d: receipt: %v", i, err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		served[r.Checkpoint] = cp
		if first, ok := receipts[i]; ok {
			if first.LogIndex != r.LogIndex {
				t.Errorf("bundle %d: receipts name log entries %d and %d", i, first.LogIndex, r.LogIndex)
			}
			return
		}
		receipts[i] = r
		if acks.Add(1) == killAt {
			killOnce.Do(func() { close(killed) })
		}
	}
	// send uploads bundle i to base until some instance answers, as an agent's spool would.
	send := func(c *http.Client, base string, i int) {
		for attempt := 0; ctx.Err() == nil; attempt++ {
			code, body, err := upload(ctx, c, base, token, bs[i].JSON)
			if err == nil && (code == http.StatusCreated || code == http.StatusOK) {
				record(i, body)
				return
			}
			retried.Add(1)
			time.Sleep(time.Duration(10*(attempt+1)) * time.Millisecond)
		}
		t.Errorf("bundle %d: never acknowledged", i)
	}

	go func() {
		<-killed
		b.kill()
	}()
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range agents {
		wg.Go(func() {
			c := agentClient()
			defer c.CloseIdleConnections()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(bs) {
					return
				}
				// Every tenth certificate also reaches the other instance directly, at the
				// same moment: two instances race to log it (while b lives).
				if i%10 == 0 && w%2 == 0 {
					var pair sync.WaitGroup
					pair.Go(func() { send(c, lb.URL, i) })
					pair.Go(func() {
						dc := agentClient()
						defer dc.CloseIdleConnections()
						code, body, err := upload(ctx, dc, a.URL, token, bs[i].JSON)
						if err == nil && (code == http.StatusCreated || code == http.StatusOK) {
							record(i, body)
						} else {
							t.Errorf("bundle %d direct to instance a: %d %v %s", i, code, err, body)
						}
					})
					pair.Wait()
					continue
				}
				send(c, lb.URL, i)
			}
		})
	}
	wg.Wait()
	select {
	case <-killed:
	default:
		t.Fatalf("only %d uploads acknowledged: instance b was never killed", acks.Load())
	}
	if t.Failed() {
		for _, line := range a.logErrors() {
			t.Logf("instance a: %s", line)
		}
		for _, line := range b.logErrors() {
			t.Logf("instance b: %s", line)
		}
		t.Logf("instance b: %s", b.logTail())
		t.FailNow()
	}
	t.Logf("%d certificates acknowledged through the balancer and directly; instance b killed after %d; %d attempts retried",
		acks.Load(), killAt, retried.Load())

	// b comes back on the same data and database, and both serve the same log.
	b2 := startServer(t, data, logQuiet, append([]string{"--db", db}, openReads...)...)
	cpA, rawA := a.stableCheckpoint(t)
	cpB, rawB := b2.stableCheckpoint(t)
	if !bytes.Equal(rawA, rawB) {
		t.Fatalf("after the restart the instances serve different checkpoints: size %d and %d", cpA.Size, cpB.Size)
	}
	if cpA.Size != nBundles {
		t.Errorf("the log has %d entries for %d distinct certificates", cpA.Size, nBundles)
	}
	c := agentClient()
	defer c.CloseIdleConnections()
	for _, old := range served {
		if err := a.consistent(c, old, cpA); err != nil {
			t.Errorf("a checkpoint of size %d served during the load: %v", old.Size, err)
		}
	}
	inLog := b2.audit(t, cpA)
	for i, r := range receipts {
		if idx, ok := inLog[bs[i].ID]; !ok || idx != r.LogIndex {
			t.Errorf("bundle %d: receipt names entry %d, the log has it at %d (present: %v)", i, r.LogIndex, idx, ok)
		}
	}
	for _, s := range []*server{a, b2} {
		for _, line := range s.logErrors() {
			t.Errorf("an instance logged an error: %s", line)
		}
	}
	t.Logf("one log of %d entries, each certificate once; %d checkpoints served during the load, all consistent with it",
		cpA.Size, len(served))

	// An instance with a data directory (and so a log) of its own is refused the database.
	other := filepath.Join(t.TempDir(), "other")
	cmd := exec.Command(decomBin, "registry", "serve", "--addr", "127.0.0.1:0", "--data", other, "--db", db)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 9 || !strings.Contains(string(out), "must share the data directory") {
		t.Errorf("an instance with its own log on the same database: %v, %s; want exit 9 and why", err, out)
	}
}
