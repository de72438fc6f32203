package drivesim

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/scsi"
)

// SCSIConfig describes a simulated SCSI or SAS disk.
type SCSIConfig struct {
	// Media holds the logical blocks; Size is the capacity in bytes, a multiple of
	// BlockSize (default 512).
	Media     Media
	Size      int64
	BlockSize int64

	Vendor, Product, Revision, Serial string
	// RotationRate goes in the Block Device Characteristics page: 1 for solid state.
	RotationRate uint16

	// Sanitize lists the SANITIZE service actions the disk supports; Step is how far a
	// sanitize gets per REQUEST SENSE or TEST UNIT READY (default 0.25).
	Sanitize Modes
	Step     float64
	Faults   Faults

	// Sense is the format of the sense data of CHECK CONDITION answers. REQUEST SENSE
	// answers in the format its DESC bit asks for.
	Sense SenseFormat
	// NoReportOpcodes: REPORT SUPPORTED OPERATION CODES is not implemented.
	NoReportOpcodes bool
}

// SCSI is a simulated SCSI disk. It implements devio.SCSI: INQUIRY (standard data and the
// Supported VPD Pages, Unit Serial Number and Block Device Characteristics pages), TEST
// UNIT READY, REQUEST SENSE, READ CAPACITY(16), REPORT SUPPORTED OPERATION CODES and
// SANITIZE (SBC-4 §5.30) with or without IMMED.
//
// While a sanitize runs, INQUIRY, REPORT SUPPORTED OPERATION CODES and REQUEST SENSE are
// processed and every other command ends in CHECK CONDITION, NOT READY, LOGICAL UNIT NOT
// READY, SANITIZE IN PROGRESS with the progress indication; REQUEST SENSE returns that
// sense data as its parameter data, and it and TEST UNIT READY advance the sanitize one
// step. After a failed sanitize the disk answers MEDIUM ERROR, SANITIZE COMMAND FAILED
// until a sanitize succeeds (or, if the failed one allowed it, EXIT FAILURE MODE).
type SCSI struct {
	mu    sync.Mutex
	cfg   SCSIConfig
	media *medium
	log   log

	op     *operation
	failed bool
	ause   bool
	// powerOn: a power-on unit attention is pending.
	powerOn bool
}

// NewSCSI returns a simulated SCSI disk.
func NewSCSI(cfg SCSIConfig) (*SCSI, error) {
	if cfg.BlockSize == 0 {
		cfg.BlockSize = 512
	}
	m, err := newMedium(cfg.Media, cfg.Size, cfg.BlockSize)
	if err != nil {
		return nil, err
	}
	return &SCSI{cfg: cfg, media: m}, nil
}

// SetFaults replaces the faults of the sanitizes started from now on.
func (s *SCSI) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.Faults = f
}

// Log returns the commands received so far.
func (s *SCSI) Log() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.log.entries)
}

// Commands returns the names of the commands received so far.
func (s *SCSI) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.commands()
}

// PowerCycle simulates removing and restoring power. A sanitize in progress goes on
// where it was, as does the failed state of a failed one (SBC-4 §4.11: a sanitize
// interrupted by a power loss resumes after power on). The next command other than
// INQUIRY is answered UNIT ATTENTION, POWER ON, RESET, OR BUS DEVICE RESET OCCURRED
// (29h/00h), REQUEST SENSE as its parameter data, which clears it (SPC-4 §5.14).
func (s *SCSI) PowerCycle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.powerOn = true
}

// SanitizeState reports whether a sanitize is running (and how far it got) or failed.
func (s *SCSI) SanitizeState() (running bool, progress float64, failed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.op != nil && s.op.state == opRunning {
		return true, float64(s.op.progress) / full, false
	}
	return false, 0, s.failed
}

const (
	opReadCapacity = 0x9e
	saReadCap16    = 0x10
	saReportOps    = 0x0c
)

