package drivesim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"sync"

	"github.com/decom-project/decom/internal/devio"
)

// NVMeConfig describes a simulated NVMe controller whose namespace 1 holds the media.
type NVMeConfig struct {
	// Media holds the namespace's logical blocks; Size is its capacity in bytes, a
	// multiple of every format's block size.
	Media Media
	Size  int64

	Model, Serial, Firmware string
	// OACS, FNA and SANICAP are the Identify Controller fields, as the controller
	// reports them; the controller also behaves by them (Format NVM exists when OACS
	// bit 1 is set, SES 2 is accepted when FNA bit 2 is, each sanitize action when its
	// SANICAP bit is).
	OACS    uint16
	FNA     uint8
	SANICAP uint32

	// Formats are the data sizes of the namespace's LBA formats (default 512 and 4096);
	// Format is the index of the one in use.
	Formats []uint32
	Format  int
	// Namespaces is the number of active namespaces (default 1). Only namespace 1 has
	// media; the others exist for the active namespace list and Identify.
	Namespaces int

	// Step is how far a sanitize gets per read of the Sanitize Status log page (default
	// 0.25).
	Step   float64
	Faults Faults

	// QEMU makes the controller answer as QEMU's emulated NVMe controller does: Sanitize
	// is an invalid opcode (status 4001h) and the Sanitize Status log page an invalid
	// field (4002h), whatever SANICAP says.
	QEMU bool
	// Status answers every admin command with one of these opcodes with the given
	// status (status code type in bits 10:8, status code in bits 7:0, DNR in bit 14),
	// doing nothing: a controller that advertises what it does not do.
	Status map[uint8]uint16
}

// NVMe is a simulated NVMe controller. It implements devio.NVMe: Identify (controller,
// namespace, active namespace list), Get Log Page for the Sanitize Status log (81h),
// Format NVM (synchronous; SES 0, 1 and 2) and Sanitize (block erase, overwrite, crypto
// erase, exit failure mode) running in simulated time. While a sanitize runs, Identify
// and Get Log Page are processed and Format NVM and Sanitize are answered Sanitize In
// Progress; after a failed one, Format NVM is answered Sanitize Failed.
//
// The data a Format NVM leaves is zeros for SES 0 and 1 and fresh random bytes for SES
// 2; a sanitize leaves zeros (block erase), random bytes (crypto erase) or the
// overwrite pattern, written little-endian.
type NVMe struct {
	mu    sync.Mutex
	cfg   NVMeConfig
	media *medium
	log   log

	format    int
	op        *operation
	failed    bool
	ause      bool
	completed bool
	cdw10     uint32
}

// NVMe status codes the simulator answers (Base 2.0 §4.2.3).
const (
	nvmeDNR                       = 1 << 14
	nvmeInvalidOpcode             = nvmeDNR | 0x001
	nvmeInvalidField              = nvmeDNR | 0x002
	nvmeInvalidNamespace          = nvmeDNR | 0x00B
	nvmeSanitizeFailed            = 0x01C
	nvmeSanitizeInProgress        = 0x01D
	nvmeInvalidLogPage            = nvmeDNR | 0x109
	nvmeInvalidFormat             = nvmeDNR | 0x10A
	nvmeOpIdentify                = 0x06
	nvmeOpGetLogPage              = 0x02
	nvmeOpFormat                  = 0x80
	nvmeOpSanitize                = 0x84
	nvmeLogSanitize               = 0x81
	nvmeIdentifySize              = 4096
	nvmeSanitizeLogSize           = 512
	nvmeNSID               uint32 = 1
)

