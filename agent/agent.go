package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/decom-project/decom/internal/kmod"
	"github.com/decom-project/decom/inventory"
)

// System is what the agent asks of the kernel. Linux (in the boot image) does it for
// real; tests give a fake, so that nothing on the machine running them is mounted,
// loaded or powered off.
type System interface {
	// Mount mounts the FAT filesystem of device on target (read-write, noexec,
	// nosuid, nodev), with mount data such as "iocharset=ascii".
	MountFAT(device, target, data string) error
	// Unmount unmounts target.
	Unmount(target string) error
	// Sync flushes every filesystem's dirty data to its medium.
	Sync()
	// LoadModule loads a kernel module (kmod.Load).
	LoadModule(modulesDir string, m kmod.Module) error
	// KernelRelease is uname -r.
	KernelRelease() (string, error)
	// Network brings up the wired interfaces and configures the first that gets a
	// DHCPv4 lease (address, default route, /etc/resolv.conf); it returns a line
	// that says what it got.
	Network(ctx context.Context, logf func(format string, args ...any)) (string, error)
	// PowerOff powers the machine off; it returns only when that failed.
	PowerOff() error
}

// Config is what the agent needs to know of decom's config file: cmd/decom reads it,
// with decom's own loader and rules, and hands these over (Options.ReadConfig).
type Config struct {
	Method   string
	Verify   string
	Key      string
	Registry string
	// HasToken says whether the file gives a registry token.
	HasToken bool
	// PDF is the file's pdf: setting; nil when it has none.
	PDF      *bool
	Operator string

	// The rest is the file's boot: section, the agent's own settings.

	// Countdown is how many seconds auto mode shows its plan before the first
	// write, during which a key at the console switches to interactive mode; nil
	// means DefaultCountdown. Only the config file can set it, 0 included.
	Countdown *int
	// Machines, when not empty, are the DMI system serial numbers and UUIDs of the
	// machines auto mode may wipe; on any other machine the agent asks at the
	// console instead (interactive mode).
	Machines []string
	// CmdlineRegistries are the registries decom.registry= may name, and so send
	// the config's token to: a URL, a host, host:port, or "*" for any. Without
	// them decom.registry= is refused unless it names the config's own registry.
	CmdlineRegistries []string
	// AllowInsecureHTTP lets the registry (the config's, or one decom.registry= names)
	// be a plain http:// one, which receives the token unencrypted.
	AllowInsecureHTTP bool
	// AllowUnverified lets decom.verify=none through.
	AllowUnverified bool
}

// DefaultCountdown is auto mode's countdown when the config file sets none.
const DefaultCountdown = 15 * time.Second

// maxCountdown bounds the config file's countdown.
const maxCountdown = 3600

// CLI runs decom's own command line in the agent's process: cmd/decom's run, with the
// same arguments a person would type, returning its exit code.
type CLI func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int

// Options are everything Run needs. System, CLI and ReadConfig are required.
type Options struct {
	// Root is the directory below which the agent reads /proc, /sys, /dev and
	// /lib/modules and makes /data and /run/decom: "/" in the boot image, a fake
	// tree in tests.
	Root string
	// Cmdline is the kernel command line; empty means Root/proc/cmdline.
	Cmdline string
	System  System
	CLI     CLI
	// ReadConfig reads a config file as decom does; path "" means decom's default
	// ($DECOM_CONFIG, else /etc/decom/config.yaml when it exists).
	ReadConfig func(path string) (Config, error)
	// Inventory lists the machine's drives; nil means inventory.Scan below Root.
	Inventory func(ctx context.Context) ([]inventory.Device, error)
	// Console shows what the agent says (default os.Stdout); Input answers its
	// questions (default: none, so interactive mode cannot run).
	Console io.Writer
	Input   Input
	// Boot makes Run the boot image's agent: at its end it powers the machine off,
	// or halts and waits, and never returns. Without it Run returns an exit code.
	Boot bool
	// Version is shown at the start.
	Version string
	// Settling bounds the wait for the hardware (zero: DefaultSettling; decom.settle
	// changes Quiet). PowerOffDelay is the pause between the summary and powering
	// off (zero: 10 s).
	Settling      Settling
	PowerOffDelay time.Duration

	clock clock // tests replace it
}

// Paths inside the root.
const (
	dataDir       = "data"           // the data partition's mount point
	configFile    = "config.yaml"    // on the data partition
	passphraseRel = "key-passphrase" // on the data partition: the signing key's passphrase
	caFileRel     = "ca.pem"         // on the data partition: CA certificates for the registry
	runDir        = "run/decom"      // certificates and logs without a data partition
)

