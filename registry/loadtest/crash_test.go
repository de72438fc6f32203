package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/decom-project/decom/registry"
	"github.com/decom-project/decom/registry/tlog"
)

// acked is an upload the registry acknowledged: bundle i, and its receipt.
type acked struct {
	i       int
	receipt registry.Receipt
	cp      tlog.Checkpoint // the receipt's checkpoint, verified
}

// TestCrash kills the registry (SIGKILL) while agents upload, restarts it on the same data, and
// checks what the registry promised: every acknowledged certificate is stored and provable in a
// log that extends every checkpoint served before the crash, each certificate is in the log once,
// and certificates whose upload the crash cut short can be uploaded again, once.
func TestCrash(t *testing.T) {
	const (
		agents   = 32
		nBundles = 4000
	)
	bs := bundles(t, nBundles)
	data, token := newRegistryData(t)
	s1 := startServer(t, data, logQuiet, openReads...)
	logKey := s1.LogKey
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()

	// Kill after a random number of acknowledgements, so that runs crash in different phases of
	// the log's batching.
	killAfter := 300 + rand.IntN(700)
	var (
		mu       sync.Mutex
		acks     []acked
		inflight []int // bundles whose upload got no answer
		served   = map[string]tlog.Checkpoint{}
		killed   atomic.Bool
		next     atomic.Int64
		wg       sync.WaitGroup
		enough   = make(chan struct{})
	)
	var enoughOnce sync.Once
	for range agents {
		wg.Go(func() {
			c := agentClient()
			defer c.CloseIdleConnections()
			for !killed.Load() && ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= len(bs) {
					return
				}
				code, body, err := upload(ctx, c, s1.URL, token, bs[i].JSON)
				if err != nil || (code != http.StatusCreated && code != http.StatusOK) {
					mu.Lock()
					inflight = append(inflight, i)
					mu.Unlock()
					if !killed.Load() {
						t.Errorf("upload %d before the crash: %d %v: %s", i, code, err, body)
					}
					return
				}
				var r registry.Receipt
				if err := json.Unmarshal(body, &r); err != nil {
					t.Errorf("upload %d: receipt: %v", i, err)
					return
				}
				cp, err := registry.VerifyReceipt(r, bs[i].JSON, logKey)
				if err != nil {
					t.Errorf("upload %d: receipt: %v", i, err)
				}
				mu.Lock()
				acks = append(acks, acked{i: i, receipt: r, cp: cp})
				served[r.Checkpoint] = cp
				if len(acks) >= killAfter {
					enoughOnce.Do(func() { close(enough) })
				}
				mu.Unlock()
			}
		})
	}
	// An auditor polls the checkpoint during the load, as monitors do.
	pollDone := make(chan struct{})
	go func() {
		defer close(pollDone)
		c := agentClient()
		defer c.CloseIdleConnections()
		for !killed.Load() && ctx.Err() == nil {
			raw, err := get(c, s1.URL+"/api/v1/log/checkpoint")
			if err == nil {
				cp, err := tlog.VerifyCheckpoint(raw, logKey)
				if err != nil {
					t.Errorf("checkpoint served before the crash: %v", err)
				}
				mu.Lock()
				served[string(raw)] = cp
				mu.Unlock()
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()

	select {
	case <-enough:
	case <-ctx.Done():
		mu.Lock()
		n := len(acks)
		mu.Unlock()
		t.Fatalf("only %d uploads acknowledged before the deadline", n)
	}
	killed.Store(true)
	s1.kill()
	wg.Wait()
	<-pollDone
	if t.Failed() {
		t.FailNow()
	}
	var last tlog.Checkpoint
	for _, cp := range served {
		if cp.Size > last.Size {
			last = cp
		}
	}
	t.Logf("killed the registry after %d acknowledged uploads (%d more in flight); %d checkpoints seen, the largest of size %d",
		len(acks), len(inflight), len(served), last.Size)

	s2 := startServer(t, data, logQuiet, openReads...)
	if s2.LogKey != logKey {
		t.Fatalf("the restarted registry's log key is %q, was %q", s2.LogKey, logKey)
	}
	cp2, _ := s2.stableCheckpoint(t)
	c := agentClient()
	defer c.CloseIdleConnections()

	// The log after the crash extends every checkpoint shown before it.
	for _, old := range served {
		if old.Size > cp2.Size {
			t.Errorf("a checkpoint of size %d was served before the crash; the log has %d entries after it", old.Size, cp2.Size)
			continue
		}
		if err := s2.consistent(c, old, cp2); err != nil {
			t.Errorf("checkpoint of size %d served before the crash: %v", old.Size, err)
		}
	}

	// Every acknowledged certificate is stored, at its index, and provable in the new log.
	for _, a := range acks {
		id := bs[a.i].ID
		var info registry.CertificateInfo
		if err := getJSON(c, s2.URL+"/api/v1/certificates/"+url.PathEscape(id), &info); err != nil {
			t.Errorf("acknowledged certificate %s after the crash: %v", id, err)
			continue
		}
		if info.LogIndex == nil || *info.LogIndex != a.receipt.LogIndex {
			t.Errorf("acknowledged certificate %s: log index %v after the crash, %d in its receipt", id, info.LogIndex, a.receipt.LogIndex)
		}
		var proof registry.Receipt
		if err := getJSON(c, s2.URL+"/api/v1/certificates/"+url.PathEscape(id)+"/proof", &proof); err != nil {
			t.Errorf("proof of acknowledged certificate %s: %v", id, err)
			continue
		}
		if _, err := registry.VerifyReceipt(proof, bs[a.i].JSON, logKey); err != nil {
			t.Errorf("proof of acknowledged certificate %s: %v", id, err)
		}
		if proof.LogIndex != a.receipt.LogIndex || proof.TreeSize != cp2.Size {
			t.Errorf("proof of %s: index %d against a checkpoint of size %d, want index %d against the current one (%d)",
				id, proof.LogIndex, proof.TreeSize, a.receipt.LogIndex, cp2.Size)
		}
	}
	inLog := s2.audit(t, cp2)
	t.Logf("after the restart: log of %d entries, every one of the %d acknowledged certificates in it once; %d stored but unacknowledged certificates logged too",
		cp2.Size, len(acks), int(cp2.Size)-len(acks))

	// Uploads the crash cut short can be made again: answered, and logged once.
	created := 0
	for _, i := range inflight {
		code, body, err := upload(ctx, c, s2.URL, token, bs[i].JSON)
		if err != nil || (code != http.StatusCreated && code != http.StatusOK) {
			t.Errorf("upload again of %s, in flight at the crash: %d %v: %s", bs[i].ID, code, err, body)
			continue
		}
		var r registry.Receipt
		if err := json.Unmarshal(body, &r); err != nil {
			t.Errorf("upload again of %s: %v", bs[i].ID, err)
			continue
		}
		if _, err := registry.VerifyReceipt(r, bs[i].JSON, logKey); err != nil {
			t.Errorf("upload again of %s: %v", bs[i].ID, err)
		}
		idx, wasLogged := inLog[bs[i].ID]
		switch {
		case code == http.StatusCreated:
			created++
			if wasLogged {
				t.Errorf("upload again of %s: 201, but it was in the log already (entry %d)", bs[i].ID, idx)
			}
		case !wasLogged:
			t.Errorf("upload again of %s: 200 (stored before the crash), but it was not in the log after the restart", bs[i].ID)
		case idx != r.LogIndex:
			t.Errorf("upload again of %s: entry %d, but it is entry %d of the log", bs[i].ID, r.LogIndex, idx)
		}
	}
	// And so can acknowledged ones: same entry, nothing new.
	for _, a := range acks[:min(len(acks), 20)] {
		code, body, err := upload(ctx, c, s2.URL, token, bs[a.i].JSON)
		var r registry.Receipt
		if err == nil {
			err = json.Unmarshal(body, &r)
		}
		if err != nil || code != http.StatusOK || r.Created || r.LogIndex != a.receipt.LogIndex {
			t.Errorf("upload again of acknowledged %s: %d %v, index %d created %v; want 200, index %d", bs[a.i].ID, code, err, r.LogIndex, r.Created, a.receipt.LogIndex)
		}
	}
	cp3, _ := s2.stableCheckpoint(t)
	if want := cp2.Size + uint64(created); cp3.Size != want {
		t.Errorf("the log has %d entries after %d uploads again (%d new): want %d", cp3.Size, len(inflight)+min(len(acks), 20), created, want)
	}
	if err := s2.consistent(c, cp2, cp3); err != nil {
		t.Errorf("the log after uploading again: %v", err)
	}
	s2.audit(t, cp3)
	for _, line := range s2.logErrors() {
		t.Errorf("restarted server logged an error: %s", line)
	}
	t.Logf("uploaded again the %d in flight at the crash: %d were new (201), %d stored before it (200); log of %d entries",
		len(inflight), created, len(inflight)-created, cp3.Size)
}

// stableCheckpoint waits until the log's checkpoint stops growing (a restarted log publishes
// what it had integrated before the crash) and returns it.
func (s *server) stableCheckpoint(t testing.TB) (tlog.Checkpoint, []byte) {
	t.Helper()
	cp, raw := s.checkpoint(t)
	for deadline, since := time.Now().Add(15*time.Second), time.Now(); time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		next, nextRaw := s.checkpoint(t)
		if next.Size != cp.Size {
			cp, raw, since = next, nextRaw, time.Now()
			continue
		}
		cp, raw = next, nextRaw
		if time.Since(since) > 600*time.Millisecond {
			return cp, raw
		}
	}
	t.Fatal(fmt.Errorf("the log's checkpoint did not settle in 15 s (size %d)", cp.Size))
	return cp, raw
}
