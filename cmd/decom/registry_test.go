package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/decom-project/decom/internal/loopdev"
	"github.com/decom-project/decom/registry"
	"github.com/decom-project/decom/sanitize"
)

// decom runs the CLI in-process and returns its exit code, stdout and stderr.
func decom(t *testing.T, ctx context.Context, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(ctx, args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// generateKey makes a key pair, out.key and out.pub, with decom keys generate
// (DECOM_KEY_PASSWORD, set by the test, is its passphrase).
func generateKey(t *testing.T, out string) {
	t.Helper()
	if code, _, stderr := decom(t, context.Background(), "keys", "generate", "--out", out); code != exitOK {
		t.Fatalf("keys generate: %s", stderr)
	}
}

// enrollAgent prepares the registry data directory data for an agent: it makes the
// agent's key pair dir/agent.key and dir/agent.pub (generateKey), enrolls the public
// key, and returns an upload token named name.
func enrollAgent(t *testing.T, dir, data, name string) (token string) {
	t.Helper()
	ctx := context.Background()
	generateKey(t, filepath.Join(dir, "agent"))
	if code, _, stderr := decom(t, ctx, "registry", "key", "add", "--data", data, filepath.Join(dir, "agent.pub")); code != exitOK {
		t.Fatalf("registry key add: %s", stderr)
	}
	code, token, stderr := decom(t, ctx, "registry", "token", "create", "--data", data, "--name", name)
	if token = strings.TrimSpace(token); code != exitOK || token == "" {
		t.Fatalf("registry token create: %d %s", code, stderr)
	}
	return token
}

// registryTestEnv is the set-up of the end-to-end tests that sign and upload: a
// temporary directory with decom's state, the key's passphrase and an empty config
// file in the environment, an agent key enrolled in a registry (data in
// dir/registry) serving with extra flags, and its upload token named tokenName.
func registryTestEnv(t *testing.T, tokenName string, extra ...string) (dir, url, token string) {
	t.Helper()
	dir = t.TempDir()
	t.Setenv("DECOM_STATE_DIR", filepath.Join(dir, "state"))
	t.Setenv("DECOM_KEY_PASSWORD", "test passphrase")
	t.Setenv("DECOM_CONFIG", filepath.Join(dir, "config.yaml"))
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "registry")
	token = enrollAgent(t, dir, data, tokenName)
	return dir, startRegistry(t, data, extra...), token
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startRegistry runs decom registry serve until the test ends; extra are further
// flags of registry serve.
func startRegistry(t *testing.T, data string, extra ...string) string {
	t.Helper()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		code, _, stderr := decom(t, ctx, append([]string{"--log-level", "warn", "registry", "serve", "--addr", addr, "--data", data}, extra...)...)
		if code != exitOK && code != exitInterrupted {
			t.Errorf("registry serve: exit %d: %s", code, stderr)
		}
		done <- code
	}()
	t.Cleanup(func() { cancel(); <-done })
	url := "http://" + addr
	for start := time.Now(); time.Since(start) < 10*time.Second; time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(url + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return url
			}
		}
	}
	t.Fatal("the registry did not become ready")
	return ""
}

