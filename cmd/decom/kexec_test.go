package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/u-root/u-root/pkg/cpio"

	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/sanitize"
)

// fakeKexec records what decom kexec asks of the kernel and does none of it: no
// test may replace the kernel of the machine it runs on.
type fakeKexec struct {
	calls   []string
	cmdline string
	initrd  []byte
	loadErr error
}

func (f *fakeKexec) Load(kernel, initrd *os.File, cmdline string) error {
	f.calls = append(f.calls, "load")
	f.cmdline = cmdline
	b, err := io.ReadAll(initrd)
	if err != nil {
		return err
	}
	f.initrd = b
	return f.loadErr
}
func (f *fakeKexec) Unload() error { f.calls = append(f.calls, "unload"); return nil }
func (f *fakeKexec) Sync()         { f.calls = append(f.calls, "sync") }
func (f *fakeKexec) Exec() error {
	f.calls = append(f.calls, "exec")
	return errors.New("not in a test")
}

// kexecEnv is a fake host (DMI identity, hostname, kernel command line), a boot
// image's kernel and initramfs, a signing key, a config and a plan for this host.
type kexecEnv struct {
	root, dir, kernel, initrd, config, plan, key string
	initrdData                                   []byte
}

const (
	kexecSerial = "CZJ1234XYZ"
	kexecUUID   = "4c4c4544-0042-3510-8052-b4c04f4e5331"
)

