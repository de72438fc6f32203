package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/decom-project/decom/agent"
	"github.com/decom-project/decom/certificates"
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
		"  allow_insecure_http: true\n  allow_unverified: true\n  key_sha256: "+strings.Repeat("ab", 32)+"\n"), 0o600)
	b, err := agentConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if b.Countdown == nil || *b.Countdown != 0 || !slices.Equal(b.Machines, []string{"CZ123", "4C4C4544-0042"}) ||
		!slices.Equal(b.CmdlineRegistries, []string{"reg.example"}) || !b.AllowInsecureHTTP || !b.AllowUnverified ||
		b.KeySHA256 != strings.Repeat("ab", 32) {
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

// The agent's run is decom wipe's: the config file's settings, the kernel command
// line's choices over them, and no registry when the agent says none (even though
// the config file names one).
func TestAgentPrepare(t *testing.T) {
	dir := t.TempDir()
	priv, _, err := certificates.GenerateUnencryptedKey(certificates.KeyECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "site.key")
	os.WriteFile(key, priv, 0o600)
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte("operator:\n  name: Jane Doe\nmethod: dod-3\ncoverage: 20%\nregistry: https://registry.example\nregistry_token: t\nkey: "+key+"\n"), 0o600)
	var logs strings.Builder
	g := &globalOptions{SysRoot: "/"}
	prepare := agentPrepare(g)
	so, err := prepare(context.Background(), agent.WipeRequest{ConfigPath: cfg, CertDir: filepath.Join(dir, "certs"), PDF: true, Log: &logs})
	if err != nil {
		t.Fatal(err)
	}
	if so.Method.Name != "dod-3" || so.Verify.Mode != "sample" || so.Verify.Coverage != 0.2 || so.Certify == nil ||
		!so.Certify.PDF || so.Certify.Registry != nil || so.Certify.Dir != filepath.Join(dir, "certs") ||
		so.Certify.Details.PerformedBy.Name != "Jane Doe" {
		t.Errorf("from the config file: %+v", so)
	}
	so, err = prepare(context.Background(), agent.WipeRequest{ConfigPath: cfg, Method: "zero", Verify: "full",
		CertDir: filepath.Join(dir, "certs"), Registry: "https://other.example", Log: &logs})
	if err != nil {
		t.Fatal(err)
	}
	if so.Method.Name != "zero" || so.Verify.Mode != "full" || so.Certify.PDF || so.Certify.Registry == nil ||
		so.Certify.Registry.URL != "https://other.example" || so.Certify.Registry.Token != "t" {
		t.Errorf("with the kernel command line's choices: %+v", so)
	}
	_, err = prepare(context.Background(), agent.WipeRequest{ConfigPath: cfg, Method: "shred-harder", Log: &logs})
	if exitCode(err) != exitUsage {
		t.Errorf("an unknown method: %v (exit code %d)", err, exitCode(err))
	}
}

// The agent's journals go where it says: the data partition's certificate directory,
// or nowhere without one, never decom wipe's default (the certificate directory,
// which is then in RAM).
func TestAgentPrepareJournalDir(t *testing.T) {
	dir := t.TempDir()
	priv, _, err := certificates.GenerateUnencryptedKey(certificates.KeyECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "site.key")
	os.WriteFile(key, priv, 0o600)
	cfg := filepath.Join(dir, "config.yaml")
	os.WriteFile(cfg, []byte("operator:\n  name: Jane Doe\nkey: "+key+"\n"), 0o600)
	certs := filepath.Join(dir, "certs")
	if err := os.Mkdir(certs, 0o755); err != nil {
		t.Fatal(err)
	}
	prepare := agentPrepare(&globalOptions{SysRoot: "/"})
	var logs strings.Builder
	for _, journals := range []string{"", certs} {
		so, err := prepare(context.Background(), agent.WipeRequest{ConfigPath: cfg, CertDir: certs, JournalDir: journals, Log: &logs})
		if err != nil {
			t.Fatal(err)
		}
		if so.JournalDir != journals {
			t.Errorf("journal directory %q asked: the run keeps them in %q", journals, so.JournalDir)
		}
	}
}

// The config file's job: reaches every certificate of the agent's run; a job a
// certificate cannot carry stops the run before it starts.
func TestAgentPrepareJob(t *testing.T) {
	dir := t.TempDir()
	priv, _, err := certificates.GenerateUnencryptedKey(certificates.KeyECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, "site.key")
	os.WriteFile(key, priv, 0o600)
	prepare := agentPrepare(&globalOptions{SysRoot: "/"})
	for job, want := range map[string]int{"rack-7": exitOK, `"rack\u00077"`: exitUsage} {
		cfg := filepath.Join(dir, "config.yaml")
		os.WriteFile(cfg, []byte("operator:\n  name: Jane Doe\njob: "+job+"\nkey: "+key+"\n"), 0o600)
		so, err := prepare(context.Background(), agent.WipeRequest{ConfigPath: cfg, CertDir: filepath.Join(dir, "certs"), Log: io.Discard})
		if exitCode(err) != want {
			t.Errorf("job: %s: %v (exit code %d), want exit code %d", job, err, exitCode(err), want)
			continue
		}
		if want == exitOK && (so.Certify == nil || so.Certify.Job != job) {
			t.Errorf("job: %s: the run's certifier has job %q", job, so.Certify.Job)
		}
	}
}
