package store

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/decom-project/decom/certificates"
)

// opener opens a handle on one database; each call is another handle (another
// registry instance) on the same data.
type opener func(t testing.TB) Store

// newDB makes an empty database and returns its opener.
type newDB func(t testing.TB) opener

// testStore is the conformance suite: every Store implementation passes it.
func testStore(t *testing.T, fresh newDB) {
	for _, tc := range []struct {
		name string
		test func(t *testing.T, open opener)
	}{
		{"PutGet", testPutGet},
		{"PutIdempotent", testPutIdempotent},
		{"PutConflict", testPutConflict},
		{"PutInvalid", testPutInvalid},
		{"ConcurrentSameID", testConcurrentSameID},
		{"ConcurrentSameIDTwoInstances", testConcurrentSameIDTwoInstances},
		{"LogIndex", testLogIndex},
		{"Logged", testLogged},
		{"ClaimLog", testClaimLog},
		{"ClaimLogTwoInstances", testClaimLogTwoInstances},
		{"BindLog", testBindLog},
		{"Pending", testPending},
		{"SearchFields", testSearchFields},
		{"SearchTime", testSearchTime},
		{"Pagination", testPagination},
		{"PaginationConcurrentInserts", testPaginationConcurrentInserts},
		{"Limits", testLimits},
		{"Cursors", testCursors},
		{"Hostile", testHostile},
		{"Tokens", testTokens},
		{"TokenPlaintextNotStored", testTokenPlaintextNotStored},
		{"ConcurrentTokens", testConcurrentTokens},
		{"TokenScopes", testTokenScopes},
		{"MigrateTokenScopes", testMigrateTokenScopes},
		{"Keys", testKeys},
		{"KeysInvalid", testKeysInvalid},
		{"KeyRevocation", testKeyRevocation},
		{"MigrateRevocation", testMigrateRevocation},
		{"Reopen", testReopen},
		{"Outbox", testOutbox},
		{"FinishDeliveries", testFinishDeliveries},
		{"OutboxTwoInstances", testOutboxTwoInstances},
		{"Jobs", testJobs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // each has a database of its own
			tc.test(t, fresh(t))
		})
	}
}

var (
	baseTime           = time.Date(2026, 3, 1, 9, 0, 0, 123456789, time.UTC)
	testKeyFingerprint = "SHA256:" + strings.Repeat("ab", 32)
)

