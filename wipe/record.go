package wipe

import (
	"slices"
	"sync"
	"time"

	"github.com/decom-project/decom/inventory"
)

// Outcomes of a wipe.
const (
	// OutcomeCompleted: every pass wrote every byte and was flushed.
	OutcomeCompleted = "completed"
	// OutcomeExceptions: every pass ran to the end, but some ranges could not be
	// written; they are listed in the passes' BadRanges. Never a success.
	OutcomeExceptions = "completed-with-exceptions"
	// OutcomeFailed: the wipe could not go on (the device vanished, too many bad
	// ranges, a flush failed).
	OutcomeFailed = "failed"
	// OutcomeAborted: stopped by the user (SIGINT/SIGTERM); AbortedAt says where.
	OutcomeAborted = "aborted"
	// OutcomeRefused: the safety gate refused the target; nothing was written.
	OutcomeRefused = "refused"
)

// I/O modes of a wipe.
const (
	IODirect   = "direct"   // O_DIRECT: the page cache is bypassed
	IOBuffered = "buffered" // O_DIRECT refused: page cache with periodic fdatasync
)

// Record is what a wipe did to one target, pass by pass: the evidence a certificate
// is made from. Its JSON form is stable.
type Record struct {
	Device   string            `json:"device"`
	Kind     string            `json:"kind"`
	Identity Identity          `json:"identity"`
	Drive    *inventory.Device `json:"drive,omitempty"`

	Method    string `json:"method"`
	Title     string `json:"method_title"`
	NISTClass string `json:"nist_class"`
	Rounds    int    `json:"rounds"`
	Blank     bool   `json:"final_blank"`
	// VerifyRequired says the method's standard requires reading the result back.
	VerifyRequired bool `json:"verify_required"`

	// Technique is how the target was sanitized: an overwrite, or the drive's own
	// command (then Firmware holds its evidence and Passes is empty).
	Technique Technique       `json:"technique"`
	Firmware  *FirmwareRecord `json:"firmware,omitempty"`
	// Choice is the planner's choice for nist-purge and nist-clear: why this technique.
	Choice *Choice `json:"plan,omitempty"`

	IOMode     string `json:"io_mode"`
	BlockSize  int    `json:"block_size"`
	QueueDepth int    `json:"queue_depth"`

	Passes       []PassRecord `json:"passes"`
	BytesWritten uint64       `json:"bytes_written"`
	Outcome      string       `json:"outcome"`
	Error        string       `json:"error,omitempty"`
	AbortedAt    *Position    `json:"aborted_at,omitempty"`
	// Stalls are the times the target answered no request for longer than the
	// stall timeout, while writing or reading back.
	Stalls []Stall `json:"stalls,omitempty"`
	// Interruptions are the times the wipe stopped without an orderly end (a power
	// cut, a crash) and was resumed from its journal.
	Interruptions []Interruption `json:"interruptions,omitempty"`
	// PendingIO lists the requests still unanswered when decom stopped waiting for
	// them (interrupted, or the target given up as stalled). A thread blocked in the
	// kernel cannot be called back: decom leaves it, and its descriptor, behind.
	PendingIO []PendingIO `json:"pending_io,omitempty"`
	Warnings  []string    `json:"warnings,omitempty"`
	Started   time.Time   `json:"started"`
	Finished  time.Time   `json:"finished"`
}

// PassRecord is one pass of a wipe. Flushed on a pass that did not complete (an
// aborted one) says that what was written of it, up to the record's AbortedAt, was
// flushed after the stop.
type PassRecord struct {
	Number  int     `json:"number"` // from 1
	Pattern Pattern `json:"pattern"`
	// Keys regenerate a random pass's bytes for verification.
	Keys         *Keys  `json:"keys,omitempty"`
	BytesWritten uint64 `json:"bytes_written"`
	// ResumedFrom is where this pass was continued after an interruption: the
	// bytes below it were written, and flushed, before (BytesWritten counts them).
	ResumedFrom *int64    `json:"resumed_from,omitempty"`
	Completed   bool      `json:"completed"`
	Flushed     bool      `json:"flushed"`
	BadRanges   []Range   `json:"bad_ranges"`
	Errors      []string  `json:"errors"`
	Started     time.Time `json:"started"`
	Finished    time.Time `json:"finished"`
}

// Range is a byte range of the target.
type Range struct {
	Offset int64 `json:"offset"`
	Length int64 `json:"length"`
}

// Position is where an aborted wipe stopped: every byte below Offset in pass Pass
// (from 1) was written (the pass's Flushed says whether it was flushed too). Writes
// above it may have landed as well: it is a lower bound.
type Position struct {
	Pass   int   `json:"pass"`
	Offset int64 `json:"offset"`
}

// Event is a progress report of one target's wipe.
type Event struct {
	Device  string  `json:"device"`
	Pass    int     `json:"pass"`
	Passes  int     `json:"passes"`
	Pattern string  `json:"pattern"`
	Done    int64   `json:"pass_bytes_done"`
	Size    int64   `json:"pass_bytes_total"`
	Rate    float64 `json:"rate_bytes_per_second"`
	ETA     float64 `json:"eta_seconds"` // for the whole wipe
	// Final is set on the last event of a pass.
	Final bool `json:"pass_done,omitempty"`
	// Stalled is set while the target answers no write (see Stall).
	Stalled bool `json:"stalled,omitempty"`
}

// Phases of a stall.
const (
	PhaseWrite  = "write"
	PhaseVerify = "verify"
)

// Stall is a time a target answered no request for longer than the stall timeout
// although requests were waiting: a drive that stopped answering.
type Stall struct {
	Device string `json:"device"`
	// Phase says whether it stalled writing a pass or reading one back.
	Phase string `json:"phase"`
	Pass  int    `json:"pass"`
	// Offset is where the target stopped: writing, every byte of the pass below it
	// was written; reading back, the lowest offset of a read left unanswered.
	Offset int64 `json:"offset"`
	// Since is when the target last answered; Detected when the stall was found.
	Since    time.Time `json:"since"`
	Detected time.Time `json:"detected"`
	// Timeout is the stall timeout in force, in seconds.
	Timeout float64 `json:"stall_timeout_seconds"`
	// Resumed is when the target answered again, if it did.
	Resumed *time.Time `json:"resumed,omitempty"`
	// GivenUp says decom gave the target up at the stall.
	GivenUp bool `json:"given_up,omitempty"`
}

// StallLog collects a target's stalls as they are found and end; safe for the watcher's
// goroutine and the one that builds the record.
type StallLog struct {
	mu     sync.Mutex
	stalls []Stall
}

// Add records a stall just found.
func (l *StallLog) Add(s Stall) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stalls = append(l.stalls, s)
}

// Resumed notes that the target answered again at, ending the last stall.
func (l *StallLog) Resumed(at time.Time) {
	at = at.UTC()
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.stalls); n > 0 {
		l.stalls[n-1].Resumed = &at
	}
}

// List returns the stalls so far; nil when there were none.
func (l *StallLog) List() []Stall {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.stalls)
}

// Last returns the latest stall; false when there was none.
func (l *StallLog) Last() (Stall, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.stalls) == 0 {
		return Stall{}, false
	}
	return l.stalls[len(l.stalls)-1], true
}

// PendingIO is a request decom issued and was still waiting for when it stopped
// waiting. Offset is -1 and Length 0 for a flush.
type PendingIO struct {
	Op     string    `json:"op"` // write, read or flush
	Offset int64     `json:"offset"`
	Length int64     `json:"length"`
	Since  time.Time `json:"since"`
}