// Exit codes of Run (without Options.Boot): decom wipe's when it ran and failed, else
// ExitProblems when a step failed (the summary's "decom: problem:" lines say which).
const (
	ExitOK       = 0
	ExitProblems = 1
)

// agent is one run.
type agent struct {
	o     Options
	out   *output
	clk   clock
	cmd   Cmdline
	input Input

	cfg        Config
	configPath string // passed to decom with --config; "" for decom's default
	data       *Partition
	dataMount  string
	allData    []Partition
	network    bool // a lease was configured
	registry   string
	configBad  bool // the config file cannot be used: nothing is wiped
	summary    Summary
	wipeExit   int
	fatal      bool
	stamp      string
	jsonLog    *os.File
	progressAt map[string]time.Time
}

// Run is the boot agent: it reads the kernel command line, loads the modules for the
// hardware, waits for the disks, mounts the data partition, reads the config, brings
// up the network when a registry is configured and then, as decom.mode says, wipes
// every eligible drive (auto), asks which (interactive) or explains (shell). It ends
// with a summary on the console, the data partition unmounted and, with Options.Boot,
// the machine powered off or halted. A step that fails is reported and the next one
// runs; Run does not panic.
//
// The mounts of /proc, /sys, /dev, /run and /tmp, the console and the reaping of
// orphans are Init's, which starts Run in a process of its own.
func Run(ctx context.Context, o Options) int {
	if o.Root == "" {
		o.Root = "/"
	}
	if o.Console == nil {
		o.Console = os.Stdout
	}
	if o.Input == nil {
		o.Input = noInput{}
	}
	if o.Settling == (Settling{}) {
		o.Settling = DefaultSettling
	}
	if o.PowerOffDelay == 0 {
		o.PowerOffDelay = 10 * time.Second
	}
	clk := o.clock
	if clk == nil {
		clk = realClock{}
	}
	a := &agent{o: o, clk: clk, input: o.Input, out: &output{console: o.Console, now: clk.Now},
		progressAt: map[string]time.Time{}}
	a.stamp = clk.Now().UTC().Format("20060102T150405Z")
	code := a.run(ctx)
	if o.Boot {
		a.end() // does not return
	}
	return code
}

func (a *agent) run(ctx context.Context) (code int) {
	defer func() {
		if r := recover(); r != nil {
			a.out.Printf("FATAL: internal error: %v", r)
			a.out.Debugf("%s", debug.Stack())
			a.fatal = true
			a.finish()
			code = ExitProblems
		}
	}()
	a.readCmdline()
	a.out.Printf("decom %s boot agent: mode %s", a.o.Version, a.cmd.Mode)
	if a.cmd.Mode == ModeShell {
		a.shell(ctx)
		a.finish()
		return ExitOK
	}
	a.step("kernel modules and disks", func() error { return a.hardware(ctx) })
	a.step("data partition", a.mountData)
	a.step("config", a.readConfig)
	if a.registry != "" {
		a.step("network", func() error { return a.bringUpNetwork(ctx) })
	}
	switch a.cmd.Mode {
	case ModeAuto:
		a.step("auto", func() error { return a.auto(ctx) })
	case ModeInteractive:
		a.step("interactive", func() error { return a.interactive(ctx) })
	}
	a.finish()
	switch {
	case a.wipeExit != 0:
		return a.wipeExit
	case a.fatal || len(a.summary.Problems) > 0:
		return ExitProblems
	}
	return ExitOK
}

// step runs one step of the sequence; a failure or a panic is reported and the
// sequence goes on.
func (a *agent) step(name string, f func() error) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			a.problem("%s: internal error: %v", name, r)
			a.out.Debugf("%s", debug.Stack())
			ok = false
		}
	}()
	if err := f(); err != nil {
		a.problem("%s: %v", name, err)
		return false
	}
	return true
}

// problem reports a failed step now, and again in the summary.
func (a *agent) problem(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	a.out.Printf("ERROR: %s", msg)
	a.summary.Problems = append(a.summary.Problems, msg)
}

func (a *agent) path(elem ...string) string {
	return filepath.Join(append([]string{a.o.Root}, elem...)...)
}

func (a *agent) readCmdline() {
	line := a.o.Cmdline
	if line == "" {
		b, err := os.ReadFile(a.path("proc", "cmdline"))
		if err != nil {
			a.problem("kernel command line: %v; using the defaults", err)
		}
		line = string(b)
	}
	a.cmd = ParseCmdline(line)
	a.out.debug = a.cmd.Debug
	a.out.Debugf("kernel command line: %s", strings.TrimSpace(line))
	for _, w := range a.cmd.Warnings {
		a.out.Printf("WARNING: kernel command line: %s", w)
	}
	for _, e := range a.cmd.Errors {
		a.problem("kernel command line: %s", e)
	}
	if a.cmd.Settle > 0 {
		a.o.Settling.Quiet = time.Duration(a.cmd.Settle) * time.Second
		if a.o.Settling.Max < 3*a.o.Settling.Quiet {
			a.o.Settling.Max = 3 * a.o.Settling.Quiet
		}
	}
	a.summary.Mode = a.cmd.Mode
}

