package console

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/station"
	"github.com/decom-project/decom/wipe"
)

// StationOptions say what the station's screen (NewStation) tells of the station,
// and where a serial number typed on it goes.
type StationOptions struct {
	// Auto says drives are wiped as they arrive; otherwise each waits for its
	// serial number, typed on the screen.
	Auto bool
	// Verify names the read-back (full, sample) in the header.
	Verify string
	// Boot are the boot media, device path to why: marked, never touched.
	Boot map[string]string
	// Line receives what was typed when Enter is pressed (nil in auto mode). It
	// must not block.
	Line func(string)
}

// stationState is what the screen of a station adds to a run's.
type stationState struct {
	o       StationOptions
	input   string // typed so far
	stopped *station.Stopped
}

// NewStation returns the screen of an intake station (package station): it starts
// with the drives present, left alone, and the boot medium, and gains a row for
// each drive plugged in, drawn like a run's target: checking, waiting for its
// confirmation, its bar while it is wiped and read back, its outcome, and when it
// can be pulled, or that it was removed mid-wipe. Feed it every station.Event
// (station.Run carries the drives' sanitize events). Options.Abort stops the
// station: Esc (or q in auto mode) asks first; in confirmation mode what is typed
// goes to StationOptions.Line.
func NewStation(o Options, so StationOptions) *Model {
	m := New(nil, o)
	m.st = &stationState{o: so}
	return m
}

// Add gives the screen a row for a target that arrived, at the end; a target it
// shows already gets a fresh row in the same place (a drive plugged in again).
func (m *Model) Add(p sanitize.Plan) {
	r := newRow(p)
	if old, ok := m.byPath[p.Target.Path]; ok {
		m.rows[slices.Index(m.rows, old)] = r
	} else {
		m.rows = append(m.rows, r)
	}
	m.byPath[p.Target.Path] = r
}

func newRow(p sanitize.Plan) *row {
	r := &row{plan: p, phase: phaseWaiting, size: int64(p.Target.Size())}
	if p.Refusal != nil {
		r.phase, r.failed = phaseDone, true
	}
	return r
}

// leftAlone gives dev a row the station does not touch, and says why.
func (m *Model) leftAlone(dev, why string, boot bool) {
	r, ok := m.byPath[dev]
	if !ok || r.result != nil {
		m.Add(sanitize.Plan{Target: wipe.Target{Path: dev, Kind: wipe.KindDrive}})
		r = m.byPath[dev]
	}
	r.left, r.boot, r.note, r.phase = true, boot, why, phaseDone
}

// driveTarget is the target a row of a drive the station reported shows: its
// model, serial and size, nothing planned.
func driveTarget(path string, d inventory.Device) wipe.Target {
	return wipe.Target{Path: path, Kind: wipe.KindDrive, Drive: d,
		Identity: wipe.Identity{Serial: d.Serial, SizeBytes: d.SizeBytes}}
}

func (m *Model) stationEvent(ev station.Event) tea.Cmd {
	switch ev := ev.(type) {
	case *station.Started:
		present := slices.Sorted(slices.Values(ev.Present))
		for _, n := range present {
			dev := "/dev/" + n
			if d, ok := ev.Drives[n]; ok {
				m.Add(sanitize.Plan{Target: driveTarget(dev, d)})
			}
			if why := m.st.o.Boot[dev]; why != "" {
				m.leftAlone(dev, why, true)
			} else {
				m.leftAlone(dev, "present when the station started", false)
			}
		}
		for _, dev := range slices.Sorted(func(yield func(string) bool) {
			for d := range m.st.o.Boot {
				if !yield(d) {
					return
				}
			}
		}) {
			if _, ok := m.byPath[dev]; !ok {
				m.leftAlone(dev, m.st.o.Boot[dev], true)
			}
		}
	case *station.Arrived:
		m.Add(sanitize.Plan{Target: driveTarget(ev.Device, ev.Drive)})
		m.byPath[ev.Device].checking = true
	case *station.Ignored:
		m.leftAlone(ev.Device, ev.Reason, ev.Boot)
	case *station.Refused:
		r := m.row(ev.Device)
		r.plan.Refusal = errors.New(ev.Reason)
		r.phase, r.failed, r.checking = phaseDone, true, false
	case *station.Run:
		switch inner := ev.Event.(type) {
		case *sanitize.Planned:
			r := m.row(ev.Device)
			r.checking = false
			for _, p := range inner.Plans {
				if p.Target.Path == ev.Device && p.Refusal == nil {
					r.plan.Target = p.Target
					r.size = int64(p.Target.Size())
				}
			}
		case *sanitize.Done:
			// One drive's run ended; the station goes on.
		default:
			m.event(inner)
		}
	case *station.Removed:
		m.row(ev.Device).removed = true
	case *station.Finished:
		if ev.Result.Device != "" {
			m.finish(ev.Result)
		}
		r := m.row(ev.Device)
		r.phase, r.checking, r.stalled = phaseDone, false, false
		r.removed = r.removed || ev.Removed
		if r.result == nil && ev.Err != nil {
			r.note = "not wiped: " + ev.Err.Error()
		}
	case *station.Failed:
		r := m.row(ev.Device)
		r.phase, r.checking = phaseDone, false
		r.note = "not wiped: " + ev.Err.Error()
	case *station.Pullable:
		m.row(ev.Device).pullable = true
	case *station.Stopped:
		m.st.stopped = ev
	}
	return nil
}