// testRecord is the i-th of a family of records whose fields vary with i.
func testRecord(i int) Record {
	outcomes := []string{certificates.OutcomeSanitized, certificates.OutcomeFailed, certificates.OutcomeExceptions}
	statuses := []string{certificates.StatusCertificate, certificates.StatusFailureRecord, certificates.StatusExceptionsCert}
	id := fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
	return Record{
		ID:             id,
		Status:         statuses[i%3],
		Outcome:        outcomes[i%3],
		Serial:         fmt.Sprintf("SN%06d", i),
		WWN:            fmt.Sprintf("0x5000C500%08X", i),
		AssetNumber:    fmt.Sprintf("Asset-%d", i),
		Method:         []string{"nist-800-88-clear", "dod-5220.22-m"}[i%2],
		Organization:   []string{"Acme Corp", "Initech"}[i%2],
		Customer:       []string{"Globex", "Umbrella", "Hooli", ""}[i%4],
		KeyFingerprint: testKeyFingerprint,
		Issued:         baseTime.Add(time.Duration(i) * time.Minute),
		Bundle:         []byte(fmt.Sprintf(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","id":%q}`, id)),
	}
}

func put(t testing.TB, s Store, recs ...Record) []Record {
	t.Helper()
	var out []Record
	for _, r := range recs {
		got, created, err := s.PutCertificate(context.Background(), r)
		if err != nil || !created {
			t.Fatalf("PutCertificate(%s): created %v, %v", r.ID, created, err)
		}
		out = append(out, got)
	}
	return out
}

// sameRecord fails t unless got is want as the store keeps it: times to the
// microsecond, in UTC.
func sameRecord(t testing.TB, got, want Record) {
	t.Helper()
	norm := func(r Record) Record {
		r.Issued = r.Issued.UTC().Truncate(time.Microsecond)
		r.Received = r.Received.UTC().Truncate(time.Microsecond)
		return r
	}
	g, w := norm(got), norm(want)
	if !g.Issued.Equal(w.Issued) || g.Issued.Location() != time.UTC {
		t.Errorf("%s: issued %v, want %v (UTC)", w.ID, got.Issued, w.Issued)
	}
	if w.Received.IsZero() {
		if g.Received.IsZero() {
			t.Errorf("%s: no receive time", w.ID)
		}
	} else if !g.Received.Equal(w.Received) {
		t.Errorf("%s: received %v, want %v", w.ID, got.Received, w.Received)
	}
	if (g.LogIndex == nil) != (w.LogIndex == nil) || g.LogIndex != nil && *g.LogIndex != *w.LogIndex {
		t.Errorf("%s: log index %v, want %v", w.ID, fmtIndex(g.LogIndex), fmtIndex(w.LogIndex))
	}
	if !bytes.Equal(g.Bundle, w.Bundle) {
		t.Errorf("%s: bundle %q, want %q", w.ID, g.Bundle, w.Bundle)
	}
	g.Issued, g.Received, g.LogIndex, g.Bundle = time.Time{}, time.Time{}, nil, nil
	w.Issued, w.Received, w.LogIndex, w.Bundle = time.Time{}, time.Time{}, nil, nil
	if !reflect.DeepEqual(g, w) {
		t.Errorf("record\n got %+v\nwant %+v", g, w)
	}
}

func fmtIndex(p *uint64) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprint(*p)
}

func ids(recs []Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

// searchAll walks every page of q.
func searchAll(t testing.TB, s Store, q Query) []Record {
	t.Helper()
	var all []Record
	for pages := 0; ; pages++ {
		if pages > 10000 {
			t.Fatal("search does not end")
		}
		p, err := s.Search(context.Background(), q)
		if err != nil {
			t.Fatalf("Search(%+v): %v", q, err)
		}
		if q.Limit > 0 && len(p.Records) > q.Limit {
			t.Fatalf("page of %d records, limit %d", len(p.Records), q.Limit)
		}
		all = append(all, p.Records...)
		if p.Next == "" {
			return all
		}
		q.Cursor = p.Next
	}
}

func testPutGet(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	r := testRecord(1)
	before := time.Now().Add(-time.Second)
	got, created, err := s.PutCertificate(ctx, r)
	if err != nil || !created {
		t.Fatalf("PutCertificate: created %v, %v", created, err)
	}
	if got.Received.Before(before) || got.Received.After(time.Now().Add(time.Second)) {
		t.Errorf("received %v, want now", got.Received)
	}
	sameRecord(t, got, r)
	back, err := s.GetCertificate(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	r.Received = got.Received
	sameRecord(t, back, r)

	// A given receive time and log index are kept.
	r2 := testRecord(2)
	r2.Received = baseTime.Add(time.Hour)
	idx := uint64(42)
	r2.LogIndex = &idx
	put(t, s, r2)
	back, err = s.GetCertificate(ctx, r2.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, back, r2)

	if _, err := s.GetCertificate(ctx, "no-such-id"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetCertificate(unknown): %v, want ErrNotFound", err)
	}
	if _, err := s.GetCertificate(ctx, strings.ToUpper(r.ID)+"X"); !errors.Is(err, ErrNotFound) {
		t.Errorf("GetCertificate(other ID): %v, want ErrNotFound", err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func testPutIdempotent(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	first := put(t, s, testRecord(1))[0]
	// The same ID and bytes again, even with other index fields, returns the
	// stored row untouched.
	again := testRecord(1)
	again.Organization = "Somebody Else"
	again.Received = baseTime
	got, created, err := s.PutCertificate(ctx, again)
	if err != nil || created {
		t.Fatalf("second PutCertificate: created %v, %v; want false, nil", created, err)
	}
	sameRecord(t, got, first)
	all := searchAll(t, s, Query{})
	if len(all) != 1 {
		t.Errorf("%d records stored, want 1", len(all))
	}
}

func testPutConflict(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	first := put(t, s, testRecord(1))[0]
	other := testRecord(1)
	other.Bundle = append(bytes.Clone(other.Bundle), ' ')
	_, created, err := s.PutCertificate(ctx, other)
	if !errors.Is(err, ErrConflict) || created {
		t.Fatalf("PutCertificate(same ID, other bundle): created %v, %v; want ErrConflict", created, err)
	}
	got, err := s.GetCertificate(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, got, first)
}

func testPutInvalid(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	idx := uint64(math.MaxInt64) + 1
	for name, mutate := range map[string]func(*Record){
		"no ID":            func(r *Record) { r.ID = "" },
		"long ID":          func(r *Record) { r.ID = strings.Repeat("a", MaxIDLen+1) },
		"ID not UTF-8":     func(r *Record) { r.ID = "\xff\xfe" },
		"ID with NUL":      func(r *Record) { r.ID = "a\x00b" },
		"serial not UTF-8": func(r *Record) { r.Serial = "SN\xc3" },
		"customer NUL":     func(r *Record) { r.Customer = "\x00" },
		"long org":         func(r *Record) { r.Organization = strings.Repeat("o", MaxTextLen+1) },
		"no issue time":    func(r *Record) { r.Issued = time.Time{} },
		"year 10000":       func(r *Record) { r.Issued = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
		"no bundle":        func(r *Record) { r.Bundle = nil },
		"huge log index":   func(r *Record) { r.LogIndex = &idx },
	} {
		r := testRecord(1)
		mutate(&r)
		if _, _, err := s.PutCertificate(ctx, r); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: PutCertificate: %v, want ErrInvalid", name, err)
		}
	}
	if all := searchAll(t, s, Query{}); len(all) != 0 {
		t.Errorf("%d records stored, want none", len(all))
	}
}

// testConcurrentSameID: 16 goroutines put one ID at once; the database, not the
// process, decides who wins.
func testConcurrentSameID(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	const n = 16
	for _, mixed := range []bool{false, true} {
		r := testRecord(7)
		if mixed {
			r = testRecord(8)
		}
		other := r
		other.Bundle = []byte(`{"other":true}`)
		var (
			wg                         sync.WaitGroup
			mu                         sync.Mutex
			created, existing, clashes int
			winner                     []byte
			start                      = make(chan struct{})
		)
		for i := range n {
			mine := r
			if mixed && i%2 == 1 {
				mine = other
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				got, c, err := s.PutCertificate(ctx, mine)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case errors.Is(err, ErrConflict):
					clashes++
				case err != nil:
					t.Errorf("PutCertificate: %v", err)
				case c:
					created++
					winner = got.Bundle
				default:
					existing++
					if !bytes.Equal(got.Bundle, mine.Bundle) {
						t.Errorf("not created, and the stored bundle is not mine")
					}
				}
			}()
		}
		close(start)
		wg.Wait()
		if created != 1 {
			t.Fatalf("mixed=%v: %d puts created the row, want 1", mixed, created)
		}
		if !mixed && (existing != n-1 || clashes != 0) {
			t.Errorf("same bytes: %d found it stored, %d conflicts; want %d, 0", existing, clashes, n-1)
		}
		if mixed && (existing != n/2-1 || clashes != n/2) {
			t.Errorf("mixed bytes: %d found it stored, %d conflicts; want %d, %d", existing, clashes, n/2-1, n/2)
		}
		if got := searchAll(t, s, Query{ID: r.ID}); len(got) != 1 || !bytes.Equal(got[0].Bundle, winner) {
			t.Errorf("mixed=%v: %d rows for the ID, want 1 with the winner's bundle", mixed, len(got))
		}
	}
}

// testConcurrentSameIDTwoInstances: the same race between two registry
// instances on one database.
func testConcurrentSameIDTwoInstances(t *testing.T, open opener) {
	ctx := context.Background()
	a, b := open(t), open(t)
	const n = 200
	var wg sync.WaitGroup
	var createdA, createdB [n]bool
	for _, side := range []struct {
		s       Store
		created *[n]bool
	}{{a, &createdA}, {b, &createdB}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				_, c, err := side.s.PutCertificate(ctx, testRecord(i))
				if err != nil {
					t.Errorf("PutCertificate: %v", err)
					return
				}
				side.created[i] = c
			}
		}()
	}
	wg.Wait()
	for i := range n {
		if createdA[i] == createdB[i] {
			t.Fatalf("record %d: created by A %v, by B %v; want exactly one", i, createdA[i], createdB[i])
		}
	}
	if got := searchAll(t, a, Query{Limit: MaxLimit}); len(got) != n {
		t.Errorf("%d rows, want %d", len(got), n)
	}
}

func testLogIndex(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	r1, r2 := testRecord(1), testRecord(2)
	put(t, s, r1, r2)
	if err := s.SetLogIndex(ctx, r1.ID, 7); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetCertificate(ctx, r1.ID)
	if err != nil || got.LogIndex == nil || *got.LogIndex != 7 {
		t.Fatalf("after SetLogIndex(7): %v, %v", fmtIndex(got.LogIndex), err)
	}
	if err := s.SetLogIndex(ctx, r1.ID, 7); err != nil {
		t.Errorf("SetLogIndex(same index again): %v", err)
	}
	if err := s.SetLogIndex(ctx, r1.ID, 8); !errors.Is(err, ErrConflict) {
		t.Errorf("SetLogIndex(other index): %v, want ErrConflict", err)
	}
	if err := s.SetLogIndex(ctx, r2.ID, 7); !errors.Is(err, ErrConflict) {
		t.Errorf("SetLogIndex(another's index): %v, want ErrConflict", err)
	}
	if err := s.SetLogIndex(ctx, "unknown", 9); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetLogIndex(unknown): %v, want ErrNotFound", err)
	}
	if err := s.SetLogIndex(ctx, r2.ID, math.MaxInt64+1); !errors.Is(err, ErrInvalid) {
		t.Errorf("SetLogIndex(2^63): %v, want ErrInvalid", err)
	}
	if err := s.SetLogIndex(ctx, r2.ID, 0); err != nil {
		t.Errorf("SetLogIndex(0): %v", err)
	}
	got, _ = s.GetCertificate(ctx, r2.ID)
	if got.LogIndex == nil || *got.LogIndex != 0 {
		t.Errorf("log index %v, want 0", fmtIndex(got.LogIndex))
	}
}

func testClaimLog(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	r1, r2 := testRecord(1), testRecord(2)
	put(t, s, r1, r2)
	claim := func(id, holder string, lease time.Duration) (Record, bool) {
		t.Helper()
		rec, ok, err := s.ClaimLog(ctx, id, holder, lease)
		if err != nil {
			t.Fatalf("ClaimLog(%s, %s): %v", id, holder, err)
		}
		return rec, ok
	}
	if rec, ok := claim(r1.ID, "a", time.Minute); !ok || rec.ID != r1.ID || rec.LogIndex != nil {
		t.Fatalf("first claim: %v %+v", ok, rec)
	}
	if _, ok := claim(r1.ID, "b", time.Minute); ok {
		t.Error("b claimed a certificate that a holds")
	}
	if _, ok := claim(r1.ID, "a", time.Minute); !ok {
		t.Error("a could not renew its own claim")
	}
	// Another certificate is free.
	if _, ok := claim(r2.ID, "b", time.Minute); !ok {
		t.Error("b could not claim another certificate")
	}
	// A lease that ran out may be taken over.
	if _, ok := claim(r1.ID, "a", time.Millisecond); !ok {
		t.Error("a could not shorten its lease")
	}
	time.Sleep(5 * time.Millisecond)
	if _, ok := claim(r1.ID, "b", time.Minute); !ok {
		t.Error("b could not take over an expired lease")
	}
	if _, ok := claim(r1.ID, "a", time.Minute); ok {
		t.Error("a took back a lease b holds")
	}
	// Once logged, nobody claims it, and the record says where it is.
	if err := s.SetLogIndex(ctx, r1.ID, 3); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"a", "b"} {
		rec, ok := claim(r1.ID, h, time.Minute)
		if ok || rec.LogIndex == nil || *rec.LogIndex != 3 {
			t.Errorf("claim of a logged certificate by %s: %v, index %s; want refused, index 3", h, ok, fmtIndex(rec.LogIndex))
		}
	}
	if _, _, err := s.ClaimLog(ctx, "unknown", "a", time.Minute); !errors.Is(err, ErrNotFound) {
		t.Errorf("ClaimLog(unknown): %v, want ErrNotFound", err)
	}
	for _, bad := range []struct {
		holder string
		lease  time.Duration
	}{{"", time.Minute}, {"a", 0}, {"a", -time.Second}, {"a\x00b", time.Minute}} {
		if _, _, err := s.ClaimLog(ctx, r2.ID, bad.holder, bad.lease); !errors.Is(err, ErrInvalid) {
			t.Errorf("ClaimLog(holder %q, lease %v): %v, want ErrInvalid", bad.holder, bad.lease, err)
		}
	}
}

// testClaimLogTwoInstances races two instances for the same certificates: each is
// claimed by exactly one.
func testClaimLogTwoInstances(t *testing.T, open opener) {
	ctx := context.Background()
	a, b := open(t), open(t)
	const n = 100
	for i := range n {
		put(t, a, testRecord(i))
	}
	var wonA, wonB [n]bool
	var wg sync.WaitGroup
	for _, side := range []struct {
		s      Store
		holder string
		won    *[n]bool
	}{{a, "instance-a", &wonA}, {b, "instance-b", &wonB}} {
		wg.Go(func() {
			for i := range n {
				_, ok, err := side.s.ClaimLog(ctx, testRecord(i).ID, side.holder, time.Minute)
				if err != nil {
					t.Errorf("ClaimLog: %v", err)
					return
				}
				side.won[i] = ok
			}
		})
	}
	wg.Wait()
	for i := range n {
		if wonA[i] == wonB[i] {
			t.Errorf("record %d: claimed by A %v, by B %v; want exactly one", i, wonA[i], wonB[i])
		}
	}
}

func testBindLog(t *testing.T, open opener) {
	ctx := context.Background()
	a, b := open(t), open(t)
	const k1, k2 = "registry.test/a+01234567+AbCd", "registry.test/b+89abcdef+EfGh"
	if err := a.BindLog(ctx, k1); err != nil {
		t.Fatal(err)
	}
	if err := b.BindLog(ctx, k1); err != nil {
		t.Errorf("binding the same log again, from another instance: %v", err)
	}
	if err := b.BindLog(ctx, k2); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "registry.test/a") {
		t.Errorf("binding another log: %v, want ErrConflict naming the bound log", err)
	}
	if err := a.BindLog(ctx, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("binding an empty key: %v, want ErrInvalid", err)
	}
}