// hardware loads the modules for the hardware present and the filesystem modules, and
// waits for the disks to settle.
func (a *agent) hardware(ctx context.Context) error {
	var errs []error
	var cp *Coldplug
	release, err := a.o.System.KernelRelease()
	if err != nil {
		errs = append(errs, fmt.Errorf("kernel release: %w", err))
	}
	if x, dir, err := a.moduleIndex(release); err != nil {
		errs = append(errs, fmt.Errorf("%w; loading no modules: only the drivers built into the kernel work", err))
	} else {
		cp = &Coldplug{Root: a.o.Root, ModulesDir: dir, Index: x, Load: a.o.System.LoadModule, Logf: a.out.Printf}
		var fs []string
		for _, m := range FilesystemModules {
			if _, ok := x.Lookup(m); ok || x.IsBuiltin(m) {
				fs = append(fs, m)
			}
		}
		cp.LoadModules(fs...)
	}
	res := waitHardware(ctx, a.o.Root, cp, a.o.Settling, a.clk)
	if cp != nil {
		a.out.Printf("modules: %d loaded, %d failed", len(cp.Loaded), len(cp.Failed))
		a.out.Debugf("modules loaded: %s", strings.Join(cp.Loaded, " "))
	}
	how := fmt.Sprintf("settled after %v", res.Elapsed.Round(100*time.Millisecond))
	if !res.Settled {
		how = fmt.Sprintf("still changing after %v; going on", res.Elapsed.Round(100*time.Millisecond))
	}
	a.out.Printf("disks: %s (%s)", dashList(res.Disks), how)
	return errors.Join(errs...)
}

func dashList(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, " ")
}

// moduleIndex reads the module index of the running kernel; when the image has the
// modules of one other release only, it says so and uses them.
func (a *agent) moduleIndex(release string) (*kmod.Index, string, error) {
	base := a.path("lib", "modules")
	dir := filepath.Join(base, release)
	if _, err := os.Stat(filepath.Join(dir, kmod.IndexFile)); err != nil || release == "" {
		entries, _ := os.ReadDir(base)
		var dirs []string
		for _, e := range entries {
			if _, err := os.Stat(filepath.Join(base, e.Name(), kmod.IndexFile)); err == nil {
				dirs = append(dirs, e.Name())
			}
		}
		if len(dirs) != 1 {
			return nil, "", fmt.Errorf("no module index %s for kernel %q (the image has %s)",
				filepath.Join("/lib/modules", release, kmod.IndexFile), release, dashList(dirs))
		}
		a.out.Printf("WARNING: the image's modules are for kernel %s, not the running %q: trying them", dirs[0], release)
		dir = filepath.Join(base, dirs[0])
	}
	f, err := os.Open(filepath.Join(dir, kmod.IndexFile))
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	x, err := kmod.ReadIndex(f)
	if err != nil {
		return nil, "", err
	}
	return x, dir, nil
}

// mountData finds the data partition and mounts it on /data.
func (a *agent) mountData() error {
	parts, err := FindPartitions(a.o.Root, DataLabel)
	if err != nil {
		return err
	}
	a.allData = parts
	if len(parts) == 0 {
		a.out.Printf("data partition: none labelled %s (an ISO boot?): certificates and logs stay in RAM (/run/decom)", DataLabel)
		return nil
	}
	p := parts[0]
	if len(parts) > 1 {
		var names []string
		for _, q := range parts {
			names = append(names, "/dev/"+q.Name)
		}
		a.out.Printf("WARNING: %d partitions labelled %s (%s): using /dev/%s; none of their drives is wiped",
			len(parts), DataLabel, strings.Join(names, " "), p.Name)
	}
	target := a.path(dataDir)
	if err := os.MkdirAll(target, 0o755); err != nil {
		return err
	}
	var errs []error
	for _, data := range []string{"", "iocharset=iso8859-1", "iocharset=utf8"} {
		err := a.o.System.MountFAT(a.path("dev", p.Name), target, data)
		if err == nil {
			a.data, a.dataMount = &p, target
			break
		}
		errs = append(errs, err)
	}
	if a.data == nil {
		return fmt.Errorf("mounting /dev/%s (%s %s) on /data: %w; certificates and logs stay in RAM",
			p.Name, p.Source, DataLabel, errors.Join(errs...))
	}
	a.out.Printf("data partition: /dev/%s (%s %s) mounted on /data", p.Name, p.Source, DataLabel)
	for _, d := range []string{"certs", "logs"} {
		if err := os.MkdirAll(filepath.Join(target, d), 0o755); err != nil {
			a.problem("data partition: %v", err)
		}
	}
	logPath := filepath.Join(target, "logs", "decom-"+a.stamp+".log")
	if err := a.out.openLog(logPath); err != nil {
		a.problem("log file: %v", err)
	} else {
		a.summary.LogFile = a.display(logPath)
	}
	if _, err := os.Stat(filepath.Join(target, caFileRel)); err == nil && a.o.Boot {
		os.Setenv("SSL_CERT_FILE", filepath.Join(target, caFileRel))
		a.out.Printf("registry: trusting the CA certificates of /data/%s", caFileRel)
	}
	return nil
}

