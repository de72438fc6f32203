package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/decom-project/decom/internal/kmod"
	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/registry"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/verify"
	"github.com/decom-project/decom/wipe"
)

// fakeSystem records what the agent asks of the kernel, and does none of it.
type fakeSystem struct {
	mu       sync.Mutex
	root     string
	calls    []string
	mountErr []error // returned by the first MountFAT calls, in turn
	// showMount makes a mount visible to the inventory in proc/self/mountinfo.
	showMount bool
	netErr    error
	loaded    []string
}

func (s *fakeSystem) record(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, fmt.Sprintf(format, args...))
}

func (s *fakeSystem) MountFAT(device, target, data string) error {
	s.record("mount %s %s %q", device, target, data)
	if len(s.mountErr) > 0 {
		err := s.mountErr[0]
		s.mountErr = s.mountErr[1:]
		if err != nil {
			return err
		}
	}
	if s.showMount {
		f, err := os.OpenFile(filepath.Join(s.root, "proc", "self", "mountinfo"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		fmt.Fprintf(f, "30 1 8:2 / /data rw,noatime - vfat %s rw\n", strings.TrimPrefix(device, s.root))
	}
	return nil
}

func (s *fakeSystem) Unmount(target string) error {
	s.record("unmount %s", target)
	return nil
}

func (s *fakeSystem) Sync() { s.record("sync") }

func (s *fakeSystem) LoadModule(dir string, m kmod.Module) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loaded = append(s.loaded, m.Name)
	return nil
}

func (s *fakeSystem) KernelRelease() (string, error) { return "6.1.0-test", nil }

func (s *fakeSystem) Network(ctx context.Context, logf func(string, ...any)) (string, error) {
	s.record("network")
	if s.netErr != nil {
		return "", s.netErr
	}
	return "eth0: 10.0.2.15 via 10.0.2.2", nil
}

func (s *fakeSystem) PowerOff() error {
	s.record("poweroff")
	return errors.New("not in a test")
}

func (s *fakeSystem) did(prefix string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, c := range s.calls {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// fakeRun plays decom's side of a run: Prepare records each request, and Sanitize
// answers it as sanitize.Run would, with a plan per target, progress, and a result
// per target with a certificate file each.
type fakeRun struct {
	t        *testing.T
	requests []WipeRequest
	calls    []wipeCall
	// refuse names devices the gate refuses (once: the agent tries again without).
	refuse map[string]string
	// outcome per device; default "completed".
	outcome map[string]string
	upload  bool
	// err is Sanitize's error, prepareErr Prepare's.
	err, prepareErr error
	panics          bool
	// pass is the passphrase each request carried ("<none>" without one).
	pass []string
	// resumeFinds are the drives a resume with no target finds journals of, as
	// sanitize.Run would; every resumed drive's result lists one interruption.
	resumeFinds []string
	// dryRuns are the methods of the dry runs asked for.
	dryRuns []string
}

// wipeCall is one sanitization the agent started: its request and targets, and
// whether it resumed or restarted, with which method ("" for the journals').
type wipeCall struct {
	Req             WipeRequest
	Targets         []string
	Resume, Restart bool
	Method          string
}

func (f *fakeRun) prepare(_ context.Context, r WipeRequest) (sanitize.Options, error) {
	f.requests = append(f.requests, r)
	p := "<none>"
	if r.Passphrase != nil {
		p = string(r.Passphrase)
	}
	f.pass = append(f.pass, p)
	if f.prepareErr != nil {
		return sanitize.Options{}, f.prepareErr
	}
	m, v := r.Method, r.Verify
	if m == "" {
		m = "dod-3"
	}
	if v == "" {
		v = "sample"
	}
	return sanitize.Options{Method: wipe.Method{Name: m}, Verify: verify.Options{Mode: v}}, nil
}

func (f *fakeRun) sanitize(_ context.Context, o sanitize.Options) ([]sanitize.Result, error) {
	if o.DryRun {
		// The full screen's drive list plans every method (screen.go): a plan per
		// target, written nowhere, not a wipe.
		f.dryRuns = append(f.dryRuns, o.Method.Name)
		var plans []sanitize.Plan
		for _, d := range o.Targets {
			name := strings.TrimPrefix(d, "/dev/")
			drive := inventory.Device{Path: d, Name: name, Model: "Model " + name, Serial: "SER-" + name, SizeBytes: 1 << 30}
			p := sanitize.Plan{Target: wipe.Target{Path: d, Drive: drive, Identity: wipe.Identity{Serial: drive.Serial, SizeBytes: 1 << 30}}}
			if o.Method.Name == wipe.MethodNISTPurge {
				p.Refusal = &wipe.RefusedError{Path: d, Reasons: []string{"no sanitize command in the fake"}}
			}
			plans = append(plans, p)
		}
		o.Events(&sanitize.Planned{Plans: plans})
		return nil, nil
	}
	req := f.requests[len(f.requests)-1]
	f.calls = append(f.calls, wipeCall{Req: req, Targets: slices.Clone(o.Targets), Resume: o.Resume, Restart: o.Restart,
		Method: o.Method.Name})
	if o.Resume && len(o.Targets) == 0 {
		o.Targets = f.resumeFinds
	}
	if o.Confirm != nil || o.All {
		f.t.Errorf("the agent asked for a confirmation callback or --all: %+v", o)
	}
	if f.panics {
		panic("boom")
	}
	var plans []sanitize.Plan
	refused := false
	for _, d := range o.Targets {
		p := sanitize.Plan{Target: wipe.Target{Path: d}}
		if why, ok := f.refuse[d]; ok {
			p.Refusal = &wipe.RefusedError{Path: d, Reasons: []string{why}}
			refused = true
		}
		plans = append(plans, p)
	}
	o.Events(&sanitize.Planned{Plans: plans})
	if refused {
		f.refuse = nil
		return nil, fmt.Errorf("%w: mounted: /dev/sdb1 on /mnt (nothing was written to any target)", wipe.ErrRefused)
	}
	fmt.Fprint(req.Log, "12:00:00 INF wipe started device=/dev/x")
	fmt.Fprint(req.Log, " method=nist-clear\n")
	for _, d := range o.Targets {
		o.Events(&sanitize.Progress{Event: wipe.Event{Device: d, Pass: 1, Passes: 1, Pattern: "0x00", Done: 512, Size: 1024,
			Rate: 1 << 20, ETA: 1}})
	}
	var results []sanitize.Result
	for _, d := range o.Targets {
		name := strings.TrimPrefix(d, "/dev/")
		cert := filepath.Join(req.CertDir, "20260301T120000Z_"+name+"_id.sigstore.json")
		if err := os.WriteFile(cert, []byte("{}"), 0o644); err != nil {
			f.t.Error(err)
		}
		outcome := f.outcome[d]
		if outcome == "" {
			outcome = "completed"
		}
		// As a run says it: a wipe with exceptions is never "verified"; its
		// certificate's outcome says whether the rest read back right.
		checks := []verify.Result{{Mode: "sample", Coverage: 0.1, Verified: outcome != "failed"}}
		sanitization := map[string]string{"completed": "sanitized", "completed-with-exceptions": "sanitized-with-exceptions"}[outcome]
		if sanitization == "" {
			sanitization = "failed"
		}
		if o.Verify.Mode == "none" && outcome != "failed" {
			checks, sanitization = []verify.Result{}, "unverified"
		}
		r := sanitize.Result{Record: wipe.Record{Device: d, Outcome: outcome, Passes: []wipe.PassRecord{},
			Identity: wipe.Identity{Serial: "SER-" + name, Model: "Model " + name, SizeBytes: 1 << 30}},
			Verification: checks, SanitizationOutcome: sanitization, Verified: sanitization == "sanitized",
			Certificate: cert, CertificatePDF: strings.Replace(cert, ".sigstore.json", ".pdf", 1)}
		if f.upload {
			r.RegistryReceipt = &registry.Receipt{LogIndex: 1}
		}
		if o.Resume {
			r.Interruptions = []wipe.Interruption{{Pass: 2, Offset: 256 << 20}}
		}
		o.Events(&sanitize.Finished{Result: r})
		results = append(results, r)
	}
	return results, f.err
}

// targetsOf are the targets of the recorded sanitizations.
func (f *fakeRun) wipeCalls() []wipeCall { return f.calls }

type runEnv struct {
	root    string
	sys     *fakeSystem
	cli     *fakeRun
	console *strings.Builder
	cfg     Config
	cfgPath []string
	clk     *fakeClock
}

// newRunEnv makes the fake machine with a module index, a config file and a key on
// its data partition's mount point.
func newRunEnv(t *testing.T) *runEnv {
	root := machine(t)
	e := &runEnv{root: root, sys: &fakeSystem{root: root, showMount: true}, cli: &fakeRun{t: t},
		console: &strings.Builder{}, clk: newFakeClock(),
		cfg: Config{Key: "site.key", Operator: "Jane Doe", Method: "dod-3"}}
	dir := filepath.Join(root, "lib", "modules", "6.1.0-test")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, kmod.IndexFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := kmod.WriteIndex(f, testIndex()); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for name, content := range map[string]string{
		"data/config.yaml": "operator:\n  name: Jane Doe\n",
		"data/site.key":    "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n",
	} {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

func (e *runEnv) options(cmdline string) Options {
	return Options{
		Root: e.root, Cmdline: cmdline, System: e.sys, Prepare: e.cli.prepare, Sanitize: e.cli.sanitize,
		ReadConfig: func(path string) (Config, error) {
			e.cfgPath = append(e.cfgPath, path)
			return e.cfg, nil
		},
		Console: syncWriter{w: e.console}, Version: "test", clock: e.clk,
	}
}

type syncWriter struct{ w *strings.Builder }

var consoleMu sync.Mutex

func (s syncWriter) Write(p []byte) (int, error) {
	consoleMu.Lock()
	defer consoleMu.Unlock()
	return s.w.Write(p)
}

func (e *runEnv) run(t *testing.T, o Options) error {
	t.Helper()
	err := Run(context.Background(), o)
	t.Logf("console:\n%s", e.console.String())
	return err
}

func contains(t *testing.T, what, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

func TestRunAuto(t *testing.T) {
	e := newRunEnv(t)
	if err := e.run(t, e.options("console=ttyS0 decom.mode=auto decom.method=nist-clear decom.verify=full")); err != nil {
		t.Errorf("Run: %v", err)
	}
	r := e.root
	if got := e.sys.did("mount"); !reflect.DeepEqual(got, []string{fmt.Sprintf("mount %s/dev/sda2 %s/data \"\"", r, r)}) {
		t.Errorf("mounts %q", got)
	}
	if !reflect.DeepEqual(e.cfgPath, []string{r + "/data/config.yaml"}) {
		t.Errorf("config read from %q", e.cfgPath)
	}
	wipes := e.cli.wipeCalls()
	if len(wipes) != 1 {
		t.Fatalf("wipes %+v", wipes)
	}
	want := WipeRequest{ConfigPath: r + "/data/config.yaml", Method: "nist-clear", Verify: "full", CertDir: r + "/data/certs",
		JournalDir: r + "/data/certs", PDF: true, Key: r + "/data/site.key"}
	got := wipes[0].Req
	got.Log = nil
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(wipes[0].Targets, []string{"/dev/nvme0n1", "/dev/sdb", "/dev/vdb"}) {
		t.Errorf("wipe %+v\nwant %+v", wipes[0], want)
	}
	if !slices.Contains(e.sys.loaded, "vfat") || !slices.Contains(e.sys.loaded, "nls_cp437") {
		t.Errorf("modules loaded: %v", e.sys.loaded)
	}
	con := e.console.String()
	contains(t, "console", con,
		"decom: decom test boot agent: mode auto\n",
		"decom: data partition: /dev/sda2 (GPT partition name DECOM-DATA) mounted on /data\n",
		"decom: journals: no unfinished wipe in /data/certs\n",
		"decom: never wiped: /dev/sda (8:0): boot medium: holds the DECOM-DATA partition (/dev/sda2)\n",
		"decom: never wiped: /dev/vda (254:0): boot medium: carries the decom ISO image",
		"decom: drive /dev/nvme0n1: QEMU NVMe Ctrl, NVME0001, nvme, 1.0 GiB: eligible\n",
		"decom: wiping 3 drives in parallel with nist-clear, verification full: /dev/nvme0n1 /dev/sdb /dev/vdb\n",
		"12:00:00 INF wipe started device=/dev/x method=nist-clear\n",
		"decom: progress /dev/sdb pass 1/1 (0x00) 50.0% 1.0 MiB/s ETA 1s\n",
		"decom: drive /dev/vdb: completed, verified yes (sample 10.0%), certificate /data/certs/20260301T120000Z_vdb_id.sigstore.json\n",
		"decom: summary\n",
		"decom:   /dev/nvme0n1  SER-nvme0n1  Model nvme0n1  1.0 GiB    completed  yes (sample 10.0%)  20260301T120000Z_nvme0n1_id.sigstore.json\n",
		"decom:   /dev/sda      STICK0001    Cruzer Blade   512.0 MiB  skipped    -                   boot medium: holds the DECOM-DATA partition (/dev/sda2)\n",
		"decom: certificates: 3 in /data/certs (DECOM-DATA partition /dev/sda2)\n",
		"decom: registry: none configured; upload them later with `decom cert push`\n",
		"decom: log: /data/logs/decom-20260301T120000Z.log\n",
		"decom: result: 3 sanitized, 0 with exceptions, 0 failed, 4 not wiped\n",
		"decom: data partition unmounted: it is safe to remove the stick\n",
	)
	if strings.Contains(con, "ERROR") || strings.Contains(con, "problem") {
		t.Errorf("errors on the console")
	}
	// The stick is refused by the inventory (mounted) and by the exclusion.
	contains(t, "console", con, "decom: drive /dev/sda: Cruzer Blade, STICK0001, usb, 512.0 MiB: not wiped: boot medium")

	log, err := os.ReadFile(filepath.Join(r, "data", "logs", "decom-20260301T120000Z.log"))
	if err != nil {
		t.Fatal(err)
	}
	contains(t, "log", string(log), "2026-03-01T12:00:00.000Z decom: decom test boot agent: mode auto\n",
		"Z 12:00:00 INF wipe started device=/dev/x method=nist-clear\n", "Z decom: summary\n", "Z decom: result: 3 sanitized")
	jl, err := os.ReadFile(filepath.Join(r, "data", "logs", "decom-20260301T120000Z.jsonl"))
	if err != nil || strings.Count(string(jl), `"type":"record"`) != 3 {
		t.Errorf("JSON log: %v\n%s", err, jl)
	}
	// The log is closed, everything synced, then /data unmounted.
	if calls := e.sys.calls; len(calls) < 2 || calls[len(calls)-2] != "sync" || calls[len(calls)-1] != "unmount "+r+"/data" {
		t.Errorf("last calls %q", calls)
	}
	if len(e.sys.did("network")) != 0 || len(e.sys.did("poweroff")) != 0 {
		t.Errorf("calls %q", e.sys.calls)
	}
}

// Without the mount showing (the inventory would call the stick wipeable), the
// explicit exclusion alone keeps it out.
func TestRunAutoExcludesStickByDevNo(t *testing.T) {
	e := newRunEnv(t)
	e.sys.showMount = false
	e.run(t, e.options("decom.mode=auto"))
	wipes := e.cli.wipeCalls()
	if len(wipes) != 1 {
		t.Fatalf("wipes %+v", wipes)
	}
	for _, a := range wipes[0].Targets {
		if a == "/dev/sda" || a == "/dev/sdc" || a == "/dev/vda" {
			t.Errorf("boot medium %s given to the run: %q", a, wipes[0].Targets)
		}
	}
	contains(t, "console", e.console.String(), "not wiped: boot medium: holds the DECOM-DATA partition (/dev/sda2)")
}

func TestRunRegistry(t *testing.T) {
	t.Run("uploaded", func(t *testing.T) {
		e := newRunEnv(t)
		e.cfg.Registry, e.cfg.HasToken = "http://config-registry", true
		// The config lets the kernel command line name this registry, over HTTP.
		e.cfg.CmdlineRegistries, e.cfg.AllowInsecureHTTP = []string{"10.0.2.2"}, true
		e.cli.upload = true
		e.run(t, e.options("decom.registry=http://10.0.2.2:8443"))
		if len(e.sys.did("network")) != 1 {
			t.Errorf("network not brought up: %q", e.sys.calls)
		}
		if w := e.cli.wipeCalls()[0]; w.Req.Registry != "http://10.0.2.2:8443" {
			t.Errorf("registry %q", w.Req.Registry)
		}
		contains(t, "console", e.console.String(), "decom: network: eth0: 10.0.2.15 via 10.0.2.2\n",
			"decom: registry: all 3 uploaded to http://10.0.2.2:8443\n", "(uploaded)")
	})
	t.Run("no network", func(t *testing.T) {
		e := newRunEnv(t)
		e.cfg.Registry, e.cfg.HasToken = "https://config-registry", true
		e.sys.netErr = errors.New("no DHCP lease on eth0")
		if err := e.run(t, e.options("decom.mode=auto")); !errors.Is(err, ErrProblems) {
			t.Errorf("Run: %v, want ErrProblems", err)
		}
		if w := e.cli.wipeCalls()[0]; w.Req.Registry != "" {
			t.Errorf("registry %q without a network", w.Req.Registry)
		}
		contains(t, "console", e.console.String(),
			"decom: ERROR: network: no DHCP lease on eth0: certificates are not uploaded; they wait for `decom cert push`\n",
			"decom: problem: network: no DHCP lease on eth0",
			"decom: result: 3 sanitized")
	})
	t.Run("no token", func(t *testing.T) {
		e := newRunEnv(t)
		e.cfg.Registry = "https://config-registry"
		e.run(t, e.options("decom.mode=auto"))
		if len(e.sys.did("network")) != 0 {
			t.Errorf("network brought up without a token")
		}
		contains(t, "console", e.console.String(), "no registry_token in the config file")
	})
}

func TestRunNoDataPartition(t *testing.T) {
	e := newRunEnv(t)
	// No partition names, no labels: an ISO boot without a stick.
	os.WriteFile(filepath.Join(e.root, "sys/block/sda/sda2/uevent"), []byte("PARTN=2\n"), 0o644)
	os.WriteFile(filepath.Join(e.root, "sys/block/sda/sda1/uevent"), []byte("PARTN=1\n"), 0o644)
	writeAt(t, filepath.Join(e.root, "dev/sdc1"), 0, make([]byte, 512))
	e.cfg.Key = "/etc/decom/site.key"
	e.run(t, e.options("decom.mode=auto decom.poweroff=0"))
	if len(e.sys.did("mount")) != 0 || len(e.sys.did("unmount")) != 0 {
		t.Errorf("calls %q", e.sys.calls)
	}
	if !reflect.DeepEqual(e.cfgPath, []string{""}) {
		t.Errorf("config %q, want decom's default", e.cfgPath)
	}
	w := e.cli.wipeCalls()[0]
	if w.Req.CertDir != e.root+"/run/decom/certs" || w.Req.JournalDir != "" || w.Req.ConfigPath != "" || w.Req.Key != "" {
		t.Errorf("request %+v", w.Req)
	}
	// Only the ISO disk is a boot medium now: the sticks are targets.
	if !slices.Contains(w.Targets, "/dev/sda") || slices.Contains(w.Targets, "/dev/vda") {
		t.Errorf("targets %q", w.Targets)
	}
	contains(t, "console", e.console.String(),
		"decom: data partition: none labelled DECOM-DATA (an ISO boot?)",
		"decom: journals: none kept: without a DECOM-DATA partition a wipe cut off by a power loss or a crash cannot be resumed (it starts over)\n",
		"decom: certificates: 5 in /run/decom/certs\n",
		"decom: WARNING: no DECOM-DATA partition: 5 certificates are only in RAM and are lost at power off\n")
}

func TestRunMountFallback(t *testing.T) {
	e := newRunEnv(t)
	e.sys.mountErr = []error{errors.New("EINVAL"), nil}
	e.run(t, e.options("decom.mode=auto"))
	if m := e.sys.did("mount"); len(m) != 2 || !strings.HasSuffix(m[1], `"iocharset=iso8859-1"`) {
		t.Errorf("mounts %q", m)
	}
	e = newRunEnv(t)
	e.sys.mountErr = []error{errors.New("EINVAL"), errors.New("EINVAL"), errors.New("EINVAL")}
	e.run(t, e.options("decom.mode=auto"))
	if len(e.sys.did("unmount")) != 0 {
		t.Errorf("unmounted what was not mounted")
	}
	contains(t, "console", e.console.String(), "decom: ERROR: data partition: mounting /dev/sda2", "certificates: 3 in /run/decom/certs")
}

func TestRunRefusedRetry(t *testing.T) {
	e := newRunEnv(t)
	e.cli.refuse = map[string]string{"/dev/sdb": "mounted: /dev/sdb1 on /mnt"}
	err := e.run(t, e.options("decom.mode=auto"))
	wipes := e.cli.wipeCalls()
	if len(wipes) != 2 || slices.Contains(wipes[1].Targets, "/dev/sdb") || !slices.Contains(wipes[1].Targets, "/dev/vdb") {
		t.Fatalf("wipes %+v", wipes)
	}
	if err != nil {
		t.Errorf("Run: %v", err)
	}
	contains(t, "console", e.console.String(), "decom: drive /dev/sdb: refused: mounted: /dev/sdb1 on /mnt\n",
		"refused: mounted: /dev/sdb1 on /mnt", "decom: result: 2 sanitized, 0 with exceptions, 0 failed, 5 not wiped\n")
}

func TestRunWipeFails(t *testing.T) {
	e := newRunEnv(t)
	e.cli.outcome = map[string]string{"/dev/sdb": "completed-with-exceptions", "/dev/vdb": "failed"}
	e.cli.err = fmt.Errorf("%w: 1 of 3 targets", sanitize.ErrWipeFailed)
	if err := e.run(t, e.options("decom.mode=auto")); !errors.Is(err, sanitize.ErrWipeFailed) {
		t.Errorf("Run: %v, want the run's error", err)
	}
	contains(t, "console", e.console.String(), "decom: result: 1 sanitized, 1 with exceptions, 1 failed, 4 not wiped\n",
		"decom: problem: auto: wipe: wipe failed: 1 of 3 targets\n")
}

func TestRunPrepareFails(t *testing.T) {
	e := newRunEnv(t)
	e.cli.prepareErr = errors.New("a signing key is needed for the certificate: --key, DECOM_KEY or key: in the config file")
	e.run(t, e.options("decom.mode=auto"))
	if len(e.cli.calls) != 0 {
		t.Errorf("sanitized although the run could not be prepared")
	}
	contains(t, "console", e.console.String(),
		"not wiped: a signing key is needed for the certificate", "decom: result: 0 sanitized, 0 with exceptions, 0 failed, 7 not wiped\n")
}

func TestRunCmdlineErrors(t *testing.T) {
	e := newRunEnv(t)
	e.run(t, e.options("decom.verify=bogus decom.frobnicate=1"))
	if len(e.cli.wipeCalls()) != 0 {
		t.Errorf("wiped despite a wrong command line")
	}
	contains(t, "console", e.console.String(),
		"decom: WARNING: kernel command line: decom.frobnicate=1: unknown parameter; ignored\n",
		"decom: ERROR: kernel command line: decom.verify=bogus: want sample, full or none\n",
		"decom: result: 0 sanitized, 0 with exceptions, 0 failed, 7 not wiped\n",
		"data partition unmounted")
}

func TestRunPassphrase(t *testing.T) {
	encrypted := "-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----\n"
	t.Setenv("DECOM_KEY_PASSWORD", "")
	os.Unsetenv("DECOM_KEY_PASSWORD")
	t.Run("file", func(t *testing.T) {
		e := newRunEnv(t)
		os.WriteFile(filepath.Join(e.root, "data", "site.key"), []byte(encrypted), 0o600)
		os.WriteFile(filepath.Join(e.root, "data", "key-passphrase"), []byte("s3cret\r\nignored\n"), 0o600)
		e.run(t, e.options("decom.mode=auto"))
		if !reflect.DeepEqual(e.cli.pass, []string{"s3cret"}) {
			t.Errorf("the run got the passphrase %q", e.cli.pass)
		}
		if _, ok := os.LookupEnv("DECOM_KEY_PASSWORD"); ok {
			t.Errorf("DECOM_KEY_PASSWORD left set")
		}
	})
	t.Run("asked", func(t *testing.T) {
		e := newRunEnv(t)
		os.WriteFile(filepath.Join(e.root, "data", "site.key"), []byte(encrypted), 0o600)
		o := e.options("decom.mode=auto")
		// No key during the countdown; then the passphrase.
		o.Input = &scriptInput{lines: []string{"typed"}}
		e.run(t, o)
		if !reflect.DeepEqual(e.cli.pass, []string{"typed"}) {
			t.Errorf("the run got the passphrase %q", e.cli.pass)
		}
		contains(t, "console", e.console.String(), "decom: the signing key /data/site.key is encrypted: type its passphrase")
	})
	t.Run("none", func(t *testing.T) {
		e := newRunEnv(t)
		os.WriteFile(filepath.Join(e.root, "data", "site.key"), []byte(encrypted), 0o600)
		e.run(t, e.options("decom.mode=auto"))
		if len(e.cli.calls) != 0 {
			t.Errorf("decom ran without the passphrase")
		}
		contains(t, "console", e.console.String(), "no passphrase for the signing key", "7 not wiped")
	})
	// An empty key-passphrase file is ignored, and an empty answer is no answer.
	t.Run("empty", func(t *testing.T) {
		e := newRunEnv(t)
		os.WriteFile(filepath.Join(e.root, "data", "site.key"), []byte(encrypted), 0o600)
		os.WriteFile(filepath.Join(e.root, "data", "key-passphrase"), []byte("\n"), 0o600)
		o := e.options("decom.mode=auto")
		o.Input = &scriptInput{lines: []string{""}}
		e.run(t, o)
		if len(e.cli.calls) != 0 {
			t.Errorf("the run started with an empty passphrase: %q", e.cli.pass)
		}
		contains(t, "console", e.console.String(), "decom: signing key: /data/key-passphrase is empty: ignored\n",
			"an empty one was typed", "7 not wiped")
	})
}

func TestRunInteractive(t *testing.T) {
	e := newRunEnv(t)
	o := e.options("decom.mode=interactive")
	o.Input = ReaderInput(strings.NewReader("bogus\nNVME0001 sdb\nno\nNVME0001 sdb\nyes\n"))
	e.run(t, o)
	if len(e.cli.calls) != 1 {
		t.Fatalf("calls %+v", e.cli.calls)
	}
	if got := e.cli.calls[0].Targets; !reflect.DeepEqual(got, []string{"/dev/nvme0n1", "/dev/sdb"}) {
		t.Errorf("wiped %q", got)
	}
	contains(t, "console", e.console.String(), "decom: drives of this machine:\n", "decom: not in the list: bogus; try again\n",
		"decom: ALL DATA WILL BE DESTROYED on 2 drives: /dev/nvme0n1 (QEMU NVMe Ctrl, NVME0001, nvme, 1.0 GiB), /dev/sdb",
		"not chosen", "decom: result: 2 sanitized, 0 with exceptions, 0 failed, 5 not wiped\n")

	e = newRunEnv(t)
	o = e.options("decom.mode=interactive")
	o.Input = ReaderInput(strings.NewReader("\n"))
	e.run(t, o)
	if len(e.cli.wipeCalls()) != 0 {
		t.Errorf("wiped with nothing chosen")
	}
	contains(t, "console", e.console.String(), "decom: nothing chosen: nothing wiped\n")
}

func TestPick(t *testing.T) {
	e := newRunEnv(t)
	_ = e
	targets, _ := Targets(mustScan(t, machine(t)), nil)
	for answer, want := range map[string][]string{
		"all":                       {"/dev/nvme0n1", "/dev/sda", "/dev/sdb", "/dev/sdc", "/dev/vda", "/dev/vdb"},
		"vm-data-0002 /dev/sdb":     {"/dev/sdb", "/dev/vdb"},
		"  NVME0001  ":              {"/dev/nvme0n1"},
		"":                          nil,
		"nvme0n1":                   nil, // has a serial: the serial it is
		"vm-data-0002 vm-data-0002": {"/dev/vdb"},
	} {
		got, _ := pick(targets, answer)
		var paths []string
		for _, d := range got {
			paths = append(paths, d.Path)
		}
		if !reflect.DeepEqual(paths, want) {
			t.Errorf("pick(%q) = %q, want %q", answer, paths, want)
		}
	}
}

func TestRunShell(t *testing.T) {
	e := newRunEnv(t)
	e.run(t, e.options("decom.mode=shell"))
	if len(e.sys.calls) != 1 || e.sys.calls[0] != "sync" || len(e.cli.calls) != 0 {
		t.Errorf("calls %q, %+v", e.sys.calls, e.cli.calls)
	}
	contains(t, "console", e.console.String(), "decom: decom.mode=shell: this image has no rescue shell.\n",
		"decom.mode=interactive")
}

// A panic in a step is reported and the agent goes on to its end: the summary, the log
// closed and /data unmounted.
func TestRunPanic(t *testing.T) {
	e := newRunEnv(t)
	e.cli.panics = true
	if err := e.run(t, e.options("decom.mode=auto")); !errors.Is(err, ErrProblems) {
		t.Errorf("Run: %v", err)
	}
	contains(t, "console", e.console.String(), "decom: ERROR: auto: internal error: boom\n", "decom: summary\n",
		"decom: problem: auto: internal error: boom\n", "data partition unmounted")
	o := e.options("decom.mode=auto")
	o.System = nil // every step fails, finishing too
	e.console.Reset()
	if err := e.run(t, o); !errors.Is(err, ErrProblems) {
		t.Errorf("Run: %v", err)
	}
	contains(t, "console", e.console.String(), "decom: problem: kernel modules and disks: internal error:",
		"decom: result: 0 sanitized", "decom: ERROR: finishing: internal error")
}

func TestSummaryRender(t *testing.T) {
	s := Summary{Mode: ModeAuto, CertDir: "/data/certs", OnData: true, DataDev: "/dev/sda2", Registry: "http://reg",
		LogFile: "/data/logs/decom-x.log", Problems: []string{"network: slow"},
		Drives: []DriveResult{
			{Device: "/dev/nvme0n1", Serial: "S1", Model: "M1", Size: 1 << 40, Outcome: "completed", Verified: "yes (sample)",
				Sanitization: "sanitized", Certificate: "/data/certs/a.sigstore.json", Uploaded: true},
			{Device: "/dev/sdb", Serial: "S2", Size: 512, Outcome: "completed-with-exceptions", Verified: "yes (full)",
				Sanitization: "sanitized-with-exceptions", Certificate: "/data/certs/b.sigstore.json", Note: "not uploaded"},
			{Device: "/dev/sdc", Outcome: "completed", Verified: "FAILED (sample)", Sanitization: "failed",
				Certificate: "/data/certs/c.sigstore.json"},
			{Device: "/dev/sda", Serial: "STICK", Outcome: OutcomeSkipped, Note: "boot medium"},
		}}
	var b strings.Builder
	s.Render(&b)
	want := `decom: summary
decom:   DEVICE        SERIAL  MODEL  SIZE     OUTCOME                    VERIFIED         CERTIFICATE
decom:   /dev/nvme0n1  S1      M1     1.0 TiB  completed                  yes (sample)     a.sigstore.json (uploaded)
decom:   /dev/sda      STICK   -      -        skipped                    -                boot medium
decom:   /dev/sdb      S2      -      512 B    completed-with-exceptions  yes (full)       b.sigstore.json; not uploaded
decom:   /dev/sdc      -       -      -        completed                  FAILED (sample)  c.sigstore.json
decom: certificates: 3 in /data/certs (DECOM-DATA partition /dev/sda2)
decom: registry: 1 uploaded to http://reg, 2 not: they wait for ` + "`decom cert push`" + `
decom: log: /data/logs/decom-x.log
decom: problem: network: slow
decom: result: 1 sanitized, 1 with exceptions, 1 failed, 1 not wiped
`
	if b.String() != want {
		t.Errorf("summary:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestOutputPending(t *testing.T) {
	var con strings.Builder
	clk := newFakeClock()
	o := &output{console: &con, now: clk.Now}
	o.Printf("before %d", 1)
	o.Debugf("hidden")
	o.Write([]byte("partial "))
	path := filepath.Join(t.TempDir(), "logs", "x.log")
	if err := o.openLog(path); err != nil {
		t.Fatal(err)
	}
	o.Write([]byte("line\n"))
	o.Printf("after")
	if err := o.closeLog(); err != nil {
		t.Fatal(err)
	}
	o.Printf("console only")
	b, _ := os.ReadFile(path)
	want := "2026-03-01T12:00:00.000Z decom: before 1\n2026-03-01T12:00:00.000Z decom: hidden\n" +
		"2026-03-01T12:00:00.000Z partial line\n2026-03-01T12:00:00.000Z decom: after\n"
	if string(b) != want {
		t.Errorf("log:\n%s\nwant:\n%s", b, want)
	}
	if con.String() != "decom: before 1\npartial line\ndecom: after\ndecom: console only\n" {
		t.Errorf("console %q", con.String())
	}
}
