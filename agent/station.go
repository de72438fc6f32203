package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"

	tea "charm.land/bubbletea/v2"

	"github.com/decom-project/decom/console"
	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/station"
)

// StationConfig is the config file's station: section: whether drives are wiped
// without asking (Auto), whether the drives present at boot may be taken when the
// kernel announces them again (IncludePresent), and after how many drives the
// station ends (Max; nil or 0: never). Nil leaves the default.
type StationConfig struct {
	Auto           *bool
	IncludePresent *bool
	Max            *int
}

// station is decom.mode=station: the agent stays up and wipes each drive plugged in
// (package station), with the method, verification, certificates and registry of
// auto mode. The boot medium, and any disk that carries a decom image, is never
// touched.
func (a *agent) station(ctx context.Context) error {
	if _, err := a.mayWipe(); err != nil {
		return err
	}
	opts, _, err := a.begin(ctx)
	if err != nil {
		return err
	}
	boot := map[string]string{}
	for _, b := range FindBootMedia(a.o.Root, a.allData) {
		a.out.Printf("never wiped: /dev/%s (%s): %s", b.Name, b.DevNo, b.Reason)
		boot["/dev/"+b.Name] = b.Reason
	}
	src, err := station.NewNetlinkSource()
	if err != nil {
		return err
	}
	defer src.Close()
	cfg := a.cfg.Station
	print := station.Text(a.out)
	st := &station.Station{Run: opts, Rescan: station.DefaultRescan,
		Auto:           cfg.Auto != nil && *cfg.Auto,
		IncludePresent: cfg.IncludePresent != nil && *cfg.IncludePresent,
		// A disk that carries a decom image, the one booted from or another, is
		// looked for again at each arrival.
		BootMedium: func(d inventory.Device) string { return bootReason(d, FindBootMedia(a.o.Root, a.allData)) },
		Events: func(ev station.Event) {
			print(ev)
			if f, ok := ev.(*station.Finished); ok {
				if f.Result.Outcome != "" {
					a.summary.Drives = append(a.summary.Drives, driveResult(f.Result))
				}
				if f.Err != nil && !errors.Is(f.Err, context.Canceled) {
					a.runFailed(f.Err)
				}
			}
		},
	}
	if cfg.Max != nil {
		st.Max = *cfg.Max
	}
	if !st.Auto {
		st.Confirm = station.Confirm(a.input.ReadLine, a.out)
	}
	a.out.Printf("station mode: plug drives in; each is wiped with %s, verification %s, %s",
		opts.Method.Name, opts.Verify.Mode, map[bool]string{true: "without asking (config: station: auto)", false: "once its serial number is typed here"}[st.Auto])
	sctx := ctx
	if s := a.screen(); s != nil {
		var stop context.CancelFunc
		sctx, stop = context.WithCancel(ctx)
		defer stop()
		defer context.AfterFunc(s.abortCtx, stop)()
		// The lines go on to the log, to the other consoles and under the
		// screen's rows.
		lines, screen := print, a.stationScreen(s, st, opts, boot)
		print = func(ev station.Event) { lines(ev); screen(ev) }
	}
	if err := st.Serve(sctx, hotplug{src: src, load: a.hotplugModules()}); err != nil {
		if ctx.Err() == nil && errors.Is(err, context.Canceled) {
			a.out.Printf("station: stopped at the console")
			return nil
		}
		return fmt.Errorf("station: %w", err)
	}
	a.stationDone = true
	return nil
}

// stationScreen puts the station on the full screen (package console's station
// view) and returns the listener of its events; without station: auto the serial
// numbers are typed on the screen, and its questions are shown there.
func (a *agent) stationScreen(s *session, st *station.Station, opts sanitize.Options, boot map[string]string) func(station.Event) {
	o := a.runOptions(opts)
	so := console.StationOptions{Auto: st.Auto, Verify: string(opts.Verify.Mode), Boot: boot}
	if !st.Auto {
		put, read := station.Typed()
		so.Line = put
		// The question ends without a newline, where a line console's cursor
		// waits: the screen's log shows it whole at once.
		st.Confirm = station.Confirm(read, wholeLines{a.out})
	}
	rs := newRunScreen(o, nil)
	rs.run = console.NewStation(o, so)
	rs.run.Update(tea.WindowSizeMsg{Width: rs.width, Height: rs.height})
	s.startRun(rs)
	prog := s.prog
	return func(ev station.Event) { prog.Send(ev) }
}

// wholeLines ends each write that does not end a line.
type wholeLines struct{ w io.Writer }

func (l wholeLines) Write(p []byte) (int, error) {
	if len(p) > 0 && p[len(p)-1] != '\n' {
		if _, err := l.w.Write(append(slices.Clip(p), '\n')); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return l.w.Write(p)
}

// hotplug loads the modules a device plugged in needs (a USB disk's usb-storage or
// uas, say), as udev would, before the station sees its events.
type hotplug struct {
	src  station.Source
	load func()
}

func (h hotplug) Next(ctx context.Context) (station.Uevent, error) {
	u, err := h.src.Next(ctx)
	if err == nil && h.load != nil && u.Action == station.ActionAdd && u.Env["MODALIAS"] != "" {
		h.load()
	}
	return u, err
}

// hotplugModules returns what loads the modules for new hardware; nil when the
// modules cannot be found (then only built-in drivers see hot-plugged devices).
func (a *agent) hotplugModules() func() {
	release, err := a.o.System.KernelRelease()
	if err != nil {
		return nil
	}
	x, dir, err := a.moduleIndex(release)
	if err != nil {
		return nil
	}
	cp := &Coldplug{Root: a.o.Root, ModulesDir: dir, Index: x, Load: a.o.System.LoadModule, Logf: a.out.Debugf}
	cp.Round() // what is present: loaded at boot already
	return func() { cp.Round() }
}
