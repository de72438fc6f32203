package tlog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	"k8s.io/klog/v2"
)

const testOrigin = "decom.example/registry"

func TestMain(m *testing.M) {
	// tessera logs through klog; keep benchmark output parseable.
	klog.LogToStderr(false)
	klog.SetOutput(io.Discard)
	os.Exit(m.Run())
}

// testKey returns a signer and verifier key for origin.
func testKey(t testing.TB, origin string) (note.Signer, string, string) {
	t.Helper()
	skey, vkey, err := GenerateKey(origin)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	return s, skey, vkey
}

// logDir returns a fresh directory removed at the end of the test. Unlike t.TempDir it retries the
// removal: tessera's goroutines are told to stop by Close but cannot be joined, and one may still
// be finishing a write.
func logDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "tlog-test-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for i := 0; ; i++ {
			err := os.RemoveAll(dir)
			if err == nil || i == 20 {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	return dir
}

func openLog(t testing.TB, dir string, s note.Signer) *Log {
	t.Helper()
	l, err := Open(context.Background(), dir, s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// makeEntry returns a distinct entry about the size of a Sigstore bundle.
func makeEntry(n uint64) []byte {
	return fmt.Appendf(nil, `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","n":%d,"pad":%q}`, n, strings.Repeat("A", 2000))
}

func latest(t testing.TB, l *Log, vkey string) ([]byte, Checkpoint) {
	t.Helper()
	raw, err := l.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cp, err := VerifyCheckpoint(raw, vkey)
	if err != nil {
		t.Fatal(err)
	}
	return raw, cp
}

// appendAll appends entries [0, n) from the given number of goroutines and returns their indices.
func appendAll(t testing.TB, l *Log, n, workers int) []uint64 {
	t.Helper()
	idx := make([]uint64, n)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				got, err := l.Append(context.Background(), makeEntry(uint64(i)))
				if err != nil {
					errs <- err
					return
				}
				idx[i] = got
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return idx
}

func TestAppendConcurrentProofs(t *testing.T) {
	s, _, vkey := testKey(t, testOrigin)
	l := openLog(t, logDir(t), s)
	defer l.Close()
	ctx := context.Background()

	const n = 2000
	start := time.Now()
	idx := appendAll(t, l, n, 64)
	t.Logf("%d appends from 64 goroutines in %v", n, time.Since(start))

	// Every index is used once, and each acknowledged entry is covered by the latest checkpoint.
	leaves := make([][]byte, n)
	for i, x := range idx {
		if x >= n || leaves[x] != nil {
			t.Fatalf("entry %d got index %d: out of range or taken", i, x)
		}
		leaves[x] = makeEntry(uint64(i))
	}
	_, cp := latest(t, l, vkey)
	if cp.Origin != testOrigin || cp.Size != n {
		t.Fatalf("checkpoint %q size %d, want %q size %d", cp.Origin, cp.Size, testOrigin, n)
	}
	for i, x := range idx {
		p, err := l.InclusionProof(ctx, x, cp.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyInclusion(makeEntry(uint64(i)), x, p, cp); err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if got, ok := l.Lookup(makeEntry(uint64(i))); !ok || got != x {
			t.Fatalf("Lookup(entry %d) = %d, %v; want %d", i, got, ok, x)
		}
	}

	// Roots of earlier sizes, computed independently, so that proofs to sizes that were never
	// published (partial tiles of every width) can be checked too.
	sizes := []uint64{1, 2, 3, 7, 255, 256, 257, 511, 512, 513, 1000, 1024, 1999, n}
	roots := map[uint64]Checkpoint{}
	rf := compact.RangeFactory{Hash: rfc6962.DefaultHasher.HashChildren}
	r := rf.NewEmptyRange(0)
	for i, e := range leaves {
		if err := r.Append(rfc6962.DefaultHasher.HashLeaf(e), nil); err != nil {
			t.Fatal(err)
		}
		size := uint64(i + 1)
		root, err := r.GetRootHash(nil)
		if err != nil {
			t.Fatal(err)
		}
		roots[size] = Checkpoint{Origin: testOrigin, Size: size, Hash: root}
	}
	if !bytes.Equal(roots[n].Hash, cp.Hash) {
		t.Fatal("checkpoint root differs from the root of the entries in index order")
	}
	checkSizes := func() {
		t.Helper()
		for _, a := range sizes {
			for _, b := range sizes {
				if a > b {
					continue
				}
				p, err := l.ConsistencyProof(ctx, a, b)
				if err != nil {
					t.Fatal(err)
				}
				if err := VerifyConsistency(roots[a], roots[b], p); err != nil {
					t.Fatalf("consistency %d -> %d: %v", a, b, err)
				}
			}
			for _, i := range []uint64{0, a / 2, a - 1} {
				p, err := l.InclusionProof(ctx, i, a)
				if err != nil {
					t.Fatal(err)
				}
				if err := VerifyInclusion(leaves[i], i, p, roots[a]); err != nil {
					t.Fatalf("inclusion of %d in %d: %v", i, a, err)
				}
			}
		}
	}
	checkSizes()
	// Once a tile is full, tessera's garbage collector deletes its partial versions; proofs for
	// older sizes then come from the full tile.
	removed := 0
	err := filepath.WalkDir(filepath.Join(l.dir, "tile"), func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() || !strings.HasSuffix(path, ".p") {
			return err
		}
		if _, err := os.Stat(strings.TrimSuffix(path, ".p")); err == nil {
			removed++
			if err := os.RemoveAll(path); err != nil {
				return err
			}
			return fs.SkipDir
		}
		return nil
	})
	if err != nil || removed == 0 {
		t.Fatalf("removing partial tiles: %v (%d removed)", err, removed)
	}
	l.tiles.Purge()
	checkSizes()

	// Requests beyond the published log are refused.
	if _, err := l.InclusionProof(ctx, n, n+1); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("InclusionProof beyond the log: %v, want ErrOutOfRange", err)
	}
	if _, err := l.InclusionProof(ctx, 5, 5); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("InclusionProof of index == size: %v, want ErrOutOfRange", err)
	}
	if _, err := l.ConsistencyProof(ctx, 10, n+1); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("ConsistencyProof beyond the log: %v, want ErrOutOfRange", err)
	}
	if _, err := l.ConsistencyProof(ctx, 11, 10); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("ConsistencyProof backwards: %v, want ErrOutOfRange", err)
	}
}