// display is how a path below the root is shown: as the boot image sees it.
func (a *agent) display(p string) string {
	rel, err := filepath.Rel(a.o.Root, p)
	if err != nil || strings.HasPrefix(rel, "..") {
		return p
	}
	return "/" + filepath.ToSlash(rel)
}

// readConfig reads the data partition's config.yaml, else decom's default config.
func (a *agent) readConfig() error {
	if a.data != nil {
		p := filepath.Join(a.dataMount, configFile)
		if _, err := os.Stat(p); err == nil {
			a.configPath = p
		} else {
			a.out.Printf("WARNING: no /data/%s: decom's defaults apply, and certificates need a key from elsewhere", configFile)
		}
	}
	// The kernel command line's decom.verify=none needs the config's consent, which
	// a config that cannot be read does not give.
	defer a.checkVerify()
	cfg, err := a.o.ReadConfig(a.configPath)
	if err != nil {
		// decom wipe reads it again and refuses to start: say it now.
		return fmt.Errorf("%v: nothing can be wiped until it is fixed", err)
	}
	if err := checkBootConfig(cfg); err != nil {
		// decom wipe ignores the boot: section: the agent must refuse itself.
		a.configBad = true
		return fmt.Errorf("%v: nothing can be wiped until it is fixed", err)
	}
	a.cfg = cfg
	if a.configPath != "" {
		a.out.Printf("config: /data/%s (operator %s)", configFile, dash(cfg.Operator))
	}
	a.registry = cfg.Registry
	if a.cmd.Registry != "" {
		if why := cmdlineRegistryRefusal(a.cmd.Registry, cfg); why != "" {
			then := "certificates are not uploaded: they stay in " + a.display(a.certDir())
			if cfg.Registry != "" {
				then = "uploading to the config's registry " + cfg.Registry + " instead"
			}
			a.problem("kernel command line: decom.registry=%s: refused: %s; %s", a.cmd.Registry, why, then)
		} else {
			a.registry = a.cmd.Registry
		}
	}
	if a.registry != "" && !cfg.HasToken {
		a.problem("registry %s: no registry_token in the config file: certificates are not uploaded", a.registry)
		a.registry = ""
	}
	if strings.HasPrefix(strings.ToLower(a.registry), "http://") {
		if !cfg.AllowInsecureHTTP {
			a.problem("registry %s: refused: plain http:// would send the registry token unencrypted, and the config file does not allow that (boot: allow_insecure_http: true); certificates are not uploaded: they stay in %s",
				a.registry, a.display(a.certDir()))
			a.registry = ""
			return nil
		}
		a.out.Printf("WARNING: registry %s: plain HTTP (boot: allow_insecure_http): the registry token and the certificates cross the network unencrypted", a.registry)
	}
	return nil
}

// checkBootConfig checks what only the agent reads of the config file: its boot:
// section.
func checkBootConfig(c Config) error {
	if c.Countdown != nil && (*c.Countdown < 0 || *c.Countdown > maxCountdown) {
		return fmt.Errorf("config file: boot: countdown: %d: want 0 to %d seconds", *c.Countdown, maxCountdown)
	}
	for _, r := range c.CmdlineRegistries {
		if r == "" || r != "*" && registryPattern(r) == nil {
			return fmt.Errorf("config file: boot: cmdline_registries: %q: want an http(s):// URL, a host, host:port or *", r)
		}
	}
	return nil
}

// checkVerify refuses decom.verify=none unless the config file allows it: wiping
// without reading back is the config's decision, not the boot menu's.
func (a *agent) checkVerify() {
	if a.cmd.Verify != VerifyNone || a.cfg.AllowUnverified || a.cfg.Verify == VerifyNone {
		return
	}
	msg := "decom.verify=none: refused: the config file does not allow wiping without verification from the kernel command line (boot: allow_unverified: true allows it)"
	a.cmd.Errors = append(a.cmd.Errors, msg)
	a.problem("kernel command line: %s", msg)
}

