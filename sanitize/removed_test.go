package sanitize

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/decom-project/decom/internal/faultfs"
	"github.com/decom-project/decom/internal/loopdev"
	"github.com/decom-project/decom/verify"
	"github.com/decom-project/decom/wipe"
)

// A target whose writes fail is a failed wipe; if Options.Removed says its drive
// was pulled out, the same wipe is an aborted one whose record says so.
func TestRemovedTargetIsAborted(t *testing.T) {
	loopdev.Require(t)
	if _, err := os.Stat("/dev/fuse"); err != nil {
		t.Skip("needs /dev/fuse")
	}
	for _, pulled := range []bool{false, true} {
		d := faultfs.Mount(t, 4<<20, faultfs.Range{Off: 1 << 20, Len: 3 << 20, Ops: faultfs.Write})
		var asked []string
		results, _ := Run(context.Background(), Options{Targets: []string{d.Path()}, Method: method(t, "zero"),
			Write:  wipe.Options{MaxBadRanges: 1},
			Verify: verify.Options{Mode: VerifyNone},
			Removed: func(_ context.Context, dev string) bool {
				asked = append(asked, dev)
				return pulled
			}})
		if len(results) != 1 || len(asked) != 1 || asked[0] != d.Path() {
			t.Fatalf("pulled %v: results %+v, asked about %v", pulled, results, asked)
		}
		r := results[0]
		switch {
		case !pulled && (r.Outcome != wipe.OutcomeFailed || strings.Contains(r.Error, "removed")):
			t.Errorf("not pulled: %s, %q", r.Outcome, r.Error)
		case pulled && (r.Outcome != wipe.OutcomeAborted || !strings.HasPrefix(r.Error, "the drive was removed (") || r.AbortedAt == nil):
			t.Errorf("pulled: %s, %q, at %v", r.Outcome, r.Error, r.AbortedAt)
		}
	}
}
