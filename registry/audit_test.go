package registry

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/decom-project/decom/registry/tlog"
)

// switchingProxy is one address in front of registries that take turns answering
// it: what an auditor sees when the registry it knows is restored from an old
// backup, or replaced by a forged one.
type switchingProxy struct {
	URL    string
	target atomic.Pointer[url.URL]
}

func newSwitchingProxy(t *testing.T, first *testRegistry) *switchingProxy {
	t.Helper()
	p := &switchingProxy{}
	p.switchTo(t, first)
	rp := &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(p.target.Load()) }}
	hs := httptest.NewServer(rp)
	t.Cleanup(hs.Close)
	p.URL = hs.URL
	return p
}

func (p *switchingProxy) switchTo(t *testing.T, r *testRegistry) {
	t.Helper()
	u, err := url.Parse(r.URL)
	if err != nil {
		t.Fatal(err)
	}
	p.target.Store(u)
}

// keyRequests counts the requests for the log's key that pass through it.
type keyRequests struct {
	n    atomic.Int32
	next http.RoundTripper
}

func (k *keyRequests) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path == "/api/v1/log/key" {
		k.n.Add(1)
	}
	return k.next.RoundTrip(r)
}

// logged uploads a new certificate to reg and returns its ID and bundle.
func (r *testRegistry) logged(t *testing.T, serial string) (string, []byte) {
	t.Helper()
	c := r.certificate(t, testCert{Serial: serial})
	return c.ID, r.upload(t, c)[0]
}

// stateFile is where an Auditor of registryURL keeps one kind of memory, spelt out
// here independently of the code: the layout is what earlier versions of decom
// wrote, and their pinned keys must keep working.
func stateFile(dir, registryURL, kind string) string {
	sum := sha256.Sum256([]byte(strings.TrimSuffix(registryURL, "/")))
	return filepath.Join(dir, "registry", hex.EncodeToString(sum[:])[:16]+"."+kind)
}

