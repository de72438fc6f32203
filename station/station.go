package station

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/sanitize"
)

// Source delivers kernel uevents, one at a time. Next blocks until there is one, or
// ctx is done (then it returns ctx's error). An error that wraps ErrEventsLost says
// some were lost (the socket's buffer overran); the station then looks at /sys/block
// at once and reading goes on. Any other error ends the station.
type Source interface {
	Next(ctx context.Context) (Uevent, error)
}

// ErrEventsLost is what a Source returns when uevents were lost.
var ErrEventsLost = errors.New("uevents were lost")

// DefaultRescan is how often a station (Station.Rescan) compares /sys/block with
// the drives it knows, for uevents that never came.
const DefaultRescan = 5 * time.Second

// DefaultRemoveGrace is how long a drive whose wipe stopped short may take to be
// reported removed by the kernel before its run counts as failed, not pulled out.
const DefaultRemoveGrace = 10 * time.Second

// Station watches for drives that arrive and sanitizes each in its own run.
type Station struct {
	// Run is what every drive's run starts from: method, verification, engine
	// settings, certifier, inventory root, logger. Targets, Confirm, Events and
	// Removed are the station's to set.
	Run sanitize.Options
	// Auto wipes a drive that passed the gate without asking; otherwise Confirm
	// is asked, for each drive on its own.
	Auto    bool
	Confirm func(ctx context.Context, p sanitize.Plan) (bool, error)
	// IncludePresent lets the drives present at start (with a medium) be handled when they
	// announce themselves again (a "change" or "add" event); by default they are
	// never touched.
	IncludePresent bool
	// BootMedium says why a drive is the medium the system booted from ("" when it
	// is not): such a drive is never touched, whatever the config says.
	BootMedium func(d inventory.Device) string
	// Max ends the station once this many drives have been handled (0: no limit).
	Max int
	// RemoveGrace: see DefaultRemoveGrace (0 takes it).
	RemoveGrace time.Duration
	// Rescan, when above zero, is how often the station lists /sys/block and acts
	// on the disks that arrived or left without a uevent (lost, see
	// ErrEventsLost) as if their add or remove had come: see DefaultRescan. Zero
	// lists it only after the source said events were lost.
	Rescan time.Duration
	// SysRoot is the directory below which the station lists sys/block; "" takes
	// Run.Inventory.Root (tests point it at a fake tree).
	SysRoot string
	// Events receives what happens, one event at a time; nil discards them.
	Events func(Event)

	mu      sync.Mutex // one event at a time
	present map[string]bool
	done    map[string]bool // handled, and not removed since
	seen    map[string]bool // announced (add or change), and not removed since
	odd     map[string]bool // what the last rescan found amiss: "+name", "-name"
	active  map[string]*drive
	handled int
}

// drive is one drive's run in progress.
type drive struct {
	name    string
	dev     inventory.Device
	cancel  context.CancelFunc
	removed chan struct{} // closed when the kernel says the drive is gone
}

func (d *drive) isRemoved() bool {
	select {
	case <-d.removed:
		return true
	default:
		return false
	}
}

func (s *Station) emit(ev Event) {
	if s.Events == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Events(ev)
}

func (s *Station) sysBlock() string {
	root := s.SysRoot
	if root == "" {
		root = s.Run.Inventory.Root
	}
	if root == "" {
		root = "/"
	}
	return filepath.Join(root, "sys", "block")
}

