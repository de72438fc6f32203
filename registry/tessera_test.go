package registry

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"testing"

	flog "github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/tessera/client"
	"golang.org/x/mod/sumdb/note"
)

// appendEntries puts n entries in the registry's log at once, straight through the
// log (the log batches them), and returns the published checkpoint.
func (r *testRegistry) appendEntries(t *testing.T, prefix string, n int) []byte {
	t.Helper()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, err := r.Log.Append(t.Context(), fmt.Appendf(nil, "%s entry %d", prefix, i)); err != nil {
				t.Errorf("append: %v", err)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	cp, err := r.Log.Checkpoint(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return cp
}

// A standard tlog-tiles client, tessera's, follows the log the registry serves at
// /log/ with the registry's key and origin, and builds from the tiles the proofs the
// registry serves in its API: an auditor can follow the log without decom. The log
// grows past one full tile, so full and partial tiles are both read.
//
// The last part pins down the reason the Auditor does not rely on LogStateTracker
// (see Auditor): the tracker takes a smaller checkpoint for "nothing new".
func TestTesseraClientReadsServedTiles(t *testing.T) {
	ctx := t.Context()
	reg := newTestRegistry(t)
	root, err := url.Parse(reg.URL + "/log/")
	if err != nil {
		t.Fatal(err)
	}
	f, err := client.NewHTTPFetcher(root, reg.HTTP)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(reg.LogKey)
	if err != nil {
		t.Fatal(err)
	}

	small := reg.appendEntries(t, "first", 3)
	tracker, err := client.NewLogStateTracker(ctx, f.ReadTile, small, v, reg.Origin, client.UnilateralConsensus(f.ReadCheckpoint))
	if err != nil {
		t.Fatalf("tessera's tracker refuses the registry's checkpoint: %v", err)
	}
	large := reg.appendEntries(t, "then", 300)
	if _, _, _, err := tracker.Update(ctx); err != nil {
		t.Fatalf("tessera's tracker cannot follow the log from 3 to 303 entries: %v", err)
	}
	if got := tracker.Latest().Size; got != 303 {
		t.Fatalf("tessera's tracker is at %d entries, want 303", got)
	}

	pb, err := client.NewProofBuilder(ctx, 303, f.ReadTile)
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := pb.ConsistencyProof(ctx, 3, 303)
	if err != nil {
		t.Fatal(err)
	}
	ours, err := (&Client{URL: reg.URL}).Consistency(ctx, 3, 303)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(theirs, ours, slices.Equal) {
		t.Errorf("consistency 3→303: tessera builds %x from the tiles, the registry serves %x", theirs, ours)
	}
	for _, idx := range []uint64{0, 255, 256, 302} {
		theirs, err := pb.InclusionProof(ctx, idx)
		if err != nil {
			t.Fatal(err)
		}
		ours, err := reg.Log.InclusionProof(ctx, idx, 303)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.EqualFunc(theirs, ours, slices.Equal) {
			t.Errorf("inclusion of %d in 303: tessera builds %x, the registry %x", idx, theirs, ours)
		}
	}

	// Shown a smaller checkpoint of the same log, the tracker reports no error and
	// keeps the larger one: a shrunk log goes unnoticed. The Auditor refuses it
	// (TestAuditorRefusesShrunkLog).
	shrunk := func(ctx context.Context, v note.Verifier, origin string) (*flog.Checkpoint, []byte, *note.Note, error) {
		return client.FetchCheckpoint(ctx, func(context.Context) ([]byte, error) { return small, nil }, v, origin)
	}
	tracker, err = client.NewLogStateTracker(ctx, f.ReadTile, large, v, reg.Origin, shrunk)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := tracker.Update(ctx); err != nil || tracker.Latest().Size != 303 {
		t.Errorf("tessera's tracker now refuses a smaller checkpoint (%v, size %d): Auditor's comment says it does not; reconsider the tracker for the Auditor", err, tracker.Latest().Size)
	}
}