func readState(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestAuditorPinsLogKeyOnFirstUse(t *testing.T) {
	ctx := t.Context()
	reg := newTestRegistry(t)
	state := t.TempDir()
	asked := &keyRequests{next: http.DefaultTransport}
	auditor := func(u string) *Auditor {
		return &Auditor{Client: &Client{URL: u, HTTP: &http.Client{Transport: asked}}, StateDir: state}
	}

	id, bundle := reg.logged(t, "S1")
	first, err := auditor(reg.URL).Check(ctx, id, bundle)
	if err != nil {
		t.Fatal(err)
	}
	if first.Previous != nil || first.Receipt.LogIndex != 0 || first.Checkpoint.Size != 1 || first.Checkpoint.Origin != reg.Origin {
		t.Errorf("first check: previous %v, entry %d of %d, origin %q; want none, 0 of 1, %q",
			first.Previous, first.Receipt.LogIndex, first.Checkpoint.Size, first.Checkpoint.Origin, reg.Origin)
	}
	if got := readState(t, stateFile(state, reg.URL, "logkey")); got != reg.LogKey+"\n" {
		t.Errorf("pinned key %q, want %q", got, reg.LogKey+"\n")
	}
	if got := readState(t, stateFile(state, reg.URL, "checkpoint")); got != first.Receipt.Checkpoint {
		t.Errorf("remembered checkpoint %q, want the receipt's %q", got, first.Receipt.Checkpoint)
	}

	// The same registry, spelt with a trailing slash: the same memory; the key is
	// not asked for again, and the grown log is proved to extend the one seen.
	id, bundle = reg.logged(t, "S2")
	second, err := auditor(reg.URL+"/").Check(ctx, id, bundle)
	if err != nil {
		t.Fatal(err)
	}
	if second.Previous == nil || second.Previous.Size != 1 || second.Checkpoint.Size != 2 || second.Receipt.LogIndex != 1 {
		t.Errorf("second check: previous %v, entry %d of %d; want the 1-entry log, 1 of 2", second.Previous, second.Receipt.LogIndex, second.Checkpoint.Size)
	}
	if n := asked.n.Load(); n != 1 {
		t.Errorf("the registry was asked for its log key %d times, want once (then pinned)", n)
	}
	if got := readState(t, stateFile(state, reg.URL, "checkpoint")); got != second.Receipt.Checkpoint {
		t.Errorf("remembered checkpoint after the second check %q, want %q", got, second.Receipt.Checkpoint)
	}
}

// A key pinned by an earlier version of decom, in the file it wrote, is the key
// used: the registry is not asked.
func TestAuditorUsesKeyPinnedBefore(t *testing.T) {
	reg := newTestRegistry(t)
	state := t.TempDir()
	path := stateFile(state, reg.URL, "logkey")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(reg.LogKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	asked := &keyRequests{next: http.DefaultTransport}
	a := &Auditor{Client: &Client{URL: reg.URL, HTTP: &http.Client{Transport: asked}}, StateDir: state}
	id, bundle := reg.logged(t, "S1")
	if _, err := a.Check(t.Context(), id, bundle); err != nil {
		t.Fatal(err)
	}
	if n := asked.n.Load(); n != 0 {
		t.Errorf("the registry was asked for its log key %d times with a key pinned", n)
	}
}

// A registry that signs with another key than the one pinned is refused, and the
// pinned key is not replaced by the registry's answer.
func TestAuditorRefusesKeyOtherThanPinned(t *testing.T) {
	ctx := t.Context()
	genuine, impostor := newTestRegistry(t), newTestRegistry(t)
	proxy := newSwitchingProxy(t, genuine)
	state := t.TempDir()
	a := &Auditor{Client: &Client{URL: proxy.URL}, StateDir: state}
	id, bundle := genuine.logged(t, "S1")
	if _, err := a.Check(ctx, id, bundle); err != nil {
		t.Fatal(err)
	}
	rememberedBefore := readState(t, stateFile(state, proxy.URL, "checkpoint"))

	proxy.switchTo(t, impostor)
	if key, err := a.Client.LogKey(ctx); err != nil || key != impostor.LogKey {
		t.Fatalf("the registry now answers the key %q (%v), want the impostor's", key, err)
	}
	id, bundle = impostor.logged(t, "S2")
	_, err := a.Check(ctx, id, bundle)
	if !errors.Is(err, ErrInconsistent) || !strings.Contains(err.Error(), "checkpoint") {
		t.Errorf("check against another key: %v; want ErrInconsistent about the checkpoint", err)
	}
	if got := readState(t, stateFile(state, proxy.URL, "logkey")); got != genuine.LogKey+"\n" {
		t.Errorf("pinned key after the refusal %q, want the genuine %q", got, genuine.LogKey+"\n")
	}
	if got := readState(t, stateFile(state, proxy.URL, "checkpoint")); got != rememberedBefore {
		t.Errorf("a refused check changed the remembered checkpoint to %q", got)
	}
}

// A key given by the caller is used as is and not pinned: a wrong one fails.
func TestAuditorGivenKey(t *testing.T) {
	ctx := t.Context()
	reg := newTestRegistry(t)
	_, otherKey, err := tlog.GenerateKey(reg.Origin)
	if err != nil {
		t.Fatal(err)
	}
	id, bundle := reg.logged(t, "S1")

	state := t.TempDir()
	asked := &keyRequests{next: http.DefaultTransport}
	a := &Auditor{Client: &Client{URL: reg.URL, HTTP: &http.Client{Transport: asked}}, StateDir: state, LogKey: reg.LogKey}
	if _, err := a.Check(ctx, id, bundle); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stateFile(state, reg.URL, "logkey")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a given key was pinned (%v)", err)
	}
	if n := asked.n.Load(); n != 0 {
		t.Errorf("the registry was asked for its log key %d times with a key given", n)
	}

	state = t.TempDir()
	a = &Auditor{Client: &Client{URL: reg.URL}, StateDir: state, LogKey: otherKey}
	if _, err := a.Check(ctx, id, bundle); !errors.Is(err, ErrInconsistent) {
		t.Errorf("check with the wrong key given: %v, want ErrInconsistent", err)
	}
	if _, err := os.Stat(stateFile(state, reg.URL, "checkpoint")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused check remembered its checkpoint (%v)", err)
	}
}

// twoLogs returns two registries whose logs are signed with one key: to an auditor
// they are the same log, and their histories differ.
func twoLogs(t *testing.T) (*testRegistry, *testRegistry) {
	t.Helper()
	skey, vkey, err := tlog.GenerateKey(testOrigin)
	if err != nil {
		t.Fatal(err)
	}
	return newTestRegistryWithLogKey(t, skey, vkey), newTestRegistryWithLogKey(t, skey, vkey)
}

// The log shrank since the last check (the registry was restored from an old
// backup): refused, and the larger checkpoint stays remembered.
func TestAuditorRefusesShrunkLog(t *testing.T) {
	ctx := t.Context()
	current, old := twoLogs(t)
	proxy := newSwitchingProxy(t, current)
	state := t.TempDir()
	a := &Auditor{Client: &Client{URL: proxy.URL}, StateDir: state}
	current.logged(t, "S1")
	current.logged(t, "S2")
	id, bundle := current.logged(t, "S3")
	if audit, err := a.Check(ctx, id, bundle); err != nil || audit.Checkpoint.Size != 3 {
		t.Fatalf("check of the 3-entry log: %v (size %d)", err, audit.Checkpoint.Size)
	}
	remembered := readState(t, stateFile(state, proxy.URL, "checkpoint"))

	proxy.switchTo(t, old)
	id, bundle = old.logged(t, "S1")
	_, err := a.Check(ctx, id, bundle)
	if !errors.Is(err, ErrInconsistent) || !strings.Contains(err.Error(), "the log shrank from 3 to 1 entries") {
		t.Errorf("check of a log that shrank: %v; want ErrInconsistent, shrank from 3 to 1", err)
	}
	if got := readState(t, stateFile(state, proxy.URL, "checkpoint")); got != remembered {
		t.Errorf("a refused check changed the remembered checkpoint to %q", got)
	}
}

// A log that is not an extension of the one seen before (a fork, longer or of the
// same size) is refused; the log seen before, grown, is still accepted.
func TestAuditorRefusesForkedLog(t *testing.T) {
	for _, c := range []struct {
		name string
		fork int // entries in the fork; the log seen before has 2
	}{{"longer", 3}, {"same size", 2}} {
		t.Run(c.name, func(t *testing.T) {
			ctx := t.Context()
			seen, fork := twoLogs(t)
			proxy := newSwitchingProxy(t, seen)
			state := t.TempDir()
			a := &Auditor{Client: &Client{URL: proxy.URL}, StateDir: state}
			seen.logged(t, "A1")
			id, bundle := seen.logged(t, "A2")
			if _, err := a.Check(ctx, id, bundle); err != nil {
				t.Fatal(err)
			}
			remembered := readState(t, stateFile(state, proxy.URL, "checkpoint"))

			proxy.switchTo(t, fork)
			for i := range c.fork {
				id, bundle = fork.logged(t, "F"+string(rune('1'+i)))
			}
			_, err := a.Check(ctx, id, bundle)
			if !errors.Is(err, ErrInconsistent) || !strings.Contains(err.Error(), "does not extend the 2-entry log seen before") {
				t.Errorf("check of a forked log of %d entries: %v; want ErrInconsistent, does not extend", c.fork, err)
			}
			if got := readState(t, stateFile(state, proxy.URL, "checkpoint")); got != remembered {
				t.Errorf("a refused check changed the remembered checkpoint to %q", got)
			}

			proxy.switchTo(t, seen)
			id, bundle = seen.logged(t, "A3")
			audit, err := a.Check(ctx, id, bundle)
			if err != nil || audit.Previous == nil || audit.Previous.Size != 2 || audit.Checkpoint.Size != 3 {
				t.Errorf("check of the log seen before, grown: %v, %+v", err, audit)
			}
		})
	}
}

// What the Auditor remembers is signed: a remembered checkpoint that does not
// verify with the log's key fails the check rather than being replaced.
func TestAuditorRefusesBadMemory(t *testing.T) {
	reg := newTestRegistry(t)
	state := t.TempDir()
	path := stateFile(state, reg.URL, "checkpoint")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("registry.test/decom\n1\nAAAA\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	id, bundle := reg.logged(t, "S1")
	a := &Auditor{Client: &Client{URL: reg.URL}, StateDir: state, LogKey: reg.LogKey}
	if _, err := a.Check(t.Context(), id, bundle); !errors.Is(err, ErrInconsistent) || !strings.Contains(err.Error(), "remembered") {
		t.Errorf("check with an unsigned remembered checkpoint: %v; want ErrInconsistent about it", err)
	}
}

// A certificate that is not the entry the receipt names fails; a registry that is
// not there is unreachable, not inconsistent.
func TestAuditorOtherFailures(t *testing.T) {
	ctx := t.Context()
	reg := newTestRegistry(t)
	id, bundle := reg.logged(t, "S1")
	a := &Auditor{Client: &Client{URL: reg.URL}, StateDir: t.TempDir()}
	if _, err := a.Check(ctx, id, append(bundle, ' ')); !errors.Is(err, ErrInconsistent) {
		t.Errorf("check of an altered bundle: %v, want ErrInconsistent", err)
	}
	if _, err := a.Check(ctx, "no-such-certificate", bundle); !errors.Is(err, ErrRejected) {
		t.Errorf("check of an unknown certificate: %v, want ErrRejected", err)
	}
	a = &Auditor{Client: &Client{URL: "http://" + closedAddr(t)}, StateDir: t.TempDir()}
	if _, err := a.Check(ctx, id, bundle); !errors.Is(err, ErrUnreachable) {
		t.Errorf("check of a registry that is not there: %v, want ErrUnreachable", err)
	}
}

// closedAddr is a 127.0.0.1 address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestDefaultStateDir(t *testing.T) {
	t.Setenv("DECOM_STATE_DIR", "/somewhere/state")
	if got := DefaultStateDir(); got != "/somewhere/state" {
		t.Errorf("with DECOM_STATE_DIR: %q", got)
	}
	t.Setenv("DECOM_STATE_DIR", "")
	t.Setenv("HOME", "/home/auditor")
	if got := DefaultStateDir(); got != "/home/auditor/.local/state/decom" {
		t.Errorf("without DECOM_STATE_DIR: %q", got)
	}
}
