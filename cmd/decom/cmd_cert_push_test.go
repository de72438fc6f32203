package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// decom cert push: what it says and how it exits when the directory, the command
// line or the registry is wrong. (TestRegistryEndToEnd pushes for real.)
func TestCertPushErrors(t *testing.T) {
	ctx := context.Background()
	config := filepath.Join(t.TempDir(), "empty.yaml")
	if err := os.WriteFile(config, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("DECOM_CONFIG", config)
	t.Setenv("DECOM_REGISTRY", "")
	t.Setenv("DECOM_REGISTRY_TOKEN", "")
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"error":"a valid API token is required"}`, http.StatusUnauthorized)
	}))
	t.Cleanup(refusing.Close)
	spool := t.TempDir()
	if err := os.WriteFile(filepath.Join(spool, "a.sigstore.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing")
	reg := []string{"--registry", refusing.URL, "--token", "t"}
	for _, c := range []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{spool}, exitUsage, "", "decom: --registry and --token (or DECOM_REGISTRY and DECOM_REGISTRY_TOKEN) are required\n"},
		{append([]string{missing}, reg...), exitBadInput, "", "decom: stat " + missing + ": no such file or directory\n"},
		{append([]string{filepath.Join(spool, "a[")}, reg...), exitUsage, "", "decom: syntax error in pattern\n"},
		{append([]string{spool}, reg...), exitCertInvalid, "0 uploaded, 1 waiting, 1 certificates in " + spool + "\n",
			"decom: " + filepath.Join(spool, "a.sigstore.json") + ": rejected by the registry: POST /api/v1/certificates: 401: a valid API token is required\n"},
	} {
		args := append([]string{"--log-level", "error", "cert", "push"}, c.args...)
		code, stdout, stderr := decom(t, ctx, args...)
		if code != c.code || stdout != c.stdout || stderr != c.stderr {
			t.Errorf("decom %s: exit %d\nstdout %q\nstderr %q\nwant exit %d\nstdout %q\nstderr %q",
				strings.Join(args, " "), code, stdout, stderr, c.code, c.stdout, c.stderr)
		}
	}
}