// The whole flow on one machine: a registry, an enrolled agent key and a token; a
// wipe that uploads its certificate; an auditor's check of signature, inclusion and
// consistency; a spooled certificate pushed later.
func TestRegistryEndToEnd(t *testing.T) {
	loopdev.Require(t)
	ctx := context.Background()
	dir := t.TempDir()
	t.Setenv("DECOM_STATE_DIR", filepath.Join(dir, "state"))
	t.Setenv("DECOM_KEY_PASSWORD", "test passphrase")
	data := filepath.Join(dir, "registry")
	generateKey(t, filepath.Join(dir, "agent"))
	code, fp, stderr := decom(t, ctx, "registry", "key", "add", "--data", data, filepath.Join(dir, "agent.pub"))
	if code != exitOK || !strings.HasPrefix(fp, "SHA256:") {
		t.Fatalf("registry key add: %d %s %s", code, fp, stderr)
	}
	code, token, stderr := decom(t, ctx, "registry", "token", "create", "--data", data, "--name", "rack-12")
	token = strings.TrimSpace(token)
	if code != exitOK || len(token) < 20 {
		t.Fatalf("registry token create: %d %q %s", code, token, stderr)
	}
	// The agent's token uploads only (the default scope); the auditor's reads.
	code, reader, stderr := decom(t, ctx, "registry", "token", "create", "--data", data, "--name", "auditor", "--scope", "read")
	reader = strings.TrimSpace(reader)
	if code != exitOK || len(reader) < 20 {
		t.Fatalf("registry token create --scope read: %d %q %s", code, reader, stderr)
	}
	code, out, _ := decom(t, ctx, "registry", "token", "list", "--data", data)
	if code != exitOK || !regexp.MustCompile(`(?m)^auditor +read +`).MatchString(out) || !regexp.MustCompile(`(?m)^rack-12 +upload +`).MatchString(out) {
		t.Errorf("registry token list: %d\n%s", code, out)
	}
	if code, _, stderr := decom(t, ctx, "registry", "token", "create", "--data", data, "--name", "x", "--scope", "upload,write"); code != exitUsage || !strings.Contains(stderr, "--scope") {
		t.Errorf("registry token create --scope upload,write: %d %s", code, stderr)
	}
	url := startRegistry(t, data)

	certs := filepath.Join(dir, "certs")
	wipe := func(l *loopdev.Loop, registryURL string) sanitize.Result {
		t.Helper()
		code, out, stderr := decom(t, ctx, "wipe", l.Path, "--yes", "--method", "zero", "--key", filepath.Join(dir, "agent.key"),
			"--operator", "Jane Doe", "--cert-dir", certs, "--registry", registryURL, "--token", token, "--output", "json", "--pdf")
		if code != exitOK {
			t.Fatalf("wipe: exit %d: %s", code, stderr)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		var rec sanitize.Result
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &rec); err != nil {
			t.Fatal(err)
		}
		return rec
	}
	first := wipe(loopdev.New(t, 8<<20, false, nil), url)
	if first.RegistryReceipt == nil || first.RegistryError != "" {
		t.Fatalf("not uploaded: %s", first.RegistryError)
	}
	if _, err := os.Stat(registry.ReceiptPath(first.Certificate)); err != nil {
		t.Errorf("no receipt beside the certificate: %v", err)
	}
	// Without a read token the registry refuses the auditor's proof; with one it serves it.
	code, out, stderr = decom(t, ctx, "cert", "verify", first.Certificate, "--key", filepath.Join(dir, "agent.pub"), "--registry", url)
	if code == exitOK || !strings.Contains(stderr+out, "401") {
		t.Errorf("cert verify --registry without a token: %d\n%s%s", code, out, stderr)
	}
	code, out, stderr = decom(t, ctx, "cert", "verify", first.Certificate, "--key", filepath.Join(dir, "agent.pub"), "--registry", url, "--token", reader)
	if code != exitOK || !strings.Contains(out, "in the registry's log as entry") {
		t.Fatalf("cert verify --registry: %d\n%s%s", code, out, stderr)
	}

	// The PDF of an uploaded certificate leads by its QR code to the certificate's
	// page on the registry that acknowledged it.
	if got, ok := qrCode(t, first.CertificatePDF); ok && got != url+"/certificates/"+first.CertificateID {
		want := url + "/certificates/" + first.CertificateID
		t.Errorf("the uploaded certificate's QR code reads %q, want %q", got, want)
	}

	// The registry is down: the certificate waits; decom cert push delivers it later.
	second := wipe(loopdev.New(t, 8<<20, false, nil), "http://"+freeAddr(t))
	if second.RegistryReceipt != nil || second.RegistryError == "" {
		t.Fatalf("upload to a closed port: %+v", second.RegistryReceipt)
	}
	// No registry holds it yet: its QR code names it by its ID.
	if got, ok := qrCode(t, second.CertificatePDF); ok && got != "urn:uuid:"+second.CertificateID {
		want := "urn:uuid:" + second.CertificateID
		t.Errorf("the waiting certificate's QR code reads %q, want %q", got, want)
	}
	code, out, stderr = decom(t, ctx, "cert", "push", certs, "--registry", url, "--token", token)
	if code != exitOK || !strings.HasPrefix(out, "1 uploaded, 0 waiting, 2 certificates") {
		t.Fatalf("cert push: %d %s %s", code, out, stderr)
	}
	// A second check of the first certificate proves the grown log consistent.
	t.Setenv("DECOM_REGISTRY_TOKEN", reader)
	code, out, stderr = decom(t, ctx, "cert", "verify", first.Certificate, "--key", filepath.Join(dir, "agent.pub"), "--registry", url)
	if code != exitOK || !strings.Contains(out, "consistent with the 1-entry log seen before") {
		t.Fatalf("second check: %d\n%s%s", code, out, stderr)
	}

	// Uploading the same certificate again is answered with the same entry.
	bundle, _ := os.ReadFile(first.Certificate)
	resp := post(t, url+"/api/v1/certificates", token, bundle)
	var again struct {
		LogIndex uint64 `json:"log_index"`
		Created  bool   `json:"created"`
	}
	json.NewDecoder(resp.Body).Decode(&again)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || again.Created || again.LogIndex != first.RegistryReceipt.LogIndex {
		t.Errorf("re-upload: %d created %v index %d, want 200, false, %d", resp.StatusCode, again.Created, again.LogIndex, first.RegistryReceipt.LogIndex)
	}
	// Without a token, with a wrong one, with a revoked key: refused, nothing stored.
	for _, c := range []struct {
		token string
		body  []byte
		want  int
	}{{"", bundle, 401}, {"wrong", bundle, 401}, {token, []byte("{not json"), 400}, {token, bytes.Repeat([]byte("x"), 70<<10), 413}} {
		resp := post(t, url+"/api/v1/certificates", c.token, c.body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("upload with token %q, %d bytes: %d, want %d", c.token, len(c.body), resp.StatusCode, c.want)
		}
	}
	if code, _, stderr := decom(t, ctx, "registry", "key", "revoke", "--data", data, strings.TrimSpace(fp), "--reason", "stick lost"); code != exitOK {
		t.Fatalf("key revoke: %s", stderr)
	}
	time.Sleep(2100 * time.Millisecond) // the server's key cache
	third := wipe(loopdev.New(t, 8<<20, false, nil), url)
	if !strings.Contains(third.RegistryError, "403") {
		t.Errorf("a revoked key's certificate: %q, want a 403", third.RegistryError)
	}
	// The certificates received before the revocation stay valid, and say why.
	for _, id := range []string{first.CertificateID, second.CertificateID} {
		req, _ := http.NewRequest(http.MethodGet, url+"/api/v1/certificates/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+reader)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var ci struct {
			Validity       string `json:"validity"`
			ValidityReason string `json:"validity_reason"`
		}
		json.NewDecoder(resp.Body).Decode(&ci)
		resp.Body.Close()
		if ci.Validity != "valid-key-revoked-later" || !strings.Contains(ci.ValidityReason, "stick lost") {
			t.Errorf("certificate %s after revoking its key: %q, %q; want valid-key-revoked-later with the reason", id, ci.Validity, ci.ValidityReason)
		}
	}
}

