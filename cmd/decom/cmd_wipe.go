package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/decom-project/decom/internal/logging"
	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/verify"
	"github.com/decom-project/decom/wipe"
)

type wipeOptions struct {
	Method string
	Passes string
	Rounds int
	Blank  bool
	Yes    bool
	All    bool
	// IncludeRemovable adds removable and USB drives to --all.
	IncludeRemovable bool
	DryRun           bool
	BlockSize        string
	QueueDepth       int
	Interval         time.Duration

	Verify       string
	VerifyPasses string
	Coverage     string

	StallTimeout  time.Duration
	GiveUpStalled bool

	// PlanOut is where a dry run writes its plan for approval; Approved the plan
	// file a run executes (see cmd_plan_wipe.go).
	PlanOut  string
	Approved string
	flags    *pflag.FlagSet

	// Plain keeps the line output at a terminal instead of the full-screen view.
	Plain bool
	// ConfirmSerials asks the full screen's confirmation for each serial number
	// instead of WIPE and the number of targets.
	ConfirmSerials bool

	// JournalDir keeps the journals that let an interrupted wipe resume ("" is the
	// certificate directory); Resume continues them, Restart starts over.
	JournalDir      string
	JournalInterval time.Duration
	Resume          bool
	Restart         bool

	cert     certOptions
	registry registryOptions
}

func (o *wipeOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVarP(&o.Method, "method", "m", "nist-clear", "overwrite method, or nist-purge for the drives' own sanitize commands (see decom methods)")
	f.StringVar(&o.Passes, "passes", "", "custom pass sequence instead of a method, such as 0x55,0xaa,random,0x00")
	f.IntVar(&o.Rounds, "rounds", 1, "run the method's passes this many times")
	f.BoolVar(&o.Blank, "blank", false, "end with a pass of zeros (unless the last pass is zeros already)")
	f.BoolVarP(&o.Yes, "yes", "y", false, "do not ask: wipe the devices named (or, with --all, every drive it takes)")
	f.BoolVar(&o.All, "all", false, "wipe every physical, non-removable drive the inventory marks wipeable; the plan lists what it left out and why")
	f.BoolVar(&o.IncludeRemovable, "include-removable", false, "with --all, take removable, USB-attached drives and SD cards too")
	f.BoolVarP(&o.DryRun, "dry-run", "n", false, "print the plan and write nothing")
	f.StringVar(&o.BlockSize, "block-size", "1MiB", "bytes per write (a multiple of 4 KiB)")
	f.IntVar(&o.QueueDepth, "queue-depth", wipe.DefaultQueueDepth, "writes in flight per device")
	f.DurationVar(&o.Interval, "progress-interval", time.Second, "time between progress events")
	f.StringVar(&o.Verify, "verify", verify.ModeSample, "read the result back: sample, full or none")
	f.StringVar(&o.VerifyPasses, "verify-passes", "last", "which passes to read back: last or all")
	f.StringVar(&o.Coverage, "coverage", "10%", "share of the device a sampled verification reads")
	f.BoolVar(&o.Plain, "plain", false, "at a terminal, print lines instead of the full-screen view of the run")
	f.BoolVar(&o.ConfirmSerials, "confirm-serials", false, "on the full screen, confirm by typing each target's serial number instead of WIPE and their number")
	f.DurationVar(&o.StallTimeout, "stall-timeout", 60*time.Second, "report a target that answers no write or read for this long as stalled (0: never)")
	f.BoolVar(&o.GiveUpStalled, "give-up-stalled", false, "give a stalled target up as failed and let the others finish")
	f.StringVar(&o.PlanOut, "plan-out", "", "with --dry-run, write the plan to this file for review and --approved")
	f.StringVar(&o.Approved, "approved", "", "wipe exactly what this approved plan file lists for this host, refusing any difference (no --yes needed)")
	f.StringVar(&o.JournalDir, "journal-dir", "", "where each wipe's journal is kept, for --resume after a power cut or crash (default: the certificate directory)")
	f.DurationVar(&o.JournalInterval, "journal-interval", wipe.DefaultCheckpointInterval, "how often a running pass is flushed and its journal brought up to date")
	f.BoolVar(&o.Resume, "resume", false, "continue the interrupted wipes the journals record: of the devices named, or of every drive present that has one")
	f.BoolVar(&o.Restart, "restart", false, "start afresh on devices whose journal records an interrupted wipe")
	o.cert.AddFlags(f)
	o.registry.AddFlags(f)
}