// NewNVMe returns a simulated NVMe controller.
func NewNVMe(cfg NVMeConfig) (*NVMe, error) {
	if cfg.Namespaces == 0 {
		cfg.Namespaces = 1
	}
	if cfg.Namespaces < 0 || cfg.Namespaces > 1024 {
		return nil, fmt.Errorf("drivesim: %d namespaces", cfg.Namespaces)
	}
	if cfg.Formats == nil {
		cfg.Formats = []uint32{512, 4096}
	}
	if cfg.Format < 0 || cfg.Format >= len(cfg.Formats) {
		return nil, fmt.Errorf("drivesim: format %d of %d", cfg.Format, len(cfg.Formats))
	}
	for _, f := range cfg.Formats {
		if f < 512 || bits.OnesCount32(f) != 1 || cfg.Size%int64(f) != 0 {
			return nil, fmt.Errorf("drivesim: format of %d-byte blocks on a namespace of %d bytes", f, cfg.Size)
		}
	}
	m, err := newMedium(cfg.Media, cfg.Size, int64(cfg.Formats[cfg.Format]))
	if err != nil {
		return nil, err
	}
	return &NVMe{cfg: cfg, media: m, format: cfg.Format}, nil
}

// SetFaults replaces the faults of the sanitizes started from now on.
func (n *NVMe) SetFaults(f Faults) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cfg.Faults = f
}

// PowerCycle simulates removing and restoring power. A sanitize in progress goes on
// where it was (Base 2.0 §8.21: a sanitize interrupted by a power loss or reset resumes),
// and the Sanitize Status log page keeps reporting it, or the outcome of the most recent
// one. Nothing else of the controller's state is volatile in the simulator.
func (n *NVMe) PowerCycle() {
	n.mu.Lock()
	defer n.mu.Unlock()
	// The sanitize, its outcome and the log page are kept as they are.
}

// Log returns the commands received so far.
func (n *NVMe) Log() []Entry {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.log.entries)
}

// Commands returns the names of the commands received so far.
func (n *NVMe) Commands() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.log.commands()
}

// NVMeState is a simulated controller's state, for tests to check.
type NVMeState struct {
	SanitizeInProgress, SanitizeFailed, SanitizeCompleted bool
	SanitizeProgress                                      float64
	// Format is the index of the namespace's LBA format.
	Format int
}

// State returns the controller's state.
func (n *NVMe) State() NVMeState {
	n.mu.Lock()
	defer n.mu.Unlock()
	s := NVMeState{SanitizeFailed: n.failed, SanitizeCompleted: n.completed, Format: n.format}
	if n.running() {
		s.SanitizeInProgress = true
		s.SanitizeProgress = float64(n.op.progress) / full
	}
	return s
}

func (n *NVMe) running() bool { return n.op != nil && n.op.state == opRunning }

// Admin runs one admin command: see NVMe.
func (n *NVMe) Admin(cmd *devio.NVMeAdminCommand) (uint32, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	name := nvmeName(cmd)
	status, err := n.admin(cmd)
	res := "ok"
	switch {
	case err != nil:
		res = err.Error()
	case status != 0:
		res = fmt.Sprintf("status %#04x", status)
		err = &devio.NVMeStatusError{Status: status}
	}
	n.log.add(name, res, cmd.Timeout)
	return 0, err
}

func (n *NVMe) admin(cmd *devio.NVMeAdminCommand) (uint16, error) {
	if st, ok := n.cfg.Status[cmd.Opcode]; ok {
		return st, nil
	}
	switch cmd.Opcode {
	case nvmeOpIdentify:
		return n.identify(cmd)
	case nvmeOpGetLogPage:
		return n.getLogPage(cmd)
	case nvmeOpFormat:
		return n.formatNVM(cmd)
	case nvmeOpSanitize:
		return n.sanitize(cmd)
	}
	return nvmeInvalidOpcode, nil
}

