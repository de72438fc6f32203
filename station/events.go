package station

import (
	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/sanitize"
)

// Event is one thing the station reports: *Started, *Arrived, *Ignored, *Refused,
// *Wiping, *Removed, *Finished, *Failed, *Pullable, *Rescanned, *Run or *Stopped.
type Event interface{ event() }

// Started: the station listens; Present are the disks there at start, and Drives
// what one inventory scan told of them, by name (a disk it could not read is not
// there).
type Started struct {
	Present []string
	Drives  map[string]inventory.Device
	Auto    bool
	Method  string
}

// Arrived: a new drive was inventoried and is about to be checked by the gate.
type Arrived struct {
	Device string
	Drive  inventory.Device
}

// Ignored: a disk the station leaves alone, and why (present at start, boot
// medium, no medium); Boot says it is a boot medium.
type Ignored struct {
	Device string
	Reason string
	Boot   bool
}

// Refused: the safety gate or the planner refused the drive; nothing was written.
type Refused struct {
	Device string
	Reason string
}

// Wiping: a drive's progress, in whole percent of its whole run (all passes, then
// the read-back); Phase is "write" or "verify".
type Wiping struct {
	Device  string
	Phase   string
	Pass    int
	Passes  int
	Percent int
}

// Removed: the kernel says a drive being handled was pulled out.
type Removed struct{ Device string }

// Finished: a drive's run ended with a result (and its certificate, or record).
// Removed says the drive was pulled out during the run; Err is the run's error.
type Finished struct {
	Device  string
	Result  sanitize.Result
	Removed bool
	Err     error
}

// Failed: a drive's run ended before anything was written (inventory failed,
// not confirmed, refused); Err says why.
type Failed struct {
	Device string
	Err    error
}

// Pullable: the station is done with the drive; it may be pulled out.
type Pullable struct{ Device string }

// Run: one event of a drive's run as package sanitize reports it (the full
// screen draws progress from these; Text leaves them to Wiping).
type Run struct {
	Device string
	Event  sanitize.Event
}

// Rescanned: a look at /sys/block found disks that arrived (Added) or left
// (Removed) without a uevent; the station acts on them as if the uevents had come.
type Rescanned struct {
	Added   []string
	Removed []string
}

// Stopped: the station ended, after Handled drives; Err is why (nil: --max).
type Stopped struct {
	Handled int
	Err     error
}

func (*Started) event()   {}
func (*Arrived) event()   {}
func (*Ignored) event()   {}
func (*Refused) event()   {}
func (*Wiping) event()    {}
func (*Removed) event()   {}
func (*Finished) event()  {}
func (*Failed) event()    {}
func (*Pullable) event()  {}
func (*Stopped) event()   {}
func (*Rescanned) event() {}
func (*Run) event()       {}

// progress turns a run's progress events into Wiping events, one per whole percent.
type progress struct {
	device string
	emit   func(Event)
	last   int
	phase  string
	pass   int
	passes int
}

func newProgress(device string, emit func(Event)) *progress {
	return &progress{device: device, emit: emit, last: -1}
}

func (p *progress) update(ev sanitize.Event) {
	var done, total int64
	switch ev := ev.(type) {
	case *sanitize.PassStarted:
		p.pass, p.passes, p.phase = ev.Pass, ev.Passes, "write"
		return
	case *sanitize.Progress:
		p.phase, p.pass, p.passes = "write", ev.Pass, ev.Passes
		done, total = ev.Done, ev.Size
	case *sanitize.VerifyProgress:
		p.phase = "verify"
		done, total = ev.Done, ev.Total
	default:
		return
	}
	if total <= 0 || p.passes <= 0 {
		return
	}
	// The read-back counts as one more step after the passes.
	steps := int64(p.passes + 1)
	step := int64(p.pass - 1)
	if p.phase == "verify" {
		step = int64(p.passes)
	}
	pct := int((step*100 + done*100/total) / steps)
	if pct <= p.last || pct > 100 {
		return
	}
	p.last = pct
	p.emit(&Wiping{Device: p.device, Phase: p.phase, Pass: p.pass, Passes: p.passes, Percent: pct})
}
