//go:build !agentimage

package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/internal/loopdev"
	"github.com/decom-project/decom/registry"
	"github.com/decom-project/decom/sanitize"
)

// TestCertVerifyRegistryClockSkew: decom cert verify --registry shows, for a certificate
// that decom registry serve logged, the signed logged time it checked and how the
// certificate's issued time compares with it; a certificate whose agent's clock ran two
// hours ahead is flagged, unless --skew-ahead allows that much, and one issued with the
// right clock is not.
func TestCertVerifyRegistryClockSkew(t *testing.T) {
	loopdev.Require(t)
	ctx := context.Background()
	dir := t.TempDir()
	t.Setenv("DECOM_STATE_DIR", filepath.Join(dir, "state"))
	t.Setenv("DECOM_KEY_PASSWORD", "test passphrase")
	data := filepath.Join(dir, "registry")
	token := enrollAgent(t, dir, data, "bench-1")
	code, reader, stderr := decom(t, ctx, "registry", "token", "create", "--data", data, "--name", "auditor", "--scope", "read")
	if code != exitOK {
		t.Fatalf("registry token create --scope read: %s", stderr)
	}
	t.Setenv("DECOM_REGISTRY_TOKEN", strings.TrimSpace(reader))
	url := startRegistry(t, data)

	// A real certificate of a wipe of our own loop device, kept off the registry.
	l := loopdev.New(t, 8<<20, false, nil)
	certs := filepath.Join(dir, "certs")
	code, out, stderr := decom(t, ctx, "wipe", l.Path, "--yes", "--method", "zero", "--key", filepath.Join(dir, "agent.key"),
		"--operator", "Jane Doe", "--cert-dir", certs, "--output", "json")
	if code != exitOK {
		t.Fatalf("wipe: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var res sanitize.Result
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(res.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(filepath.Join(dir, "agent.key"))
	if err != nil {
		t.Fatal(err)
	}
	agent, err := certificates.LoadPrivateKey(keyPEM, []byte("test passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	client := &registry.Client{URL: url, Token: strings.TrimSpace(token)}
	// issue makes the same certificate again with a new ID, issued at the given time
	// by the agent's clock, signs it with the enrolled key and uploads it.
	issue := func(name string, issued time.Time) string {
		t.Helper()
		c, _, err := certificates.Inspect(b)
		if err != nil {
			t.Fatal(err)
		}
		var id [16]byte
		_, _ = rand.Read(id[:])
		id[6], id[8] = id[6]&0x0f|0x40, id[8]&0x3f|0x80
		c.ID = fmt.Sprintf("%x-%x-%x-%x-%x", id[0:4], id[4:6], id[6:8], id[8:10], id[10:16])
		c.Issued = issued
		bundle, err := certificates.Sign(ctx, agent, c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := client.Upload(ctx, bundle); err != nil {
			t.Fatalf("upload %s: %v", name, err)
		}
		path := filepath.Join(dir, name+".sigstore.json")
		if err := os.WriteFile(path, bundle, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	now := time.Now().UTC().Truncate(time.Second)
	fast := issue("fast-clock", now.Add(2*time.Hour))
	right := issue("right-clock", now.Add(-time.Minute))

	verify := func(path string, extra ...string) (string, certResult) {
		t.Helper()
		args := append([]string{"cert", "verify", path, "--key", filepath.Join(dir, "agent.pub"), "--registry", url}, extra...)
		code, text, stderr := decom(t, ctx, args...)
		if code != exitOK {
			t.Fatalf("cert verify %s: exit %d\n%s%s", path, code, text, stderr)
		}
		code, js, stderr := decom(t, ctx, append([]string{"--output", "json"}, args...)...)
		var res struct{ Certificates []certResult }
		if err := json.Unmarshal([]byte(js), &res); code != exitOK || err != nil || len(res.Certificates) != 1 {
			t.Fatalf("cert verify -o json: %d %v\n%s%s", code, err, js, stderr)
		}
		return text, res.Certificates[0]
	}
	text, r := verify(fast)
	if !strings.Contains(text, "  Logged:         received ") || !strings.Contains(text, "signed by the log's key; in the log before ") {
		t.Errorf("the fast-clock certificate's logged time is not shown verified:\n%s", text)
	}
	if !strings.Contains(text, "  Issued/logged:  CLOCK SKEW: issued ") || r.Clock == nil || r.Clock.Flag != registry.SkewIssuedAfterLogged ||
		r.Clock.IssuedMinusLogged < 7000 || r.Clock.IssuedMinusLogged > 7200 {
		t.Errorf("the fast-clock certificate is not flagged: %+v\n%s", r.Clock, text)
	}
	if text, r := verify(fast, "--skew-ahead", "3h"); strings.Contains(text, "CLOCK SKEW") || r.Clock == nil || r.Clock.Flag != "" {
		t.Errorf("with --skew-ahead 3h the fast-clock certificate is still flagged: %+v\n%s", r.Clock, text)
	}
	if text, r := verify(right); strings.Contains(text, "CLOCK SKEW") || r.Clock == nil || r.Clock.Flag != "" ||
		!strings.Contains(text, "  Issued/logged:  issued ") {
		t.Errorf("the right-clock certificate is flagged, or not compared: %+v\n%s", r.Clock, text)
	}
	if code, _, stderr := decom(t, ctx, "cert", "verify", right, "--key", filepath.Join(dir, "agent.pub"), "--skew-behind", "-1h"); code != exitUsage || !strings.Contains(stderr, "--skew-behind") {
		t.Errorf("a negative --skew-behind: exit %d, %s", code, stderr)
	}
}
