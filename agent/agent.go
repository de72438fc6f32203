package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/decom-project/decom/internal/kmod"
	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/sanitize"
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
	// Plan is the approved plan auto mode follows (boot: plan:), a path as
	// decom.plan= takes it; decom.plan= stands over it.
	Plan string
	// Station is the file's station: section (decom.mode=station).
	Station StationConfig
	// KeySHA256 pins a signing key that Key names by an http(s):// URL (a network
	// boot's): the SHA-256, in hex, of the key file fetched.
	KeySHA256 string
}

// DefaultCountdown is auto mode's countdown when the config file sets none.
const DefaultCountdown = 15 * time.Second

// maxCountdown bounds the config file's countdown.
const maxCountdown = 3600

// Options are everything Run needs. System, ReadConfig and Prepare are required.
type Options struct {
	// Root is the directory below which the agent reads /proc, /sys, /dev and
	// /lib/modules and makes /data and /run/decom: "/" in the boot image, a fake
	// tree in tests.
	Root string
	// Cmdline is the kernel command line; empty means Root/proc/cmdline.
	Cmdline string
	System  System
	// Prepare turns the agent's choices into a run's options: cmd/decom's, with
	// decom's own config loader, defaults and signing key.
	Prepare func(ctx context.Context, r WipeRequest) (sanitize.Options, error)
	// Sanitize runs a sanitization; nil means sanitize.Run. Tests replace it.
	Sanitize func(ctx context.Context, o sanitize.Options) ([]sanitize.Result, error)
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

// PassphraseFile is where in the initramfs the agent finds the signing key's
// passphrase when the data partition has none: decom kexec packs it there.
const PassphraseFile = "/etc/decom/key-passphrase"

// ErrProblems is Run's error when a step failed and no wipe did (the summary's
// "decom: problem:" lines say which step).
var ErrProblems = errors.New("a step of the boot agent failed")

// agent is one run.
type agent struct {
	o     Options
	out   *output
	clk   clock
	cmd   Cmdline
	input Input

	cfg        Config
	configPath string // passed to decom with --config; "" for decom's default
	configURL  string // decom.config=, when the config came by URL
	keyFile    string // the signing key fetched by URL, below /run/decom
	data       *Partition
	dataMount  string
	allData    []Partition
	network    bool // a lease was configured
	netTried   bool // the network step ran
	bootMedia  []BootMedium
	// drivesListed says the drives were listed, so bootMedia is known.
	drivesListed bool
	registry     string
	configBad    bool // the config file cannot be used: nothing is wiped
	summary      Summary
	wipeErr      error // the run's, when it failed
	fatal        bool
	stamp        string
	jsonLog      *os.File
	progressAt   map[string]time.Time

	// prepared are the options of this boot's runs (begin); prepareNote and
	// prepareErr say why there are none.
	prepared    *sanitize.Options
	prepareNote string
	prepareErr  error
	// unfinished are the interrupted wipes whose journals are on the data
	// partition; damagedJournal says one of its journals cannot be read, which
	// keeps every one from being resumed (see resume.go).
	unfinished     []*unfinished
	damagedJournal bool

	// scr is the full screen on the console (screen.go), nil when it shows lines;
	// scrChecked says whether that was decided.
	scr        *session
	scrChecked bool

	// stationDone says station mode ended after the drives its config allows
	// (station: max): the machine powers off as in auto mode.
	stationDone bool
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
func Run(ctx context.Context, o Options) error {
	a := newAgent(o)
	err := a.run(ctx)
	if a.o.Boot {
		a.end() // does not return
	}
	return err
}

// newAgent is the agent of one run, with o's defaults filled in.
func newAgent(o Options) *agent {
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
	return a
}

func (a *agent) run(ctx context.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			a.out.Printf("FATAL: internal error: %v", r)
			a.out.Debugf("%s", debug.Stack())
			a.fatal = true
			a.finish()
			err = ErrProblems
		}
	}()
	a.readCmdline()
	a.out.Printf("decom %s boot agent: mode %s", a.o.Version, a.cmd.Mode)
	if a.cmd.Mode == ModeShell {
		a.shell(ctx)
		a.finish()
		return nil
	}
	a.step("kernel modules and disks", func() error { return a.hardware(ctx) })
	a.step("data partition", a.mountData)
	if a.netboot() {
		// A network boot's config comes by URL: the network comes first.
		a.step("network", func() error { return a.bringUpNetwork(ctx) })
		a.step("config", func() error { return a.netConfig(ctx) })
	} else {
		a.step("config", a.readConfig)
	}
	if a.registry != "" && !a.netTried {
		a.step("network", func() error { return a.bringUpNetwork(ctx) })
	}
	a.step("journals", a.readJournals)
	switch a.cmd.Mode {
	case ModeAuto:
		a.step("auto", func() error { return a.auto(ctx) })
	case ModeInteractive:
		a.step("interactive", func() error { return a.interactive(ctx) })
	case ModeStation:
		a.step("station", func() error { return a.station(ctx) })
	}
	if len(a.pendingInRAM()) > 0 {
		a.step("uploads", func() error { return a.retryUploads(ctx, uploadRetries, firstUploadWait) })
	}
	a.summary.RAMOnly = a.ramOnly()
	a.finish()
	a.endScreen()
	switch {
	case a.wipeErr != nil:
		return a.wipeErr
	case a.fatal || len(a.summary.Problems) > 0:
		return ErrProblems
	}
	return nil
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
		boot := "an ISO boot?"
		if a.netboot() {
			boot = "a network boot"
		}
		a.out.Printf("data partition: none labelled %s (%s): certificates and logs stay in RAM (/run/decom)", DataLabel, boot)
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
	if a.data != nil && a.configURL == "" {
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
	switch {
	case a.configURL != "":
		a.out.Printf("config: %s (SHA-256 as the kernel command line pins it), in %s (operator %s)",
			a.configURL, a.display(a.configPath), dash(cfg.Operator))
	case a.configPath != "":
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
	if c.Plan != "" && !validPlanPath(c.Plan) {
		return fmt.Errorf("config file: boot: plan: %q: want the absolute path of an approved plan file", c.Plan)
	}
	for _, r := range c.CmdlineRegistries {
		if r == "" || r != "*" && registryPattern(r) == nil {
			return fmt.Errorf("config file: boot: cmdline_registries: %q: want an http(s):// URL, a host, host:port or *", r)
		}
	}
	if c.KeySHA256 != "" && !isSHA256Hex(c.KeySHA256) {
		return fmt.Errorf("config file: boot: key_sha256: %q: want the key file's SHA-256, 64 hex digits", c.KeySHA256)
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
	a.netTried = true
	what, err := a.o.System.Network(ctx, a.out.Printf)
	if err != nil {
		if a.netboot() {
			return fmt.Errorf("%w: the config cannot be fetched: nothing can be wiped", err)
		}
		return fmt.Errorf("%w: certificates are not uploaded; they wait for `decom cert push`", err)
	}
	a.network = true
	a.out.Printf("network: %s", what)
	return nil
}

// scan lists the machine's drives: Options.Inventory, else inventory.Scan below Root.
func (a *agent) scan(ctx context.Context) ([]inventory.Device, error) {
	if a.o.Inventory != nil {
		return a.o.Inventory(ctx)
	}
	return inventory.Scan(ctx, inventory.Options{Root: a.o.Root, Logger: slog.New(slog.DiscardHandler)})
}

// drives lists the drives and splits them into targets and the rest, reporting both.
func (a *agent) drives(ctx context.Context) ([]inventory.Device, []Skipped, error) {
	devs, err := a.scan(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("inventory: %w", err)
	}
	boot := FindBootMedia(a.o.Root, a.allData)
	a.bootMedia, a.drivesListed = boot, true
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
	if a.planPath() != "" {
		return a.autoApproved(ctx)
	}
	targets, skipped, err := a.eligible(ctx, "no drive to wipe")
	if err != nil || len(targets) == 0 {
		return err
	}
	// The interrupted wipes of drives here are resumed first, by themselves; the
	// other drives are wiped after.
	pending := a.matchUnfinished(targets)
	rest := without(targets, pending)
	a.showPlan(pending, rest)
	a.screenPlan(pending, rest, skipped)
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
	resumed, rerr := a.resume(ctx, pending, false)
	var fresh []inventory.Device
	for _, d := range rest {
		if resumed[d.Path] {
			// Resumed, and so finished, above (package sanitize found its drive
			// where the agent did not): never wiped again at this boot.
			a.out.Printf("drive %s: resumed above: not wiped again", d.Path)
			continue
		}
		fresh = append(fresh, d)
	}
	if len(fresh) == 0 {
		return rerr
	}
	return errors.Join(rerr, a.wipe(ctx, fresh, false))
}

// eligible lists the drives and returns those that may be wiped, and the rest with
// why. When there is nothing to wipe (no drive, an error, or a kernel command line
// or config that forbids it) every drive is in the summary already, and none says
// so on the console.
func (a *agent) eligible(ctx context.Context, none string) ([]inventory.Device, []Skipped, error) {
	targets, skipped, err := a.drives(ctx)
	if err != nil {
		a.addSkipped(skipped)
		return nil, nil, err
	}
	if note, err := a.mayWipe(); err != nil {
		a.addSkipped(skipped)
		a.skipAll(targets, "not wiped: "+note)
		return nil, nil, err
	}
	if len(targets) == 0 {
		a.addSkipped(skipped)
		a.out.Printf("%s", none)
		return targets, skipped, nil
	}
	if a.ramOnly() {
		if note, err := a.needRegistry(ctx); err != nil {
			a.addSkipped(skipped)
			a.skipAll(targets, "not wiped: "+note)
			return nil, nil, err
		}
	}
	return targets, skipped, nil
}

// mayWipe says whether anything may be wiped, as far as the kernel command line and
// the config file go; when not, note is why, for the summary's drive lines.
func (a *agent) mayWipe() (note string, err error) {
	switch {
	case len(a.cmd.Errors) > 0:
		return "the kernel command line is wrong (see above)",
			errors.New("nothing wiped: fix the kernel command line (" + strings.Join(a.cmd.Errors, "; ") + ")")
	case a.configBad && a.netboot():
		return "the config file cannot be used (see above)", errors.New("nothing wiped: fix the config at decom.config= or its SHA-256 (see above)")
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

// showPlan says what auto mode is about to do: resume the unfinished wipes, then
// wipe the targets.
func (a *agent) showPlan(pending []*unfinished, targets []inventory.Device) {
	wipe := "plan: wipe"
	if len(pending) > 0 {
		a.out.Printf("plan: resume %d interrupted wipes first, each with its journal's method:", len(pending))
		for _, u := range pending {
			a.out.Printf("  %-14s %-20s %s: %s", u.drive.Path, dash(u.drive.Serial), u.journal.Method, u.journal.Describe())
		}
		wipe = "plan: then wipe"
	}
	if len(targets) == 0 {
		return
	}
	method, verify := a.methodVerify()
	a.out.Printf("%s %d drives with %s, verification %s:", wipe, len(targets), method, verify)
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
	if a.screen() != nil {
		return a.screenCountdown(ctx, d)
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

func orDefault(s, fallback, def string) string {
	if s != "" {
		return s
	}
	if fallback != "" {
		return fallback
	}
	return def
}

// finish shows the summary, closes the log and unmounts the data partition.
func (a *agent) finish() {
	defer func() {
		if r := recover(); r != nil {
			a.out.Printf("ERROR: finishing: internal error: %v", r)
		}
	}()
	if a.scr != nil {
		a.scr.stopRun() // the summary is shown as lines, then the end screen
	}
	if a.cmd.Mode != ModeShell {
		a.summary.Render(a.out)
	}
	if a.jsonLog != nil {
		a.jsonLog.Sync()
		a.jsonLog.Close()
		a.jsonLog = nil
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
	powerOff := a.cmd.PowerOff && (a.cmd.Mode == ModeAuto || a.cmd.Mode == ModeInteractive || a.stationDone)
	// Never power off with certificates only in RAM (a network boot or kexec).
	if len(a.pendingInRAM()) > 0 && !a.holdForUploads(context.Background()) {
		halt(a.out)
	}
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