func TestAppendDuplicate(t *testing.T) {
	s, _, vkey := testKey(t, testOrigin)
	l := openLog(t, logDir(t), s)
	defer l.Close()
	ctx := context.Background()

	first, err := l.Append(ctx, []byte("certificate A"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := l.Append(ctx, []byte("certificate A"))
	if err != nil {
		t.Fatal(err)
	}
	if first != again {
		t.Fatalf("same entry got indices %d and %d", first, again)
	}

	// Concurrent appends of one new entry share a single index.
	var wg sync.WaitGroup
	got := make([]uint64, 16)
	for i := range got {
		wg.Go(func() {
			x, err := l.Append(ctx, []byte("certificate B"))
			if err != nil {
				t.Error(err)
			}
			got[i] = x
		})
	}
	wg.Wait()
	for _, x := range got {
		if x != got[0] {
			t.Fatalf("concurrent appends of one entry got indices %v", got)
		}
	}
	if _, cp := latest(t, l, vkey); cp.Size != 2 {
		t.Fatalf("log size %d after appending two distinct entries, want 2", cp.Size)
	}
	if _, ok := l.Lookup([]byte("certificate C")); ok {
		t.Error("Lookup found an entry that was never appended")
	}
	if _, err := l.Append(ctx, make([]byte, MaxEntrySize+1)); !errors.Is(err, ErrEntryTooLarge) {
		t.Errorf("oversized entry: %v, want ErrEntryTooLarge", err)
	}
}

func TestVerifyRejects(t *testing.T) {
	s, _, vkey := testKey(t, testOrigin)
	_, _, otherVkey := testKey(t, "other.example/log")
	_, _, sameNameVkey := testKey(t, testOrigin) // same origin, different key
	l := openLog(t, logDir(t), s)
	defer l.Close()
	ctx := context.Background()
	appendAll(t, l, 300, 128)
	raw, cp := latest(t, l, vkey)

	// Checkpoints.
	for name, key := range map[string]string{"other key": otherVkey, "same name, other key": sameNameVkey} {
		if _, err := VerifyCheckpoint(raw, key); !errors.Is(err, ErrInvalidCheckpoint) {
			t.Errorf("%s: VerifyCheckpoint = %v, want ErrInvalidCheckpoint", name, err)
		}
	}
	forged := bytes.Replace(raw, fmt.Appendf(nil, "\n%d\n", cp.Size), fmt.Appendf(nil, "\n%d\n", cp.Size+1), 1)
	if bytes.Equal(forged, raw) {
		t.Fatal("test did not alter the checkpoint")
	}
	if _, err := VerifyCheckpoint(forged, vkey); !errors.Is(err, ErrInvalidCheckpoint) {
		t.Errorf("altered checkpoint: VerifyCheckpoint = %v, want ErrInvalidCheckpoint", err)
	}
	if _, err := VerifyCheckpoint(raw, "not a key"); err == nil {
		t.Error("VerifyCheckpoint accepted a malformed verifier key")
	}
	// A checkpoint signed by another key under the same origin.
	impostor, _, _ := testKey(t, testOrigin)
	signed, err := note.Sign(&note.Note{Text: fmt.Sprintf("%s\n%d\n%s\n", testOrigin, cp.Size, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")}, impostor)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyCheckpoint(signed, vkey); !errors.Is(err, ErrInvalidCheckpoint) {
		t.Errorf("impostor checkpoint: VerifyCheckpoint = %v, want ErrInvalidCheckpoint", err)
	}

	// Inclusion proofs.
	const i = 123
	entry := makeEntry(i)
	idx, ok := l.Lookup(entry)
	if !ok {
		t.Fatal("entry not found")
	}
	p, err := l.InclusionProof(ctx, idx, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyInclusion(entry, idx, p, cp); err != nil {
		t.Fatal(err)
	}
	tampered := bytes.Clone(entry)
	tampered[len(tampered)/2] ^= 1
	if err := VerifyInclusion(tampered, idx, p, cp); !errors.Is(err, ErrInvalidProof) {
		t.Errorf("tampered entry: %v, want ErrInvalidProof", err)
	}
	if err := VerifyInclusion(entry, idx^1, p, cp); !errors.Is(err, ErrInvalidProof) {
		t.Errorf("wrong index: %v, want ErrInvalidProof", err)
	}
	if err := VerifyInclusion(entry, idx, p[:len(p)-1], cp); !errors.Is(err, ErrInvalidProof) {
		t.Errorf("truncated proof: %v, want ErrInvalidProof", err)
	}
	for k := range p {
		bad := make([][]byte, len(p))
		copy(bad, p)
		bad[k] = bytes.Clone(p[k])
		bad[k][0] ^= 0x80
		if err := VerifyInclusion(entry, idx, bad, cp); !errors.Is(err, ErrInvalidProof) {
			t.Errorf("proof hash %d flipped: %v, want ErrInvalidProof", k, err)
		}
	}
	// Modifying a returned proof must not corrupt the server's cache.
	p[0][0] ^= 0xff
	p2, err := l.InclusionProof(ctx, idx, cp.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyInclusion(entry, idx, p2, cp); err != nil {
		t.Fatalf("proof after the caller modified an earlier one: %v", err)
	}

	// Consistency proofs.
	old := cp
	appendAll(t, l, 600, 128) // entries 300..599 are new
	_, cur := latest(t, l, vkey)
	cproof, err := l.ConsistencyProof(ctx, old.Size, cur.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyConsistency(old, cur, cproof); err != nil {
		t.Fatal(err)
	}
	bad := make([][]byte, len(cproof))
	copy(bad, cproof)
	bad[0] = bytes.Clone(bad[0])
	bad[0][5] ^= 1
	if err := VerifyConsistency(old, cur, bad); !errors.Is(err, ErrInvalidProof) {
		t.Errorf("tampered consistency proof: %v, want ErrInvalidProof", err)
	}
	forgedOld := old
	forgedOld.Hash = bytes.Clone(old.Hash)
	forgedOld.Hash[0] ^= 1
	if err := VerifyConsistency(forgedOld, cur, cproof); !errors.Is(err, ErrInvalidProof) {
		t.Errorf("forked older root: %v, want ErrInvalidProof", err)
	}
	otherOrigin := old
	otherOrigin.Origin = "other.example/log"
	if err := VerifyConsistency(otherOrigin, cur, cproof); !errors.Is(err, ErrInvalidProof) {
		t.Errorf("different origins: %v, want ErrInvalidProof", err)
	}
}

func TestReopen(t *testing.T) {
	s, _, vkey := testKey(t, testOrigin)
	dir := logDir(t)
	ctx := context.Background()

	l := openLog(t, dir, s)
	idx := appendAll(t, l, 700, 128)
	raw1, cp1 := latest(t, l, vkey)
	if _, err := Open(ctx, dir, s); !errors.Is(err, ErrLocked) {
		t.Errorf("second Open of the same directory: %v, want ErrLocked", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, []byte("late")); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: %v, want ErrClosed", err)
	}

	// Another key may not take over the log.
	other, _, _ := testKey(t, testOrigin)
	if l2, err := Open(ctx, dir, other); err == nil {
		l2.Close()
		t.Fatal("Open with a different key succeeded")
	}

	l = openLog(t, dir, s)
	defer l.Close()
	raw2, cp2 := latest(t, l, vkey)
	if !bytes.Equal(raw1, raw2) || cp2.Size != 700 {
		t.Fatalf("checkpoint after reopen: size %d, same bytes %v", cp2.Size, bytes.Equal(raw1, raw2))
	}
	for i, x := range idx {
		e := makeEntry(uint64(i))
		p, err := l.InclusionProof(ctx, x, cp2.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := VerifyInclusion(e, x, p, cp2); err != nil {
			t.Fatal(err)
		}
		if i%50 == 0 { // the duplicate index survives the restart
			again, err := l.Append(ctx, e)
			if err != nil || again != x {
				t.Fatalf("re-append of entry %d after reopen: %d, %v; want %d", i, again, err, x)
			}
		}
	}
	appendAll(t, l, 900, 128) // 200 new entries
	_, cp3 := latest(t, l, vkey)
	if cp3.Size != 900 {
		t.Fatalf("size %d after 200 more entries, want 900", cp3.Size)
	}
	p, err := l.ConsistencyProof(ctx, cp1.Size, cp3.Size)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyConsistency(cp1, cp3, p); err != nil {
		t.Fatal(err)
	}
}

func TestGenerateKey(t *testing.T) {
	if _, _, err := GenerateKey("bad origin"); err == nil {
		t.Error("GenerateKey accepted an origin with a space")
	}
	skey, vkey, err := GenerateKey(testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(skey, "PRIVATE+KEY+"+testOrigin+"+") || !strings.HasPrefix(vkey, testOrigin+"+") {
		t.Errorf("keys %q / %q not in note format", skey, vkey)
	}
}

func TestVerifierKey(t *testing.T) {
	for range 5 {
		skey, vkey, err := GenerateKey(testOrigin)
		if err != nil {
			t.Fatal(err)
		}
		got, err := VerifierKey(skey)
		if err != nil || got != vkey {
			t.Fatalf("VerifierKey: %q, %v; want %q", got, err, vkey)
		}
	}
	skey, _, _ := GenerateKey(testOrigin)
	f := strings.SplitN(skey, "+", 5)
	prefix := strings.Join(f[:4], "+")
	for _, bad := range []string{"", "PRIVATE+KEY+x", skey[:len(skey)-8], vkeyOf(t), prefix + "+AQID"} {
		if _, err := VerifierKey(bad); err == nil {
			t.Errorf("VerifierKey(%q) accepted it", bad)
		}
	}
}

func vkeyOf(t *testing.T) string {
	_, vkey, err := GenerateKey(testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	return vkey
}
