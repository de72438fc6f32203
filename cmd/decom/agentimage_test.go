package main

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The boot image's decom is built with the tag agentimage (images.AgentTags, make
// agent). It leaves out what the agent on site cannot use; these tests hold it to that,
// and to what it must keep.

// agentImageTag is images.AgentTags; this package's lean build does not link images.
const agentImageTag = "agentimage"

// leftOutOfAgentImage are the import paths (and everything below them) the boot image's
// decom must not link: the KMS clients (the agent cannot hand a KMS its credentials),
// the registry server's store and its SQL drivers, the transparency log's storage and
// the server's metrics (the agent never serves a registry), and the image builder.
var leftOutOfAgentImage = []string{
	"github.com/sigstore/sigstore/pkg/signature/kms",
	"github.com/aws/aws-sdk-go-v2",
	"github.com/Azure/azure-sdk-for-go",
	"github.com/hashicorp/vault/api",
	"github.com/decom-project/decom/registry/store",
	"modernc.org/sqlite",
	"github.com/jackc/pgx/v5",
	"github.com/transparency-dev/tessera",
	"github.com/prometheus/client_golang",
	"github.com/decom-project/decom/images",
}

// keptInAgentImage are packages the agent needs: the agent itself, and the registry
// client it uploads certificates with and checks the log's proofs with.
var keptInAgentImage = []string{
	"github.com/decom-project/decom/agent",
	"github.com/decom-project/decom/registry",
	"github.com/decom-project/decom/registry/tlog",
	"github.com/decom-project/decom/certificates",
}

func goListDeps(t *testing.T, args ...string) map[string]bool {
	t.Helper()
	cmd := exec.Command("go", append(append([]string{"list", "-deps"}, args...), ".")...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list -deps %s: %v\n%s", strings.Join(args, " "), err, ee.Stderr)
		}
		t.Fatalf("go list -deps: %v", err)
	}
	deps := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		deps[p] = true
	}
	return deps
}

// under reports the packages of deps at or below path.
func under(deps map[string]bool, path string) []string {
	var found []string
	for p := range deps {
		if p == path || strings.HasPrefix(p, path+"/") {
			found = append(found, p)
		}
	}
	return found
}

func TestAgentImageLeavesOut(t *testing.T) {
	full := goListDeps(t)
	lean := goListDeps(t, "-tags", agentImageTag)
	for _, path := range leftOutOfAgentImage {
		// The full decom has each (so the list names real packages) ...
		if len(under(full, path)) == 0 {
			t.Errorf("the full decom does not link %s: a stale name in leftOutOfAgentImage", path)
		}
		// ... the boot image's none.
		if found := under(lean, path); len(found) > 0 {
			t.Errorf("decom built with -tags %s links %s (%s)", agentImageTag, path, strings.Join(found, ", "))
		}
	}
	for _, path := range keptInAgentImage {
		if !lean[path] {
			t.Errorf("decom built with -tags %s lacks %s", agentImageTag, path)
		}
	}
}

// buildAgentImage builds the boot image's decom into a temporary directory; with its
// symbols, so that the test can look for what it must (not) contain.
func buildAgentImage(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "decom")
	cmd := exec.Command("go", "build", "-trimpath", "-tags", agentImageTag, "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build -tags %s: %v\n%s", agentImageTag, err, out)
	}
	return bin
}

// runBinary runs bin, with an empty config file and no other DECOM_ variable from the
// environment, and returns its exit code and stderr.
func runBinary(t *testing.T, bin string, args ...string) (int, string) {
	t.Helper()
	config := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(config, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"DECOM_CONFIG=" + config}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DECOM_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s %s: %v", bin, strings.Join(args, " "), err)
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}

// oneLine checks that stderr is one line holding want.
func oneLine(t *testing.T, what, stderr, want string) {
	t.Helper()
	if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "decom: ") || !strings.Contains(stderr, want) {
		t.Errorf("%s: stderr %q, want one line with %q", what, stderr, want)
	}
}

// TestAgentImageBinary runs the boot image's decom: a KMS key is refused before
// anything is written (exit code 9), the commands it leaves out say so (exit code 2),
// the registry client is in it and the registry server is not.
func TestAgentImageBinary(t *testing.T) {
	bin := buildAgentImage(t)

	img := filepath.Join(t.TempDir(), "media.img")
	data := make([]byte, 1<<20)
	rand.Read(data)
	if err := os.WriteFile(img, data, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"awskms:///alias/decom", "hashivault://decom", "azurekms://vault.example/decom"} {
		code, stderr := runBinary(t, bin, "wipe", img, "--yes", "--method", "zero", "--operator", "Test Operator", "--key", ref)
		if code != exitBadInput {
			t.Errorf("--key %s: exit code %d, want %d", ref, code, exitBadInput)
		}
		oneLine(t, "--key "+ref, stderr, ref+": this decom is built for the boot image, without KMS support: use a key file")
	}
	if after, err := os.ReadFile(img); err != nil || !bytes.Equal(after, data) {
		t.Errorf("the image file changed (%v)", err)
	}

	for _, args := range [][]string{
		{"registry", "serve", "--data", t.TempDir()},
		{"registry", "token", "create", "--name", "x"},
		{"image", "build"},
	} {
		code, stderr := runBinary(t, bin, args...)
		if code != exitUsage {
			t.Errorf("decom %s: exit code %d, want %d", strings.Join(args, " "), code, exitUsage)
		}
		oneLine(t, "decom "+strings.Join(args, " "), stderr, args[0]+": not in this decom, built for the boot image")
	}

	out, err := exec.Command("go", "tool", "nm", bin).Output()
	if err != nil {
		t.Fatalf("go tool nm: %v", err)
	}
	syms := string(out)
	for _, want := range []string{
		" github.com/decom-project/decom/registry.(*Client).UploadFile\n",
		" github.com/decom-project/decom/registry.VerifyReceipt\n",
		" github.com/decom-project/decom/registry/tlog.VerifyConsistency\n",
		" github.com/decom-project/decom/agent.Init\n",
	} {
		if !strings.Contains(syms, want) {
			t.Errorf("the boot image's decom lacks%s", strings.TrimSuffix(want, "\n"))
		}
	}
	for _, unwanted := range []string{
		" github.com/decom-project/decom/registry.New\n",
		" github.com/decom-project/decom/registry.(*Server).",
		" github.com/decom-project/decom/registry/tlog.Open\n",
	} {
		if strings.Contains(syms, unwanted) {
			t.Errorf("the boot image's decom has%s", strings.TrimSuffix(unwanted, "\n"))
		}
	}
}
