package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFetchPinnedHTTPS: a network boot's config comes over https when the image
// carries the server's CA certificate where Go reads the system's roots
// (/etc/ssl/certs/ca-certificates.crt: decom image build --ca-file puts it there), and
// not without it. Go loads those roots once per process, from SSL_CERT_FILE when it
// is set, so each case runs in a child process of the test binary with its own.
func TestFetchPinnedHTTPS(t *testing.T) {
	if os.Getenv("DECOM_TEST_FETCH_URL") != "" {
		return // the child's own run of this test: fetchPinnedChild does the work
	}
	body := []byte("operator:\n  name: TLS\n")
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	defer srv.Close()
	sum := sha256.Sum256(body)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca-certificates.crt")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "none.crt")
	os.WriteFile(empty, nil, 0o644)
	noDir := t.TempDir() // SSL_CERT_DIR: no certificates from elsewhere
	for _, tc := range []struct {
		name, roots string
		ok          bool
	}{{"with the CA", ca, true}, {"without it", empty, false}} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestFetchPinnedHTTPSChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+tc.roots, "SSL_CERT_DIR="+noDir,
			"DECOM_TEST_FETCH_URL="+srv.URL+"/config.yaml", "DECOM_TEST_FETCH_SHA256="+hex.EncodeToString(sum[:]))
		out, err := cmd.CombinedOutput()
		if (err == nil) != tc.ok {
			t.Errorf("%s: fetch succeeded %v, want %v:\n%s", tc.name, err == nil, tc.ok, out)
		}
		if !tc.ok && !strings.Contains(string(out), "certificate") {
			t.Errorf("%s: failed, but not for want of a trusted certificate:\n%s", tc.name, out)
		}
	}
}

// TestFetchPinnedHTTPSChild is TestFetchPinnedHTTPS's child: it fetches the URL it is
// given with the agent's fetchPinned.
func TestFetchPinnedHTTPSChild(t *testing.T) {
	url := os.Getenv("DECOM_TEST_FETCH_URL")
	if url == "" {
		t.Skip("run by TestFetchPinnedHTTPS")
	}
	b, err := fetchPinned(context.Background(), newFakeClock(), url, os.Getenv("DECOM_TEST_FETCH_SHA256"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("fetched %d bytes", len(b))
}