func testPending(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	for i := range 5 {
		put(t, s, testRecord(i))
	}
	if err := s.SetLogIndex(ctx, testRecord(1).ID, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.SetLogIndex(ctx, testRecord(3).ID, 1); err != nil {
		t.Fatal(err)
	}
	got, err := s.Pending(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{testRecord(0).ID, testRecord(2).ID, testRecord(4).ID}; !slices.Equal(ids(got), want) {
		t.Errorf("Pending: %v, want %v (oldest first)", ids(got), want)
	}
	if got, _ := s.Pending(ctx, 2); len(got) != 2 {
		t.Errorf("Pending(2): %d records", len(got))
	}
	if _, err := s.Pending(ctx, -1); !errors.Is(err, ErrInvalid) {
		t.Errorf("Pending(-1): %v, want ErrInvalid", err)
	}
}

// testSearchFields searches by every field, alone and together, and checks the
// result against a filter of the same records in Go.
func testSearchFields(t *testing.T, open opener) {
	s := open(t)
	const n = 24
	var recs []Record
	for i := range n {
		recs = append(recs, testRecord(i))
	}
	stored := put(t, s, recs...)
	newestFirst := slices.Clone(stored)
	slices.Reverse(newestFirst)
	filter := func(keep func(Record) bool) []string {
		var out []string
		for _, r := range newestFirst {
			if keep(r) {
				out = append(out, r.ID)
			}
		}
		return out
	}
	r5 := recs[5]
	cases := []struct {
		name string
		q    Query
		want []string
	}{
		{"all", Query{}, filter(func(Record) bool { return true })},
		{"ID", Query{ID: r5.ID}, []string{r5.ID}},
		{"ID is case-sensitive", Query{ID: strings.ToUpper(r5.ID) + "Z"}, nil},
		{"serial", Query{Serial: r5.Serial}, []string{r5.ID}},
		{"serial any case, spaces", Query{Serial: "  " + strings.ToLower(r5.Serial) + " "}, []string{r5.ID}},
		{"serial prefix is no match", Query{Serial: r5.Serial[:4]}, nil},
		{"WWN", Query{WWN: r5.WWN}, []string{r5.ID}},
		{"WWN lower case", Query{WWN: strings.ToLower(r5.WWN)}, []string{r5.ID}},
		{"asset number", Query{AssetNumber: "ASSET-5"}, []string{r5.ID}},
		{"outcome", Query{Outcome: certificates.OutcomeFailed}, filter(func(r Record) bool { return r.Outcome == certificates.OutcomeFailed })},
		{"outcome is exact", Query{Outcome: "FAILED"}, nil},
		{"method", Query{Method: "dod-5220.22-m"}, filter(func(r Record) bool { return r.Method == "dod-5220.22-m" })},
		{"organization", Query{Organization: "acme corp"}, filter(func(r Record) bool { return r.Organization == "Acme Corp" })},
		{"customer", Query{Customer: "UMBRELLA"}, filter(func(r Record) bool { return r.Customer == "Umbrella" })},
		{"organization and customer", Query{Organization: "Initech", Customer: "Umbrella"},
			filter(func(r Record) bool { return r.Organization == "Initech" && r.Customer == "Umbrella" })},
		{"organization and outcome and method", Query{Organization: "Acme Corp", Outcome: certificates.OutcomeSanitized, Method: "nist-800-88-clear"},
			filter(func(r Record) bool {
				return r.Organization == "Acme Corp" && r.Outcome == certificates.OutcomeSanitized && r.Method == "nist-800-88-clear"
			})},
		{"contradiction", Query{Serial: recs[1].Serial, WWN: recs[2].WWN}, nil},
		{"every field", Query{ID: r5.ID, Serial: r5.Serial, WWN: r5.WWN, AssetNumber: r5.AssetNumber, Outcome: r5.Outcome,
			Method: r5.Method, Organization: r5.Organization, Customer: r5.Customer, From: r5.Issued, To: r5.Issued.Add(time.Second)}, []string{r5.ID}},
	}
	for _, tc := range cases {
		got := searchAll(t, s, tc.q)
		if !slices.Equal(ids(got), tc.want) {
			t.Errorf("%s: got %v\nwant %v", tc.name, ids(got), tc.want)
		}
	}
	got := searchAll(t, s, Query{ID: r5.ID})
	if len(got) == 1 {
		sameRecord(t, got[0], stored[5])
	}
}

func testSearchTime(t *testing.T, open opener) {
	s := open(t)
	var recs []Record
	for i := range 10 {
		recs = append(recs, testRecord(i)) // issued baseTime + i minutes
	}
	put(t, s, recs...)
	at := func(i int) time.Time { return recs[i].Issued }
	want := func(idx ...int) []string {
		var out []string
		for _, i := range slices.Backward(idx) {
			out = append(out, recs[i].ID)
		}
		return out
	}
	cases := []struct {
		name     string
		from, to time.Time
		want     []string
	}{
		{"from is inclusive", at(7), time.Time{}, want(7, 8, 9)},
		{"to is exclusive", time.Time{}, at(2), want(0, 1)},
		{"range", at(3), at(6), want(3, 4, 5)},
		{"between minutes", at(3).Add(time.Second), at(6).Add(time.Second), want(4, 5, 6)},
		{"other time zone", at(3).In(time.FixedZone("UTC+5", 5*3600)), at(4).In(time.FixedZone("UTC-7", -7*3600)), want(3)},
		{"empty range", at(4), at(4), nil},
		{"reversed range", at(6), at(3), nil},
		{"before everything", time.Time{}, baseTime.Add(-time.Hour), nil},
		{"far past", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), at(1), want(0)},
		{"ancient past", time.Date(-5000, 1, 1, 0, 0, 0, 0, time.UTC), at(1), want(0)},
		{"far future", at(9), time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), want(9)},
		{"beyond the future", at(9), time.Date(300000, 1, 1, 0, 0, 0, 0, time.UTC), want(9)},
		{"from beyond the future", time.Date(20000, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}, nil},
		{"to before year 1", time.Time{}, time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), nil},
	}
	for _, tc := range cases {
		got := searchAll(t, s, Query{From: tc.from, To: tc.to})
		if !slices.Equal(ids(got), tc.want) {
			t.Errorf("%s: got %v\nwant %v", tc.name, ids(got), tc.want)
		}
	}
	// With another field.
	got := searchAll(t, s, Query{From: at(2), To: at(8), Organization: "Initech"})
	if w := want(3, 5, 7); !slices.Equal(ids(got), w) {
		t.Errorf("time and organization: got %v, want %v", ids(got), w)
	}
}

