package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/internal/logging"
	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/registry"
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
	f.DurationVar(&o.StallTimeout, "stall-timeout", 60*time.Second, "report a target that answers no write or read for this long as stalled (0: never)")
	f.BoolVar(&o.GiveUpStalled, "give-up-stalled", false, "give a stalled target up as failed and let the others finish")
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

Confirmation: at a terminal, decom asks for each drive's serial number (its name when
it has none) to be typed. Without a terminal, --yes is required, with the devices
named or with --all. --dry-run prints the plan and writes nothing.

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
			return runWipe(cmd.Context(), opts, g, args)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

// plan is the wipe of one target as decided before anything is written.
type plan struct {
	target  wipe.Target
	refusal error
	// choice is the planner's, for nist-purge and nist-clear.
	choice *wipe.Choice
}

func runWipe(ctx context.Context, opts wipeOptions, g *globalOptions, args []string) error {
	method, err := opts.method()
	if err != nil {
		return err
	}
	engineOpts, err := opts.engine()
	if err != nil {
		return err
	}
	verifyOpts, verifyAll, err := opts.verification()
	if err != nil {
		return err
	}
	switch {
	case opts.All && len(args) > 0:
		return usageErrorf("--all wipes every wipeable drive; it does not combine with named devices")
	case !opts.All && len(args) == 0:
		return usageErrorf("name the devices or image files to wipe, or use --all")
	case opts.IncludeRemovable && !opts.All:
		return usageErrorf("--include-removable widens --all; a device named is taken whatever it is")
	}
	// Everything a certificate needs is checked, and the key unlocked, before
	// anything is written: a wipe must not end without its certificate.
	var signer *certSigner
	if !opts.cert.NoCertificate && !opts.DryRun {
		if signer, err = newCertSigner(ctx, g, opts.cert, opts.registry); err != nil {
			return err
		}
	}
	planned := plannedMethod(method)
	if planned && opts.Passes != "" {
		return usageErrorf("--passes makes a custom overwrite; it does not combine with --method %s", method.Name)
	}
	if method.Name == wipe.MethodNISTPurge && (opts.Rounds != 1 || opts.Blank) {
		return usageErrorf("--rounds and --blank are for overwrites; nist-purge runs the drive's own command once")
	}
	// The planner needs what the drives' firmware can do; the gate's inventory asks.
	gate := &wipe.Gate{Inventory: inventory.Options{Root: g.SysRoot, Logger: logging.Slog(g.log), ProbeFirmware: planned},
		Logger: logging.Slog(g.log)}
	plans, left, err := makePlans(ctx, gate, opts.All, opts.IncludeRemovable, args)
	if err != nil {
		return err
	}
	out := newReporter(g)
	if planned {
		choosePlans(plans, method)
		if opts.All && len(plans) > 0 {
			// --all takes the drives the method can be applied to, as it takes the
			// wipeable ones; the others are named, not silently dropped.
			kept := plans[:0]
			for _, p := range plans {
				if p.refusal != nil {
					g.log.Warn().Str("device", p.target.Path).Str("reason", refusalReasons(p.refusal)).
						Msgf("left out of --all: %s cannot be applied", method.Name)
					left = append(left, leftOut{Device: p.target.Path, Class: p.target.Drive.Class,
						Reasons: []string{method.Name + " cannot be applied: " + refusalReasons(p.refusal)}})
					continue
				}
				kept = append(kept, p)
			}
			if plans = kept; len(plans) == 0 {
				out.leftOut(left)
				return refusals(fmt.Sprintf("no drive of this machine can take %s (see decom wipe --dry-run with the drives named)", method.Name))
			}
		}
	}
	if opts.All && len(plans) == 0 {
		out.leftOut(left)
		return refusals("--all found no drive to wipe: it takes physical, non-removable drives that may be wiped (every device left out is listed with why)")
	}
	wplan := wipe.Plan{Method: method, Rounds: opts.Rounds, Blank: opts.Blank}
	out.plans(plans, wplan)
	out.leftOut(left)
	for _, p := range plans {
		for _, w := range p.target.Warnings {
			g.log.Warn().Str("device", p.target.Path).Msg(w)
		}
	}
	if opts.DryRun {
		return refusalsError(plans)
	}
	approved, err := confirmPlans(ctx, g, opts, plans)
	if err != nil {
		return err
	}

	var mu sync.Mutex // one writer of stdout at a time
	engineOpts.Logger = logging.Slog(g.log)
	engineOpts.Progress = func(ev wipe.Event) {
		mu.Lock()
		defer mu.Unlock()
		out.showProgress(ev)
	}
	engineOpts.Stalled = func(st wipe.Stall) {
		mu.Lock()
		defer mu.Unlock()
		out.stalled(st)
	}
	// done certifies one target's result and prints its record at once, whatever
	// the other targets are doing: a finished drive's evidence must not wait for a
	// stalled one.
	records := make([]wipeResult, len(approved))
	certErrs := make([]error, len(approved))
	done := func(i int, r wipeResult) {
		if signer != nil && r.Outcome != wipe.OutcomeRefused {
			certErrs[i] = signer.certifyResult(ctx, &r, verifyOpts.Mode)
		}
		records[i] = r
		mu.Lock()
		defer mu.Unlock()
		out.record(r)
	}
	var wg sync.WaitGroup
	for i, p := range approved {
		dev, err := gate.Open(ctx, p.target)
		if err != nil {
			done(i, wipeResult{Record: refusedRecord(p.target, wplan, err), Verification: []verify.Result{}})
			continue
		}
		if p.choice != nil && p.choice.Technique.Firmware() {
			wg.Go(func() {
				r := runFirmware(ctx, g, dev, p, method, verifyOpts, engineOpts.Progress)
				dev.Close()
				done(i, r)
			})
			continue
		}
		var hpa *wipe.FirmwareRecord
		if p.choice != nil && p.choice.RemoveHPA {
			if hpa, err = removeHPA(dev); err != nil {
				dev.Close()
				rec := refusedRecord(p.target, wplan, err)
				rec.Firmware = hpa
				done(i, wipeResult{Record: rec, Verification: []verify.Result{}})
				continue
			}
		}
		wg.Go(func() {
			g.log.Info().Str("device", p.target.Path).Str("method", method.Name).Int("passes", len(wplan.Passes())).
				Str("io_mode", ioMode(dev)).Msg("wipe started")
			results := []verify.Result{}
			eo := engineOpts
			if verifyOpts.Mode != verifyNone {
				eo.AfterPass = func(ctx context.Context, pr wipe.PassRecord, last bool) error {
					if !last && !verifyAll {
						return nil
					}
					vo := verifyOpts
					vo.Progress = func(ev verify.Event) {
						mu.Lock()
						defer mu.Unlock()
						out.showVerifyProgress(p.target.Path, pr.Number, ev)
					}
					vo.Stalled = func(st wipe.Stall) {
						g.log.Warn().Str("device", st.Device).Int("pass", st.Pass).Int64("offset", st.Offset).
							Time("since", st.Since).Bool("give_up", st.GivenUp).
							Msgf("stalled: the target has answered no read for %s", vo.StallTimeout)
						mu.Lock()
						defer mu.Unlock()
						out.stalled(st)
					}
					res := verifyDevice(ctx, dev, pr, vo)
					g.log.Info().Str("device", p.target.Path).Int("pass", pr.Number).Str("mode", res.Mode).
						Str("outcome", res.Outcome).Float64("coverage", res.Coverage).Msg("verification")
					results = append(results, res)
					if n := len(res.Stalls); n > 0 && res.Stalls[n-1].GivenUp && res.Outcome == verify.OutcomeFailed {
						return fmt.Errorf("verification of pass %d %s", pr.Number, res.Error)
					}
					return nil
				}
			}
			rec := wipe.Overwrite(ctx, dev, wplan, eo)
			rec.Plan, rec.Firmware = p.choice, hpa
			for _, v := range results {
				rec.Stalls = append(rec.Stalls, v.Stalls...)
			}
			if len(rec.PendingIO) > 0 {
				// A write the kernel never returned still uses the descriptor: it is
				// left open, never reused, until decom exits.
				g.log.Warn().Str("device", p.target.Path).Msg("stopped waiting: " + wipe.DescribePending(rec.PendingIO))
			} else {
				dev.Close()
			}
			done(i, newWipeResult(rec, results, verifyOpts.Mode != verifyNone))
		})
	}
	wg.Wait()
	out.done()
	if signer == nil {
		g.log.Warn().Msg("--no-certificate: no certificate was written for this wipe")
	}
	out.summary(records)
	if err := outcomeError(ctx, records, plans); err != nil {
		return err
	}
	return errors.Join(certErrs...)
}

