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
// its check is checked again next time.
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

	// A failed check is not remembered.
	calls.Store(0)
	bad := errors.New("bad signature")
	c.check = func([]byte, string) (tlog.Checkpoint, time.Time, error) {
		if calls.Add(1) == 1 {
			return tlog.Checkpoint{}, time.Time{}, bad
		}
		return tlog.Checkpoint{Size: 1}, when, nil
	}
	if _, _, err := c.time([]byte("checkpoint 8"), "log key"); !errors.Is(err, bad) {
		t.Fatalf("first check: %v, want %v", err, bad)
	}
	if _, got, err := c.time([]byte("checkpoint 8"), "log key"); err != nil || got != when {
		t.Fatalf("second check: %v %v, want %v", got, err, when)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("checked %d times, want 2 (a failure is checked again)", n)
	}
}