// Exec runs one SCSI command: see SCSI.
func (s *SCSI) Exec(cmd *devio.SCSICommand) (devio.SCSIResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(cmd.CDB) == 0 {
		return devio.SCSIResult{}, errors.New("drivesim: empty CDB")
	}
	name := scsiName(cmd.CDB)
	r, err := s.exec(cmd)
	res := result(r)
	if err != nil {
		res = err.Error()
	}
	s.log.add(name, res, cmd.Timeout)
	return r, err
}

func (s *SCSI) exec(cmd *devio.SCSICommand) (devio.SCSIResult, error) {
	f := s.cfg.Sense
	cdb := cmd.CDB
	running := s.op != nil && s.op.state == opRunning
	switch {
	case cdb[0] == scsi.OpInquiry:
		return inquiry(cmd, standardInquiry(s.cfg.Vendor, s.cfg.Product, s.cfg.Revision), map[byte][]byte{
			scsi.PageUnitSerialNumber:     serialPage(s.cfg.Serial),
			scsi.PageBlockCharacteristics: characteristicsPage(s.cfg.RotationRate),
		}, f), nil
	case s.powerOn:
		s.powerOn = false
		if cdb[0] == scsi.OpRequestSense {
			return s.reportSense(cmd, senseUnitAttentionPowerOn)
		}
		return checkCondition(senseUnitAttentionPowerOn, f), nil
	case cdb[0] == scsi.OpRequestSense:
		return s.requestSense(cmd)
	case cdb[0] == scsi.OpMaintenanceIn && len(cdb) >= 2 && cdb[1]&0x1f == saReportOps && !s.cfg.NoReportOpcodes:
		return s.reportOpcodes(cmd), nil
	case running:
		if cdb[0] == scsi.OpTestUnitReady {
			if err := s.tick(); err != nil {
				return devio.SCSIResult{}, err
			}
			if s.op.state != opRunning {
				return s.exec(cmd)
			}
		}
		return checkCondition(s.inProgress(), f), nil
	case s.failed && cdb[0] != scsi.OpSanitize:
		return checkCondition(senseSanitizeFailed, f), nil
	}
	switch cdb[0] {
	case scsi.OpTestUnitReady:
		return devio.SCSIResult{Status: devio.StatusGood}, nil
	case opReadCapacity:
		if len(cdb) < 16 || cdb[1]&0x1f != saReadCap16 {
			return checkCondition(senseInvalidOpcode, f), nil
		}
		b := make([]byte, 32)
		binary.BigEndian.PutUint64(b[0:8], uint64(s.media.size/s.media.sector)-1)
		binary.BigEndian.PutUint32(b[8:12], uint32(s.media.sector))
		return copyData(cmd, b[:min(len(b), int(binary.BigEndian.Uint32(cdb[10:14])))]), nil
	case scsi.OpSanitize:
		return s.sanitize(cmd)
	}
	return checkCondition(senseInvalidOpcode, f), nil
}

// tick advances a running sanitize by one step.
func (s *SCSI) tick() error {
	if err := s.op.tick(s.media); err != nil {
		return err
	}
	if s.op.state == opFailed {
		s.failed = true
	}
	return nil
}

func (s *SCSI) inProgress() sense {
	p := senseSanitizeRunning
	p.progress, p.hasProgress = uint16(min(s.op.progress, 0xFFFF)), true
	return p
}

// requestSense returns the disk's sense data as parameter data (SPC-4 §6.39).
func (s *SCSI) requestSense(cmd *devio.SCSICommand) (devio.SCSIResult, error) {
	if len(cmd.CDB) < 6 || cmd.Dir != devio.DirFromDevice {
		return checkCondition(senseInvalidField, s.cfg.Sense), nil
	}
	sn := senseNoSense
	if s.op != nil && s.op.state == opRunning {
		if err := s.tick(); err != nil {
			return devio.SCSIResult{}, err
		}
	}
	switch {
	case s.op != nil && s.op.state == opRunning:
		sn = s.inProgress()
	case s.failed:
		sn = senseSanitizeFailed
	}
	return s.reportSense(cmd, sn)
}