// apply fills the settings not given as flags from the environment and the config file.
func (o *wipeOptions) apply(flags *pflag.FlagSet, c fileConfig) {
	resolve(flags, []setting{
		{"method", "DECOM_METHOD", c.Method, &o.Method},
		{"verify", "DECOM_VERIFY", c.Verify, &o.Verify},
		{"coverage", "DECOM_COVERAGE", c.Coverage, &o.Coverage},
	})
	o.cert.apply(flags, c)
	o.registry.apply(flags, c)
}

func newWipeCommand(g *globalOptions) *cobra.Command {
	var opts wipeOptions
	cmd := &cobra.Command{
		Use:   "wipe [DEVICE|IMAGE ...]",
		Short: "Overwrite drives, partitions or image files with a standard method",
		Long: `Overwrites every user-addressable block of the chosen drives, partitions or image
files with a method's pass sequence (see decom methods), several writes in flight per
device and all devices in parallel, and reports what was done pass by pass.

--method nist-purge does not overwrite: it asks each drive's firmware what it can do
and runs the drive's own sanitize command that achieves NIST SP 800-88 Purge on it
(NVMe sanitize or format with secure erase, ATA sanitize or enhanced security erase,
SCSI sanitize), or refuses the drive with the reasons; --dry-run shows each drive's
technique and why. nist-clear removes an ATA drive's Host Protected Area first.

Safety: a target is refused when the inventory says it may not be wiped (mounted,
active swap, held by dm/md, the running system's disk, read-only, backing a loop
device, or a loop device over anything refused). Right before the first write it is
opened exclusively and BSD-locked (a device another program holds with flock is
refused, naming the program), and its identity (device number, model, size, a loop
device's backing object, an image file's inode, and the serial and WWN as the drive
itself answers them through the opened descriptor) is compared with the plan. A
relative path names a file in the working directory.

--all takes the physical, non-removable drives the inventory marks wipeable. It leaves
out loop devices, RAM disks, zram, nbd, device-mapper and md devices (no drive of their
own), removable media, USB-attached drives and SD cards (a backup disk, the decom stick),
and every device the inventory refuses; --include-removable adds removable and USB
drives. Naming a device wipes any device the inventory marks wipeable. The plan lists
each device --all left out, with why.

Confirmation: at a terminal (full screen, no --yes), the drives are chosen on a list:
the devices named, selected; with none named (or --all) the machine's drives, with
--all the ones it takes selected (virtual devices such as loop devices are listed
only when named). Each row shows the drive's model, serial, size, bus and health,
its plan and estimate for the method chosen (m), and whether its firmware can purge
it; refused drives and the boot medium are shown and cannot be chosen. Space
selects, a selects every eligible drive, v switches the read-back (sample, full).
A last screen lists exactly what will be destroyed; nothing is written until WIPE
and the number of targets is typed (--confirm-serials: each target's serial). With
--plain, decom asks for each drive's serial number (its name when it has none) at a
line prompt. Without a terminal, --yes is required, with the devices named or with
--all. --dry-run prints the plan and writes nothing.

Approved plans (automation): --dry-run --plan-out FILE writes the plan for review:
this host's identity (DMI system serial and UUID, hostname) and each target's path,
kind, serial, WWN, model, size and method (for nist-purge and nist-clear the
planner's technique); a plan with a refused target is not written (exit code 4).
decom plan merge joins several hosts' plans into one file. --approved FILE wipes
exactly what the file lists for this host, with no terminal and no --yes: the
targets come from the file. When anything differs from it (a target missing or
added; a kind, serial, WWN, model or size; the method or technique; or the file has
no section for this host) the whole run is refused before anything is written (exit
code 4), each difference on a line of its own ("plan_drift" lines with --output
json). A missing or malformed plan is bad input (exit code 9). Every certificate of
the run records the plan file's SHA-256.

Verification: after the last pass (or after each, with --verify-passes all) the device
is read back through a read-only descriptor of the very device written: a NIST-style
sample (--verify sample, the default: at least 1,000 subsections, two or more random
blocks in each, the first and last blocks, --coverage of the device, a recorded seed)
or every byte (--verify full). Random passes are checked against their regenerated
keystream. Any mismatch or unreadable block fails verification (exit code 6).
--verify none reads nothing back: the wipe ends "unverified" (in the summary and in
the record's "sanitization_outcome"), its signed document is a record of unverified
sanitization, never a certificate of sanitization (whatever the method), and the exit
code is 0: the run did what it was asked to do.

Custom sequences (--passes) claim no NIST SP 800-88 class (the certificate's method
type is "none"), unless the passes written, rounds and final blank pass included, are
exactly a catalogued method's: then the method is named and its class claimed.

A write error is retried, then narrowed down to the bad sectors, which are skipped and
listed; such a wipe ends "completed-with-exceptions". SIGINT or SIGTERM stop the wipe;
its record says at which pass and offset (every byte below it was written).

Resume: each target's journal (in --journal-dir, by default the certificate
directory) records the drive, the method, the passes done with their random keys,
and the offset of the current pass below which every byte was written and flushed;
it is replaced every few seconds and removed once the certificate is written. After
a power cut, a crash, a kill or SIGINT, decom wipe --resume continues each
interrupted wipe of a drive present (the same serial, WWN, model and size; of the
devices named, or with none named, of every one that has a journal) from that
offset, with the journal's method, then reads the whole device back; the
certificate lists each interruption. A firmware sanitize is not sent again: the
drive is asked how it went. While a journal holds an interrupted wipe, a new wipe
of that drive is refused (exit code 4) unless --resume or --restart; a damaged or
truncated journal, a drive that is not the journal's, or a different --method are
refused too (exit code 9).

Each target's certificate is written, and its record printed, the moment that target
is done, whatever the others are doing.

Stalls: a target that answers no write (or, reading back, no read) for --stall-timeout
is reported as stalled: a log line, a "stalled" JSON line, "stalled": true on its
progress lines, and the stall (when, which pass, at which offset) in its record.
decom keeps waiting for it, unless --give-up-stalled: then the target is given up
as failed at once (its certificate is a record of failed sanitization) and the
others go on. A request a drive never answers cannot be called back: when decom
stops waiting for one (given up, or a few seconds after SIGINT/SIGTERM) its record
lists it in "pending_io" and says so in its error, decom writes every record and
certificate and exits; the kernel may keep the process from being reaped until the
drive answers or the kernel's own timeout fails the request.

With --output json, stdout carries JSON lines: a "plan" object per target, with --all a
"left_out" object per device it left out ({"device", "class", "reasons"}; class is
fixed, removable or virtual as in decom inventory), "progress", "verify_progress" and
"stalled" objects, and a "record" object per target as soon as it is done, with its
"verification" results, "verified", and "sanitization_outcome": what its certificate
says (sanitized, sanitized-with-exceptions, unverified, failed or aborted).

` + exitCodeHelp,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(g.Config)
			if err != nil {
				return err
			}
			opts.apply(cmd.Flags(), cfg)
			opts.flags = cmd.Flags()
			return runWipe(cmd.Context(), opts, g, args)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

func runWipe(ctx context.Context, opts wipeOptions, g *globalOptions, args []string) error {
	if err := checkJob(opts.cert.Job); err != nil {
		return err
	}
	if opts.Approved != "" {
		return runWipeApproved(ctx, opts, g, args)
	}
	switch {
	case opts.PlanOut != "" && !opts.DryRun:
		return usageErrorf("--plan-out writes the plan of a dry run: add --dry-run")
	case opts.All && len(args) > 0:
		return usageErrorf("--all wipes every wipeable drive; it does not combine with named devices")
	case opts.IncludeRemovable && !opts.All:
		return usageErrorf("--include-removable widens --all; a device named is taken whatever it is")
	case opts.Resume && opts.Restart:
		return usageErrorf("--resume continues an interrupted wipe, --restart starts it over: not both")
	case opts.Resume && (opts.All || opts.DryRun || opts.PlanOut != ""):
		return usageErrorf("--resume takes its drives from the journals (or the devices named): no --all, --dry-run or --plan-out")
	}
	fullScreen := useConsole(g, opts.Plain) && !opts.DryRun
	// On the full screen, without --yes, the targets are chosen from a list.
	choosing := fullScreen && !opts.Yes && !opts.Resume
	if !opts.Resume && !opts.All && len(args) == 0 && !choosing {
		return usageErrorf("name the devices or image files to wipe, or use --all")
	}
	var screen *consoleReporter // the full-screen view, at a terminal (wipe_console.go)
	if fullScreen {
		var abort context.CancelFunc
		ctx, abort = context.WithCancel(ctx)
		defer abort()
		var err error
		if screen, err = newConsoleReporter(g, abort); err != nil {
			return err
		}
	}
	so, err := opts.prepare(ctx, g, opts.askPassphrase(g))
	if err != nil {
		return err
	}
	out := lineReporter(g, so)
	if screen != nil {
		screen.describeRun(so)
		out = screen
		defer screen.stop()
	}
	if choosing {
		if args, err = screen.choose(ctx, opts, &so, args); err != nil {
			return err
		}
		screen.describeRun(so)
		opts.All, opts.IncludeRemovable = false, false // the drives chosen are named
	}
	so.Targets, so.All, so.IncludeRemovable = args, opts.All, opts.IncludeRemovable
	so.Resume, so.Restart = opts.Resume, opts.Restart
	if opts.Resume && opts.flags != nil && !opts.flags.Changed("method") && !opts.flags.Changed("passes") {
		so.Method = wipe.Method{} // the journals' own
	}
	so.Confirm = func(ctx context.Context, plans []sanitize.Plan) ([]sanitize.Plan, error) {
		var approved []sanitize.Plan
		var err error
		if screen != nil && !opts.Yes {
			approved, err = screen.confirm(so, opts.ConfirmSerials, plans)
		} else {
			approved, err = confirmPlans(ctx, g, opts.Yes, plans)
		}
		if err == nil && screen != nil {
			screen.start(approved)
		}
		return approved, err
	}
	so.Events = out.Event
	var planned *sanitize.Planned
	if opts.PlanOut != "" {
		so.Events = func(ev sanitize.Event) {
			if p, ok := ev.(*sanitize.Planned); ok {
				planned = p
			}
			out.Event(ev)
		}
	}
	_, err = sanitize.Run(ctx, so)
	if errors.Is(err, sanitize.ErrInvalid) {
		return usageError{err}
	}
	if err != nil || opts.PlanOut == "" {
		return err
	}
	return writePlanOut(opts.PlanOut, g, planned, opts.All, opts.IncludeRemovable, opts.cert.Job)
}

// askPassphrase asks for the signing key's passphrase (or takes DECOM_KEY_PASSWORD).
func (opts wipeOptions) askPassphrase(g *globalOptions) func() ([]byte, error) {
	return func() ([]byte, error) { return g.passphrase("Passphrase for "+opts.cert.Key, false) }
}

// lineReporter is the reporter of a run without the full screen: JSON lines with
// --output json, else tables and progress lines.
func lineReporter(g *globalOptions, so sanitize.Options) wipeReporter {
	if g.Output == outputJSON {
		return &jsonReporter{g: g}
	}
	return newTextReporter(g, so.Certify == nil)
}

// runWipeApproved wipes what an approved plan lists for this host, and refuses the
// run when anything differs from it.
func runWipeApproved(ctx context.Context, opts wipeOptions, g *globalOptions, args []string) error {
	switch {
	case opts.All || len(args) > 0:
		return usageErrorf("--approved takes the targets from the plan: name no device and no --all")
	case opts.IncludeRemovable || opts.PlanOut != "":
		return usageErrorf("--approved does not combine with --include-removable or --plan-out")
	}
	ap, err := loadApproved(opts.Approved, inventory.ReadHost(inventory.Options{Root: g.SysRoot}))
	if err != nil {
		return err
	}
	if opts.flags == nil {
		opts.flags = pflag.NewFlagSet("wipe", pflag.ContinueOnError)
	}
	if err := opts.methodFromPlan(opts.flags, ap.write, ap.section.Targets[0].Method.Passes); err != nil {
		return err
	}
	if err := opts.jobFromPlan(opts.flags, ap.job); err != nil {
		return err
	}
	so, err := opts.prepare(ctx, g, opts.askPassphrase(g))
	if err != nil {
		return err
	}
	out := lineReporter(g, so)
	if so.Certify != nil {
		so.Certify.ApprovedPlan = ap.sha256
	}
	so.All, so.IncludeRemovable = ap.section.All, ap.section.IncludeRemovable
	if !so.All {
		so.Targets = ap.section.Paths()
	}
	write := wipe.PassPlan{Method: so.Method, Rounds: so.Rounds, Blank: so.Blank}
	so.Confirm = sanitize.Approve(ap.section, ap.host, write)
	so.Events = out.Event
	var planned *sanitize.Planned
	if opts.DryRun {
		so.Events = func(ev sanitize.Event) {
			if p, ok := ev.(*sanitize.Planned); ok {
				planned = p
			}
			out.Event(ev)
		}
	}
	_, err = sanitize.Run(ctx, so)
	if err == nil && opts.DryRun && planned != nil {
		// A dry run stops before the confirmation: compare here what it planned.
		_, err = so.Confirm(ctx, planned.Plans)
	}
	err = sanitize.MissingTarget(err, ap.section)
	showDrift(g, err)
	if errors.Is(err, sanitize.ErrInvalid) {
		return usageError{err}
	}
	return err
}

// prepare checks the options and turns them into a run's, all but the targets, the
// confirmation and the events: the method, the engine's and the verification's
// settings, and the certifier with its key unlocked (passphrase is asked when the
// key is encrypted). Everything a certificate needs is checked before anything is
// written: a wipe must not end without its certificate.
func (opts wipeOptions) prepare(ctx context.Context, g *globalOptions, passphrase func() ([]byte, error)) (sanitize.Options, error) {
	method, err := opts.method()
	if err != nil {
		return sanitize.Options{}, err
	}
	engineOpts, err := opts.engine()
	if err != nil {
		return sanitize.Options{}, err
	}
	verifyOpts, verifyAll, err := opts.verification()
	if err != nil {
		return sanitize.Options{}, err
	}
	var certifier *sanitize.Certifier
	if !opts.cert.NoCertificate && !opts.DryRun {
		if certifier, err = newCertifier(ctx, g, opts.cert, opts.registry, passphrase); err != nil {
			return sanitize.Options{}, err
		}
	}
	if sanitize.UsesPlanner(method) && opts.Passes != "" {
		return sanitize.Options{}, usageErrorf("--passes makes a custom overwrite; it does not combine with --method %s", method.Name)
	}
	if method.Name == wipe.MethodNISTPurge && (opts.Rounds != 1 || opts.Blank) {
		return sanitize.Options{}, usageErrorf("--rounds and --blank are for overwrites; nist-purge runs the drive's own command once")
	}
	journals, err := opts.journalDir()
	if err != nil {
		return sanitize.Options{}, err
	}
	return sanitize.Options{
		JournalDir: journals,
		Method:     method, Rounds: opts.Rounds, Blank: opts.Blank,
		Write: engineOpts, Verify: verifyOpts, VerifyEachPass: verifyAll,
		Inventory: inventory.Options{Root: g.SysRoot},
		DryRun:    opts.DryRun,
		Certify:   certifier,
		Logger:    logging.Slog(g.log),
	}, nil
}

// journalDir is where the run keeps its journals: --journal-dir, which must
// exist, or else the certificate directory when there is one. A dry run keeps none.
func (o wipeOptions) journalDir() (string, error) {
	if o.DryRun {
		return "", nil
	}
	if o.JournalDir != "" {
		if fi, err := os.Stat(o.JournalDir); err != nil || !fi.IsDir() {
			return "", badInputf("--journal-dir %s: not a directory", o.JournalDir)
		}
		return o.JournalDir, nil
	}
	if fi, err := os.Stat(o.cert.CertDir); err == nil && fi.IsDir() {
		return o.cert.CertDir, nil
	}
	if o.Resume || o.Restart {
		return "", badInputf("no journal directory: %s does not exist (give --journal-dir)", o.cert.CertDir)
	}
	return "", nil
}

func (o wipeOptions) method() (wipe.Method, error) {
	if o.Rounds < 1 {
		return wipe.Method{}, usageErrorf("--rounds %d: want 1 or more", o.Rounds)
	}
	if o.Passes != "" {
		passes, err := wipe.ParsePasses(o.Passes)
		if err != nil {
			return wipe.Method{}, usageErrorf("--passes: %v", err)
		}
		return wipe.CustomMethod(passes, o.Rounds, o.Blank), nil
	}
	m, err := wipe.LookupMethod(o.Method)
	if err != nil {
		return wipe.Method{}, usageErrorf("--method: %v", err)
	}
	return m, nil
}

func (o wipeOptions) verification() (verify.Options, bool, error) {
	var vo verify.Options
	switch o.Verify {
	case verify.ModeSample, verify.ModeFull:
		vo.Mode = o.Verify
	case sanitize.VerifyNone:
		vo.Mode = sanitize.VerifyNone
	default:
		return vo, false, usageErrorf("--verify %q: want sample, full or none", o.Verify)
	}
	if o.VerifyPasses != "last" && o.VerifyPasses != "all" {
		return vo, false, usageErrorf("--verify-passes %q: want last or all", o.VerifyPasses)
	}
	mode, share, err := parseCoverage(o.Coverage)
	if err != nil {
		return vo, false, err
	}
	if vo.Mode == verify.ModeSample {
		vo.Mode, vo.Coverage = mode, share // --coverage 100% means full
	}
	bs, _ := parseSize(o.BlockSize)
	vo.BlockSize, vo.QueueDepth, vo.ProgressInterval = int(bs), o.QueueDepth, o.Interval
	vo.StallTimeout, vo.GiveUpStalled = o.StallTimeout, o.GiveUpStalled
	return vo, o.VerifyPasses == "all", nil
}

func (o wipeOptions) engine() (wipe.Options, error) {
	bs, err := parseSize(o.BlockSize)
	if err != nil {
		return wipe.Options{}, usageErrorf("--block-size: %v", err)
	}
	e := wipe.Options{BlockSize: int(bs), QueueDepth: o.QueueDepth, ProgressInterval: o.Interval,
		StallTimeout: o.StallTimeout, GiveUpStalled: o.GiveUpStalled, CheckpointInterval: o.JournalInterval}
	if o.JournalInterval <= 0 {
		return wipe.Options{}, usageErrorf("--journal-interval must be positive")
	}
	if err := e.Validate(); err != nil {
		return wipe.Options{}, usageErrorf("%v", err)
	}
	if o.Interval <= 0 {
		return wipe.Options{}, usageErrorf("--progress-interval must be positive")
	}
	switch {
	case o.StallTimeout < 0:
		return wipe.Options{}, usageErrorf("--stall-timeout %s: want 0 (never) or more", o.StallTimeout)
	case o.GiveUpStalled && o.StallTimeout == 0:
		return wipe.Options{}, usageErrorf("--give-up-stalled needs a --stall-timeout")
	}
	return e, nil
}

// parseCoverage reads --coverage: "10%", "0.5%", "full" (or "100%").
func parseCoverage(s string) (mode string, share float64, err error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "full") {
		return verify.ModeFull, 1, nil
	}
	num, ok := strings.CutSuffix(s, "%")
	if !ok {
		return "", 0, usageErrorf("--coverage %q: want a percentage such as 10%% or full", s)
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || !(v > 0 && v <= 100) {
		return "", 0, usageErrorf("--coverage %q: want more than 0%% and at most 100%%", s)
	}
	if v == 100 {
		return verify.ModeFull, 1, nil
	}
	return verify.ModeSample, v / 100, nil
}

// parseSize reads "1MiB", "512KiB", "4096", "2M".
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}}
	mult := int64(1)
	num := strings.TrimSpace(s)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	var n int64
	if _, err := fmt.Sscanf(num, "%d", &n); err != nil || n <= 0 || fmt.Sprint(n) != num {
		return 0, fmt.Errorf("bad size %q (want a number with an optional KiB, MiB or GiB)", s)
	}
	return n * mult, nil
}