// Serve runs the station until ctx is done (SIGTERM), Max drives were handled, or
// src fails. It waits for the runs in progress to end (cancelled with ctx, they
// end as aborted and write their records) before it returns. It returns nil after
// Max drives, ctx's error when stopped, and src's error when that fails.
func (s *Station) Serve(ctx context.Context, src Source) error {
	if !s.Auto && s.Confirm == nil {
		return errors.New("station: neither automatic nor with a confirmation")
	}
	s.present = map[string]bool{}
	if entries, err := os.ReadDir(s.sysBlock()); err == nil {
		for _, e := range entries {
			// A disk without a medium (an empty card reader, an unused loop
			// device) holds nothing to protect; what is inserted later is new.
			if s.size(e.Name()) > 0 {
				s.present[e.Name()] = true
			}
		}
	}
	s.active, s.done, s.seen = map[string]*drive{}, map[string]bool{}, map[string]bool{}
	names := make([]string, 0, len(s.present))
	for n := range s.present {
		names = append(names, n)
	}
	s.emit(&Started{Present: names, Drives: s.presentDrives(ctx), Auto: s.Auto, Method: s.Run.Method.Name})

	// Events are read in their own goroutine; reading stops when Serve returns.
	rctx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	events := make(chan Uevent)
	readErr := make(chan error, 1)
	lost := make(chan struct{}, 1)
	go func() {
		for {
			u, err := src.Next(rctx)
			if errors.Is(err, ErrEventsLost) && rctx.Err() == nil {
				select {
				case lost <- struct{}{}:
				default: // a rescan is due already
				}
				continue
			}
			if err != nil {
				readErr <- err
				return
			}
			select {
			case events <- u:
			case <-rctx.Done():
				readErr <- rctx.Err()
				return
			}
		}
	}()

	finished := make(chan string)
	var wg sync.WaitGroup
	running := 0
	var result error
	wait := func() {
		for running > 0 {
			name := <-finished
			s.finish(name)
			running--
		}
		wg.Wait()
	}
	take := func(u Uevent) {
		if !u.WholeDisk() {
			return // partitions, other subsystems
		}
		switch u.Action {
		case ActionRemove:
			delete(s.seen, u.DevName)
			s.remove(u.DevName)
		case ActionAdd, ActionChange:
			if u.Action == ActionChange && s.size(u.DevName) == 0 {
				// The medium went (a card or a dock's drive taken out, a loop
				// device detached) but the node stays: that is a removal, and
				// what is put in next is a new drive.
				delete(s.seen, u.DevName)
				s.remove(u.DevName)
				return
			}
			s.seen[u.DevName] = true
			if s.Max > 0 && s.handled+running >= s.Max {
				s.emit(&Ignored{Device: "/dev/" + u.DevName, Reason: "the station takes no more drives (--max reached)"})
				return
			}
			d := s.admit(ctx, u)
			if d == nil {
				return
			}
			dctx, cancel := context.WithCancel(ctx)
			d.cancel = cancel
			running++
			wg.Go(func() {
				defer cancel()
				s.handle(ctx, dctx, d)
				finished <- d.name
			})
		}
	}
	var tick <-chan time.Time
	if s.Rescan > 0 {
		t := time.NewTicker(s.Rescan)
		defer t.Stop()
		tick = t.C
	}
	for {
		if s.Max > 0 && s.handled+running >= s.Max && running == 0 {
			s.emit(&Stopped{Handled: s.handled})
			return nil
		}
		select {
		case <-ctx.Done():
			wait()
			s.emit(&Stopped{Handled: s.handled, Err: ctx.Err()})
			return ctx.Err()
		case err := <-readErr:
			if ctx.Err() != nil {
				continue // the Done case ends it
			}
			result = fmt.Errorf("station: reading uevents: %w", err)
			wait()
			s.emit(&Stopped{Handled: s.handled, Err: result})
			return result
		case name := <-finished:
			s.finish(name)
			running--
		case u := <-events:
			take(u)
		case <-tick:
			for _, u := range s.rescan(false) {
				take(u)
			}
		case <-lost:
			for _, u := range s.rescan(true) {
				take(u)
			}
		}
	}
}

