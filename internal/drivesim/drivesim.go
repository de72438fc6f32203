// Package drivesim simulates drives behind the same interfaces the kernel transports
// implement, so that decom's firmware executors can be tested without hardware:
//
//   - ATA is a SATA drive seen through a SCSI/ATA translation layer (devio.SCSI): ATA
//     PASS-THROUGH(16) carrying IDENTIFY DEVICE, the Security feature set, the Sanitize
//     Device feature set and the Host Protected Area commands, with the ATA registers
//     returned in descriptor- or fixed-format sense data, which MODE SELECT of the
//     control mode page switches as Linux libata does.
//   - SCSI is a SCSI or SAS disk (devio.SCSI): INQUIRY, REPORT SUPPORTED OPERATION
//     CODES, SANITIZE and progress through REQUEST SENSE.
//   - NVMe is an NVMe controller (devio.NVMe) whose namespace 1 holds the media:
//     Identify, Format NVM, Sanitize and the Sanitize Status log page.
//
// Each drive keeps its user data in a Media (an *os.File, or Memory over a byte slice),
// so a test can check that an erase really changed the bytes. A sanitize runs in
// simulated time: every status poll (SANITIZE STATUS EXT, REQUEST SENSE, the Sanitize
// Status log page) advances it by one step, so tests run in milliseconds. Faults make a
// drive fail, stall or go backwards at a chosen point, or refuse chosen commands.
//
// Every command a drive receives is logged (Log, Commands): tests assert on the order
// of what was sent, and on what was not.
//
// A simulated drive is safe for concurrent use.
package drivesim

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"time"
)

// Media is the user data of a simulated drive: an *os.File, or Memory.
type Media interface {
	io.ReaderAt
	io.WriterAt
}

// Memory returns Media over b; the drive's writes land in b.
func Memory(b []byte) Media { return memory(b) }

type memory []byte

func (m memory) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > int64(len(m)) {
		return 0, io.EOF
	}
	n := copy(p, m[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m memory) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(m)) {
		return 0, fmt.Errorf("drivesim: write of %d bytes at %d beyond the end of %d bytes of memory", len(p), off, len(m))
	}
	return copy(m[off:], p), nil
}

// Modes are the operations of a sanitize command set a simulated drive supports.
type Modes struct {
	CryptoErase bool
	BlockErase  bool
	Overwrite   bool
}

// Faults make a simulated sanitize misbehave. Points are fractions of the operation,
// between 0 and 1; zero disables a fault.
type Faults struct {
	// FailAt: the sanitize fails when its progress would reach this point. The media
	// is sanitized up to there and no further.
	FailAt float64
	// StallAt: progress stops at this point and never moves again; the drive reports
	// the sanitize in progress forever.
	StallAt float64
	// RegressAt: once progress has reached this point, the next poll reports it one
	// step lower (once); then it goes on. Set it above the first step.
	RegressAt float64
}

// SenseFormat is the format of the sense data a drive, or the translation layer in front
// of it, returns.
type SenseFormat int

const (
	// DescriptorSense is descriptor-format sense data (72h): the ATA registers come in
	// an ATA Status Return descriptor, whole.
	DescriptorSense SenseFormat = iota
	// FixedSense is fixed-format sense data (70h): what Linux libata returns while the
	// control mode page's D_SENSE bit is zero; only part of the ATA registers fit.
	FixedSense
)

// Entry is one command a simulated drive received.
type Entry struct {
	// Command is the command's name as its command set spells it ("IDENTIFY DEVICE",
	// "SANITIZE", "Format NVM").
	Command string
	// Result is "ok", or what went wrong ("aborted", "check condition: ...", an NVMe
	// status).
	Result string
	// Timeout is the timeout the host gave the command.
	Timeout time.Duration
}

// log is the command log shared by the simulators.
type log struct {
	entries []Entry
}

func (l *log) add(name, result string, timeout time.Duration) {
	l.entries = append(l.entries, Entry{Command: name, Result: result, Timeout: timeout})
}

// commands returns the names of the logged commands.
func (l *log) commands() []string {
	out := make([]string, len(l.entries))
	for i, e := range l.entries {
		out[i] = e.Command
	}
	return out
}

// Progress is measured in 65536ths, the unit of the ATA, SCSI and NVMe progress fields.
const full = 1 << 16

// fill is what an operation leaves in the user data.
type fill struct {
	kind    fillKind
	pattern []byte // fillPattern: repeated from the start of each sector
}

type fillKind int

const (
	fillZeros fillKind = iota
	fillRandom
	fillPattern
)

// operation is a sanitize running in simulated time.
type operation struct {
	fill      fill
	step      uint32 // progress per poll, in 65536ths
	faults    Faults
	progress  uint32 // reported progress, in 65536ths
	erased    uint32 // high-water mark of the media erased, in 65536ths
	regressed bool
	state     opState
}