func (m *Model) stationKey(k tea.KeyPressMsg) tea.Cmd {
	st := m.st
	if st.stopped != nil {
		return nil
	}
	s := k.String()
	switch {
	case s == "ctrl+c":
		m.asking = false
		m.abort()
	case m.asking:
		m.asking = false
		if s == "y" || s == "Y" {
			m.abort()
		}
	case m.aborted:
	case s == "esc" || (s == "q" && st.o.Line == nil):
		m.asking = true
	case st.o.Line == nil:
	case s == "enter":
		line := st.input
		st.input = ""
		st.o.Line(line)
	case s == "backspace":
		if r := []rune(st.input); len(r) > 0 {
			st.input = string(r[:len(r)-1])
		}
	case k.Text != "" && len(st.input) < 64:
		st.input += k.Text
	}
	return nil
}

// stationTop is the station's header: what it does, with which method.
func (m *Model) stationTop() []string {
	what := "Plug drives in: each is wiped once its serial number is typed below."
	if m.st.o.Auto {
		what = "Plug drives in: each is wiped at once (auto). Present drives are left alone."
	}
	return []string{m.header(), what, ""}
}

func (m *Model) stationTitle() (left, right string) {
	left = "decom station"
	if m.o.Method != "" {
		left += " - " + m.o.Method
	}
	if m.st.o.Verify != "" {
		left += ", verify " + m.st.o.Verify
	}
	n := 0
	for _, r := range m.rows {
		if !r.left {
			n++
		}
	}
	return left, drives(n)
}

func drives(n int) string {
	if n == 1 {
		return "1 drive"
	}
	return fmt.Sprintf("%d drives", n)
}

func (m *Model) stationFooter() []string {
	st := m.st
	switch {
	case st.stopped != nil:
		line := fmt.Sprintf("The station stopped after %s.", drives(st.stopped.Handled))
		if err := st.stopped.Err; err != nil && !errors.Is(err, context.Canceled) {
			line = fmt.Sprintf("The station stopped after %s: %v", drives(st.stopped.Handled), err)
		}
		return []string{bold.Render(line)}
	case m.asking:
		return []string{"Every drive being wiped stops where it is; its record says so, and is no",
			"certificate of sanitization. " + alarm.Render("Stop the station? y/N")}
	case m.aborted:
		return []string{alarm.Render("STOPPING: waiting for the drives to stop and their records to be written")}
	case st.o.Line != nil:
		return []string{"Serial number: " + bold.Render(st.input) + "_",
			dimmed.Render("Enter: confirm the drive asked about   Esc: stop the station")}
	}
	return []string{dimmed.Render("q: stop the station")}
}

// stationMark is a station row's mark ("" when the run's marks apply).
func (m *Model) stationMark(r *row) string {
	switch {
	case r.boot:
		return bold.Render("BOOT MEDIUM")
	case r.left:
		return dimmed.Render("LEFT ALONE")
	case r.removed:
		return alarm.Render("REMOVED")
	case r.pullable:
		what := "NOT WIPED"
		switch {
		case r.plan.Refusal != nil:
			what = "REFUSED"
		case r.failed:
			what = "FAILED"
		case r.result != nil:
			what = strings.ToUpper(r.result.Outcome)
		}
		return bold.Render(what + " - CAN BE PULLED")
	}
	return ""
}

// stationStatus is a station row's status ("" when the run's apply): whole says
// the status takes the whole line, with no bar.
func (m *Model) stationStatus(r *row) (status string, whole bool) {
	switch {
	case r.left:
		return "left alone: " + r.note, true
	case r.checking:
		return "arrived: inventory and the safety gate", true
	case r.phase == phaseWaiting && m.st.o.Auto:
		return "starting", true
	case r.phase == phaseWaiting:
		return "waiting for confirmation: type its serial number below", true
	case r.phase == phaseDone && r.result == nil && r.plan.Refusal == nil:
		status = r.note
		if r.removed {
			status = "removed before its wipe began"
		}
		return status, true
	}
	return "", false
}

// stationRows are the rows shown when not all fit: the latest.
func (m *Model) stationRows(shown int) ([]*row, string) {
	if shown >= len(m.rows) {
		return m.rows, ""
	}
	return m.rows[len(m.rows)-shown:], fmt.Sprintf("... %d earlier drives (enlarge the terminal to see them)", len(m.rows)-shown)
}