// decom registry key revoke: a reason is required, an effective time is checked,
// and key list --all shows the revocation.
func TestRegistryKeyRevoke(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t.Setenv("DECOM_KEY_PASSWORD", "test passphrase")
	data := filepath.Join(dir, "registry")
	generateKey(t, filepath.Join(dir, "stick-3"))
	code, fp, stderr := decom(t, ctx, "registry", "key", "add", "--data", data, filepath.Join(dir, "stick-3.pub"))
	fp = strings.TrimSpace(fp)
	if code != exitOK {
		t.Fatalf("registry key add: %d %s", code, stderr)
	}
	for _, c := range []struct {
		args    []string
		mention string
	}{
		{[]string{fp}, "--reason is required"},
		{[]string{fp, "--reason", "  "}, "--reason is required"},
		{[]string{fp, "--reason", "lost", "--effective", "yesterday"}, "RFC 3339"},
		{[]string{fp, "--reason", "lost", "--effective", time.Now().Add(time.Hour).Format(time.RFC3339)}, "in the future"},
		{[]string{"SHA256:" + strings.Repeat("0", 64), "--reason", "lost"}, "not found"},
	} {
		code, _, stderr := decom(t, ctx, append([]string{"registry", "key", "revoke", "--data", data}, c.args...)...)
		if code != exitUsage || !strings.Contains(stderr, c.mention) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("key revoke %q: exit %d, %q; want %d and one line mentioning %q", c.args, code, stderr, exitUsage, c.mention)
		}
	}
	if code, out, _ := decom(t, ctx, "registry", "key", "list", "--data", data); code != exitOK || !strings.Contains(out, fp) {
		t.Fatalf("after refused revocations the key is not listed active: %d %s", code, out)
	}

	code, out, stderr := decom(t, ctx, "registry", "key", "revoke", fp, "--data", data, "--reason", "stick lost", "--effective", "2026-01-15T08:30:00Z")
	if code != exitOK || !strings.Contains(out, "Revoked "+fp+" (stick-3), effective 2026-01-15T08:30:00Z: stick lost") {
		t.Fatalf("key revoke: %d %q %s", code, out, stderr)
	}
	if code, out, _ := decom(t, ctx, "registry", "key", "list", "--data", data); code != exitOK || strings.Contains(out, fp) {
		t.Errorf("a revoked key is listed as active: %d %s", code, out)
	}
	code, out, _ = decom(t, ctx, "registry", "key", "list", "--all", "--data", data)
	if code != exitOK || !regexp.MustCompile(regexp.QuoteMeta(fp)+` +stick-3 +\S+ +\S+ +2026-01-15T08:30:00Z +stick lost\n`).MatchString(out) {
		t.Errorf("key list --all: %d\n%s", code, out)
	}
	code, out, _ = decom(t, ctx, "--output", "json", "registry", "key", "list", "--all", "--data", data)
	var keys []struct {
		Fingerprint string    `json:"fingerprint"`
		Effective   time.Time `json:"revoked_effective"`
		Reason      string    `json:"revoke_reason"`
	}
	if err := json.Unmarshal([]byte(out), &keys); code != exitOK || err != nil || len(keys) != 1 || keys[0].Fingerprint != fp ||
		!keys[0].Effective.Equal(time.Date(2026, 1, 15, 8, 30, 0, 0, time.UTC)) || keys[0].Reason != "stick lost" {
		t.Errorf("key list --all -o json: %d %v\n%s", code, err, out)
	}
	// A date means its midnight UTC, and moves the effective time earlier.
	code, out, stderr = decom(t, ctx, "registry", "key", "revoke", fp, "--data", data, "--reason", "copied at the depot", "--effective", "2026-01-10")
	if code != exitOK || !strings.Contains(out, "effective 2026-01-10T00:00:00Z: copied at the depot") {
		t.Errorf("key revoke earlier: %d %q %s", code, out, stderr)
	}
}