type opState int

const (
	opRunning opState = iota
	opDone
	opFailed
)

func point(f float64) uint32 {
	if f <= 0 {
		return 0
	}
	return uint32(min(f, 1) * full)
}

// newOperation starts an operation that advances by step (a fraction) per poll.
func newOperation(f fill, step float64, faults Faults) *operation {
	s := point(step)
	if s == 0 {
		s = full / 4
	}
	return &operation{fill: f, step: s, faults: faults}
}

// tick advances the operation by one step of simulated time, erasing media as it goes.
func (o *operation) tick(m *medium) error {
	if o.state != opRunning {
		return nil
	}
	if at := point(o.faults.RegressAt); at > 0 && !o.regressed && o.progress >= at {
		o.regressed = true
		o.progress -= min(o.step, o.progress)
		return nil
	}
	next := min(o.progress+o.step, full)
	if at := point(o.faults.StallAt); at > 0 && next >= at {
		next = max(at, o.progress)
	}
	if at := point(o.faults.FailAt); at > 0 && next >= at {
		o.state = opFailed
		return o.erase(m, at)
	}
	o.progress = next
	if err := o.erase(m, next); err != nil {
		return err
	}
	if o.progress >= full {
		o.state = opDone
	}
	return nil
}

// erase applies the operation's fill to the media up to point to.
func (o *operation) erase(m *medium, to uint32) error {
	if to <= o.erased {
		return nil
	}
	from := m.offset(o.erased)
	end := m.offset(to)
	o.erased = to
	return m.fill(from, end, o.fill)
}

// run runs the operation to its end in one go, for commands that complete only when the
// operation has; it gives up after a generous number of steps (a stalled operation).
func (o *operation) run(m *medium) error {
	for i := 0; o.state == opRunning; i++ {
		if i > 4*full {
			return errStalled
		}
		if err := o.tick(m); err != nil {
			return err
		}
	}
	return nil
}

var errStalled = fmt.Errorf("drivesim: the operation never ended (the host's command timed out)")

// medium is a drive's user data: size bytes of Media in sectors of sector bytes.
type medium struct {
	m      Media
	size   int64
	sector int64
}

func newMedium(m Media, size, sector int64) (*medium, error) {
	if m == nil {
		return nil, fmt.Errorf("drivesim: no media")
	}
	if size <= 0 || size%sector != 0 {
		return nil, fmt.Errorf("drivesim: size %d is not a positive multiple of the %d-byte sector", size, sector)
	}
	return &medium{m: m, size: size, sector: sector}, nil
}

// offset is the sector boundary at fraction p (in 65536ths) of the media.
func (m *medium) offset(p uint32) int64 {
	sectors := m.size / m.sector
	return int64(uint64(sectors)*uint64(p)/full) * m.sector
}

// fill writes f over bytes [from, to) of the media, which start and end on sectors.
func (m *medium) fill(from, to int64, f fill) error {
	const chunk = 1 << 20
	buf := make([]byte, min(chunk, to-from))
	var rng *rand.ChaCha8
	switch f.kind {
	case fillRandom:
		var seed [32]byte
		binary.LittleEndian.PutUint64(seed[:], rand.Uint64())
		binary.LittleEndian.PutUint64(seed[8:], rand.Uint64())
		rng = rand.NewChaCha8(seed)
	case fillPattern:
		// Each sector starts with the pattern; buf holds whole sectors.
		for s := int64(0); s < int64(len(buf)); s += m.sector {
			for i := s; i < s+m.sector && i < int64(len(buf)); i += int64(len(f.pattern)) {
				copy(buf[i:min(s+m.sector, int64(len(buf)))], f.pattern)
			}
		}
	}
	for off := from; off < to; off += int64(len(buf)) {
		n := min(int64(len(buf)), to-off)
		if rng != nil {
			_, _ = rng.Read(buf[:n])
		}
		if _, err := m.m.WriteAt(buf[:n], off); err != nil {
			return fmt.Errorf("drivesim: writing the media: %w", err)
		}
	}
	return nil
}

// overwritePattern is the data an overwrite of passes passes leaves: the pattern,
// inverted when the passes alternate and their number is even.
func overwritePattern(p []byte, passes int, invert bool) []byte {
	p = slices.Clone(p)
	if invert && passes%2 == 0 {
		for i := range p {
			p[i] = ^p[i]
		}
	}
	return p
}

// paddedPassword is a security password as the drive compares it: 32 bytes, zero padded.
func paddedPassword(b []byte) [32]byte {
	var p [32]byte
	copy(p[:], b)
	return p
}

// space pads s to n bytes (or cuts it).
func space(s string, n int) []byte {
	b := bytes.Repeat([]byte{' '}, n)
	copy(b, s)
	return b
}