func testPagination(t *testing.T, open opener) {
	s := open(t)
	const n = 120
	var recs []Record
	for i := range n {
		recs = append(recs, testRecord(i))
	}
	put(t, s, recs...)
	q := Query{Limit: 25}
	var all []string
	for page := 0; ; page++ {
		p, err := s.Search(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		wantLen := 25
		if page == 4 {
			wantLen = 20
		}
		if len(p.Records) != wantLen {
			t.Fatalf("page %d: %d records, want %d", page, len(p.Records), wantLen)
		}
		all = append(all, ids(p.Records)...)
		if p.Next == "" {
			if page != 4 {
				t.Fatalf("last page is %d, want 4", page)
			}
			break
		}
		if strings.Contains(p.Next, recs[0].ID[:8]) {
			t.Errorf("cursor %q shows a record's ID", p.Next)
		}
		q.Cursor = p.Next
	}
	want := ids(recs)
	slices.Reverse(want)
	if !slices.Equal(all, want) {
		t.Errorf("pages gave %v\nwant newest first %v", all, want)
	}
	// A page that ends exactly at the last record has no Next.
	p, err := s.Search(context.Background(), Query{Limit: n})
	if err != nil || len(p.Records) != n || p.Next != "" {
		t.Errorf("Search(limit %d): %d records, next %q, %v; want all, no next", n, len(p.Records), p.Next, err)
	}
	// Filtered pagination.
	org := searchAll(t, s, Query{Organization: "Initech", Limit: 7})
	if len(org) != n/2 {
		t.Errorf("organization, 7 a page: %d records, want %d", len(org), n/2)
	}
}

// testPaginationConcurrentInserts walks the pages while another goroutine
// inserts: every record stored before the walk appears exactly once.
func testPaginationConcurrentInserts(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	const before, during = 100, 100
	for i := range before {
		put(t, s, testRecord(i))
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := before; i < before+during; i++ {
			if _, _, err := s.PutCertificate(ctx, testRecord(i)); err != nil {
				t.Errorf("PutCertificate: %v", err)
				return
			}
		}
	}()
	for walk := 0; walk < 3; walk++ {
		seen := map[string]int{}
		var q Query
		q.Limit = 7
		for {
			p, err := s.Search(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range p.Records {
				seen[r.ID]++
			}
			if p.Next == "" {
				break
			}
			q.Cursor = p.Next
			time.Sleep(time.Millisecond)
		}
		for id, k := range seen {
			if k != 1 {
				t.Errorf("walk %d: %s seen %d times", walk, id, k)
			}
		}
		for i := range before {
			if seen[testRecord(i).ID] != 1 {
				t.Errorf("walk %d: record %d, stored before the walk, seen %d times", walk, i, seen[testRecord(i).ID])
			}
		}
	}
	wg.Wait()
	if got := searchAll(t, s, Query{Limit: 33}); len(got) != before+during {
		t.Errorf("after the inserts: %d records, want %d", len(got), before+during)
	}
}

func testLimits(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	for i := range MaxLimit + 3 {
		put(t, s, testRecord(i))
	}
	for _, tc := range []struct{ limit, want int }{
		{0, DefaultLimit}, {1, 1}, {MaxLimit, MaxLimit}, {MaxLimit + 1, MaxLimit}, {math.MaxInt, MaxLimit},
	} {
		p, err := s.Search(ctx, Query{Limit: tc.limit})
		if err != nil || len(p.Records) != tc.want || p.Next == "" {
			t.Errorf("limit %d: %d records, next %q, %v; want %d and a next page", tc.limit, len(p.Records), p.Next, err, tc.want)
		}
	}
	for _, l := range []int{-1, math.MinInt} {
		if _, err := s.Search(ctx, Query{Limit: l}); !errors.Is(err, ErrInvalid) {
			t.Errorf("limit %d: %v, want ErrInvalid", l, err)
		}
	}
}

func testCursors(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	for i := range 5 {
		put(t, s, testRecord(i))
	}
	p, err := s.Search(ctx, Query{Limit: 2})
	if err != nil || p.Next == "" {
		t.Fatalf("first page: next %q, %v", p.Next, err)
	}
	zero := cursorPrefix + base64.RawURLEncoding.EncodeToString(make([]byte, 8))
	huge := cursorPrefix + base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, 8))
	for _, c := range []string{
		"garbage", "c1", "c2" + p.Next[2:], p.Next + "A", p.Next[:len(p.Next)-1], p.Next + "=",
		zero, huge, "c1' OR 1=1 --", "c1%%%%%%%%%%%", strings.Repeat("c1AAAA", 100000), "\x00", "c1\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",
	} {
		if _, err := s.Search(ctx, Query{Cursor: c, Limit: 2}); !errors.Is(err, ErrInvalidCursor) || !errors.Is(err, ErrInvalid) {
			t.Errorf("cursor %s: %v, want ErrInvalidCursor", quote(c), err)
		}
	}
	// A cursor is not bound to its query: used with another, it starts there.
	if _, err := s.Search(ctx, Query{Cursor: p.Next, Organization: "Initech"}); err != nil {
		t.Errorf("cursor with another query: %v", err)
	}
}

