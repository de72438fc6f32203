package agent

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// scriptInput answers questions with its lines, in turn, and reports a key press to
// WaitKey when pressed says so: the agent's tests script the console with it.
type scriptInput struct {
	lines   []string
	pressed bool
	waited  int // WaitKey calls
}

func (in *scriptInput) ReadLine(ctx context.Context) (string, error) {
	if len(in.lines) == 0 {
		return "", io.EOF
	}
	l := in.lines[0]
	in.lines = in.lines[1:]
	return l, nil
}

func (in *scriptInput) ReadSecret(ctx context.Context) (string, error) { return in.ReadLine(ctx) }

func (in *scriptInput) WaitKey(ctx context.Context) error {
	in.waited++
	if in.pressed {
		return nil
	}
	<-ctx.Done()
	return ctx.Err()
}

// logTime is when the log on the data partition says the first line containing s was
// written.
func logTime(t *testing.T, root, s string) time.Time {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "data", "logs", "decom-20260301T120000Z.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if stamp, rest, ok := strings.Cut(l, " "); ok && strings.Contains(rest, s) {
			at, err := time.Parse("2006-01-02T15:04:05.000Z", stamp)
			if err != nil {
				t.Fatal(err)
			}
			return at
		}
	}
	t.Fatalf("the log lacks %q:\n%s", s, b)
	return time.Time{}
}

// Issue 19: decom.registry= on the kernel command line gets the config's token only
// when the config allows it; else the agent goes on with the config's own registry.
func TestRunCmdlineRegistryRefused(t *testing.T) {
	t.Run("falls back to the config's registry", func(t *testing.T) {
		e := newRunEnv(t)
		e.cfg.Registry, e.cfg.HasToken = "https://config-registry:8443", true
		e.run(t, e.options("decom.mode=auto decom.registry=http://collector.example:8080"))
		w := e.cli.wipeCalls()
		if len(w) != 1 {
			t.Fatalf("wipes %+v", w)
		}
		if v := w[0].Req.Registry; v != "https://config-registry:8443" {
			t.Errorf("decom %+v: want the config's registry", w[0])
		}
		contains(t, "console", e.console.String(),
			"decom: ERROR: kernel command line: decom.registry=http://collector.example:8080: refused: the config file does not allow this registry",
			"decom: problem: kernel command line: decom.registry=http://collector.example:8080: refused")
	})
	t.Run("no registry in the config", func(t *testing.T) {
		e := newRunEnv(t)
		e.cfg.HasToken = true
		e.run(t, e.options("decom.mode=auto decom.registry=https://collector.example"))
		if len(e.sys.did("network")) != 0 {
			t.Errorf("network brought up for a refused registry")
		}
		w := e.cli.wipeCalls()
		if len(w) != 1 || w[0].Req.Registry != "" {
			t.Errorf("wipes %+v", w)
		}
		contains(t, "console", e.console.String(), "decom.registry=https://collector.example: refused",
			"certificates are not uploaded", "decom: result: 3 sanitized")
	})
}

// Issue 8: decom.verify=none on the kernel command line is refused unless the config
// allows it; the config's own verify: none is its decision.
func TestRunCmdlineVerifyNoneRefused(t *testing.T) {
	e := newRunEnv(t)
	e.run(t, e.options("decom.mode=auto decom.verify=none"))
	if w := e.cli.wipeCalls(); len(w) != 0 {
		t.Errorf("wiped unverified on the kernel command line's word: %+v", w)
	}
	contains(t, "console", e.console.String(),
		"decom: ERROR: kernel command line: decom.verify=none: refused: the config file does not allow wiping without verification",
		"decom: result: 0 sanitized, 0 with exceptions, 0 failed, 7 not wiped\n")

	e = newRunEnv(t)
	e.cfg.Verify = VerifyNone
	e.run(t, e.options("decom.mode=auto decom.verify=none"))
	if w := e.cli.wipeCalls(); len(w) != 1 || w[0].Req.Verify != "none" {
		t.Errorf("the config says verify: none, yet wipes %+v", w)
	}

	e = newRunEnv(t)
	o := e.options("decom.mode=interactive decom.verify=none")
	o.Input = &scriptInput{lines: []string{"all", "yes"}}
	e.run(t, o)
	if w := e.cli.wipeCalls(); len(w) != 0 {
		t.Errorf("interactive mode wiped unverified on the kernel command line's word: %+v", w)
	}
}