// rescan lists /sys/block and returns the uevents the station missed: an add for
// each disk with a medium that it has not heard of, a remove for each disk it knows
// that is gone. A difference counts when the previous look found it too (a uevent
// may be on its way), or at once when events were lost. It says what it found
// (Rescanned) when it found anything.
func (s *Station) rescan(lost bool) []Uevent {
	entries, err := os.ReadDir(s.sysBlock())
	if err != nil {
		return nil // no sysfs to compare with: the uevents are all there is
	}
	there := map[string]bool{}
	odd := map[string]bool{} // differences found by this look
	var found []Uevent
	var added, removed []string
	for _, e := range entries {
		name := e.Name()
		there[name] = s.size(name) > 0 // a node left without its medium is empty
		if s.present[name] || s.seen[name] || s.done[name] || s.active[name] != nil || s.size(name) == 0 {
			continue
		}
		if odd["+"+name] = true; lost || s.odd["+"+name] {
			found = append(found, rescanEvent(ActionAdd, name))
			added = append(added, "/dev/"+name)
		}
	}
	known := map[string]bool{}
	for _, m := range []map[string]bool{s.present, s.seen, s.done} {
		for name := range m {
			known[name] = true
		}
	}
	for name, d := range s.active {
		known[name] = known[name] || !d.isRemoved()
	}
	for _, name := range slices.Sorted(maps.Keys(known)) {
		if there[name] || !known[name] {
			continue
		}
		if odd["-"+name] = true; lost || s.odd["-"+name] {
			found = append(found, rescanEvent(ActionRemove, name))
			removed = append(removed, "/dev/"+name)
		}
	}
	s.odd = odd
	if len(found) > 0 {
		s.emit(&Rescanned{Added: added, Removed: removed})
	}
	return found
}

// rescanEvent is the uevent the kernel sent, or would have, for a disk a rescan
// found added or removed.
func rescanEvent(action, name string) Uevent {
	return Uevent{Action: action, DevPath: "/block/" + name, Subsystem: "block", DevName: name, DevType: "disk",
		Env: map[string]string{"DECOM_RESCAN": "1"}}
}

// admit decides whether an added (or changed) disk is a new drive to handle.
func (s *Station) admit(ctx context.Context, u Uevent) *drive {
	name := u.DevName
	if _, busy := s.active[name]; busy || s.done[name] {
		return nil // being handled, or handled and not pulled out since
	}
	if s.present[name] && !s.IncludePresent {
		s.emit(&Ignored{Device: "/dev/" + name, Reason: "present when the station started"})
		s.done[name] = true // said once; handled again only after it is pulled out
		return nil
	}
	if size := s.size(name); size == 0 {
		if u.Action == ActionAdd {
			s.emit(&Ignored{Device: "/dev/" + name, Reason: "no medium (size 0)"})
		}
		return nil
	}
	path := "/dev/" + name
	lctx, cancel := context.WithTimeout(ctx, lookupTimeout)
	dev, err := inventory.Lookup(lctx, s.Run.Inventory, path)
	cancel()
	if err != nil {
		s.emit(&Failed{Device: path, Err: err})
		return nil
	}
	if s.BootMedium != nil {
		if why := s.BootMedium(dev); why != "" {
			s.emit(&Ignored{Device: path, Reason: why, Boot: true})
			s.done[name] = true
			return nil
		}
	}
	d := &drive{name: name, dev: dev, removed: make(chan struct{})}
	s.active[name] = d
	return d
}

// lookupTimeout bounds the inventory of an arriving drive.
const lookupTimeout = 30 * time.Second

// presentScanTimeout bounds the scan that names the disks present at start: the
// station does not wait long for what it only shows.
const presentScanTimeout = 5 * time.Second