// confirmPlans returns the plans a person (or --yes) approved.
func confirmPlans(ctx context.Context, g *globalOptions, yes bool, plans []sanitize.Plan) ([]sanitize.Plan, error) {
	if yes {
		return plans, nil
	}
	if !g.interactive() {
		return nil, fmt.Errorf("%w: confirmation missing: without a terminal, pass --yes (with the devices named, or --all)", wipe.ErrRefused)
	}
	return confirm(ctx, g.stdin, g.stderr, plans)
}

// confirm asks for each target's serial (its name when it has none) to be typed.
func confirm(ctx context.Context, in io.Reader, out io.Writer, plans []sanitize.Plan) ([]sanitize.Plan, error) {
	sc := bufio.NewScanner(in)
	var approved []sanitize.Plan
	for _, p := range plans {
		want, what := confirmationWord(p.Target)
		fmt.Fprintf(out, "\nAll data on %s (%s, %s) will be destroyed.\nIt is %s.\nType its %s to wipe it, or press Enter to skip it: ",
			p.Target.Path, describe(p.Target), humanSize(uint64(p.Target.Size())), identification(p.Target), what)
		if !sc.Scan() {
			if err := sc.Err(); err != nil {
				return nil, err
			}
			fmt.Fprintln(out)
			break
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if strings.TrimSpace(sc.Text()) == want {
			approved = append(approved, p)
			fmt.Fprintf(out, "%s confirmed.\n", p.Target.Path)
		} else {
			fmt.Fprintf(out, "%s skipped: that is not its %s.\n", p.Target.Path, what)
		}
	}
	return approved, nil
}

// confirmationWord is what a person must type to approve a target.
func confirmationWord(t wipe.Target) (word, what string) {
	if t.Identity.Serial != "" {
		return t.Identity.Serial, "serial number"
	}
	if t.Kind == wipe.KindFile {
		return t.Path, "path"
	}
	return strings.TrimPrefix(t.Node, "/dev/"), "device name (without /dev/)"
}

// identification names a target beyond its path: the node the path resolves to (when
// it is another), the device number, and for an image file its inode.
func identification(t wipe.Target) string {
	var parts []string
	if t.Node != "" && t.Node != t.Path {
		parts = append(parts, t.Node)
	}
	parts = append(parts, "device "+dash(t.Identity.DevNo))
	if t.Kind == wipe.KindFile {
		parts = append(parts, fmt.Sprintf("inode %d", t.Identity.Inode))
	}
	return strings.Join(parts, ", ")
}

// deviceColumn is the plan table's DEVICE: the device number, and an image file's inode.
func deviceColumn(t wipe.Target) string {
	if t.Identity.DevNo == "" {
		return "-"
	}
	if t.Kind == wipe.KindFile {
		return fmt.Sprintf("%s ino %d", t.Identity.DevNo, t.Identity.Inode)
	}
	return t.Identity.DevNo
}

func describe(t wipe.Target) string {
	switch t.Kind {
	case wipe.KindFile:
		return "image file"
	case wipe.KindPartition:
		return fmt.Sprintf("partition %d of %s", t.Partition, t.Drive.Path)
	}
	parts := []string{}
	for _, s := range []string{t.Drive.Model, t.Identity.Serial, t.Drive.Transport} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) == 0 {
		return "drive"
	}
	return strings.Join(parts, ", ")
}