func (a *agent) bringUpNetwork(ctx context.Context) error {
	what, err := a.o.System.Network(ctx, a.out.Printf)
	if err != nil {
		return fmt.Errorf("%w: certificates are not uploaded; they wait for `decom cert push`", err)
	}
	a.network = true
	a.out.Printf("network: %s", what)
	return nil
}

// drives lists the drives and splits them into targets and the rest, reporting both.
func (a *agent) drives(ctx context.Context) ([]inventory.Device, []Skipped, error) {
	scan := a.o.Inventory
	if scan == nil {
		scan = func(ctx context.Context) ([]inventory.Device, error) {
			return inventory.Scan(ctx, inventory.Options{Root: a.o.Root, Logger: slog.New(slog.DiscardHandler)})
		}
	}
	devs, err := scan(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("inventory: %w", err)
	}
	boot := FindBootMedia(a.o.Root, a.allData)
	for _, b := range boot {
		a.out.Printf("never wiped: /dev/%s (%s): %s", b.Name, b.DevNo, b.Reason)
	}
	targets, skipped := Targets(devs, boot)
	for _, d := range targets {
		a.out.Printf("drive %s: %s: eligible", d.Path, describe(d))
	}
	for _, s := range skipped {
		a.out.Printf("drive %s: %s: not wiped: %s", s.Device.Path, describe(s.Device), s.Reason)
	}
	return targets, skipped, nil
}

func describe(d inventory.Device) string {
	var parts []string
	for _, s := range []string{d.Model, d.Serial, d.Transport, size(d.SizeBytes)} {
		if s != "" && s != "-" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return "drive"
	}
	return strings.Join(parts, ", ")
}

// auto wipes every eligible drive, after showing the plan and counting down; a key
// at the console during the countdown, or a machine the config's boot: machines does
// not list, makes it ask instead (interactive mode).
func (a *agent) auto(ctx context.Context) error {
	if len(a.cfg.Machines) > 0 {
		host := inventory.ReadHost(inventory.Options{Root: a.o.Root})
		if !machineListed(host, a.cfg.Machines) {
			a.out.Printf("auto mode: this machine (DMI serial %s, UUID %s) is not in the config's boot: machines: nothing is wiped without a choice at this console",
				dash(host.SystemSerial), dash(host.SystemUUID))
			return a.switchToInteractive(ctx)
		}
		a.out.Printf("auto mode: this machine (DMI serial %s, UUID %s) is in the config's boot: machines", dash(host.SystemSerial), dash(host.SystemUUID))
	}
	targets, skipped, err := a.drives(ctx)
	if err != nil {
		a.addSkipped(skipped)
		return err
	}
	if note, err := a.mayWipe(); err != nil {
		a.addSkipped(skipped)
		a.skipAll(targets, "not wiped: "+note)
		return err
	}
	if len(targets) == 0 {
		a.addSkipped(skipped)
		a.out.Printf("no drive to wipe")
		return nil
	}
	a.showPlan(targets)
	keyed, err := a.countdown(ctx, a.countdownTime())
	if err != nil {
		a.addSkipped(skipped)
		a.skipAll(targets, "not wiped: interrupted during the countdown")
		return fmt.Errorf("countdown: %w: nothing wiped", err)
	}
	if keyed {
		a.out.Printf("key pressed: switching to interactive mode")
		return a.switchToInteractive(ctx)
	}
	a.addSkipped(skipped)
	return a.wipe(ctx, targets)
}

// mayWipe says whether anything may be wiped, as far as the kernel command line and
// the config file go; when not, note is why, for the summary's drive lines.
func (a *agent) mayWipe() (note string, err error) {
	switch {
	case len(a.cmd.Errors) > 0:
		return "the kernel command line is wrong (see above)",
			errors.New("nothing wiped: fix the kernel command line (" + strings.Join(a.cmd.Errors, "; ") + ")")
	case a.configBad:
		return "the config file cannot be used (see above)", errors.New("nothing wiped: fix config.yaml")
	}
	return "", nil
}

func (a *agent) switchToInteractive(ctx context.Context) error {
	a.cmd.Mode = ModeInteractive
	a.summary.Mode = ModeInteractive
	return a.interactive(ctx)
}

// countdownTime is the config's countdown, else DefaultCountdown.
func (a *agent) countdownTime() time.Duration {
	if a.cfg.Countdown != nil {
		return time.Duration(*a.cfg.Countdown) * time.Second
	}
	return DefaultCountdown
}

