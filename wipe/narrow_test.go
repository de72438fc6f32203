package wipe

import (
	"context"
	"testing"
)

// Cancelled while a failed block is being narrowed down sector by sector (which on a
// dying drive can take long), the wipe stops at the next sector: the record is
// aborted at that block, not failed, and not completed; what was written before it
// is flushed, as for any stop.
func TestOverwriteCancelledWhileNarrowingIsAborted(t *testing.T) {
	const size = 4 << 20
	mem, tgt := memDrive(size)
	mem.bad = []Range{{Offset: 1 << 20, Length: 512}} // the second block
	ctx, cancel := context.WithCancel(context.Background())
	mem.onWrite = func(written int64) {
		if written >= 1<<20+10*512 { // the first block, then 10 sectors of the second
			cancel()
		}
	}
	rec := overwrite(ctx, mem, tgt, true, PassPlan{Method: mustMethod(t, "zero")}, Options{BlockSize: 1 << 20, QueueDepth: 1})
	if rec.Outcome != OutcomeAborted || rec.AbortedAt == nil || rec.Error != "interrupted" {
		t.Fatalf("outcome %s (%s), aborted at %v; want aborted", rec.Outcome, rec.Error, rec.AbortedAt)
	}
	pr := rec.Passes[0]
	if rec.AbortedAt.Offset != 1<<20 || pr.Completed || pr.BytesWritten >= 2<<20 {
		t.Errorf("aborted at %+v, pass completed %v with %d bytes written; want offset %d, not completed",
			*rec.AbortedAt, pr.Completed, pr.BytesWritten, 1<<20)
	}
	if !pr.Flushed {
		t.Error("what was written before the stop was not flushed")
	}
	if len(pr.BadRanges) != 1 || pr.BadRanges[0] != mem.bad[0] {
		t.Errorf("bad ranges %+v, want %+v", pr.BadRanges, mem.bad)
	}
}