// reportSense returns sn as the parameter data of REQUEST SENSE cmd, in the format its
// DESC bit asks for.
func (s *SCSI) reportSense(cmd *devio.SCSICommand, sn sense) (devio.SCSIResult, error) {
	cdb := cmd.CDB
	if len(cdb) < 6 || cmd.Dir != devio.DirFromDevice {
		return checkCondition(senseInvalidField, s.cfg.Sense), nil
	}
	f := FixedSense
	if cdb[1]&0x01 != 0 {
		f = DescriptorSense
	}
	b := sn.encode(f)
	return copyData(cmd, b[:min(len(b), int(cdb[4]))]), nil
}

// supportedOp is an entry of REPORT SUPPORTED OPERATION CODES.
type supportedOp struct {
	op    byte
	sa    uint16
	hasSA bool
	usage []byte // CDB usage data; its length is the CDB length
}

func (s *SCSI) supportedOps() []supportedOp {
	ops := []supportedOp{
		{op: scsi.OpTestUnitReady, usage: []byte{0x00, 0, 0, 0, 0, 0x07}},
		{op: scsi.OpRequestSense, usage: []byte{0x03, 0x01, 0, 0, 0xff, 0x07}},
		{op: scsi.OpInquiry, usage: []byte{0x12, 0x01, 0xff, 0xff, 0xff, 0x07}},
		{op: opReadCapacity, sa: saReadCap16, hasSA: true, usage: []byte{0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0x07}},
		{op: scsi.OpMaintenanceIn, sa: saReportOps, hasSA: true, usage: []byte{0xa3, 0x0c, 0x87, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0x07}},
	}
	m := s.cfg.Sanitize
	add := func(ok bool, sa scsi.SanitizeAction) {
		if ok {
			ops = append(ops, supportedOp{op: scsi.OpSanitize, sa: uint16(sa), hasSA: true,
				usage: []byte{scsi.OpSanitize, 0xa0 | byte(sa), 0, 0, 0, 0, 0, 0xff, 0xff, 0x07}})
		}
	}
	add(m.Overwrite, scsi.SanitizeOverwrite)
	add(m.BlockErase, scsi.SanitizeBlockErase)
	add(m.CryptoErase, scsi.SanitizeCryptoErase)
	add(m.Overwrite || m.BlockErase || m.CryptoErase, scsi.SanitizeExitFailureMode)
	return ops
}

// reportOpcodes answers REPORT SUPPORTED OPERATION CODES (SPC-4 §6.35).
func (s *SCSI) reportOpcodes(cmd *devio.SCSICommand) devio.SCSIResult {
	cdb := cmd.CDB
	f := s.cfg.Sense
	if len(cdb) < 12 || cmd.Dir != devio.DirFromDevice {
		return checkCondition(senseInvalidField, f)
	}
	alloc := int(binary.BigEndian.Uint32(cdb[6:10]))
	op, sa := cdb[3], binary.BigEndian.Uint16(cdb[4:6])
	ops := s.supportedOps()
	var b []byte
	switch cdb[2] & 0x07 {
	case 0:
		b = make([]byte, 4)
		for _, o := range ops {
			d := []byte{o.op, 0, byte(o.sa >> 8), byte(o.sa), 0, 0, 0, byte(len(o.usage))}
			if o.hasSA {
				d[5] = 0x01
			}
			b = append(b, d...)
		}
		binary.BigEndian.PutUint32(b[0:4], uint32(len(b)-4))
	case 1, 2:
		withSA := cdb[2]&0x07 == 2
		var found *supportedOp
		for i, o := range ops {
			if o.op != op {
				continue
			}
			if o.hasSA != withSA {
				// Asking without a service action about a command that has them, or
				// the reverse, is an error (SPC-4 §6.35.1).
				return checkCondition(senseInvalidField, f)
			}
			if !withSA || o.sa == sa {
				found = &ops[i]
				break
			}
		}
		b = []byte{0, 0x01, 0, 0} // SUPPORT 001b: not supported
		if found != nil {
			b[1] = 0x03
			binary.BigEndian.PutUint16(b[2:4], uint16(len(found.usage)))
			b = append(b, found.usage...)
		}
	default:
		return checkCondition(senseInvalidField, f)
	}
	return copyData(cmd, b[:min(len(b), alloc)])
}