// showPlan says what auto mode is about to do.
func (a *agent) showPlan(targets []inventory.Device) {
	method, verify := a.methodVerify()
	a.out.Printf("plan: wipe %d drives with %s, verification %s:", len(targets), method, verify)
	for _, d := range targets {
		a.out.Printf("  %-14s %-20s %s", d.Path, dash(d.Serial), describe(d))
	}
}

// methodVerify are the method and the verification decom wipe uses.
func (a *agent) methodVerify() (method, verify string) {
	return orDefault(a.cmd.Method, a.cfg.Method, "nist-clear"), orDefault(a.cmd.Verify, a.cfg.Verify, VerifySample)
}

// countdown counts d down on the console and returns true as soon as a key is pressed
// at the console. Without console input it still waits the whole time: someone may be
// watching, ready to switch the machine off. It fails only when ctx ends.
func (a *agent) countdown(ctx context.Context, d time.Duration) (keyed bool, err error) {
	if d <= 0 {
		a.out.Printf("wiping now: the config file sets no countdown (boot: countdown: 0)")
		return false, nil
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer cancel() // ends WaitKey when the time is up
		for left := d; left > 0; {
			if wctx.Err() != nil {
				return
			}
			if left == d {
				a.out.Printf("wiping in %v: press any key at this console to choose the drives instead (interactive mode)", left)
			} else {
				a.out.Printf("wiping in %v", left)
			}
			step := left - nextTick(left)
			if a.clk.Sleep(wctx, step) != nil {
				return
			}
			left -= step
		}
	}()
	kerr := a.input.WaitKey(wctx)
	if kerr == nil {
		cancel()
	}
	<-done // without console input (kerr not nil), when the time is up
	switch {
	case kerr == nil:
		return true, nil
	case ctx.Err() != nil:
		return false, ctx.Err()
	}
	return false, nil
}

// nextTick is the time left at which the countdown speaks next: every 5 s, then each of
// the last 3 s.
func nextTick(left time.Duration) time.Duration {
	s := int((left + time.Second - 1) / time.Second)
	switch {
	case s > 5:
		return time.Duration((s-1)/5*5) * time.Second
	case s > 3:
		return 3 * time.Second
	case s > 1:
		return time.Duration(s-1) * time.Second
	}
	return 0
}

func (a *agent) addSkipped(skipped []Skipped) {
	for _, s := range skipped {
		a.summary.Drives = append(a.summary.Drives, DriveResult{Device: s.Device.Path, Serial: s.Device.Serial,
			Model: s.Device.Model, Size: s.Device.SizeBytes, Outcome: OutcomeSkipped, Note: s.Reason})
	}
}

func (a *agent) skipAll(targets []inventory.Device, why string) {
	for _, d := range targets {
		a.addSkipped([]Skipped{{Device: d, Reason: why}})
	}
}

// certDir is where certificates go: the data partition, else RAM.
func (a *agent) certDir() string {
	if a.data != nil {
		return filepath.Join(a.dataMount, "certs")
	}
	return a.path(runDir, "certs")
}

// wipeArgs is decom wipe's command line for devices.
func (a *agent) wipeArgs(devices []string) []string {
	args := []string{"wipe", "--yes", "--output", "json", "--log-format", "console", "--cert-dir", a.certDir()}
	if a.cmd.Debug {
		args = append(args, "--log-level", "debug")
	}
	if a.configPath != "" {
		args = append(args, "--config", a.configPath)
	}
	if a.cmd.Method != "" {
		args = append(args, "--method", a.cmd.Method)
	}
	if a.cmd.Verify != "" {
		args = append(args, "--verify", a.cmd.Verify)
	}
	if a.cfg.PDF == nil || *a.cfg.PDF {
		args = append(args, "--pdf")
	}
	// A key named relative to the config file is on the data partition.
	if k := a.cfg.Key; k != "" && !filepath.IsAbs(k) && !strings.Contains(k, "://") && a.data != nil {
		args = append(args, "--key", filepath.Join(a.dataMount, k))
	}
	if a.registry != "" && a.network {
		args = append(args, "--registry", a.registry)
	} else {
		args = append(args, "--registry=") // no upload: without a network it could only fail
	}
	return append(args, devices...)
}