// hostile strings: SQL and LIKE meta characters, quotes, NULs, invalid UTF-8,
// very long strings.
var hostile = []string{
	"'", "''", `"`, "`", ";", "--", "/*", "%", "_", "%%", "%_%", `\`, `\%`, "*", "?", "$1", ":name", "@p",
	"' OR '1'='1", "' OR 1=1 --", `" OR ""="`, "'; DROP TABLE certificates; --", "x'); DELETE FROM api_tokens; --",
	"' UNION SELECT name, hash FROM api_tokens --", "1; SELECT pg_sleep(10)", "NULL", "null", "\x00", "a\x00b", "\xff\xfe\xfd",
	"\xc3", "\n", "\r\n", "\t", " ", "[a-z]*", "(?i).*", "ACME%", "Acme_Corp", "acme corp%", "ＡＣＭＥ ＣＯＲＰ", "Acme Corp\x00",
	strings.Repeat("A", MaxTextLen+1), strings.Repeat("%", 5000), strings.Repeat("x", 1<<20), strings.Repeat("' OR ''='", 1000),
}

func testHostile(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	const n = 10
	for i := range n {
		put(t, s, testRecord(i))
	}
	// Values made of meta characters are stored and found exactly.
	odd := testRecord(n)
	odd.Organization = "O'Brien & Sons; DROP TABLE certificates; --"
	odd.Customer = `100%_sure \ "quoted"`
	odd.Serial = "SN_%'"
	put(t, s, odd)
	if got := searchAll(t, s, Query{Organization: odd.Organization, Customer: odd.Customer, Serial: odd.Serial}); !slices.Equal(ids(got), []string{odd.ID}) {
		t.Errorf("search for the odd record's own values: %v", ids(got))
	}
	queries := func(v string) []Query {
		return []Query{{ID: v}, {Serial: v}, {WWN: v}, {AssetNumber: v}, {Outcome: v}, {Method: v}, {Organization: v}, {Customer: v}}
	}
	for _, h := range hostile {
		for _, q := range queries(h) {
			p, err := s.Search(ctx, q)
			if err != nil {
				t.Errorf("Search(%+v): %v", q, err)
				continue
			}
			if len(p.Records) != 0 {
				t.Errorf("Search for %s found %v", quote(h), ids(p.Records))
			}
		}
		if _, err := s.GetCertificate(ctx, h); !errors.Is(err, ErrNotFound) {
			t.Errorf("GetCertificate(%s): %v, want ErrNotFound", quote(h), err)
		}
		if err := s.SetLogIndex(ctx, h, 1); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetLogIndex(%s): %v, want ErrNotFound", quote(h), err)
		}
		if _, err := s.CheckToken(ctx, h); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("CheckToken(%s): %v, want ErrUnauthorized", quote(h), err)
		}
		if _, err := s.CheckToken(ctx, TokenPrefix+h); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("CheckToken(prefix+%s): %v, want ErrUnauthorized", quote(h), err)
		}
		if err := s.RevokeToken(ctx, h); !errors.Is(err, ErrNotFound) {
			t.Errorf("RevokeToken(%s): %v, want ErrNotFound", quote(h), err)
		}
		if _, err := s.RevokeKey(ctx, h, Revocation{Reason: "lost"}); !errors.Is(err, ErrNotFound) {
			t.Errorf("RevokeKey(%s): %v, want ErrNotFound", quote(h), err)
		}
		if _, err := s.AddKey(ctx, []byte(h), "k"); !errors.Is(err, ErrInvalid) {
			t.Errorf("AddKey(%s): %v, want ErrInvalid", quote(h), err)
		}
	}
	// A cursor of hostile bytes is refused, not run.
	for _, h := range hostile {
		if _, err := s.Search(ctx, Query{Cursor: h}); !errors.Is(err, ErrInvalidCursor) {
			t.Errorf("Search(cursor %s): %v, want ErrInvalidCursor", quote(h), err)
		}
	}
	// Hostile names are either refused or stored as given.
	for _, h := range hostile {
		tok, err := s.CreateToken(ctx, h)
		if err != nil {
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrConflict) {
				t.Errorf("CreateToken(%s): %v", quote(h), err)
			}
			continue
		}
		if tk, err := s.CheckToken(ctx, tok); err != nil || tk.Name != h {
			t.Errorf("token named %s checks as %s, %v", quote(h), quote(tk.Name), err)
		}
	}
	// Everything is still there.
	if got := searchAll(t, s, Query{Limit: MaxLimit}); len(got) != n+1 {
		t.Errorf("%d records after the hostile searches, want %d", len(got), n+1)
	}
}

func testTokens(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	if got, err := s.ListTokens(ctx); err != nil || len(got) != 0 {
		t.Fatalf("ListTokens on an empty store: %v, %v", got, err)
	}
	ci, err := s.CreateToken(ctx, "ci")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ci, TokenPrefix) || len(ci) < len(TokenPrefix)+40 {
		t.Errorf("token %q: want %s and 32 random bytes", ci, TokenPrefix)
	}
	if tk, err := s.CheckToken(ctx, ci); err != nil || tk.Name != "ci" {
		t.Errorf("CheckToken: %q, %v; want ci", tk.Name, err)
	}
	if _, err := s.CreateToken(ctx, "ci"); !errors.Is(err, ErrConflict) {
		t.Errorf("CreateToken(active name): %v, want ErrConflict", err)
	}
	ops, err := s.CreateToken(ctx, "ops")
	if err != nil || ops == ci {
		t.Fatalf("CreateToken(ops): %q, %v", ops, err)
	}
	// A token one character off, or cut short, is refused.
	for _, bad := range []string{ci[:len(ci)-1] + string(ci[len(ci)-1]^1), ci[:len(ci)-1], ci + "A", strings.ToUpper(ci), " " + ci, ci[len(TokenPrefix):], ""} {
		if _, err := s.CheckToken(ctx, bad); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("CheckToken(%q): %v, want ErrUnauthorized", bad, err)
		}
	}
	if err := s.RevokeToken(ctx, "ci"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CheckToken(ctx, ci); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("CheckToken(revoked): %v, want ErrUnauthorized", err)
	}
	if tk, err := s.CheckToken(ctx, ops); err != nil || tk.Name != "ops" {
		t.Errorf("CheckToken(ops) after revoking ci: %q, %v", tk.Name, err)
	}
	if err := s.RevokeToken(ctx, "ci"); err != nil {
		t.Errorf("RevokeToken(revoked): %v, want nil", err)
	}
	if err := s.RevokeToken(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("RevokeToken(unknown): %v, want ErrNotFound", err)
	}
	ci2, err := s.CreateToken(ctx, "ci")
	if err != nil {
		t.Fatalf("CreateToken(revoked name): %v", err)
	}
	if tk, err := s.CheckToken(ctx, ci2); err != nil || tk.Name != "ci" {
		t.Errorf("CheckToken(new ci): %q, %v", tk.Name, err)
	}
	if _, err := s.CheckToken(ctx, ci); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("the old ci token works again: %v", err)
	}
	list, err := s.ListTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].Name != "ci" || list[1].Name != "ci" || list[2].Name != "ops" {
		t.Fatalf("ListTokens: %+v", list)
	}
	if list[0].Revoked.IsZero() || !list[1].Revoked.IsZero() || !list[2].Revoked.IsZero() {
		t.Errorf("ListTokens: revoked times %+v", list)
	}
	for _, ti := range list {
		if ti.Created.IsZero() || ti.Created.Location() != time.UTC {
			t.Errorf("token %s created %v", ti.Name, ti.Created)
		}
	}
	for _, bad := range []string{"", strings.Repeat("n", MaxNameLen+1), "new\nline", "nul\x00", "\xff"} {
		if _, err := s.CreateToken(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("CreateToken(%q): %v, want ErrInvalid", bad, err)
		}
	}
}

// testTokenPlaintextNotStored reads every column of the tokens table: only the
// SHA-256 of a token is there.
func testTokenPlaintextNotStored(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	tok, err := s.CreateToken(ctx, "ci")
	if err != nil {
		t.Fatal(err)
	}
	secret, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, TokenPrefix))
	if err != nil || len(secret) != 32 {
		t.Fatalf("token %q does not carry 32 bytes: %v", tok, err)
	}
	sum := sha256.Sum256([]byte(tok))
	rows, err := s.(*sqlStore).r.QueryContext(ctx, `SELECT * FROM api_tokens`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var sawHash bool
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for i, v := range vals {
			var b []byte
			switch v := v.(type) {
			case []byte:
				b = v
			case string:
				b = []byte(v)
			default:
				b = []byte(fmt.Sprint(v))
			}
			for _, needle := range [][]byte{[]byte(tok), []byte(tok[len(TokenPrefix):]), secret, []byte(hex.EncodeToString(secret))} {
				if bytes.Contains(b, needle) {
					t.Errorf("column %s holds the token", cols[i])
				}
			}
			if bytes.Equal(b, sum[:]) {
				sawHash = true
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if !sawHash {
		t.Errorf("no column holds the token's SHA-256")
	}
}

func testConcurrentTokens(t *testing.T, open opener) {
	ctx := context.Background()
	a, b := open(t), open(t)
	const n = 16
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		won     []string
		start   = make(chan struct{})
		stores  = []Store{a, b}
		refused int
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			tok, err := stores[i%2].CreateToken(ctx, "race")
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won = append(won, tok)
			case errors.Is(err, ErrConflict):
				refused++
			default:
				t.Errorf("CreateToken: %v", err)
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(won) != 1 || refused != n-1 {
		t.Fatalf("%d tokens made for one name, %d refused; want 1, %d", len(won), refused, n-1)
	}
	if tk, err := b.CheckToken(ctx, won[0]); err != nil || tk.Name != "race" {
		t.Errorf("CheckToken on the other instance: %q, %v", tk.Name, err)
	}
}

func publicPEM(t testing.TB, pub any) []byte {
	t.Helper()
	p, err := cryptoutils.MarshalPublicKeyToPEM(pub)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func testKeys(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	fingerprint := func(pub any) string {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(der)
		return "SHA256:" + hex.EncodeToString(sum[:])
	}
	// Surrounding text and CRLF line ends are fine: it is still one key.
	ecPEM := append([]byte("# agent lab-7\r\n"), bytes.ReplaceAll(publicPEM(t, ec.Public()), []byte("\n"), []byte("\r\n"))...)
	fpEC, err := s.AddKey(ctx, ecPEM, "lab-7")
	if err != nil {
		t.Fatal(err)
	}
	if fpEC != fingerprint(ec.Public()) || fpEC != certificates.Fingerprint(ec.Public()) {
		t.Errorf("fingerprint %s, want %s", fpEC, fingerprint(ec.Public()))
	}
	fpEd, err := s.AddKey(ctx, publicPEM(t, edPub), "usb-stick")
	if err != nil {
		t.Fatal(err)
	}
	if fpEd != fingerprint(edPub) {
		t.Errorf("fingerprint %s, want %s", fpEd, fingerprint(edPub))
	}
	// Again: the same fingerprint, the first name kept.
	if fp, err := s.AddKey(ctx, publicPEM(t, ec.Public()), "renamed"); err != nil || fp != fpEC {
		t.Errorf("AddKey(same key): %s, %v", fp, err)
	}
	keys, err := s.ActiveKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{fpEC, fpEd}
	slices.Sort(want)
	if len(keys) != 2 || keys[0].Fingerprint != want[0] || keys[1].Fingerprint != want[1] {
		t.Fatalf("ActiveKeys: %+v, want %v", keys, want)
	}
	for _, k := range keys {
		if certificates.Fingerprint(k.PublicKey) != k.Fingerprint {
			t.Errorf("key %s: its PublicKey has fingerprint %s", k.Fingerprint, certificates.Fingerprint(k.PublicKey))
		}
		if k.Added.IsZero() || !k.Revoked.IsZero() {
			t.Errorf("key %s: added %v, revoked %v", k.Fingerprint, k.Added, k.Revoked)
		}
		if !bytes.HasPrefix(k.PEM, []byte("-----BEGIN PUBLIC KEY-----\n")) {
			t.Errorf("key %s: PEM %q", k.Fingerprint, k.PEM)
		}
		wantName := map[string]string{fpEC: "lab-7", fpEd: "usb-stick"}[k.Fingerprint]
		if k.Name != wantName {
			t.Errorf("key %s: name %q, want %q", k.Fingerprint, k.Name, wantName)
		}
	}
	if _, err := s.RevokeKey(ctx, fpEC, Revocation{Reason: "stick lost"}); err != nil {
		t.Fatal(err)
	}
	keys, _ = s.ActiveKeys(ctx)
	if len(keys) != 1 || keys[0].Fingerprint != fpEd {
		t.Errorf("ActiveKeys after revoking: %+v", keys)
	}
	if _, err := s.RevokeKey(ctx, fpEC, Revocation{Reason: "stick lost"}); err != nil {
		t.Errorf("RevokeKey(revoked): %v, want nil", err)
	}
	if _, err := s.AddKey(ctx, publicPEM(t, ec.Public()), "lab-7"); !errors.Is(err, ErrConflict) {
		t.Errorf("AddKey(revoked key): %v, want ErrConflict", err)
	}
	if _, err := s.RevokeKey(ctx, "SHA256:"+strings.Repeat("0", 64), Revocation{Reason: "lost"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("RevokeKey(unknown): %v, want ErrNotFound", err)
	}
	// Keys lists revoked keys too.
	all, err := s.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].Fingerprint != want[0] || all[1].Fingerprint != want[1] {
		t.Fatalf("Keys: %+v, want %v", all, want)
	}
	for _, k := range all {
		if revoked := k.Fingerprint == fpEC; revoked == k.Revoked.IsZero() || revoked == k.RevokedFrom.IsZero() ||
			(k.RevokeReason == "stick lost") != revoked || k.PublicKey == nil {
			t.Errorf("Keys: %s: revoked %v from %v, reason %q", k.Fingerprint, k.Revoked, k.RevokedFrom, k.RevokeReason)
		}
	}
}

// testKeyRevocation: a revocation has an effective time and a reason; the
// certificates received before it stay valid, the later ones do not.
func testKeyRevocation(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	fp, err := s.AddKey(ctx, publicPEM(t, ec.Public()), "stick-3")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	early, late := testRecord(1), testRecord(2)
	early.KeyFingerprint, late.KeyFingerprint = fp, fp
	early.Received = now.Add(-2 * time.Hour)
	late.Received = now.Add(-time.Hour)
	recs := put(t, s, early, late)
	between := now.Add(-90 * time.Minute)

	// Refused: no reason, an unprintable one, a time to come. The key stays active.
	for name, rev := range map[string]Revocation{
		"no reason":    {},
		"blank reason": {Reason: "  "},
		"control":      {Reason: "lost\x1b[31m"},
		"too long":     {Reason: strings.Repeat("x", MaxTextLen+1)},
		"not UTF-8":    {Reason: "lost\xff"},
		"future":       {Reason: "lost", Effective: time.Now().Add(time.Hour)},
	} {
		if _, err := s.RevokeKey(ctx, fp, rev); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: RevokeKey: %v, want ErrInvalid", name, err)
		}
	}
	if keys, err := s.ActiveKeys(ctx); err != nil || len(keys) != 1 {
		t.Fatalf("after refused revocations: %d active keys, %v", len(keys), err)
	}

	// Revoked now: both certificates were received before, both stay valid.
	before := time.Now()
	k, err := s.RevokeKey(ctx, fp, Revocation{Reason: " stick lost "})
	after := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	if k.Fingerprint != fp || k.Name != "stick-3" || k.RevokeReason != "stick lost" || !k.Revoked.Equal(k.RevokedFrom) ||
		k.Revoked.Before(before.Truncate(time.Microsecond)) || k.Revoked.After(after) {
		t.Errorf("revoked now: %+v (between %v and %v)", k, before, after)
	}
	for _, r := range recs {
		if !k.ValidFor(r.Received) {
			t.Errorf("revoked now: the certificate received %v is not valid", r.Received)
		}
	}
	revoked := k.Revoked

	// The compromise began earlier: the effective time moves back, between the two
	// certificates, with the new reason; the time of revoking stays.
	k, err = s.RevokeKey(ctx, fp, Revocation{Reason: "stick copied at the depot", Effective: between})
	if err != nil {
		t.Fatal(err)
	}
	if !k.RevokedFrom.Equal(between.Truncate(time.Microsecond)) || k.RevokeReason != "stick copied at the depot" || !k.Revoked.Equal(revoked) {
		t.Errorf("moved earlier: %+v, want effective %v", k, between)
	}
	if !k.ValidFor(recs[0].Received) || k.ValidFor(recs[1].Received) {
		t.Errorf("effective %v: received %v valid %v, received %v valid %v; want true, false", k.RevokedFrom,
			recs[0].Received, k.ValidFor(recs[0].Received), recs[1].Received, k.ValidFor(recs[1].Received))
	}
	if k.ValidFor(k.RevokedFrom) || !k.ValidFor(k.RevokedFrom.Add(-time.Microsecond)) {
		t.Error("a certificate received at the effective time itself must not be valid, one a microsecond earlier must")
	}
	// A later time changes nothing: a revocation never shrinks.
	if k2, err := s.RevokeKey(ctx, fp, Revocation{Reason: "found again", Effective: now.Add(-time.Minute)}); err != nil ||
		!k2.RevokedFrom.Equal(k.RevokedFrom) || k2.RevokeReason != k.RevokeReason {
		t.Errorf("later effective time: %+v, %v; want %+v unchanged", k2, err, k)
	}
	// Another instance sees the same, through Keys.
	keys, err := open(t).Keys(ctx)
	if err != nil || len(keys) != 1 {
		t.Fatalf("Keys: %+v, %v", keys, err)
	}
	if got := keys[0]; !got.Revoked.Equal(k.Revoked) || !got.RevokedFrom.Equal(k.RevokedFrom) || got.RevokeReason != k.RevokeReason {
		t.Errorf("Keys: %+v, want %+v", got, k)
	}
	if active, err := s.ActiveKeys(ctx); err != nil || len(active) != 0 {
		t.Errorf("ActiveKeys: %+v, %v; want none", active, err)
	}
}

// testMigrateRevocation: a key revoked under schema version 3, which kept no
// effective time, takes effect when it was revoked; its certificates received
// before stay valid.
func testMigrateRevocation(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	fp, err := s.AddKey(ctx, publicPEM(t, ec.Public()), "old")
	if err != nil {
		t.Fatal(err)
	}
	rec := testRecord(1)
	rec.KeyFingerprint = fp
	rec = put(t, s, rec)[0]
	revoked := rec.Received.Add(time.Millisecond)
	// Back to version 3, as a registry of before left the database, with the key
	// revoked its way.
	ss := s.(*sqlStore)
	for _, stmt := range []string{
		`ALTER TABLE certificates DROP COLUMN log_checkpoint`, // version 6
		`ALTER TABLE agent_keys DROP COLUMN revoked_from`,
		`ALTER TABLE agent_keys DROP COLUMN revoke_reason`,
		`ALTER TABLE api_tokens DROP COLUMN scopes`,
		`DROP TABLE webhook_deliveries`, // version 7
		`DROP TABLE webhook_endpoints`,
		`DROP TABLE job_certificates`, // version 8
		`DROP TABLE job_plans`,
		`DELETE FROM schema_migrations WHERE version >= 4`,
	} {
		if _, err := ss.w.ExecContext(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if _, err := ss.w.ExecContext(ctx, `UPDATE agent_keys SET revoked = $1 WHERE fingerprint = $2`, ss.d.timeArg(revoked), fp); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	keys, err := open(t).Keys(ctx)
	if err != nil || len(keys) != 1 {
		t.Fatalf("Keys after migrating: %+v, %v", keys, err)
	}
	k := keys[0]
	if !k.Revoked.Equal(revoked) || !k.RevokedFrom.Equal(revoked) || k.RevokeReason != "" {
		t.Errorf("migrated key: revoked %v from %v reason %q; want %v from %v and no reason", k.Revoked, k.RevokedFrom, k.RevokeReason, revoked, revoked)
	}
	if !k.ValidFor(rec.Received) {
		t.Errorf("the certificate received %v, before the revocation at %v, is not valid", rec.Received, revoked)
	}
}

func testKeysInvalid(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	good := publicPEM(t, ec.Public())
	der, _ := x509.MarshalECPrivateKey(ec)
	private := cryptoutils.PEMEncode(cryptoutils.ECPrivateKeyPEMType, der)
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	broken := bytes.Replace(good, []byte("MFkw"), []byte("MFkx"), 1)
	for name, tc := range map[string]struct {
		pem  []byte
		name string
	}{
		"empty":       {nil, "k"},
		"not PEM":     {[]byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"), "k"},
		"private key": {private, "k"},
		"two keys":    {append(slices.Clone(good), publicPEM(t, ec2.Public())...), "k"},
		"broken DER":  {broken, "k"},
		"weak RSA":    {publicPEM(t, weak.Public()), "k"},
		"certificate": {[]byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"), "k"},
		"no name":     {good, ""},
		"bad name":    {good, "a\x00b"},
	} {
		if _, err := s.AddKey(ctx, tc.pem, tc.name); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: AddKey: %v, want ErrInvalid", name, err)
		}
	}
	if keys, err := s.ActiveKeys(ctx); err != nil || len(keys) != 0 {
		t.Errorf("ActiveKeys: %d keys, %v; want none", len(keys), err)
	}
}

// testReopen: data outlives the handle, and opening again (migrations included)
// changes nothing.
func testReopen(t *testing.T, open opener) {
	ctx := context.Background()
	s := open(t)
	r := put(t, s, testRecord(1))[0]
	tok, err := s.CreateToken(ctx, "ci")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := open(t)
	got, err := s2.GetCertificate(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameRecord(t, got, r)
	if tk, err := s2.CheckToken(ctx, tok); err != nil || tk.Name != "ci" {
		t.Errorf("CheckToken after reopening: %q, %v", tk.Name, err)
	}
	var versions int
	if err := s2.(*sqlStore).r.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&versions); err != nil {
		t.Fatal(err)
	}
	if want := len(s2.(*sqlStore).d.migrations()); versions != want {
		t.Errorf("%d schema versions recorded, want %d", versions, want)
	}
}