// size reads the disk's size in bytes from sysfs (0 when it cannot be read).
func (s *Station) size(name string) int64 {
	b, err := os.ReadFile(filepath.Join(s.sysBlock(), name, "size"))
	if err != nil {
		return 0
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return n * 512
}

// remove handles a disk the kernel removed: a drive being wiped has its run
// cancelled (its record will say it was removed).
func (s *Station) remove(name string) {
	delete(s.present, name) // plugged in again, it is a new drive
	delete(s.done, name)
	d, ok := s.active[name]
	if !ok {
		return
	}
	if !d.isRemoved() {
		close(d.removed)
		d.cancel()
		s.emit(&Removed{Device: "/dev/" + name})
	}
}

// finish forgets a drive whose run ended.
func (s *Station) finish(name string) {
	// A drive pulled out is not done: plugged in again, it is a new drive.
	if d := s.active[name]; d == nil || !d.isRemoved() {
		s.done[name] = true
	}
	delete(s.active, name)
	s.handled++
}

// presentDrives is what one inventory scan tells of the disks present at start, so
// that they are shown by model and serial, not by name alone. A scan that fails or
// takes too long leaves them at their names: they are left alone either way.
func (s *Station) presentDrives(ctx context.Context) map[string]inventory.Device {
	if len(s.present) == 0 {
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, presentScanTimeout)
	defer cancel()
	devs, err := inventory.Scan(sctx, s.Run.Inventory)
	if err != nil {
		return nil
	}
	out := map[string]inventory.Device{}
	for _, d := range devs {
		if name := strings.TrimPrefix(d.Path, "/dev/"); s.present[name] {
			out[name] = d
		}
	}
	return out
}

// handle is one drive's life at the station: inventory, gate, confirmation,
// sanitize, certificate.
func (s *Station) handle(stationCtx, ctx context.Context, d *drive) {
	path := "/dev/" + d.name
	s.emit(&Arrived{Device: path, Drive: d.dev})

	o := s.Run
	o.Targets, o.All, o.Resume = []string{path}, false, false
	// A drive pulled out mid-wipe and inserted again starts afresh: its journal
	// is the station's own, not an interruption to resume.
	o.Restart = o.JournalDir != ""
	o.Confirm = func(ctx context.Context, plans []sanitize.Plan) ([]sanitize.Plan, error) {
		if s.Auto {
			return plans, nil
		}
		ok, err := s.Confirm(ctx, plans[0])
		if err != nil || !ok {
			return nil, err
		}
		return plans, nil
	}
	o.Removed = func(context.Context, string) bool { return s.waitRemoved(stationCtx, d) }
	progress := newProgress(path, s.emit)
	o.Events = func(ev sanitize.Event) {
		s.emit(&Run{Device: path, Event: ev})
		switch ev := ev.(type) {
		case *sanitize.Planned:
			for _, p := range ev.Plans {
				if p.Refusal != nil {
					s.emit(&Refused{Device: path, Reason: p.Refusal.Error()})
				}
			}
		case *sanitize.PassStarted, *sanitize.Progress, *sanitize.VerifyProgress:
			progress.update(ev)
		}
	}
	results, err := sanitize.Run(ctx, o)
	var res *sanitize.Result
	if len(results) > 0 {
		res = &results[0]
	}
	switch {
	case res != nil:
		s.emit(&Finished{Device: path, Result: *res, Removed: d.isRemoved(), Err: err})
	case d.isRemoved():
		s.emit(&Finished{Device: path, Removed: true, Err: err})
	case err != nil:
		s.emit(&Failed{Device: path, Err: err})
	}
	if !d.isRemoved() {
		s.emit(&Pullable{Device: path})
	}
}

// waitRemoved reports whether the kernel says d was removed, waiting up to the
// grace for the news (not once the station is stopping: then the run was cut short
// by the stop).
func (s *Station) waitRemoved(stationCtx context.Context, d *drive) bool {
	if d.isRemoved() {
		return true
	}
	grace := s.RemoveGrace
	if grace == 0 {
		grace = DefaultRemoveGrace
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-d.removed:
		return true
	case <-stationCtx.Done():
		return false
	case <-t.C:
		return false
	}
}