// wipe runs decom wipe on the targets, in parallel, and adds the results to the summary.
func (a *agent) wipe(ctx context.Context, targets []inventory.Device) error {
	a.summary.CertDir = a.display(a.certDir())
	a.summary.OnData = a.data != nil
	if a.data != nil {
		a.summary.DataDev = "/dev/" + a.data.Name
	}
	if a.network {
		a.summary.Registry = a.registry
	}
	if err := os.MkdirAll(a.certDir(), 0o755); err != nil {
		return err
	}
	restore, err := a.unlockKey(ctx)
	if err != nil {
		a.skipAll(targets, "not wiped: no passphrase for the signing key")
		return err
	}
	defer restore()
	if a.data != nil {
		if f, err := os.Create(filepath.Join(a.dataMount, "logs", "decom-"+a.stamp+".jsonl")); err == nil {
			a.jsonLog = f
			defer func() { f.Sync(); f.Close(); a.jsonLog = nil }()
		}
	}
	devices := make([]string, len(targets))
	for i, d := range targets {
		devices[i] = d.Path
	}
	method, verify := a.methodVerify()
	a.out.Printf("wiping %d drives in parallel with %s, verification %s: %s", len(devices), method, verify, strings.Join(devices, " "))
	res := a.runWipe(ctx, devices)
	if res.code == 4 && len(res.records) == 0 && len(res.refused) > 0 && len(res.refused) < len(devices) {
		// The gate refused some drives (busy since the inventory, say) and so wrote
		// nothing at all: wipe the others.
		var rest []string
		for _, d := range devices {
			if why, ok := res.refused[d]; ok {
				a.out.Printf("drive %s: refused by decom wipe: %s", d, why)
			} else {
				rest = append(rest, d)
			}
		}
		for _, d := range targets {
			if why, ok := res.refused[d.Path]; ok {
				a.addSkipped([]Skipped{{Device: d, Reason: "refused: " + why}})
			}
		}
		a.out.Printf("wiping the %d others", len(rest))
		devices = rest
		res = a.runWipe(ctx, devices)
	}
	a.wipeExit = res.code
	got := map[string]bool{}
	for _, r := range res.records {
		got[r.Device] = true
		a.summary.Drives = append(a.summary.Drives, r.driveResult())
	}
	var missing []inventory.Device
	for _, d := range targets {
		if _, refused := res.refused[d.Path]; !got[d.Path] && !refused && slices.Contains(devices, d.Path) {
			missing = append(missing, d)
		}
	}
	if len(missing) > 0 {
		why := fmt.Sprintf("decom wipe exited %d without a record", res.code)
		if res.lastError != "" {
			why = res.lastError
		}
		a.skipAll(missing, "not wiped: "+why)
	}
	if res.code != 0 {
		return fmt.Errorf("decom wipe exited with code %d", res.code)
	}
	return nil
}

func orDefault(s, fallback, def string) string {
	if s != "" {
		return s
	}
	if fallback != "" {
		return fallback
	}
	return def
}

// wipeRun is what one run of decom wipe reported.
type wipeRun struct {
	code      int
	records   []recordLine
	refused   map[string]string // device → reasons
	lastError string            // decom's own error line, without "decom: "
}

func (a *agent) runWipe(ctx context.Context, devices []string) wipeRun {
	res := wipeRun{refused: map[string]string{}}
	stdout := newLineWriter(func(line []byte) {
		if a.jsonLog != nil {
			a.jsonLog.Write(append(line, '\n'))
		}
		a.wipeLine(line, &res)
	})
	stderr := io.MultiWriter(a.out, newLineWriter(func(line []byte) {
		if msg, ok := strings.CutPrefix(string(line), "decom: "); ok {
			res.lastError = msg
		}
	}))
	args := a.wipeArgs(devices)
	a.out.Debugf("running decom %s", strings.Join(args, " "))
	res.code = a.o.CLI(ctx, args, strings.NewReader(""), stdout, stderr)
	return res
}

// wipeLine handles one JSON line of decom wipe's output.
func (a *agent) wipeLine(line []byte, res *wipeRun) {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(line, &head); err != nil {
		a.out.Printf("%s", line) // not JSON: show it as it is
		return
	}
	switch head.Type {
	case "plan":
		var p planLine
		if json.Unmarshal(line, &p) == nil && p.Refused {
			res.refused[p.Device] = strings.Join(p.Refusals, "; ")
		}
	case "progress":
		var p progressLine
		if json.Unmarshal(line, &p) != nil {
			return
		}
		now := a.clk.Now()
		if p.Final || now.Sub(a.progressAt[p.Device]) >= 15*time.Second {
			a.progressAt[p.Device] = now
			a.out.Printf("%s", p.text())
		}
	case "record":
		var r recordLine
		if err := json.Unmarshal(line, &r); err != nil {
			a.out.Printf("ERROR: unreadable record from decom wipe: %v", err)
			return
		}
		res.records = append(res.records, r)
		d := r.driveResult()
		a.out.Printf("drive %s: %s, verified %s, certificate %s", d.Device, d.Outcome, d.Verified, dash(a.display(d.Certificate)))
	}
}

// lineWriter calls f with each complete line written to it, without its newline.
// It may be written from several goroutines: decom wipe logs from one per drive.
type lineWriter struct {
	mu  sync.Mutex
	f   func(line []byte)
	buf []byte
}