// sanitize runs SANITIZE (SBC-4 §5.30).
func (s *SCSI) sanitize(cmd *devio.SCSICommand) (devio.SCSIResult, error) {
	cdb := cmd.CDB
	f := s.cfg.Sense
	if len(cdb) != 10 {
		return checkCondition(senseInvalidField, f), nil
	}
	sa := scsi.SanitizeAction(cdb[1] & 0x1f)
	immed := cdb[1]&0x80 != 0
	ause := cdb[1]&0x20 != 0
	plen := int(binary.BigEndian.Uint16(cdb[7:9]))
	m := s.cfg.Sanitize

	var fl fill
	switch {
	case sa == scsi.SanitizeExitFailureMode && (m.Overwrite || m.BlockErase || m.CryptoErase):
		if !s.failed || !s.ause || plen != 0 {
			return checkCondition(senseInvalidField, f), nil
		}
		s.failed = false
		return devio.SCSIResult{Status: devio.StatusGood}, nil
	case sa == scsi.SanitizeBlockErase && m.BlockErase, sa == scsi.SanitizeCryptoErase && m.CryptoErase:
		if plen != 0 {
			return checkCondition(senseInvalidField, f), nil
		}
		fl = fill{kind: fillZeros}
		if sa == scsi.SanitizeCryptoErase {
			fl.kind = fillRandom
		}
	case sa == scsi.SanitizeOverwrite && m.Overwrite:
		if cmd.Dir != devio.DirToDevice || plen > len(cmd.Data) || plen < 5 {
			return checkCondition(senseParameterLength, f), nil
		}
		p := cmd.Data[:plen]
		passes := int(p[0] & 0x1f)
		n := int(binary.BigEndian.Uint16(p[2:4]))
		if passes == 0 || n == 0 || int64(n) > s.media.sector || 4+n != plen {
			return checkCondition(senseInvalidParameter, f), nil
		}
		fl = fill{kind: fillPattern, pattern: overwritePattern(p[4:], passes, p[0]&0x80 != 0)}
	default:
		return checkCondition(senseInvalidField, f), nil
	}
	s.op = newOperation(fl, s.cfg.Step, s.cfg.Faults)
	s.failed = false
	s.ause = ause
	if immed {
		return devio.SCSIResult{Status: devio.StatusGood}, nil
	}
	if err := s.op.run(s.media); err != nil {
		s.failed = true
		return devio.SCSIResult{}, err
	}
	if s.op.state == opFailed {
		s.failed = true
		return checkCondition(senseSanitizeFailed, f), nil
	}
	return devio.SCSIResult{Status: devio.StatusGood}, nil
}

// scsiName names a CDB for the log.
func scsiName(cdb []byte) string {
	switch cdb[0] {
	case scsi.OpTestUnitReady:
		return "TEST UNIT READY"
	case scsi.OpRequestSense:
		return "REQUEST SENSE"
	case scsi.OpInquiry:
		return "INQUIRY"
	case opReadCapacity:
		return "READ CAPACITY(16)"
	case scsi.OpMaintenanceIn:
		return "REPORT SUPPORTED OPERATION CODES"
	case scsi.OpSanitize:
		if len(cdb) < 2 {
			return "SANITIZE"
		}
		name := map[scsi.SanitizeAction]string{
			scsi.SanitizeOverwrite:       "SANITIZE (OVERWRITE)",
			scsi.SanitizeBlockErase:      "SANITIZE (BLOCK ERASE)",
			scsi.SanitizeCryptoErase:     "SANITIZE (CRYPTOGRAPHIC ERASE)",
			scsi.SanitizeExitFailureMode: "SANITIZE (EXIT FAILURE MODE)",
		}[scsi.SanitizeAction(cdb[1]&0x1f)]
		if name == "" {
			name = fmt.Sprintf("SANITIZE (service action %#02x)", cdb[1]&0x1f)
		}
		return name
	}
	return fmt.Sprintf("operation code %#02x", cdb[0])
}
