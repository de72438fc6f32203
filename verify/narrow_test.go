package verify

import (
	"context"
	"testing"

	"github.com/decom-project/decom/wipe"
)

// Cancelled while an unreadable block is being narrowed down, the verification is
// aborted, even when every block had been handed out and the only unreadable sector
// is excluded: a block left half read must never count as verified.
func TestCancelledWhileNarrowingIsAborted(t *testing.T) {
	m, exp := wiped(t, 1<<20, wipe.Fixed(0))
	m.bad = []wipe.Range{{Offset: 0, Length: 512}}
	ctx, cancel := context.WithCancel(context.Background())
	reads := 0
	dev := readerFunc(func(p []byte, off int64) (int, error) {
		n, err := m.ReadAt(p, off)
		if err == nil {
			if reads++; reads == 10 {
				cancel()
			}
		}
		return n, err
	})
	res := Run(ctx, Target{R: dev, Size: 1 << 20, SectorSize: 512, Direct: true}, exp,
		Options{Mode: ModeFull, QueueDepth: 1, Exclude: m.bad})
	if res.Verified || res.Outcome != OutcomeAborted || res.Error != "interrupted" {
		t.Fatalf("outcome %s (%s), verified %v; want aborted", res.Outcome, res.Error, res.Verified)
	}
	if res.BlocksRead != 0 || res.BytesRead != 0 {
		t.Errorf("%d blocks, %d bytes counted read from a block left half read", res.BlocksRead, res.BytesRead)
	}
}
