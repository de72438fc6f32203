package store

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"time"
)

// testOutbox: a certificate is queued for every active endpoint when its log index
// is recorded, once; deliveries are leased, retried and finished.
func testOutbox(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	before := testRecord(1)
	put(t, s, before)
	if err := s.SetLogIndex(ctx, before.ID, 1); err != nil {
		t.Fatal(err)
	}
	const a, b = "http://127.0.0.1:1/a", "http://127.0.0.1:1/b"
	if err := s.SetWebhooks(ctx, []string{a, b}); err != nil {
		t.Fatal(err)
	}
	r2, r3 := testRecord(2), testRecord(3)
	put(t, s, r2, r3)
	if got, err := s.ClaimDeliveries(ctx, "h", []string{a, b}, 10, time.Minute); err != nil || len(got) != 0 {
		t.Fatalf("before logging: claimed %d, %v; want none", len(got), err)
	}
	for i, r := range []Record{r2, r3} {
		if err := s.SetLogIndex(ctx, r.ID, uint64(10+i)); err != nil {
			t.Fatal(err)
		}
		// Recording the same index again queues nothing more.
		if err := s.SetLogIndex(ctx, r.ID, uint64(10+i)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ClaimDeliveries(ctx, "h", []string{a, b}, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("claimed %d deliveries, want 4 (2 certificates x 2 endpoints; none for the one logged before)", len(got))
	}
	seen := map[string]bool{}
	for _, d := range got {
		seen[d.Endpoint+" "+d.Certificate.ID] = true
		if d.Certificate.LogIndex == nil || d.Attempts != 0 || d.Created.IsZero() {
			t.Errorf("delivery %+v: want the logged certificate, 0 attempts, a creation time", d)
		}
		// The certificate comes whole, as GetCertificate gives it.
		if want, err := s.GetCertificate(ctx, d.Certificate.ID); err != nil || !reflect.DeepEqual(d.Certificate, want) {
			t.Errorf("delivery %d carries %+v,\nstored: %+v (%v)", d.ID, d.Certificate, want, err)
		}
	}
	for _, e := range []string{a, b} {
		for _, r := range []Record{r2, r3} {
			if !seen[e+" "+r.ID] {
				t.Errorf("no delivery of %s to %s", r.ID, e)
			}
		}
	}
	// Leased: nobody claims them again while the lease runs.
	if again, err := s.ClaimDeliveries(ctx, "other", []string{a, b}, 10, time.Minute); err != nil || len(again) != 0 {
		t.Fatalf("claimed %d leased deliveries, %v", len(again), err)
	}
	// A retry by another holder than the lease's changes nothing.
	if err := s.FinishDeliveries(ctx, "other", []Finished{{ID: got[0].ID, Result: DeliveryResult{RetryAt: time.Now(), Error: "x"}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishDeliveries(ctx, "h", []Finished{{ID: got[0].ID, Result: DeliveryResult{Delivered: true}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishDeliveries(ctx, "h", []Finished{{ID: got[1].ID, Result: DeliveryResult{RetryAt: time.Now().Add(time.Hour), Error: "HTTP 500"}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishDeliveries(ctx, "h", []Finished{{ID: got[2].ID, Result: DeliveryResult{RetryAt: time.Now().Add(-time.Second), Error: "HTTP 503"}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishDeliveries(ctx, "h", []Finished{{ID: got[3].ID, Result: DeliveryResult{Error: "gave up\x00\xff"}}}); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishDeliveries(ctx, "h", []Finished{{ID: 1 << 40, Result: DeliveryResult{Delivered: true}}}); !errors.Is(err, ErrNotFound) {
		t.Errorf("FinishDeliveries(unknown): %v, want ErrNotFound", err)
	}
	// Only the one due again is claimed, with its attempt counted.
	again, err := s.ClaimDeliveries(ctx, "h2", []string{a, b}, 10, time.Minute)
	if err != nil || len(again) != 1 || again[0].ID != got[2].ID || again[0].Attempts != 1 {
		t.Fatalf("claimed %+v, %v; want delivery %d with 1 attempt", again, err, got[2].ID)
	}
	// Only endpoints asked for are claimed.
	if err := s.FinishDeliveries(ctx, "h2", []Finished{{ID: again[0].ID, Result: DeliveryResult{RetryAt: time.Now().Add(-time.Second)}}}); err != nil {
		t.Fatal(err)
	}
	other := a
	if again[0].Endpoint == a {
		other = b
	}
	if none, err := s.ClaimDeliveries(ctx, "h2", []string{other}, 10, time.Minute); err != nil || len(none) != 0 {
		t.Errorf("claimed %d deliveries of another endpoint, %v", len(none), err)
	}
	counts, err := s.DeliveryCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts[DeliveryDelivered] != 1 || counts[DeliveryFailed] != 1 || counts[DeliveryPending] != 2 {
		t.Errorf("counts %v, want 1 delivered, 1 failed, 2 pending", counts)
	}
	if p, f, err := s.FailedAndPending(ctx); p != 2 || f != 1 || err != nil {
		t.Errorf("FailedAndPending: %d, %d, %v; want 2, 1", p, f, err)
	}
	// A lease that ran out is taken over.
	short, err := s.ClaimDeliveries(ctx, "h3", []string{a, b}, 10, time.Millisecond)
	if err != nil || len(short) != 1 {
		t.Fatalf("claimed %d, %v", len(short), err)
	}
	time.Sleep(5 * time.Millisecond)
	if taken, err := s.ClaimDeliveries(ctx, "h4", []string{a, b}, 10, time.Minute); err != nil || len(taken) != 1 {
		t.Fatalf("after the lease ran out: claimed %d, %v", len(taken), err)
	}
	// An endpoint dropped from the configuration gets nothing new.
	if err := s.SetWebhooks(ctx, []string{a}); err != nil {
		t.Fatal(err)
	}
	r4 := testRecord(4)
	put(t, s, r4)
	if err := s.SetLogIndex(ctx, r4.ID, 20); err != nil {
		t.Fatal(err)
	}
	if counts, _ := s.DeliveryCounts(ctx); counts[DeliveryPending] != 3 {
		t.Errorf("after dropping endpoint b: %d pending, want 3", counts[DeliveryPending])
	}
	// A record put with its log index is queued too.
	r5 := testRecord(5)
	idx := uint64(21)
	r5.LogIndex = &idx
	put(t, s, r5)
	if counts, _ := s.DeliveryCounts(ctx); counts[DeliveryPending] != 4 {
		t.Errorf("after putting a logged record: %d pending, want 4", counts[DeliveryPending])
	}
	if err := s.SetWebhooks(ctx, []string{""}); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetWebhooks(empty URL): %v, want ErrInvalid", err)
	}
}

// testFinishDeliveries: the results of a round are recorded in one call, each as
// one alone would be; an unknown id is reported and stops none of the others.
func testFinishDeliveries(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	const a = "http://127.0.0.1:1/a"
	if err := s.SetWebhooks(ctx, []string{a}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 4; i++ {
		r := testRecord(i)
		put(t, s, r)
		if err := s.SetLogIndex(ctx, r.ID, uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.ClaimDeliveries(ctx, "h", []string{a}, 10, time.Minute)
	if err != nil || len(got) != 4 {
		t.Fatalf("claimed %d, %v; want 4", len(got), err)
	}
	err = s.FinishDeliveries(ctx, "h", []Finished{
		{ID: got[0].ID, Result: DeliveryResult{Delivered: true}},
		{ID: 1 << 40, Result: DeliveryResult{Delivered: true}},
		{ID: got[1].ID, Result: DeliveryResult{Error: "gave up"}},
		{ID: got[2].ID, Result: DeliveryResult{RetryAt: time.Now().Add(-time.Second), Error: "HTTP 500"}},
	})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("FinishDeliveries with an unknown id: %v, want ErrNotFound", err)
	}
	if err := s.FinishDeliveries(ctx, "h", nil); err != nil {
		t.Errorf("FinishDeliveries(none): %v", err)
	}
	counts, err := s.DeliveryCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// got[3] is still leased to h and got[2] is due again: 2 pending.
	if counts[DeliveryDelivered] != 1 || counts[DeliveryFailed] != 1 || counts[DeliveryPending] != 2 {
		t.Errorf("counts %v, want 1 delivered, 1 failed, 2 pending", counts)
	}
	again, err := s.ClaimDeliveries(ctx, "h", []string{a}, 10, time.Minute)
	if err != nil || len(again) != 1 || again[0].ID != got[2].ID || again[0].Attempts != 1 {
		t.Errorf("claimed %+v, %v; want delivery %d again, with 1 attempt", again, err, got[2].ID)
	}
}

// testOutboxTwoInstances: instances claiming at once never claim the same delivery.
func testOutboxTwoInstances(t *testing.T, open opener) {
	ctx := context.Background()
	a, b := open(t), open(t)
	const ep = "http://127.0.0.1:1/hook"
	if err := a.SetWebhooks(ctx, []string{ep}); err != nil {
		t.Fatal(err)
	}
	const n = 60
	for i := range n {
		r := testRecord(i)
		put(t, a, r)
		if err := b.SetLogIndex(ctx, r.ID, uint64(i)); err != nil {
			t.Fatal(err)
		}
	}
	var (
		mu    sync.Mutex
		owner = map[int64]string{}
		wg    sync.WaitGroup
	)
	for _, side := range []struct {
		s      Store
		holder string
	}{{a, "a"}, {b, "b"}} {
		wg.Go(func() {
			for {
				got, err := side.s.ClaimDeliveries(ctx, side.holder, []string{ep}, 7, time.Minute)
				if err != nil {
					t.Errorf("%s: %v", side.holder, err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, d := range got {
					if o, dup := owner[d.ID]; dup {
						t.Errorf("delivery %d claimed by %s and %s", d.ID, o, side.holder)
					}
					owner[d.ID] = side.holder
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(owner) != n {
		t.Errorf("%d deliveries claimed, want %d", len(owner), n)
	}
}
