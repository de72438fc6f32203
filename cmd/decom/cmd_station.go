package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/station"
)

// stationOptions are decom station's: the wipe settings it shares with decom wipe,
// and how the station takes drives.
type stationOptions struct {
	wipe           wipeOptions
	Auto           bool
	Once           bool
	Max            int
	IncludePresent bool
}

// stationWipeFlags are the flags of decom wipe that decom station takes too.
var stationWipeFlags = []string{"method", "passes", "rounds", "blank", "block-size", "queue-depth",
	"progress-interval", "verify", "verify-passes", "coverage", "stall-timeout", "give-up-stalled",
	"journal-dir", "journal-interval", "plain"}

func (o *stationOptions) AddFlags(f *pflag.FlagSet) {
	all := pflag.NewFlagSet("wipe", pflag.ContinueOnError)
	o.wipe.AddFlags(all)
	for _, name := range stationWipeFlags {
		f.AddFlag(all.Lookup(name))
	}
	o.wipe.cert.AddFlags(f)
	o.wipe.registry.AddFlags(f)
	f.BoolVar(&o.Auto, "auto", false, "wipe each drive that arrives without asking (default: type its serial number at the console)")
	f.BoolVar(&o.Once, "once", false, "end after one drive (as --max 1)")
	f.IntVar(&o.Max, "max", 0, "end after this many drives (0: run until SIGINT or SIGTERM)")
	f.BoolVar(&o.IncludePresent, "include-present", false, "take drives that were present at start too, when the kernel announces them again")
}

// apply fills the settings not given as flags from the environment and the config
// file (its station: section for the station's own).
func (o *stationOptions) apply(flags *pflag.FlagSet, c fileConfig) {
	o.wipe.apply(flags, c)
	if !flags.Changed("auto") && c.Station.Auto != nil {
		o.Auto = *c.Station.Auto
	}
	if !flags.Changed("include-present") && c.Station.IncludePresent != nil {
		o.IncludePresent = *c.Station.IncludePresent
	}
	if !flags.Changed("max") && !flags.Changed("once") && c.Station.Max != nil {
		o.Max = *c.Station.Max
	}
}

func newStationCommand(g *globalOptions) *cobra.Command {
	var opts stationOptions
	cmd := &cobra.Command{
		Use:   "station",
		Short: "Run a hot-swap intake station: wipe each drive as it is plugged in",
		Long: `Keeps running on a bench machine with hot-swap bays or USB docks and watches the
kernel's device events. Each whole drive plugged in is inventoried, checked by the
same safety gate as decom wipe, and wiped in its own run with its own certificate
(uploaded when a registry is configured), several drives in parallel: after its
serial number is typed at the console, or at once with --auto.

The drives present when the station starts are never touched (--include-present
lets them be taken when the kernel announces them again), nor is the system's own
disk, which the safety gate refuses. A drive pulled out while it is wiped ends as
aborted, and its record says it was removed; the other drives go on.

At a terminal the station is shown full screen: a row per drive seen (the drives
present at start and the system's disk marked as left alone), with its progress
bar, outcome and certificate, "can be pulled" when the station is done with it, or
"removed" when it was pulled out mid-wipe; serial numbers are typed at its foot,
and Esc (or q with --auto) asks before it stops the station. With --plain, or when
the output is no terminal, it prints a line when a drive arrives, its progress
every 10%, its outcome with its certificate, and "can be pulled". --once or --max
end the station after that many drives; SIGINT or SIGTERM end it at once (the
drives being wiped end as aborted, with their records).

The method, verification and certificate settings are decom wipe's (flags,
environment, config file); the config file's station: section may set auto,
include_present and max.

` + exitCodeHelp,
		Args: argsUsage(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(g.Config)
			if err != nil {
				return err
			}
			opts.apply(cmd.Flags(), cfg)
			opts.wipe.flags = cmd.Flags()
			return runStation(cmd.Context(), opts, g)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

func runStation(ctx context.Context, opts stationOptions, g *globalOptions) error {
	switch {
	case opts.Max < 0:
		return usageErrorf("--max %d: want 0 (no limit) or more", opts.Max)
	case opts.Once && opts.Max > 1:
		return usageErrorf("--once is --max 1: not both")
	case !opts.Auto && !g.interactive():
		return usageErrorf("no terminal to confirm drives at: use --auto, or run decom station at a terminal")
	}
	if opts.Once {
		opts.Max = 1
	}
	var screen *consoleReporter // the full screen, at a terminal (wipe_console.go)
	if useConsole(g, opts.wipe.Plain) {
		var stop context.CancelFunc
		ctx, stop = context.WithCancel(ctx)
		defer stop()
		var err error
		if screen, err = newConsoleReporter(g, stop); err != nil {
			return err
		}
	}
	so, err := opts.wipe.prepare(ctx, g, opts.wipe.askPassphrase(g))
	if err != nil {
		return err
	}
	src, err := station.NewNetlinkSource()
	if err != nil {
		return err
	}
	defer src.Close()
	print := station.Text(g.stdout)
	var mu sync.Mutex
	var failures []error
	st := &station.Station{Run: so, Auto: opts.Auto, IncludePresent: opts.IncludePresent, Max: opts.Max,
		Rescan: station.DefaultRescan,
		Events: func(ev station.Event) {
			print(ev)
			var err error
			switch ev := ev.(type) {
			case *station.Finished:
				err = ev.Err
				if ev.Removed && errors.Is(err, context.Canceled) {
					// Pulled out mid-wipe: the batch lacks a wiped drive.
					err = fmt.Errorf("%w: the drive was removed mid-wipe", sanitize.ErrWipeFailed)
				}
			case *station.Failed:
				err = ev.Err
			}
			if err != nil && !errors.Is(err, context.Canceled) {
				mu.Lock()
				failures = append(failures, fmt.Errorf("%s: %w", deviceOf(ev), err))
				mu.Unlock()
			}
		}}
	switch {
	case screen != nil: // the questions are asked on the screen
		print = screen.station(st, so, opts.Auto)
	case !opts.Auto:
		st.Confirm = station.Confirm(station.Lines(g.stdin), g.stdout)
	}
	err = st.Serve(ctx, src)
	if screen != nil {
		screen.stop()
	}
	if err != nil {
		return err
	}
	// Ended by --max: the exit code says the worst of the drives' outcomes.
	return errors.Join(failures...)
}

func deviceOf(ev station.Event) string {
	switch ev := ev.(type) {
	case *station.Finished:
		return ev.Device
	case *station.Failed:
		return ev.Device
	}
	return ""
}