// Issue 20: auto mode shows its plan and counts down 15 s by default before the first
// write.
func TestRunAutoCountdown(t *testing.T) {
	e := newRunEnv(t)
	e.run(t, e.options("decom.mode=auto"))
	if len(e.cli.wipeCalls()) != 1 {
		t.Fatalf("wipes %+v", e.cli.wipeCalls())
	}
	contains(t, "console", e.console.String(),
		"decom: plan: wipe 3 drives with dod-3, verification sample:\n",
		"decom:   /dev/nvme0n1   NVME0001             QEMU NVMe Ctrl, NVME0001, nvme, 1.0 GiB\n",
		"decom: wiping in 15s: press any key at this console to choose the drives instead (interactive mode)\n",
		"decom: wiping in 10s\n", "decom: wiping in 1s\n")
	listed := logTime(t, e.root, "decom: drive /dev/vdb: ")
	wiped := logTime(t, e.root, "decom: wiping 3 drives in parallel")
	if d := wiped.Sub(listed); d < 15*time.Second {
		t.Errorf("the wipe started %v after the drives were listed, want 15s", d)
	}
}

// A key during the countdown switches to interactive mode: only the drives chosen
// there are wiped.
func TestRunAutoKeySwitchesToInteractive(t *testing.T) {
	e := newRunEnv(t)
	o := e.options("decom.mode=auto")
	o.Input = &scriptInput{pressed: true, lines: []string{"NVME0001", "yes"}}
	e.run(t, o)
	w := e.cli.wipeCalls()
	if len(w) != 1 {
		t.Fatalf("wipes %+v", w)
	}
	if got := w[0].Targets; !reflect.DeepEqual(got, []string{"/dev/nvme0n1"}) {
		t.Errorf("wiped %q, want only the chosen /dev/nvme0n1", got)
	}
	con := e.console.String()
	contains(t, "console", con, "decom: key pressed: switching to interactive mode\n",
		"decom: result: 1 sanitized, 0 with exceptions, 0 failed, 6 not wiped\n")
	if n := strings.Count(con, "decom:   /dev/sda "); n != 1 {
		t.Errorf("the summary lists the stick %d times", n)
	}
}

func TestCmdlineRegistryRefusal(t *testing.T) {
	for _, tc := range []struct {
		url  string
		cfg  Config
		want string // "" when allowed, else part of the refusal
	}{
		{"https://reg.example:8443", Config{}, "does not allow this registry"},
		{"http://reg.example:8443", Config{Registry: "http://reg.example:8443/"}, ""},  // the config's own
		{"https://REG.example:8443", Config{Registry: "https://reg.example:8443"}, ""}, // host names ignore case
		{"https://reg.example:9443", Config{Registry: "https://reg.example:8443"}, "does not allow"},
		{"https://reg.example/a", Config{Registry: "https://reg.example/b"}, "does not allow"},
		{"http://reg.example:8443", Config{Registry: "https://reg.example:8443"}, "does not allow"},
		{"https://reg.example:8443", Config{CmdlineRegistries: []string{"reg.example"}}, ""},
		{"https://reg.example:8443", Config{CmdlineRegistries: []string{"Reg.Example:8443"}}, ""},
		{"https://reg.example:9443", Config{CmdlineRegistries: []string{"reg.example:8443"}}, "does not allow"},
		{"https://reg.example.evil.net", Config{CmdlineRegistries: []string{"reg.example"}}, "does not allow"},
		{"https://evil.net/reg.example", Config{CmdlineRegistries: []string{"reg.example"}}, "does not allow"},
		{"https://reg.example@evil.net", Config{CmdlineRegistries: []string{"reg.example"}}, "does not allow"},
		{"https://reg.example:8443/x", Config{CmdlineRegistries: []string{"https://reg.example:8443/x/"}}, ""},
		{"https://reg.example:8443/y", Config{CmdlineRegistries: []string{"https://reg.example:8443/x"}}, "does not allow"},
		{"https://[fd00::1]:8443", Config{CmdlineRegistries: []string{"fd00::1"}}, ""},
		{"https://[fd00::1]:8443", Config{CmdlineRegistries: []string{"[fd00::1]:8443"}}, ""},
		{"https://anything.example", Config{CmdlineRegistries: []string{"*"}}, ""},
		{"http://anything.example", Config{CmdlineRegistries: []string{"*"}}, "plain http://"},
		{"http://10.0.2.2:8080", Config{CmdlineRegistries: []string{"10.0.2.2"}}, "plain http://"},
		{"http://10.0.2.2:8080", Config{CmdlineRegistries: []string{"http://10.0.2.2:8080"}}, "plain http://"},
		{"http://10.0.2.2:8080", Config{CmdlineRegistries: []string{"10.0.2.2"}, AllowInsecureHTTP: true}, ""},
		{"http://10.0.2.2:8080", Config{AllowInsecureHTTP: true}, "does not allow"},
	} {
		got := cmdlineRegistryRefusal(tc.url, tc.cfg)
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("decom.registry=%s with %+v: %q, want %q", tc.url, tc.cfg, got, tc.want)
		}
	}
	for _, bad := range []string{"", "ftp://reg", "https://", "reg/x", "a b"} {
		if err := checkBootConfig(Config{CmdlineRegistries: []string{bad}}); err == nil {
			t.Errorf("cmdline_registries: %q accepted", bad)
		}
	}
}