func (n *NVMe) identify(cmd *devio.NVMeAdminCommand) (uint16, error) {
	if cmd.Dir != devio.DirFromDevice || len(cmd.Data) < nvmeIdentifySize {
		return 0, errors.New("drivesim: identify without a 4096-byte buffer")
	}
	b := cmd.Data[:nvmeIdentifySize]
	clear(b)
	le := binary.LittleEndian
	switch cns := cmd.CDW10 & 0xff; cns {
	case 0x01: // controller
		le.PutUint16(b[0:], 0x1d0f)
		le.PutUint16(b[2:], 0x1d0f)
		copy(b[4:24], space(n.cfg.Serial, 20))
		copy(b[24:64], space(n.cfg.Model, 40))
		copy(b[64:72], space(n.cfg.Firmware, 8))
		le.PutUint32(b[80:], 0x00020000) // 2.0
		le.PutUint16(b[256:], n.cfg.OACS)
		le.PutUint64(b[280:], uint64(n.cfg.Size))
		le.PutUint32(b[328:], n.cfg.SANICAP)
		le.PutUint32(b[516:], uint32(n.cfg.Namespaces))
		b[524] = n.cfg.FNA
	case 0x00: // namespace
		if (cmd.NSID == 0 || cmd.NSID > uint32(n.cfg.Namespaces)) && cmd.NSID != 0xFFFFFFFF {
			return nvmeInvalidNamespace, nil
		}
		blocks := uint64(n.cfg.Size) / uint64(n.cfg.Formats[n.format])
		le.PutUint64(b[0:], blocks)
		le.PutUint64(b[8:], blocks)
		le.PutUint64(b[16:], blocks)
		b[25] = byte(len(n.cfg.Formats) - 1)
		b[26] = byte(n.format&0x0f) | byte(n.format>>4)<<5
		for i, f := range n.cfg.Formats {
			le.PutUint32(b[128+4*i:], uint32(bits.TrailingZeros32(f))<<16)
		}
	case 0x02: // active namespace list
		if cmd.NSID >= 0xFFFFFFFE {
			return nvmeInvalidNamespace, nil
		}
		off := 0
		for id := cmd.NSID + 1; id <= uint32(n.cfg.Namespaces) && off < nvmeIdentifySize; id++ {
			le.PutUint32(b[off:], id)
			off += 4
		}
	default:
		return nvmeInvalidField, nil
	}
	return 0, nil
}

func (n *NVMe) getLogPage(cmd *devio.NVMeAdminCommand) (uint16, error) {
	lid := uint8(cmd.CDW10)
	numd := uint64(cmd.CDW10>>16) | uint64(cmd.CDW11&0xffff)<<16
	length := int((numd + 1) * 4)
	offset := uint64(cmd.CDW12) | uint64(cmd.CDW13)<<32
	if cmd.Dir != devio.DirFromDevice || length > len(cmd.Data) {
		return 0, fmt.Errorf("drivesim: get log page of %d bytes into a buffer of %d", length, len(cmd.Data))
	}
	if lid != nvmeLogSanitize {
		return nvmeInvalidLogPage, nil
	}
	if n.cfg.QEMU {
		return nvmeInvalidField, nil
	}
	if n.running() {
		if err := n.op.tick(n.media); err != nil {
			return 0, err
		}
		switch n.op.state {
		case opDone:
			n.completed = true
		case opFailed:
			n.failed = true
		}
	}
	page := make([]byte, nvmeSanitizeLogSize)
	le := binary.LittleEndian
	sprog := uint16(0xFFFF)
	var sstat uint16
	switch {
	case n.running():
		sprog = uint16(min(n.op.progress, 0xFFFF))
		sstat = 2
	case n.failed:
		sstat = 3
	case n.completed:
		sstat = 1 | 1<<8 // completed; global data erased
	}
	le.PutUint16(page[0:], sprog)
	le.PutUint16(page[2:], sstat)
	le.PutUint32(page[4:], n.cdw10)
	for off := 8; off < 32; off += 4 {
		le.PutUint32(page[off:], 0xFFFFFFFF) // no estimates
	}
	if offset >= uint64(len(page)) {
		return nvmeInvalidField, nil
	}
	clear(cmd.Data[:length])
	copy(cmd.Data[:length], page[offset:])
	return 0, nil
}