func newLineWriter(f func(line []byte)) *lineWriter { return &lineWriter{f: f} }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.f(bytes.TrimRight(w.buf[:i], "\r"))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) == 0 {
		w.buf = nil // let the array go
	}
	return len(p), nil
}

// unlockKey makes the signing key's passphrase available to decom wipe when the key is
// encrypted: from DECOM_KEY_PASSWORD, else the data partition's key-passphrase file,
// else asked at the console. It returns a function that forgets it again.
func (a *agent) unlockKey(ctx context.Context) (func(), error) {
	nothing := func() {}
	key := a.cfg.Key
	if key == "" || strings.Contains(key, "://") {
		return nothing, nil
	}
	if !filepath.IsAbs(key) && a.data != nil {
		key = filepath.Join(a.dataMount, key)
	}
	b, err := os.ReadFile(key)
	if err != nil || !strings.Contains(string(b), "ENCRYPTED") {
		return nothing, nil // decom wipe says what is wrong with it
	}
	if _, ok := os.LookupEnv("DECOM_KEY_PASSWORD"); ok {
		return nothing, nil
	}
	var pass string
	if a.data != nil {
		if b, err := os.ReadFile(filepath.Join(a.dataMount, passphraseRel)); err == nil {
			pass, _, _ = strings.Cut(string(b), "\n")
			pass = strings.TrimSuffix(pass, "\r")
			if pass != "" {
				a.out.Printf("signing key: passphrase from /data/%s", passphraseRel)
			} else {
				a.out.Printf("signing key: /data/%s is empty: ignored", passphraseRel)
			}
		}
	}
	if pass == "" {
		wait := 5 * time.Minute
		a.out.Printf("the signing key %s is encrypted: type its passphrase and press Enter (within %v; nothing is wiped without it):", a.display(key), wait)
		qctx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		p, err := a.input.ReadSecret(qctx)
		if err != nil {
			return nothing, fmt.Errorf("no passphrase for the signing key (%v): nothing wiped; put it in /data/%s or use a key without one", err, passphraseRel)
		}
		if p == "" {
			// decom refuses to make keys with an empty passphrase; an empty answer
			// is no answer, not a way into one made elsewhere.
			return nothing, fmt.Errorf("no passphrase for the signing key (an empty one was typed): nothing wiped; put it in /data/%s or use a key without one", passphraseRel)
		}
		pass = p
	}
	os.Setenv("DECOM_KEY_PASSWORD", pass)
	return func() { os.Unsetenv("DECOM_KEY_PASSWORD") }, nil
}

// finish shows the summary, closes the log and unmounts the data partition.
func (a *agent) finish() {
	defer func() {
		if r := recover(); r != nil {
			a.out.Printf("ERROR: finishing: internal error: %v", r)
		}
	}()
	if a.cmd.Mode != ModeShell {
		a.summary.Render(a.out)
	}
	if a.data == nil {
		a.o.System.Sync()
		return
	}
	if err := a.out.closeLog(); err != nil {
		a.out.Printf("ERROR: log file: %v", err)
	}
	a.o.System.Sync()
	var err error
	for i := 0; i < 5; i++ {
		if err = a.o.System.Unmount(a.dataMount); err == nil {
			break
		}
		a.clk.Sleep(context.Background(), time.Second)
	}
	if err != nil {
		a.out.Printf("ERROR: unmounting /data: %v (everything was synced)", err)
		return
	}
	a.out.Printf("data partition unmounted: it is safe to remove the stick")
	a.data = nil
}

// end powers the machine off or halts it; it does not return.
func (a *agent) end() {
	defer func() {
		if r := recover(); r != nil {
			a.out.Printf("FATAL: %v", r)
			halt(a.out)
		}
	}()
	powerOff := a.cmd.PowerOff && (a.cmd.Mode == ModeAuto || a.cmd.Mode == ModeInteractive)
	if a.cmd.Mode == ModeInteractive && powerOff {
		a.out.Printf("press Enter to power off")
		a.input.ReadLine(context.Background())
	} else if powerOff {
		delay := a.o.PowerOffDelay
		if a.fatal {
			delay = 2 * time.Minute
		}
		a.out.Printf("powering off in %v (decom.poweroff=0 keeps the machine on)", delay)
		a.clk.Sleep(context.Background(), delay)
	}
	if powerOff {
		a.out.Printf("powering off")
		a.o.System.Sync()
		err := a.o.System.PowerOff()
		a.out.Printf("ERROR: power off: %v", err)
	}
	halt(a.out)
}

// halt says the machine may be switched off and waits for ever.
func halt(out *output) {
	out.Printf("halted: it is safe to switch the machine off")
	for {
		time.Sleep(time.Hour)
	}
}