func ioMode(d *wipe.Device) string {
	if d.Direct {
		return wipe.IODirect
	}
	return wipe.IOBuffered
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

// verifyNone is --verify none.
const verifyNone = "none"

func (o wipeOptions) verification() (verify.Options, bool, error) {
	var vo verify.Options
	switch o.Verify {
	case verify.ModeSample, verify.ModeFull:
		vo.Mode = o.Verify
	case verifyNone:
		vo.Mode = verifyNone
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
		StallTimeout: o.StallTimeout, GiveUpStalled: o.GiveUpStalled}
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

// leftOut is a device --all did not take, and why: a "left_out" line of the JSON
// output, a row of the table under the plan.
type leftOut struct {
	Device string `json:"device"`
	// Class is the inventory's: fixed, removable or virtual.
	Class   string   `json:"class,omitempty"`
	Reasons []string `json:"reasons"`
}

// forAll splits the inventory into the drives --all takes (physical, not removable
// unless includeRemovable, and wipeable) and the devices it leaves out, with why.
func forAll(devs []inventory.Device, includeRemovable bool) (take []string, left []leftOut) {
	for _, d := range devs {
		var why []string
		switch d.Class {
		case inventory.ClassVirtual:
			why = append(why, d.ClassReason+": not a physical drive")
		case inventory.ClassRemovable:
			if !includeRemovable {
				why = append(why, d.ClassReason+": removable (add --include-removable to take it)")
			}
		}
		if !d.Wipeable {
			why = append(why, d.Refusals...)
			if len(d.Refusals) == 0 {
				why = append(why, "the inventory says it may not be wiped")
			}
		}
		if len(why) > 0 {
			left = append(left, leftOut{Device: d.Path, Class: d.Class, Reasons: why})
			continue
		}
		take = append(take, d.Path)
	}
	return take, left
}

// makePlans passes every target through the gate's first check. Device errors (no
// such device) end the command; refusals are kept and reported with the plan. With
// all, the targets are the drives forAll takes, and the devices left out are
// returned with why; a drive the gate refuses (or cannot find) is one of them.
func makePlans(ctx context.Context, gate *wipe.Gate, all, includeRemovable bool, args []string) ([]plan, []leftOut, error) {
	var left []leftOut
	class := map[string]string{}
	if all {
		// The list only names the candidates; the gate's check of each (below) reads
		// what the plan needs, firmware included, and asks nothing of the other drives.
		list := gate.Inventory
		list.ProbeFirmware = false
		devs, err := inventory.Scan(ctx, list)
		if err != nil {
			return nil, nil, err
		}
		for _, d := range devs {
			class[d.Path] = d.Class
		}
		args, left = forAll(devs, includeRemovable)
	}
	var plans []plan
	seen := map[string]string{}
	for _, a := range args {
		t, err := gate.Check(ctx, a)
		if all && err != nil {
			// Busy since the scan, or gone: --all leaves out what it may not wipe.
			gate.Logger.Info("left out of --all", "device", a, "reason", err.Error())
			left = append(left, leftOut{Device: a, Class: class[a], Reasons: refusalList(err)})
			continue
		}
		if err != nil && !errors.Is(err, wipe.ErrRefused) {
			return nil, nil, err
		}
		if err == nil {
			key := t.Identity.DevNo + "/" + fmt.Sprint(t.Identity.Inode)
			if prev, dup := seen[key]; dup {
				return nil, nil, usageErrorf("%s and %s are the same target", prev, a)
			}
			seen[key] = a
		}
		plans = append(plans, plan{target: t, refusal: err})
		if err != nil {
			// The plan names what the gate judged: the path it made absolute.
			plans[len(plans)-1].target.Path = a
			if re := (*wipe.RefusedError)(nil); errors.As(err, &re) {
				plans[len(plans)-1].target.Path = re.Path
			}
		}
	}
	return plans, left, nil
}

// confirmPlans returns the plans a person (or --yes) approved. When any target named
// was refused, nothing is approved: the command line was wrong about that drive and
// may be wrong about others.
func confirmPlans(ctx context.Context, g *globalOptions, opts wipeOptions, plans []plan) ([]plan, error) {
	if err := refusalsError(plans); err != nil {
		return nil, fmt.Errorf("%w (nothing was written to any target)", err)
	}
	if opts.Yes {
		return plans, nil
	}
	if !g.interactive() {
		return nil, fmt.Errorf("%w: confirmation missing: without a terminal, pass --yes (with the devices named, or --all)", wipe.ErrRefused)
	}
	approved, err := confirm(ctx, g.stdin, g.stderr, plans)
	if err != nil {
		return nil, err
	}
	if len(approved) == 0 {
		return nil, fmt.Errorf("%w: nothing confirmed; nothing was written", wipe.ErrRefused)
	}
	return approved, nil
}

// confirm asks for each target's serial (its name when it has none) to be typed.
func confirm(ctx context.Context, in io.Reader, out io.Writer, plans []plan) ([]plan, error) {
	sc := bufio.NewScanner(in)
	var approved []plan
	for _, p := range plans {
		want, what := confirmationWord(p.target)
		fmt.Fprintf(out, "\nAll data on %s (%s, %s) will be destroyed.\nIt is %s.\nType its %s to wipe it, or press Enter to skip it: ",
			p.target.Path, describe(p.target), humanSize(uint64(p.target.Size())), identification(p.target), what)
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
			fmt.Fprintf(out, "%s confirmed.\n", p.target.Path)
		} else {
			fmt.Fprintf(out, "%s skipped: that is not its %s.\n", p.target.Path, what)
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

func refusedRecord(t wipe.Target, p wipe.Plan, err error) wipe.Record {
	now := time.Now().UTC()
	return wipe.Record{Device: t.Path, Kind: t.Kind, Identity: t.Identity, Method: p.Method.Name,
		Title: p.Method.Title, NISTClass: p.Method.NISTClass, Rounds: p.Rounds, Blank: p.Blank,
		Passes: []wipe.PassRecord{}, Outcome: wipe.OutcomeRefused, Error: err.Error(), Started: now, Finished: now}
}

// Errors that carry a wipe's outcome to exitCode.
var (
	errWipeFailed   = errors.New("wipe failed")
	errExceptions   = errors.New("wipe completed with exceptions")
	errVerifyFailed = errors.New("verification failed")
)

// wipeResult is a wipe's record with what reading it back found: the "record" line of
// decom wipe's JSON output.
type wipeResult struct {
	wipe.Record
	Verification []verify.Result `json:"verification"`
	// Verified is true only when the wipe completed and every verification of it
	// passed; never for an unverified or failed one.
	Verified bool `json:"verified"`
	// Certificate is the signed certificate (or record) written for the wipe, and
	// CertificatePDF its rendering.
	Certificate    string `json:"certificate,omitempty"`
	CertificateID  string `json:"certificate_id,omitempty"`
	CertificatePDF string `json:"certificate_pdf,omitempty"`
	// SanitizationOutcome is the outcome the wipe's certificate states (see
	// certificates.Outcome): "unverified" for a wipe nobody read back.
	SanitizationOutcome string `json:"sanitization_outcome,omitempty"`
	// CertificateStatus says what the signed document is: a certificate of
	// sanitization, or a record of an unverified, failed or aborted one.
	CertificateStatus string `json:"certificate_status,omitempty"`
	// Registry says where the certificate went: its receipt, or why it waits in
	// the certificate directory for decom cert push.
	RegistryReceipt *registry.Receipt `json:"registry_receipt,omitempty"`
	RegistryError   string            `json:"registry_error,omitempty"`
}

func newWipeResult(rec wipe.Record, results []verify.Result, wanted bool) wipeResult {
	r := wipeResult{Record: rec, Verification: results, SanitizationOutcome: sanitize.Outcome(rec, results)}
	r.Verified = wanted && rec.Outcome == wipe.OutcomeCompleted && len(results) > 0
	for _, v := range results {
		r.Verified = r.Verified && v.Verified
	}
	return r
}

// verificationFailed reports whether a wipe that ran to its end failed (or skipped
// part of) its reading back.
func (r wipeResult) verificationFailed() bool {
	if r.Outcome != wipe.OutcomeCompleted && r.Outcome != wipe.OutcomeExceptions {
		return false
	}
	for _, v := range r.Verification {
		if !v.Verified {
			return true
		}
	}
	return false
}

// refusalsError is the error for plans that were refused, nil when none was.
func refusalsError(plans []plan) error {
	var msgs []string
	for _, p := range plans {
		if p.refusal != nil {
			msgs = append(msgs, p.refusal.Error())
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return refusals(strings.Join(msgs, "; "))
}

// refusals is the message of one or more gate refusals.
type refusals string

func (e refusals) Error() string        { return string(e) }
func (e refusals) Is(target error) bool { return target == wipe.ErrRefused }

// outcomeError turns the records into the command's error: the most severe outcome
// decides the exit code (interrupted, failed, refused, with exceptions).
func outcomeError(ctx context.Context, records []wipeResult, plans []plan) error {
	count := map[string]int{}
	verifyFailed := 0
	for _, r := range records {
		count[r.Outcome]++
		if r.verificationFailed() {
			verifyFailed++
		}
	}
	for _, p := range plans {
		if p.refusal != nil {
			count[wipe.OutcomeRefused]++
		}
	}
	switch {
	case count[wipe.OutcomeAborted] > 0 || ctx.Err() != nil:
		return fmt.Errorf("wipe %w", context.Canceled)
	case count[wipe.OutcomeFailed] > 0:
		return fmt.Errorf("%w: %d of %d targets", errWipeFailed, count[wipe.OutcomeFailed], len(records))
	case verifyFailed > 0:
		return fmt.Errorf("%w: %d of %d targets do not read back as written", errVerifyFailed, verifyFailed, len(records))
	case count[wipe.OutcomeRefused] > 0:
		return fmt.Errorf("%w: %d targets were refused; nothing was written to them", wipe.ErrRefused, count[wipe.OutcomeRefused])
	case count[wipe.OutcomeExceptions] > 0:
		return fmt.Errorf("%w: %d of %d targets have unwritable ranges", errExceptions, count[wipe.OutcomeExceptions], len(records))
	}
	return nil
}

// wipeReporter shows plans, progress and records, as tables and a live display for
// people or as JSON lines for programs.
type wipeReporter struct {
	g       *globalOptions
	live    bool // redraw progress lines on the terminal
	lines   map[string]int
	order   []string
	lastLog map[string]time.Time
	drawn   int
}

func newReporter(g *globalOptions) *wipeReporter {
	return &wipeReporter{g: g, live: g.Output == outputTable && logging.IsTerminal(g.stderr),
		lines: map[string]int{}, lastLog: map[string]time.Time{}}
}

type planLine struct {
	// Device is the target's absolute path, Node what it resolves to.
	Device     string         `json:"device"`
	Node       string         `json:"node,omitempty"`
	Kind       string         `json:"kind"`
	Identity   wipe.Identity  `json:"identity"`
	Method     string         `json:"method"`
	Passes     []wipe.Pattern `json:"passes"`
	Estimate   float64        `json:"estimated_seconds,omitempty"`
	Refused    bool           `json:"refused"`
	Refusals   []string       `json:"refusals,omitempty"`
	Warnings   []string       `json:"warnings,omitempty"`
	SizeBytes  uint64         `json:"size_bytes"`
	Model      string         `json:"model,omitempty"`
	Serial     string         `json:"serial,omitempty"`
	Transport  string         `json:"transport,omitempty"`
	MediaClass string         `json:"media,omitempty"`
	// Plan is the planner's choice for nist-purge and nist-clear: technique, class, why.
	Plan *wipe.Choice `json:"plan,omitempty"`
}

func (r *wipeReporter) line(typ string, v any) {
	if err := writeJSONLine(r.g.stdout, typ, v); err != nil {
		r.g.log.Error().Err(err).Msg("cannot write to stdout")
	}
}

func (r *wipeReporter) plans(plans []plan, wp wipe.Plan) {
	passes := wp.Passes()
	if r.g.Output == outputJSON {
		for _, p := range plans {
			r.line("plan", planJSON(p, wp, passes))
		}
		return
	}
	w := r.g.stdout
	if wp.Method.Name == wipe.MethodNISTPurge {
		fmt.Fprintf(w, "Method: %s — %s (chosen per drive)\n\n", wp.Method.Name, wp.Method.Title)
	} else {
		fmt.Fprintf(w, "Method: %s — %s (%s: %s)\n\n", wp.Method.Name, wp.Method.Title, plural(len(passes), "pass", "passes"), passList(passes))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tKIND\tSIZE\tDEVICE\tMODEL\tSERIAL\tESTIMATE\tPLAN")
	for _, p := range plans {
		t := p.target
		verdict := planText(p)
		if p.refusal != nil {
			verdict = "REFUSED: " + refusalReasons(p.refusal)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Path, dash(t.Kind), humanSize(t.Identity.SizeBytes),
			deviceColumn(t), dash(t.Drive.Model), dash(t.Identity.Serial), estimate(t, len(passes)), verdict)
	}
	tw.Flush()
	fmt.Fprintln(w)
	if why := planReasons(plans); why != "" {
		fmt.Fprintf(w, "%s\n", why)
	}
}

// leftOut lists the devices --all left out, and why: "left_out" JSON lines, or a
// table under the plan.
func (r *wipeReporter) leftOut(left []leftOut) {
	if len(left) == 0 {
		return
	}
	slices.SortStableFunc(left, func(a, b leftOut) int { return strings.Compare(a.Device, b.Device) })
	if r.g.Output == outputJSON {
		for _, l := range left {
			r.line("left_out", l)
		}
		return
	}
	w := r.g.stdout
	fmt.Fprintln(w, "Left out of --all (it takes physical, non-removable drives that may be wiped):")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "DEVICE\tCLASS\tWHY")
	for _, l := range left {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", l.Device, dash(l.Class), strings.Join(l.Reasons, "; "))
	}
	tw.Flush()
	fmt.Fprintln(w)
}

func planJSON(p plan, wp wipe.Plan, passes []wipe.Pattern) *planLine {
	t := p.target
	pl := &planLine{Device: t.Path, Node: t.Node, Kind: t.Kind, Identity: t.Identity, Method: wp.Method.Name, Passes: passes,
		Warnings: t.Warnings, SizeBytes: t.Identity.SizeBytes, Model: t.Drive.Model, Serial: t.Identity.Serial,
		Transport: t.Drive.Transport, MediaClass: t.Drive.Media, Plan: p.choice}
	if p.refusal != nil {
		pl.Refused = true
		var re *wipe.RefusedError
		if errors.As(p.refusal, &re) {
			pl.Refusals = re.Reasons
		}
	} else {
		pl.Estimate = wipe.Estimate(t, len(passes)).Seconds()
	}
	return pl
}

func refusalReasons(err error) string { return strings.Join(refusalList(err), "; ") }

// refusalList is the gate's reasons for a refusal, or the error itself.
func refusalList(err error) []string {
	var re *wipe.RefusedError
	if errors.As(err, &re) {
		return re.Reasons
	}
	return []string{err.Error()}
}

func estimate(t wipe.Target, passes int) string {
	if t.Kind == "" {
		return "-"
	}
	d := wipe.Estimate(t, passes)
	if d < time.Minute {
		return "<1m"
	}
	return "~" + d.Round(time.Minute).String()
}

func (r *wipeReporter) showProgress(ev wipe.Event) {
	if r.g.Output == outputJSON {
		r.line("progress", ev)
		return
	}
	when := "ETA " + eta(ev.ETA)
	if ev.Stalled {
		when = "STALLED"
	}
	text := fmt.Sprintf("%-14s pass %d/%d %-9s %5.1f%%  %s/s  %s", ev.Device, ev.Pass, ev.Passes, ev.Pattern,
		100*float64(ev.Done)/float64(max(ev.Size, 1)), humanSize(uint64(ev.Rate)), when)
	if !r.live {
		if ev.Final || time.Since(r.lastLog[ev.Device]) >= 10*time.Second {
			r.lastLog[ev.Device] = time.Now()
			l := r.g.log.Info().Str("device", ev.Device).Int("pass", ev.Pass).Int("passes", ev.Passes).
				Int64("bytes_done", ev.Done).Int64("bytes_total", ev.Size).Float64("rate_bytes_per_second", ev.Rate).
				Float64("eta_seconds", ev.ETA)
			if ev.Stalled {
				l = l.Bool("stalled", true)
			}
			l.Msg("progress")
		}
		return
	}
	i, ok := r.lines[ev.Device]
	if !ok {
		i = len(r.order)
		r.lines[ev.Device] = i
		r.order = append(r.order, ev.Device)
		fmt.Fprintln(r.g.stderr)
		r.drawn++
	}
	// Move up to the device's line, rewrite it, come back down.
	up := r.drawn - i
	fmt.Fprintf(r.g.stderr, "\x1b[%dA\r\x1b[2K%s\x1b[%dB\r", up, text, up)
}

func eta(s float64) string {
	if s <= 0 {
		return "-"
	}
	return (time.Duration(s) * time.Second).Round(time.Second).String()
}

func (r *wipeReporter) done() {
	if r.live && r.drawn > 0 {
		fmt.Fprintln(r.g.stderr)
	}
}

func (r *wipeReporter) showVerifyProgress(device string, pass int, ev verify.Event) {
	if r.g.Output == outputJSON {
		r.line("verify_progress", struct {
			Device string `json:"device"`
			Pass   int    `json:"pass"`
			verify.Event
		}{device, pass, ev})
		return
	}
	if ev.Final || !r.live {
		return
	}
	i, ok := r.lines[device]
	if !ok {
		return
	}
	up := r.drawn - i
	text := fmt.Sprintf("%-14s pass %d verify (%s) %5.1f%%  %s/s", device, pass, ev.Mode,
		100*float64(ev.Done)/float64(max(ev.Total, 1)), humanSize(uint64(ev.Rate)))
	if ev.Stalled {
		text += "  STALLED"
	}
	fmt.Fprintf(r.g.stderr, "\x1b[%dA\r\x1b[2K%s\x1b[%dB\r", up, text, up)
}

// stalled reports a stall: a "stalled" JSON line; people read the log line.
func (r *wipeReporter) stalled(st wipe.Stall) {
	if r.g.Output == outputJSON {
		r.line("stalled", st)
	}
}

func (r *wipeReporter) record(rec wipeResult) {
	if r.g.Output == outputJSON {
		r.line("record", rec)
	}
}

func (r *wipeReporter) summary(records []wipeResult) {
	if r.g.Output == outputJSON {
		return
	}
	tw := tabwriter.NewWriter(r.g.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tOUTCOME\tPASSES\tWRITTEN\tRATE\tBAD RANGES\tVERIFIED\tNOTE")
	for _, rec := range records {
		bad := 0
		done := 0
		for _, p := range rec.Passes {
			bad += len(p.BadRanges)
			if p.Completed {
				done++
			}
		}
		rate := "-"
		if secs := rec.Finished.Sub(rec.Started).Seconds(); secs > 0 && rec.BytesWritten > 0 {
			rate = humanSize(uint64(float64(rec.BytesWritten)/secs)) + "/s"
		}
		note := rec.Error
		if rec.AbortedAt != nil {
			note = fmt.Sprintf("stopped in pass %d at offset %d", rec.AbortedAt.Pass, rec.AbortedAt.Offset)
		}
		if note == "" && rec.SanitizationOutcome == certificates.OutcomeUnverified {
			note = "not read back"
			if rec.VerifyRequired {
				note += ", although the method requires it"
			}
			if rec.Certificate != "" {
				note += "; record " + rec.Certificate
			}
		}
		if note == "" && rec.Certificate != "" {
			note = "certificate " + rec.Certificate
		}
		if note == "" && rec.VerifyRequired && len(rec.Verification) == 0 {
			note = "the method requires verification; none was done"
		}
		for _, v := range rec.Verification {
			if !v.Verified && note == "" {
				note = fmt.Sprintf("pass %d: %s", v.Pass, v.Error)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\t%d\t%s\t%s\n", rec.Device, rec.Outcome, done, len(rec.Passes),
			humanSize(rec.BytesWritten), rate, bad, verifiedSummary(rec), dash(note))
	}
	tw.Flush()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// verifiedSummary says in a few words how a wipe was read back.
func verifiedSummary(r wipeResult) string {
	if r.SanitizationOutcome == certificates.OutcomeUnverified {
		return "UNVERIFIED"
	}
	if len(r.Verification) == 0 {
		return "no"
	}
	v := r.Verification[len(r.Verification)-1]
	how := "full"
	if v.Mode == verify.ModeSample {
		how = fmt.Sprintf("sample %.1f%%", 100*v.Coverage)
	}
	if !r.Verified {
		return "FAILED (" + how + ")"
	}
	return "yes (" + how + ")"
}