// With the config's consent decom.registry= is used.
func TestRunCmdlineRegistryAllowed(t *testing.T) {
	e := newRunEnv(t)
	e.cfg.HasToken, e.cfg.CmdlineRegistries = true, []string{"reg-b.example"}
	e.run(t, e.options("decom.mode=auto decom.registry=https://reg-b.example:8443"))
	w := e.cli.wipeCalls()
	if len(w) != 1 {
		t.Fatalf("wipes %+v", w)
	}
	if v := w[0].Req.Registry; v != "https://reg-b.example:8443" {
		t.Errorf("decom %+v", w[0])
	}
	if strings.Contains(e.console.String(), "refused") || len(e.sys.did("network")) != 1 {
		t.Errorf("refused, or no network: %q", e.sys.calls)
	}
}

// The config's own plain-HTTP registry is its decision; the console says what it costs.
// A plain-http registry receives the token only when the config allows plain HTTP,
// even when the config names it itself.
func TestRunConfigRegistryHTTP(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		e := newRunEnv(t)
		e.cfg.Registry, e.cfg.HasToken = "http://10.0.2.2:8080", true
		e.run(t, e.options("decom.mode=auto"))
		if r := e.cli.wipeCalls()[0].Req.Registry; r != "" {
			t.Errorf("the token went to a plain-http registry: %q", r)
		}
		contains(t, "console", e.console.String(), "decom: ERROR: registry http://10.0.2.2:8080: refused: plain http://")
	})
	t.Run("allowed", func(t *testing.T) {
		e := newRunEnv(t)
		e.cfg.Registry, e.cfg.HasToken, e.cfg.AllowInsecureHTTP = "http://10.0.2.2:8080", true, true
		e.run(t, e.options("decom.mode=auto"))
		if r := e.cli.wipeCalls()[0].Req.Registry; r == "" {
			t.Errorf("no registry: %+v", e.cli.wipeCalls()[0].Req)
		}
		contains(t, "console", e.console.String(),
			"decom: WARNING: registry http://10.0.2.2:8080: plain HTTP (boot: allow_insecure_http): the registry token and the certificates cross the network unencrypted\n")
	})
}

func TestRunCmdlineVerifyNoneAllowed(t *testing.T) {
	e := newRunEnv(t)
	e.cfg.AllowUnverified = true
	e.run(t, e.options("decom.mode=auto decom.verify=none"))
	w := e.cli.wipeCalls()
	if len(w) != 1 {
		t.Fatalf("wipes %+v", w)
	}
	if v := w[0].Req.Verify; v != "none" {
		t.Errorf("decom %+v", w[0])
	}
	// What was not read back is not counted as sanitized.
	contains(t, "console", e.console.String(),
		"decom: result: 0 sanitized, 0 with exceptions, 3 written but not read back (no certificate of sanitization), 0 failed, 4 not wiped\n")
}