func (n *NVMe) formatNVM(cmd *devio.NVMeAdminCommand) (uint16, error) {
	switch {
	case n.cfg.OACS&(1<<1) == 0:
		return nvmeInvalidOpcode, nil
	case n.running():
		return nvmeSanitizeInProgress, nil
	case n.failed:
		return nvmeSanitizeFailed, nil
	case cmd.NSID != nvmeNSID && cmd.NSID != 0xFFFFFFFF:
		return nvmeInvalidNamespace, nil
	}
	index := int(cmd.CDW10&0x0f) | int(cmd.CDW10>>12&0x03)<<4
	pi := cmd.CDW10 >> 5 & 0x07
	ses := cmd.CDW10 >> 9 & 0x07
	switch {
	case index >= len(n.cfg.Formats), pi != 0:
		return nvmeInvalidFormat, nil
	case ses > 2, ses == 2 && n.cfg.FNA&(1<<2) == 0:
		return nvmeInvalidField, nil
	}
	m, err := newMedium(n.cfg.Media, n.cfg.Size, int64(n.cfg.Formats[index]))
	if err != nil {
		return 0, err
	}
	f := fill{kind: fillZeros}
	if ses == 2 {
		f.kind = fillRandom
	}
	if err := m.fill(0, m.size, f); err != nil {
		return 0, err
	}
	n.media, n.format = m, index
	return 0, nil
}

func (n *NVMe) sanitize(cmd *devio.NVMeAdminCommand) (uint16, error) {
	c := n.cfg.SANICAP
	if n.cfg.QEMU || c&0x7 == 0 {
		return nvmeInvalidOpcode, nil
	}
	if n.running() {
		return nvmeSanitizeInProgress, nil
	}
	var f fill
	switch act := cmd.CDW10 & 0x07; {
	case act == 1:
		if !n.failed || !n.ause {
			return nvmeInvalidField, nil
		}
		n.failed = false
		return 0, nil
	case act == 2 && c&(1<<1) != 0:
		f = fill{kind: fillZeros}
	case act == 3 && c&(1<<2) != 0:
		passes := int(cmd.CDW10 >> 4 & 0x0f)
		if passes == 0 {
			passes = 16
		}
		var p [4]byte
		binary.LittleEndian.PutUint32(p[:], cmd.CDW11)
		f = fill{kind: fillPattern, pattern: overwritePattern(p[:], passes, cmd.CDW10&(1<<8) != 0)}
	case act == 4 && c&(1<<0) != 0:
		f = fill{kind: fillRandom}
	default:
		return nvmeInvalidField, nil
	}
	n.op = newOperation(f, n.cfg.Step, n.cfg.Faults)
	n.failed, n.completed = false, false
	n.ause = cmd.CDW10&(1<<3) != 0
	n.cdw10 = cmd.CDW10
	return 0, nil
}

// nvmeName names an admin command for the log.
func nvmeName(cmd *devio.NVMeAdminCommand) string {
	switch cmd.Opcode {
	case nvmeOpIdentify:
		switch cmd.CDW10 & 0xff {
		case 0x00:
			return "Identify Namespace"
		case 0x01:
			return "Identify Controller"
		case 0x02:
			return "Identify Active Namespace List"
		}
		return fmt.Sprintf("Identify (CNS %#02x)", cmd.CDW10&0xff)
	case nvmeOpGetLogPage:
		if uint8(cmd.CDW10) == nvmeLogSanitize {
			return "Get Log Page (Sanitize Status)"
		}
		return fmt.Sprintf("Get Log Page (%#02x)", uint8(cmd.CDW10))
	case nvmeOpFormat:
		return fmt.Sprintf("Format NVM (SES %d)", cmd.CDW10>>9&0x07)
	case nvmeOpSanitize:
		switch cmd.CDW10 & 0x07 {
		case 1:
			return "Sanitize (exit failure mode)"
		case 2:
			return "Sanitize (block erase)"
		case 3:
			return "Sanitize (overwrite)"
		case 4:
			return "Sanitize (crypto erase)"
		}
		return fmt.Sprintf("Sanitize (action %d)", cmd.CDW10&0x07)
	}
	return fmt.Sprintf("admin command %#02x", cmd.Opcode)
}
