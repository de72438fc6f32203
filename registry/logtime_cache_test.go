//go:build !agentimage

package registry

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/decom-project/decom/registry/tlog"
)

// TestCheckpointTimesChecksOnce: the receipts that wake together when a checkpoint
// is published check its signatures once between them, and a checkpoint that failed
// its check is not checked again.
func TestCheckpointTimesChecksOnce(t *testing.T) {
	const callers = 50
	var started sync.WaitGroup
	started.Add(callers)
	var calls atomic.Int32
	when := time.Date(2026, 12, 3, 17, 0, 0, 0, time.UTC)
	c := &checkpointTimes{check: func(cp []byte, key string) (tlog.Checkpoint, time.Time, error) {
		calls.Add(1)
		started.Wait() // every caller has asked before the first check ends
		return tlog.Checkpoint{Origin: key, Size: uint64(len(cp))}, when, nil
	}}
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			started.Done()
			cp, got, err := c.time([]byte("checkpoint 7"), "log key")
			if err != nil || got != when || cp.Size != 12 || cp.Origin != "log key" {
				errs <- errors.New("wrong result")
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("%d callers checked the checkpoint %d times, want once", callers, n)
	}

	// A failed check is remembered as well: it depends on the bytes and the key only.
	calls.Store(0)
	bad := errors.New("no time signature")
	c.check = func([]byte, string) (tlog.Checkpoint, time.Time, error) {
		calls.Add(1)
		return tlog.Checkpoint{}, time.Time{}, bad
	}
	for range 3 {
		if _, _, err := c.time([]byte("checkpoint 8"), "log key"); !errors.Is(err, bad) {
			t.Fatalf("check: %v, want %v", err, bad)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("a failing checkpoint was checked %d times, want once", n)
	}
}