func newKexecEnv(t *testing.T) *kexecEnv {
	t.Setenv("DECOM_KEY_PASSWORD", "test passphrase")
	for _, v := range []string{"DECOM_REGISTRY", "DECOM_REGISTRY_TOKEN", "DECOM_KEY", "DECOM_CONFIG"} {
		t.Setenv(v, "")
	}
	dir := t.TempDir()
	e := &kexecEnv{root: filepath.Join(dir, "root"), dir: dir}
	write := func(rel string, b []byte) string {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("root/sys/class/dmi/id/product_serial", []byte(kexecSerial+"\n"))
	write("root/sys/class/dmi/id/product_uuid", []byte(kexecUUID+"\n"))
	write("root/proc/sys/kernel/hostname", []byte("web-042\n"))
	write("root/proc/cmdline", []byte("BOOT_IMAGE=/vmlinuz-6.1 root=UUID=x ro console=tty0 console=ttyS0,115200n8 quiet\n"))
	kernel := make([]byte, 4096)
	copy(kernel[0x202:], "HdrS")
	e.kernel = write("image/vmlinuz", kernel)
	e.initrdData = bytes.Repeat([]byte{0x1f}, 1001) // not a multiple of 4: padded
	e.initrd = write("image/initrd.img", e.initrdData)
	generateKey(t, filepath.Join(dir, "site"))
	e.key = filepath.Join(dir, "site.key")
	e.config = write("config.yaml", []byte("operator:\n  name: Jane Doe\nkey: "+e.key+"\nregistry: https://registry.example:8443\nregistry_token: tok-123\nboot:\n  countdown: 30\n"))
	e.plan = filepath.Join(dir, "plan.json")
	e.writePlan(t, kexecSerial, kexecUUID)
	return e
}

func (e *kexecEnv) writePlan(t *testing.T, serial, uuid string) {
	t.Helper()
	hp := sanitize.HostPlan{Host: inventory.Host{Hostname: "web-042", SystemSerial: serial, SystemUUID: uuid}, Created: time.Now().UTC(),
		Targets: []sanitize.ApprovedTarget{
			{Path: "/dev/vda", Kind: "drive", Serial: "SYSDISK", SizeBytes: 16 << 20, Method: sanitize.ApprovedMethod{Name: "zero", Rounds: 1}},
			{Path: "/dev/vdb", Kind: "drive", Serial: "DATADISK", SizeBytes: 16 << 20, Method: sanitize.ApprovedMethod{Name: "zero", Rounds: 1}},
		}}
	b, err := sanitize.PlanFile{Format: sanitize.PlanFormat, Hosts: []sanitize.HostPlan{hp}}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.plan, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func (e *kexecEnv) opts(sys kexecSystem) kexecOptions {
	return kexecOptions{Image: filepath.Join(e.dir, "image"), Approved: e.plan, Yes: true, sys: sys}
}

func (e *kexecEnv) run(opts kexecOptions) (error, string) {
	var out bytes.Buffer
	g := &globalOptions{SysRoot: e.root, Config: e.config, stdin: strings.NewReader(""), stdout: &out, stderr: &out, log: zerolog.Nop()}
	err := runKexec(context.Background(), opts, g)
	return err, out.String()
}

// decom kexec loads the image's kernel with the initramfs followed by an archive of
// the config (registry and key filled in), the key, its passphrase and the plan as
// given, on the agent's command line with this kernel's consoles; it syncs before the
// jump, and unloads the kernel when the jump fails.
func TestKexecLoads(t *testing.T) {
	e := newKexecEnv(t)
	sys := &fakeKexec{}
	err, out := e.run(e.opts(sys))
	t.Logf("output:\n%s", out)
	if err == nil || !strings.Contains(err.Error(), "the jump into the boot agent failed") {
		t.Errorf("runKexec: %v", err)
	}
	if got := strings.Join(sys.calls, ","); got != "load,sync,exec,unload" {
		t.Errorf("calls %s", got)
	}
	if want := "decom.mode=auto decom.plan=/etc/decom/plan.json console=tty0 console=ttyS0,115200n8"; sys.cmdline != want {
		t.Errorf("command line %q, want %q", sys.cmdline, want)
	}
	if !bytes.HasPrefix(sys.initrd, e.initrdData) || !bytes.Equal(sys.initrd[1001:1024], make([]byte, 23)) {
		t.Fatalf("the initramfs does not start with the image's, padded with zeros")
	}
	files := map[string][]byte{}
	rr := cpio.Newc.Reader(bytes.NewReader(sys.initrd[1024:]))
	recs, err := cpio.ReadAllRecords(rr)
	if err != nil {
		t.Fatalf("appended archive: %v", err)
	}
	for _, r := range recs {
		if r.Mode&cpio.S_IFMT == cpio.S_IFREG {
			b, _ := io.ReadAll(r.ReaderAt.(io.Reader))
			files["/"+r.Name] = b
		}
	}
	plan, _ := os.ReadFile(e.plan)
	key, _ := os.ReadFile(e.key)
	if !bytes.Equal(files[kexecPlanFile], plan) || !bytes.Equal(files[kexecKeyFile], key) ||
		string(files[kexecPassphraseFile]) != "test passphrase\n" || len(files) != 4 {
		t.Errorf("appended files: %v", mapKeys(files))
	}
	// The agent reads the packed config with decom's own loader.
	conf := filepath.Join(t.TempDir(), "config.yaml")
	os.WriteFile(conf, files[kexecConfigFile], 0o600)
	c, err := loadConfig(conf)
	if err != nil {
		t.Fatal(err)
	}
	if c.Key != kexecKeyFile || c.Registry != "https://registry.example:8443" || c.RegistryToken != "tok-123" ||
		c.Operator.Name != "Jane Doe" || c.Boot.Countdown == nil || *c.Boot.Countdown != 30 {
		t.Errorf("packed config %+v", c)
	}
	for _, want := range []string{"this host:     hostname web-042, DMI serial CZJ1234XYZ", "registry:      https://registry.example:8443\n",
		"approved plan: sha256 ", ": 2 targets, method zero\n", "  /dev/vda       SYSDISK", "This system stops at once"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

func mapKeys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A kernel that refuses the image is an error with the reason, and nothing jumps.
func TestKexecLoadRefused(t *testing.T) {
	e := newKexecEnv(t)
	sys := &fakeKexec{loadErr: errors.New("operation not permitted")}
	err, _ := e.run(e.opts(sys))
	if err == nil || exitCode(err) != exitInternal || !strings.Contains(err.Error(), "the kernel refused to load") {
		t.Errorf("runKexec: %v (exit %d)", err, exitCode(err))
	}
	if got := strings.Join(sys.calls, ","); got != "load" {
		t.Errorf("calls %s", got)
	}
}

// Bad input: each a one-line error with its documented exit code, and nothing
// loaded.
func TestKexecBadInput(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(t *testing.T, e *kexecEnv, o *kexecOptions)
		code  int
		want  string
	}{
		{"plan for another host", func(t *testing.T, e *kexecEnv, o *kexecOptions) { e.writePlan(t, "OTHER-HOST", "") },
			exitRefused, "the plan is for another host (hostname web-042, serial OTHER-HOST; this is hostname web-042, serial CZJ1234XYZ"},
		{"truncated plan", func(t *testing.T, e *kexecEnv, o *kexecOptions) {
			b, _ := os.ReadFile(e.plan)
			os.WriteFile(e.plan, b[:len(b)-40], 0o644)
		}, exitBadInput, "bad plan file: truncated JSON"},
		{"malformed plan", func(t *testing.T, e *kexecEnv, o *kexecOptions) { os.WriteFile(e.plan, []byte("hosts: []\n"), 0o644) },
			exitBadInput, "bad plan file"},
		{"no plan", func(t *testing.T, e *kexecEnv, o *kexecOptions) { o.Approved = "" }, exitUsage, "--approved PLAN is required"},
		{"no registry", func(t *testing.T, e *kexecEnv, o *kexecOptions) {
			os.WriteFile(e.config, []byte("operator:\n  name: Jane Doe\nkey: "+e.key+"\n"), 0o644)
		}, exitUsage, "the config gives no registry"},
		{"no token", func(t *testing.T, e *kexecEnv, o *kexecOptions) {
			os.WriteFile(e.config, []byte("operator:\n  name: Jane Doe\nkey: "+e.key+"\nregistry: https://r.example\n"), 0o644)
		}, exitUsage, "the config gives no registry token"},
		{"plain http", func(t *testing.T, e *kexecEnv, o *kexecOptions) {
			os.WriteFile(e.config, []byte("key: "+e.key+"\nregistry: http://r.example\nregistry_token: x\n"), 0o644)
		}, exitUsage, "plain http:// needs boot: allow_insecure_http: true"},
		{"wrong passphrase", func(t *testing.T, e *kexecEnv, o *kexecOptions) { t.Setenv("DECOM_KEY_PASSWORD", "wrong") },
			exitBadInput, "signing key"},
		{"no kernel", func(t *testing.T, e *kexecEnv, o *kexecOptions) { o.Image = filepath.Join(e.dir, "nothing") },
			exitBadInput, "no vmlinuz and initrd.img in it"},
		{"not a kernel", func(t *testing.T, e *kexecEnv, o *kexecOptions) {
			o.Image, o.Kernel, o.Initrd = "", e.plan, e.initrd
		}, exitBadInput, "not a Linux kernel image"},
		{"both layouts", func(t *testing.T, e *kexecEnv, o *kexecOptions) { o.Kernel = e.kernel }, exitUsage, "no --kernel or --initrd with it"},
		{"no confirmation", func(t *testing.T, e *kexecEnv, o *kexecOptions) { o.Yes = false }, exitRefused, "confirmation missing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newKexecEnv(t)
			sys := &fakeKexec{}
			o := e.opts(sys)
			c.setup(t, e, &o)
			err, _ := e.run(o)
			if err == nil || exitCode(err) != c.code || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("runKexec: %v (exit %d), want exit %d and %q", err, exitCode(err), c.code, c.want)
			}
			if len(sys.calls) != 0 {
				t.Errorf("calls %v: something was loaded", sys.calls)
			}
		})
	}
}

// Through the command line, with --dry-run (which never loads, whatever happens): the
// checks pass and the plan is printed, or the error is one line with its exit code.
func TestKexecCommandDryRun(t *testing.T) {
	e := newKexecEnv(t)
	args := []string{"--sysroot", e.root, "--config", e.config, "kexec", "--dry-run", "--approved", e.plan,
		"--kernel", e.kernel, "--initrd", e.initrd}
	code, out, stderr := decom(t, context.Background(), args...)
	if code != exitOK || !strings.Contains(out, "dry run: nothing loaded\n") || !strings.Contains(out, "/dev/vdb") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	e.writePlan(t, "OTHER-HOST", "")
	code, out, stderr = decom(t, context.Background(), args...)
	if code != exitRefused || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "the plan is for another host") || out != "" {
		t.Errorf("another host's plan: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
}
