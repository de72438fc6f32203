package main

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/decom-project/decom/agent"
)

// TestAgentRefusesInstalledSystem: decom agent wipes every eligible drive; on a machine
// whose root is not an initramfs (this one) it must refuse before anything else.
func TestAgentRefusesInstalledSystem(t *testing.T) {
	if agent.InInitramfs() {
		t.Skip("the tests run from an initramfs")
	}
	var out, errb strings.Builder
	code := run(context.Background(), []string{"agent", "--cmdline", "decom.mode=auto"}, strings.NewReader(""), &out, &errb)
	if code != exitUsage || !strings.Contains(errb.String(), "runs only in decom's boot image") || out.Len() != 0 {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out.String(), errb.String())
	}
	if isBootInit() {
		t.Errorf("isBootInit on the test host")
	}
}

func TestAgentHidden(t *testing.T) {
	var out strings.Builder
	if code := run(context.Background(), []string{"--help"}, strings.NewReader(""), &out, &out); code != 0 {
		t.Fatalf("decom --help: %d", code)
	}
	if strings.Contains(out.String(), "agent") {
		t.Errorf("decom --help lists the agent:\n%s", out.String())
	}
}

func TestAgentConfig(t *testing.T) {
	for _, k := range []string{"DECOM_METHOD", "DECOM_VERIFY", "DECOM_KEY", "DECOM_REGISTRY", "DECOM_REGISTRY_TOKEN", "DECOM_OPERATOR_NAME", "DECOM_CONFIG"} {
		t.Setenv(k, "")
	}
	p := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(p, []byte("operator:\n  name: Jane Doe\nkey: site.key\nmethod: dod-3\nverify: full\npdf: false\nregistry: http://reg\nregistry_token: tok\n"), 0o600)
	c, err := agentConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Operator != "Jane Doe" || c.Key != "site.key" || c.Method != "dod-3" || c.Verify != "full" ||
		c.Registry != "http://reg" || !c.HasToken || c.PDF == nil || *c.PDF {
		t.Errorf("config %+v", c)
	}
	if c.Countdown != nil || c.Machines != nil || c.CmdlineRegistries != nil || c.AllowInsecureHTTP || c.AllowUnverified {
		t.Errorf("no boot: section, yet %+v", c)
	}
	os.WriteFile(p, []byte("boot:\n  countdown: 0\n  machines: [CZ123, 4C4C4544-0042]\n  cmdline_registries: [reg.example]\n"+
		"  allow_insecure_http: true\n  allow_unverified: true\n"), 0o600)
	b, err := agentConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if b.Countdown == nil || *b.Countdown != 0 || !slices.Equal(b.Machines, []string{"CZ123", "4C4C4544-0042"}) ||
		!slices.Equal(b.CmdlineRegistries, []string{"reg.example"}) || !b.AllowInsecureHTTP || !b.AllowUnverified {
		t.Errorf("boot: section read as %+v", b)
	}
	os.WriteFile(p, []byte("operator:\n  name: Jane Doe\nkey: site.key\nmethod: dod-3\nverify: full\npdf: false\nregistry: http://reg\nregistry_token: tok\n"), 0o600)
	t.Setenv("DECOM_METHOD", "zero")
	if c, _ := agentConfig(p); c.Method != "zero" {
		t.Errorf("DECOM_METHOD: method %q", c.Method)
	}
	os.WriteFile(p, []byte("operatr: typo\n"), 0o600)
	if _, err := agentConfig(p); err == nil || !strings.Contains(err.Error(), "operatr") {
		t.Errorf("unknown key: %v", err)
	}
	// No file named and none at the default place: decom's defaults.
	if c, err := agentConfig(""); err != nil && !strings.Contains(err.Error(), defaultConfig) {
		t.Errorf("default config: %+v, %v", c, err)
	}
}

// The agent's exit code is decom wipe's: agentError must map back to the same code.
func TestAgentError(t *testing.T) {
	for _, code := range []int{exitOK, exitInternal, exitUsage, exitRefused, exitWipeFailed, exitVerifyFailed,
		exitExceptions, exitBadInput, exitUnreachable, exitInterrupted} {
		if got := exitCode(agentError(code)); got != code {
			t.Errorf("exit code %d comes back as %d", code, got)
		}
	}
}