func post(t *testing.T, url, token string, body []byte) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// qrCode reads the QR code of the PDF at path with pdftoppm and zbarimg (make
// deps installs them). Without them it reports false, and fails the test with
// CI=true.
func qrCode(t *testing.T, path string) (string, bool) {
	t.Helper()
	for _, tool := range []string{"pdftoppm", "zbarimg"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found (make deps installs it)", tool)
			}
			t.Logf("%s not found (make deps installs it): the QR code is not read", tool)
			return "", false
		}
	}
	png := filepath.Join(t.TempDir(), "page")
	if out, err := exec.Command("pdftoppm", "-png", "-r", "200", "-singlefile", path, png).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm %s: %v\n%s", path, err, out)
	}
	out, err := exec.Command("zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", png+".png").Output()
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	return strings.TrimSpace(string(out)), true
}

// decom registry serve takes only an absolute http(s) URL as its public URL.
func TestRegistryServePublicURL(t *testing.T) {
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "registry")
	for _, bad := range []string{"registry.example", "ftp://registry.example", "https://r.example/?x=1"} {
		code, _, stderr := decom(t, ctx, "registry", "serve", "--addr", "127.0.0.1:0", "--data", data, "--public-url", bad)
		if code != exitUsage || !strings.Contains(stderr, "--public-url") || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("--public-url %q: exit %d, %q; want %d and one line naming the flag", bad, code, stderr, exitUsage)
		}
	}
}
