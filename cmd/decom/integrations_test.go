//go:build !agentimage

package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/decom-project/decom/internal/loopdev"
	"github.com/decom-project/decom/internal/schematest"
	"github.com/decom-project/decom/sanitize"
)

// TestWipeCertificateMatchesSchema: the certificate of a real decom wipe (of a loop
// device this test made) matches the published JSON Schema, as signed.
func TestWipeCertificateMatchesSchema(t *testing.T) {
	loopdev.Require(t)
	ctx := context.Background()
	dir := t.TempDir()
	t.Setenv("DECOM_STATE_DIR", filepath.Join(dir, "state"))
	t.Setenv("DECOM_KEY_PASSWORD", "test passphrase")
	generateKey(t, filepath.Join(dir, "agent"))
	l := loopdev.New(t, 8<<20, false, nil)
	code, out, stderr := decom(t, ctx, "wipe", l.Path, "--yes", "--method", "dod-3", "--key", filepath.Join(dir, "agent.key"),
		"--operator", "Jane Doe", "--cert-dir", filepath.Join(dir, "certs"), "--output", "json")
	if code != exitOK {
		t.Fatalf("wipe: exit %d: %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var res sanitize.Result
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatal(err)
	}
	bundle, err := os.ReadFile(res.Certificate)
	if err != nil {
		t.Fatal(err)
	}
	if err := schematest.ValidateBundle(bundle); err != nil {
		t.Errorf("the certificate of decom wipe does not match the schema: %v", err)
	}
}

// TestRegistryServeWebhookFlags: webhook flags that cannot work are refused before
// the registry serves.
func TestRegistryServeWebhookFlags(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	short := filepath.Join(dir, "short")
	good := filepath.Join(dir, "good")
	if err := os.WriteFile(short, []byte("tiny\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(good, []byte("a secret of enough bytes, surely\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--webhook", "http://127.0.0.1:9/hook"}, exitUsage, "--webhook-secret-file"},
		{[]string{"--webhook", "ftp://example/", "--webhook-secret-file", good}, exitUsage, "--webhook"},
		{[]string{"--webhook-secret-file", good}, exitUsage, "without --webhook"},
		{[]string{"--webhook", "http://127.0.0.1:9/hook", "--webhook-secret-file", short}, exitBadInput, "at least 16"},
		{[]string{"--webhook", "http://127.0.0.1:9/hook", "--webhook-secret-file", filepath.Join(dir, "none")}, exitBadInput, "--webhook-secret-file"},
		{[]string{"--webhook", "http://127.0.0.1:9/hook", "--webhook-secret-file", good, "--webhook-retry", "0s"}, exitUsage, "--webhook-retry"},
	} {
		args := append([]string{"registry", "serve", "--data", filepath.Join(dir, "reg"), "--addr", "127.0.0.1:0"}, tc.args...)
		code, _, stderr := decom(t, ctx, args...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) || strings.Count(strings.TrimSpace(stderr), "\n") > 0 {
			t.Errorf("%v: exit %d, want %d; stderr %q, want a line with %q", tc.args, code, tc.code, stderr, tc.msg)
		}
	}
}
