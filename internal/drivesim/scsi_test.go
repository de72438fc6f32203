package drivesim

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/scsi"
)

func newSCSI(t *testing.T, cfg SCSIConfig) (*SCSI, []byte) {
	t.Helper()
	data := randomData(simSize)
	cfg.Media, cfg.Size = Memory(data), simSize
	s, err := NewSCSI(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, data
}

func run(t *testing.T, d devio.SCSI, cmd *devio.SCSICommand) (devio.SCSIResult, error) {
	t.Helper()
	res, err := d.Exec(cmd)
	if err != nil {
		t.Fatal(err)
	}
	return res, scsi.Check(res)
}

func requestSense(t *testing.T, d devio.SCSI, desc bool) scsi.Sense {
	t.Helper()
	buf := make([]byte, 252)
	cdb := scsi.RequestSense(252)
	if desc {
		cdb[1] = 0x01
	}
	res, err := run(t, d, &devio.SCSICommand{CDB: cdb, Dir: devio.DirFromDevice, Data: buf})
	if err != nil {
		t.Fatal(err)
	}
	s, err := scsi.ParseSense(buf[:len(buf)-res.Resid])
	if err != nil {
		t.Fatal(err)
	}
	if s.Descriptor() != desc {
		t.Errorf("REQUEST SENSE with DESC=%v answered descriptor=%v", desc, s.Descriptor())
	}
	return s
}

func TestSCSIReportSupportedOperationCodes(t *testing.T) {
	s, _ := newSCSI(t, SCSIConfig{Vendor: "SEAGATE", Product: "ST4000NM", Revision: "E001", Serial: "ZC1",
		Sanitize: Modes{Overwrite: true, CryptoErase: true}})
	for sa, want := range map[scsi.SanitizeAction]bool{
		scsi.SanitizeOverwrite: true, scsi.SanitizeCryptoErase: true, scsi.SanitizeBlockErase: false,
	} {
		buf := make([]byte, 64)
		res, err := run(t, s, &devio.SCSICommand{CDB: scsi.ReportServiceAction(scsi.OpSanitize, uint16(sa), 64), Dir: devio.DirFromDevice, Data: buf})
		if err != nil {
			t.Fatal(err)
		}
		cs, err := scsi.ParseOneCommand(buf[:len(buf)-res.Resid])
		if err != nil || cs.Supported() != want {
			t.Errorf("service action %#x: %+v %v, want supported %v", sa, cs, err, want)
		}
		if want && (len(cs.CDBUsage) != 10 || cs.CDBUsage[1]&0x80 == 0) {
			t.Errorf("CDB usage % x: IMMED not shown", cs.CDBUsage)
		}
	}
	buf := make([]byte, 512)
	res, err := run(t, s, &devio.SCSICommand{CDB: scsi.ReportAllOpcodes(512), Dir: devio.DirFromDevice, Data: buf})
	if err != nil {
		t.Fatal(err)
	}
	all, err := scsi.ParseAllCommands(buf[:len(buf)-res.Resid])
	if err != nil {
		t.Fatal(err)
	}
	var sas []uint16
	for _, c := range all {
		if c.Opcode == scsi.OpSanitize {
			sas = append(sas, c.ServiceAction)
		}
	}
	if !slices.Equal(sas, []uint16{0x01, 0x03, 0x1f}) {
		t.Errorf("SANITIZE service actions %v", sas)
	}
	// Asking about SANITIZE without a service action is an error.
	if _, err := run(t, s, &devio.SCSICommand{CDB: scsi.ReportOpcode(scsi.OpSanitize, 64), Dir: devio.DirFromDevice, Data: make([]byte, 64)}); err == nil {
		t.Error("reporting options 1 for SANITIZE accepted")
	}

	n, _ := newSCSI(t, SCSIConfig{NoReportOpcodes: true})
	if _, err := run(t, n, &devio.SCSICommand{CDB: scsi.ReportAllOpcodes(512), Dir: devio.DirFromDevice, Data: buf}); !errors.Is(err, devio.ErrUnsupported) {
		t.Errorf("NoReportOpcodes: %v", err)
	}

	inq := make([]byte, 36)
	if _, err := run(t, s, &devio.SCSICommand{CDB: scsi.Inquiry(36), Dir: devio.DirFromDevice, Data: inq}); err != nil {
		t.Fatal(err)
	}
	if d, err := scsi.ParseInquiry(inq); err != nil || d.Vendor != "SEAGATE" || d.Product != "ST4000NM" {
		t.Errorf("inquiry %+v %v", d, err)
	}
}

func TestSCSISanitizeImmedProgress(t *testing.T) {
	s, data := newSCSI(t, SCSIConfig{Sanitize: Modes{BlockErase: true}, Sense: DescriptorSense})
	cdb, _ := scsi.Sanitize(scsi.SanitizeBlockErase, scsi.SanitizeImmed)
	if _, err := run(t, s, &devio.SCSICommand{CDB: cdb}); err != nil {
		t.Fatal(err)
	}
	// TEST UNIT READY: CHECK CONDITION, NOT READY, sanitize in progress, with progress.
	res, err := run(t, s, &devio.SCSICommand{CDB: scsi.TestUnitReady()})
	var se *scsi.StatusError
	if !errors.As(err, &se) || se.Sense.Key != scsi.NotReady || se.Sense.ASC != 0x04 || se.Sense.ASCQ != 0x1b || !se.Sense.Descriptor() {
		t.Fatalf("TUR during sanitize: %v %v", err, res)
	}
	if p, ok := se.Sense.Progress(); !ok || p != 0.25 {
		t.Errorf("TUR progress %v %v", p, ok)
	}
	var got []float64
	for i := 0; ; i++ {
		sn := requestSense(t, s, i%2 == 1)
		if sn.Key == scsi.NoSense {
			break
		}
		if sn.Key != scsi.NotReady || sn.ASC != 0x04 || sn.ASCQ != 0x1b {
			t.Fatalf("REQUEST SENSE: %v", sn)
		}
		p, ok := sn.Progress()
		if !ok {
			t.Fatal("no progress indication")
		}
		got = append(got, p)
	}
	if !slices.Equal(got, []float64{0.5, 0.75}) {
		t.Errorf("progress %v", got)
	}
	if !bytes.Equal(data, make([]byte, len(data))) {
		t.Error("block erase did not leave zeros")
	}
	if _, err := run(t, s, &devio.SCSICommand{CDB: scsi.TestUnitReady()}); err != nil {
		t.Errorf("TUR after the sanitize: %v", err)
	}
}

func TestSCSISanitizeOverwriteCryptoAndRefusals(t *testing.T) {
	s, data := newSCSI(t, SCSIConfig{Sanitize: Modes{Overwrite: true, CryptoErase: true}, Step: 1})
	cdb, params, _ := scsi.SanitizeOverwriteCDB(scsi.Overwrite{Passes: 3, Invert: true, Pattern: []byte{0xA5, 0x0F}}, 0)
	if _, err := run(t, s, &devio.SCSICommand{CDB: cdb, Dir: devio.DirToDevice, Data: params}); err != nil {
		t.Fatal(err)
	}
	// Without IMMED the command returns when the sanitize has; three passes end on the
	// pattern itself.
	if !bytes.Equal(data, bytes.Repeat([]byte{0xA5, 0x0F}, len(data)/2)) {
		t.Error("overwrite did not leave the pattern")
	}
	orig := bytes.Clone(data)
	cdb, _ = scsi.Sanitize(scsi.SanitizeCryptoErase, 0)
	if _, err := run(t, s, &devio.SCSICommand{CDB: cdb}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(data); i += 512 {
		if bytes.Equal(data[i:i+512], orig[i:i+512]) {
			t.Fatalf("crypto erase left sector %d as it was", i/512)
		}
	}
	cdb, _ = scsi.Sanitize(scsi.SanitizeBlockErase, scsi.SanitizeImmed)
	if _, err := run(t, s, &devio.SCSICommand{CDB: cdb}); !errors.Is(err, devio.ErrUnsupported) {
		t.Errorf("unsupported service action: %v", err)
	}
	// A pattern longer than a block is refused.
	cdb, params, _ = scsi.SanitizeOverwriteCDB(scsi.Overwrite{Passes: 1, Pattern: make([]byte, 513)}, 0)
	if _, err := run(t, s, &devio.SCSICommand{CDB: cdb, Dir: devio.DirToDevice, Data: params}); err == nil {
		t.Error("a 513-byte pattern was accepted")
	}
}

func TestSCSISanitizeFaults(t *testing.T) {
	s, _ := newSCSI(t, SCSIConfig{Sanitize: Modes{BlockErase: true}, Faults: Faults{FailAt: 0.5}})
	cdb, _ := scsi.Sanitize(scsi.SanitizeBlockErase, scsi.SanitizeImmed)
	if _, err := run(t, s, &devio.SCSICommand{CDB: cdb}); err != nil {
		t.Fatal(err)
	}
	requestSense(t, s, false)
	sn := requestSense(t, s, false)
	if sn.Key != scsi.MediumError || sn.ASC != 0x31 || sn.ASCQ != 0x03 {
		t.Fatalf("failed sanitize: %v", sn)
	}
	if _, err := run(t, s, &devio.SCSICommand{CDB: scsi.TestUnitReady()}); err == nil {
		t.Error("TUR after a failed sanitize succeeded")
	}
	exit, _ := scsi.Sanitize(scsi.SanitizeExitFailureMode, 0)
	if _, err := run(t, s, &devio.SCSICommand{CDB: exit}); err == nil {
		t.Error("EXIT FAILURE MODE without AUSE accepted")
	}

	s, _ = newSCSI(t, SCSIConfig{Sanitize: Modes{BlockErase: true}, Faults: Faults{FailAt: 0.1}})
	cdb, _ = scsi.Sanitize(scsi.SanitizeBlockErase, scsi.SanitizeImmed|scsi.SanitizeAUSE)
	if _, err := run(t, s, &devio.SCSICommand{CDB: cdb}); err != nil {
		t.Fatal(err)
	}
	requestSense(t, s, false)
	if _, err := run(t, s, &devio.SCSICommand{CDB: exit}); err != nil {
		t.Errorf("EXIT FAILURE MODE after an AUSE sanitize: %v", err)
	}
	if _, err := run(t, s, &devio.SCSICommand{CDB: scsi.TestUnitReady()}); err != nil {
		t.Errorf("TUR after exit: %v", err)
	}

	s, _ = newSCSI(t, SCSIConfig{Sanitize: Modes{BlockErase: true}, Faults: Faults{StallAt: 0.3}})
	cdb, _ = scsi.Sanitize(scsi.SanitizeBlockErase, 0)
	if _, err := s.Exec(&devio.SCSICommand{CDB: cdb}); err == nil {
		t.Error("a stalled sanitize without IMMED returned")
	}
}

// After a power cycle the disk reports the power-on unit attention once, then the
// sanitize it resumed; a failed one stays failed.
func TestSCSIPowerCycle(t *testing.T) {
	s, data := newSCSI(t, SCSIConfig{Sanitize: Modes{BlockErase: true}})
	cdb, _ := scsi.Sanitize(scsi.SanitizeBlockErase, scsi.SanitizeImmed)
	if _, err := run(t, s, &devio.SCSICommand{CDB: cdb}); err != nil {
		t.Fatal(err)
	}
	if sn := requestSense(t, s, false); sn.ASCQ != 0x1b {
		t.Fatalf("before the power cycle: %v", sn)
	}
	s.PowerCycle()
	if running, p, _ := s.SanitizeState(); !running || p != 0.25 {
		t.Fatalf("after the power cycle: running %v at %v", running, p)
	}
	if _, err := run(t, s, &devio.SCSICommand{CDB: scsi.Inquiry(96), Dir: devio.DirFromDevice, Data: make([]byte, 96)}); err != nil {
		t.Errorf("INQUIRY after the power cycle: %v", err)
	}
	if sn := requestSense(t, s, true); sn.Key != scsi.UnitAttention || sn.ASC != 0x29 || sn.ASCQ != 0 {
		t.Fatalf("first REQUEST SENSE after the power cycle: %v", sn)
	}
	var got []float64
	for {
		sn := requestSense(t, s, false)
		if sn.Key == scsi.NoSense {
			break
		}
		if sn.Key != scsi.NotReady || sn.ASCQ != 0x1b {
			t.Fatalf("REQUEST SENSE: %v", sn)
		}
		p, _ := sn.Progress()
		got = append(got, p)
	}
	if !slices.Equal(got, []float64{0.5, 0.75}) {
		t.Errorf("progress after the power cycle %v", got)
	}
	if !bytes.Equal(data, make([]byte, len(data))) {
		t.Error("block erase did not leave zeros")
	}
	s.PowerCycle()
	_, err := run(t, s, &devio.SCSICommand{CDB: scsi.TestUnitReady()})
	var se *scsi.StatusError
	if !errors.As(err, &se) || se.Sense.Key != scsi.UnitAttention || se.Sense.ASC != 0x29 {
		t.Fatalf("TEST UNIT READY after the power cycle: %v", err)
	}
	if _, err := run(t, s, &devio.SCSICommand{CDB: scsi.TestUnitReady()}); err != nil {
		t.Errorf("second TEST UNIT READY: %v", err)
	}

	s, _ = newSCSI(t, SCSIConfig{Sanitize: Modes{BlockErase: true}, Faults: Faults{FailAt: 0.5}})
	if _, err := run(t, s, &devio.SCSICommand{CDB: cdb}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		requestSense(t, s, false)
	}
	s.PowerCycle()
	requestSense(t, s, false) // the unit attention
	if sn := requestSense(t, s, false); sn.Key != scsi.MediumError || sn.ASC != 0x31 || sn.ASCQ != 0x03 {
		t.Errorf("failed, then a power cycle: %v", sn)
	}
}