func intp(n int) *int { return &n }

// Only the config can set the countdown, 0 included; decom.countdown= is ignored.
func TestRunCountdownFromConfig(t *testing.T) {
	e := newRunEnv(t)
	e.cfg.Countdown = intp(0)
	in := &scriptInput{pressed: true} // a key would switch: with no countdown none is waited for
	o := e.options("decom.mode=auto")
	o.Input = in
	e.run(t, o)
	if len(e.cli.wipeCalls()) != 1 || in.waited != 0 {
		t.Errorf("wipes %+v, WaitKey called %d times", e.cli.wipeCalls(), in.waited)
	}
	contains(t, "console", e.console.String(), "decom: plan: wipe 3 drives", "decom: wiping now: the config file sets no countdown (boot: countdown: 0)\n")
	if d := logTime(t, e.root, "decom: wiping 3 drives in parallel").Sub(logTime(t, e.root, "decom: plan: wipe")); d != 0 {
		t.Errorf("waited %v", d)
	}

	e = newRunEnv(t)
	e.cfg.Countdown = intp(7)
	e.run(t, e.options("decom.mode=auto decom.countdown=0"))
	contains(t, "console", e.console.String(),
		"decom: WARNING: kernel command line: decom.countdown=0: the countdown is set in config.yaml (boot: countdown:), not on the kernel command line; ignored\n",
		"decom: wiping in 7s: press any key", "decom: wiping in 5s\n", "decom: wiping in 3s\n")
	if d := logTime(t, e.root, "decom: wiping 3 drives in parallel").Sub(logTime(t, e.root, "decom: plan: wipe")); d != 7*time.Second {
		t.Errorf("waited %v, want 7s", d)
	}

	// A countdown the agent cannot use: nothing is wiped, though decom wipe would
	// accept the file.
	e = newRunEnv(t)
	e.cfg.Countdown = intp(-1)
	e.run(t, e.options("decom.mode=auto"))
	if len(e.cli.wipeCalls()) != 0 {
		t.Errorf("wiped with a config the agent refused")
	}
	contains(t, "console", e.console.String(), "decom: ERROR: config: config file: boot: countdown: -1: want 0 to 3600 seconds: nothing can be wiped until it is fixed\n",
		"the config file cannot be used (see above)", "decom: result: 0 sanitized, 0 with exceptions, 0 failed, 7 not wiped\n")
}

// setDMI gives the fake machine a DMI system serial number and UUID.
func setDMI(t *testing.T, root, serial, uuid string) {
	t.Helper()
	dir := filepath.Join(root, "sys", "class", "dmi", "id")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "product_serial"), []byte(serial+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "product_uuid"), []byte(uuid+"\n"), 0o644)
}

