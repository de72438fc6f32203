package store

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// testLogged: SetLogged records the checkpoint with the index, GetCertificate and
// Search return it, and setting the index again keeps the first checkpoint.
func testLogged(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	r1, r2, r3 := testRecord(1), testRecord(2), testRecord(3)
	put(t, s, r1, r2, r3)
	first := []byte("decom.example/registry\n8\nAAAA\n\n— decom.example/registry sig\n")
	if err := s.SetLogged(ctx, r1.ID, 7, first); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLogged(ctx, r1.ID, 7, []byte("a later checkpoint")); err != nil {
		t.Errorf("SetLogged(same index again): %v", err)
	}
	if err := s.SetLogged(ctx, r1.ID, 8, first); !errors.Is(err, ErrConflict) {
		t.Errorf("SetLogged(other index): %v, want ErrConflict", err)
	}
	got, err := s.GetCertificate(ctx, r1.ID)
	if err != nil || got.LogIndex == nil || *got.LogIndex != 7 || !bytes.Equal(got.LogCheckpoint, first) {
		t.Fatalf("after SetLogged: index %s, checkpoint %q, %v", fmtIndex(got.LogIndex), got.LogCheckpoint, err)
	}
	for _, rec := range searchAll(t, s, Query{ID: r1.ID}) {
		if !bytes.Equal(rec.LogCheckpoint, first) {
			t.Errorf("Search: checkpoint %q", rec.LogCheckpoint)
		}
	}
	// SetLogIndex records no checkpoint; a record never logged has none either.
	if err := s.SetLogIndex(ctx, r2.ID, 9); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{r2.ID, r3.ID} {
		if got, err := s.GetCertificate(ctx, id); err != nil || got.LogCheckpoint != nil {
			t.Errorf("%s: checkpoint %q, %v; want none", id, got.LogCheckpoint, err)
		}
	}
}
