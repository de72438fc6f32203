package ticker

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestStartReportsUntilStopped(t *testing.T) {
	var ticks, finals, running atomic.Int32
	stop := Start(time.Millisecond, func(final bool) {
		if running.Add(1) != 1 {
			t.Error("report called concurrently")
		}
		defer running.Add(-1)
		if final {
			finals.Add(1)
		} else {
			ticks.Add(1)
		}
	})
	for ticks.Load() < 3 {
		time.Sleep(time.Millisecond)
	}
	stop()
	n := ticks.Load()
	time.Sleep(5 * time.Millisecond)
	if ticks.Load() != n || finals.Load() != 1 {
		t.Errorf("after stop: %d more ticks, %d final reports", ticks.Load()-n, finals.Load())
	}
}