// With boot: machines, auto mode wipes only the machines listed; elsewhere it asks.
func TestRunAutoMachines(t *testing.T) {
	const uuid = "4c4c4544-0042-3510-8052-b4c04f4e5331"
	for _, listed := range [][]string{{"CZJ1234XYZ"}, {"other", strings.ToUpper(uuid)}} {
		e := newRunEnv(t)
		setDMI(t, e.root, "CZJ1234XYZ", uuid)
		e.cfg.Machines = listed
		e.run(t, e.options("decom.mode=auto"))
		if w := e.cli.wipeCalls(); len(w) != 1 || !slices.Contains(w[0].Targets, "/dev/vdb") {
			t.Errorf("machines %+v: wipes %+v", listed, w)
		}
		contains(t, "console", e.console.String(), "decom: auto mode: this machine (DMI serial CZJ1234XYZ, UUID "+uuid+") is in the config's boot: machines\n")
	}

	e := newRunEnv(t)
	setDMI(t, e.root, "CZJ1234XYZ", uuid)
	e.cfg.Machines = []string{"CZJ9999"}
	in := &scriptInput{pressed: true} // no countdown, no key: it asks
	o := e.options("decom.mode=auto")
	o.Input = in
	e.run(t, o)
	if len(e.cli.wipeCalls()) != 0 || in.waited != 0 {
		t.Errorf("wipes %+v on a machine not listed", e.cli.wipeCalls())
	}
	contains(t, "console", e.console.String(),
		"decom: auto mode: this machine (DMI serial CZJ1234XYZ, UUID "+uuid+") is not in the config's boot: machines: nothing is wiped without a choice at this console\n",
		"decom: type the serial numbers of the drives to wipe",
		"decom: problem: auto: reading the console: EOF\n",
		"decom: result: 0 sanitized, 0 with exceptions, 0 failed, 7 not wiped\n")

	// No DMI at all (the fake machine has none): not listed either.
	e = newRunEnv(t)
	e.cfg.Machines = []string{"CZJ1234XYZ"}
	o = e.options("decom.mode=auto")
	o.Input = &scriptInput{lines: []string{"vm-data-0002", "yes"}}
	e.run(t, o)
	if w := e.cli.wipeCalls(); len(w) != 1 || w[0].Targets[len(w[0].Targets)-1] != "/dev/vdb" || slices.Contains(w[0].Targets, "/dev/sdb") {
		t.Errorf("wipes %+v, want the chosen /dev/vdb", w)
	}
	contains(t, "console", e.console.String(), "this machine (DMI serial -, UUID -) is not in the config's boot: machines")
}

func TestNextTick(t *testing.T) {
	var got []int
	for left := 15 * time.Second; left > 0; left = nextTick(left) {
		got = append(got, int(left/time.Second))
	}
	if want := []int{15, 10, 5, 3, 2, 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("ticks %v, want %v", got, want)
	}
	got = nil
	for left := 8 * time.Second; left > 0; left = nextTick(left) {
		got = append(got, int(left/time.Second))
	}
	if want := []int{8, 5, 3, 2, 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("ticks %v, want %v", got, want)
	}
}

// keyAt is an Input on which a key is pressed when the fake clock reaches a time.
// press blocks until the countdown that waits for the key has ended its wait: the
// fake clock does not block, so without that the countdown would run on.
type keyAt struct {
	scriptInput
	keys    chan struct{}
	once    sync.Once
	waiting chan struct{} // closed once WaitKey has been called; ctx is then set
	ctx     context.Context
}

func (k *keyAt) press() {
	<-k.waiting
	k.keys <- struct{}{}
	<-k.ctx.Done()
}

func (k *keyAt) WaitKey(ctx context.Context) error {
	k.once.Do(func() { k.ctx = ctx; close(k.waiting) })
	select {
	case <-k.keys:
		return nil
	case <-ctx.Done():
		select {
		case <-k.keys:
			return nil
		default:
			return ctx.Err()
		}
	}
}

// A key in the middle of the countdown stops it.
func TestCountdownKey(t *testing.T) {
	clk := newFakeClock()
	var con strings.Builder
	in := &keyAt{keys: make(chan struct{}, 1), waiting: make(chan struct{})}
	clk.after(6*time.Second, in.press)
	a := &agent{clk: clk, input: in, out: &output{console: syncWriter{w: &con}, now: clk.Now}}
	start := clk.Now()
	keyed, err := a.countdown(context.Background(), 15*time.Second)
	if !keyed || err != nil {
		t.Errorf("countdown: keyed %v, %v", keyed, err)
	}
	// It spoke at 15 s and 10 s left; the key at 6 s ended it before "5s".
	if c := con.String(); !strings.Contains(c, "wiping in 15s") || !strings.Contains(c, "wiping in 10s") || strings.Contains(c, "wiping in 5s") {
		t.Errorf("console %q", c)
	}
	if took := clk.Now().Sub(start); took >= 15*time.Second {
		t.Errorf("the countdown ran its full %v despite the key at 6s", took)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if keyed, err := a.countdown(ctx, 15*time.Second); keyed || err == nil {
		t.Errorf("countdown with its context ended: keyed %v, %v", keyed, err)
	}
}
