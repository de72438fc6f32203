package ata

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/scsi"
)

// fakeSCSI answers every command with the same result, copying fill into the data buffer
// of a data-in command, and remembers what it was sent.
type fakeSCSI struct {
	res   devio.SCSIResult
	err   error
	fill  []byte
	calls int
	got   devio.SCSICommand
}

func (f *fakeSCSI) Exec(cmd *devio.SCSICommand) (devio.SCSIResult, error) {
	f.calls++
	f.got = *cmd
	f.got.CDB = bytes.Clone(cmd.CDB)
	if cmd.Dir == devio.DirFromDevice {
		copy(cmd.Data, f.fill)
	}
	return f.res, f.err
}

// checkCondition is the answer of a command that ended in CHECK CONDITION with sense data.
func checkCondition(t testing.TB, sense string) *fakeSCSI {
	return &fakeSCSI{res: devio.SCSIResult{Status: devio.StatusCheckCondition, Sense: unhex(t, sense)}}
}

// Sense data used below; the layouts are those of SAT-3 (ATA Status Return descriptor) and
// SAT-4 §12.2.2.7 (fixed format), as Linux libata produces them.
const (
	// READ NATIVE MAX ADDRESS EXT, CK_COND, descriptor format: RECOVERED ERROR 00h/1Dh,
	// EXTEND, LBA 1_D1C0_BEAFh, device 40h, status 50h.
	senseDescNativeMax = "72 01 00 1d 00 00 00 0e 09 0c 01 00 00 00 d1 af 01 be 00 c0 40 50"
	// The same in fixed format: error 00h status 50h device 40h count 00h; byte 8 A0h
	// (EXTEND, LBA UPPER NONZERO), LBA(7:0) AFh, (15:8) BEh, (23:16) C0h.
	senseFixedNativeMax = "f0 00 01 00 50 40 00 0a a0 af be c0 00 1d 00 00 00 00"
	// Fixed format, a CompactFlash-sized answer that fits: LBA 7A_1FFFh, upper bits zero.
	senseFixedSmallMax = "f0 00 01 00 50 40 00 0a 80 ff 1f 7a 00 1d 00 00 00 00"
	// CHECK POWER MODE with CK_COND, fixed format, captured from a real drive by hdparm
	// (github.com/truenas/linux pull 197): count FFh = active or idle.
	senseFixedCheckPower = "f0 00 01 00 50 00 ff 0a 00 00 00 00 00 1d 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
	// Aborted command, descriptor format: ABORTED COMMAND, status 51h, error 04h (ABRT).
	senseDescAbort = "72 0b 00 00 00 00 00 0e 09 0c 00 04 00 00 00 00 00 00 00 00 40 51"
	// Aborted command, fixed format (libata with D_SENSE=0): error 04h, status 51h, device 40h.
	senseFixedAbort = "f0 00 0b 04 51 40 00 0a 80 00 00 00 00 00 00 00 00 00"
	// A SAS drive refusing ATA PASS-THROUGH: ILLEGAL REQUEST, INVALID COMMAND OPERATION CODE
	// (descriptor format, captured by hdparm, github.com/louwrentius/showtools issue 7).
	senseDescInvalidOpcode = "72 05 20 00 00 00 00 1c 02 06 00 00 cf 00 00 00 03 02 00 01 80 0e 00 00 00 00 00 00 00 00 00 00"
	// A translation layer refusing the CDB: ILLEGAL REQUEST, INVALID FIELD IN CDB, fixed format.
	senseFixedInvalidField = "70 00 05 00 00 00 00 0a 00 00 00 00 24 00 00 00 00 00"
	// UNIT ATTENTION, POWER ON OR RESET, no registers.
	senseUnitAttention = "70 00 06 00 00 00 00 0a 00 00 00 00 29 00 00 00 00 00"
)

func TestExecIdentify(t *testing.T) {
	want := fixture(t, "identify-hdd.hex")
	dev := &fakeSCSI{res: devio.SCSIResult{Status: devio.StatusGood}, fill: want}
	buf := make([]byte, 512)
	regs, err := Exec(dev, IdentifyDevice(), buf, devio.DirFromDevice, 7*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if regs != (Registers{}) {
		t.Errorf("registers %+v without CK_COND, want zero", regs)
	}
	if !bytes.Equal(buf, want) {
		t.Error("data not delivered")
	}
	if dev.got.Dir != devio.DirFromDevice || dev.got.Timeout != 7*time.Second || len(dev.got.Data) != 512 {
		t.Errorf("sent dir %v timeout %v %d bytes", dev.got.Dir, dev.got.Timeout, len(dev.got.Data))
	}
	if wantCDB := unhex(t, "85 08 0e 00 00 00 01 00 00 00 00 00 00 00 ec 00"); !bytes.Equal(dev.got.CDB, wantCDB) {
		t.Errorf("cdb % x, want % x", dev.got.CDB, wantCDB)
	}
	id, err := ParseIdentify(buf)
	if err != nil || id.Model != "WDC WD40EFRX-68N32N0" {
		t.Errorf("parsed %q (%v)", id.Model, err)
	}
}

func TestExecRegisters(t *testing.T) {
	checkPower := Command{Command: 0xE5, Protocol: NonData, CheckCondition: true}
	tests := []struct {
		name  string
		cmd   Command
		sense string
		want  Registers
	}{
		{"descriptor sense", ReadNativeMaxAddressExt(), senseDescNativeMax,
			Registers{Status: 0x50, Device: 0x40, LBA: 7814037167, Extend: true}},
		{"fixed sense, truncated LBA", ReadNativeMaxAddressExt(), senseFixedNativeMax,
			Registers{Status: 0x50, Device: 0x40, LBA: 0xC0BEAF, Extend: true, Partial: true, LBAUpperNonZero: true}},
		{"fixed sense, small LBA", ReadNativeMaxAddressExt(), senseFixedSmallMax,
			Registers{Status: 0x50, Device: 0x40, LBA: 0x7A1FFF, Extend: true, Partial: true}},
		{"fixed sense from a real drive", checkPower, senseFixedCheckPower,
			Registers{Status: 0x50, Count: 0xFF, Partial: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dev := checkCondition(t, tt.sense)
			regs, err := Exec(dev, tt.cmd, nil, devio.DirNone, 0)
			if err != nil {
				t.Fatal(err)
			}
			if regs != tt.want {
				t.Errorf("\n got %+v\nwant %+v", regs, tt.want)
			}
			if dev.got.CDB[2]&0x20 == 0 {
				t.Error("CK_COND not set")
			}
		})
	}
}

func TestMaxAddress(t *testing.T) {
	run := func(sense string) (uint64, error) {
		regs, err := Exec(checkCondition(t, sense), ReadNativeMaxAddressExt(), nil, devio.DirNone, 0)
		if err != nil {
			t.Fatal(err)
		}
		return MaxAddress(regs)
	}
	if got, err := run(senseDescNativeMax); err != nil || got != 7814037167 {
		t.Errorf("descriptor: %d (%v), want 7814037167", got, err)
	}
	if got, err := run(senseFixedNativeMax); !errors.Is(err, ErrPartialRegisters) {
		t.Errorf("fixed, upper bits lost: %d (%v), want ErrPartialRegisters", got, err)
	}
	if got, err := run(senseFixedSmallMax); err != nil || got != 0x7A1FFF {
		t.Errorf("fixed, small: %#x (%v), want 0x7a1fff", got, err)
	}
}

func TestExecSanitizeStatus(t *testing.T) {
	tests := []struct {
		name  string
		sense string
		want  SanitizeStatus
	}{
		// COUNT 4000h (in progress), LBA 8000h (half way).
		{"in progress", "72 01 00 1d 00 00 00 0e 09 0c 01 00 40 00 00 00 00 80 00 00 40 50",
			SanitizeStatus{InProgress: true, Progress: 0.5}},
		// COUNT 8000h (completed without error), LBA FFFFh.
		{"completed", "72 01 00 1d 00 00 00 0e 09 0c 01 00 80 00 00 ff 00 ff 00 00 40 50",
			SanitizeStatus{CompletedWithoutError: true, Progress: 65535.0 / 65536}},
		// COUNT 3000h: frozen and antifreeze locked.
		{"frozen", "72 01 00 1d 00 00 00 0e 09 0c 01 00 30 00 00 ff 00 ff 00 00 40 50",
			SanitizeStatus{Frozen: true, AntifreezeLocked: true, Progress: 65535.0 / 65536}},
		// Fixed format, COUNT(15:8) zero: idle, nothing to report.
		{"fixed, idle", "f0 00 01 00 50 40 00 0a 80 ff ff 00 00 1d 00 00 00 00",
			SanitizeStatus{Progress: 65535.0 / 65536}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			regs, err := Exec(checkCondition(t, tt.sense), SanitizeStatusExt(), nil, devio.DirNone, 0)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseSanitizeStatus(regs)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}

	// Fixed format with COUNT(15:8) non-zero: the status bits are lost.
	regs, err := Exec(checkCondition(t, "f0 00 01 00 50 40 00 0a c0 00 80 00 00 1d 00 00 00 00"), SanitizeStatusExt(), nil, devio.DirNone, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseSanitizeStatus(regs); !errors.Is(err, ErrPartialRegisters) {
		t.Errorf("fixed, upper count lost: got %v, want ErrPartialRegisters", err)
	}

	// A failed sanitize: SANITIZE STATUS EXT aborts, reason 01h in LBA(7:0).
	_, err = Exec(checkCondition(t, "72 0b 00 00 00 00 00 0e 09 0c 01 04 00 00 00 01 00 00 00 00 40 51"), SanitizeStatusExt(), nil, devio.DirNone, 0)
	var ce *CommandError
	if !errors.As(err, &ce) || !errors.Is(err, ErrAborted) {
		t.Fatalf("failed sanitize: got %v, want an aborted *CommandError", err)
	}
	if reason := ce.Registers.LBA & 0xff; reason != 1 {
		t.Errorf("error reason %d, want 1", reason)
	}
	if !strings.Contains(err.Error(), "SANITIZE STATUS EXT") {
		t.Errorf("error %q does not name the command", err)
	}
}

func TestExecAborted(t *testing.T) {
	for name, sense := range map[string]string{"descriptor": senseDescAbort, "fixed": senseFixedAbort} {
		t.Run(name, func(t *testing.T) {
			c, data, err := SecurityEraseUnit(Password{Secret: []byte("p")}, EnhancedErase)
			if err != nil {
				t.Fatal(err)
			}
			regs, err := Exec(checkCondition(t, sense), c, data, devio.DirToDevice, time.Hour)
			if !errors.Is(err, ErrAborted) {
				t.Fatalf("got %v, want ErrAborted", err)
			}
			if errors.Is(err, devio.ErrUnsupported) {
				t.Error("an ATA abort matched devio.ErrUnsupported")
			}
			var ce *CommandError
			if !errors.As(err, &ce) {
				t.Fatalf("%v is not a *CommandError", err)
			}
			if ce.Command != 0xF4 || ce.Registers.Status != 0x51 || ce.Registers.Error != 0x04 || ce.Registers.Device != 0x40 {
				t.Errorf("command error %+v", ce)
			}
			if regs != ce.Registers {
				t.Errorf("returned registers %+v differ from the error's %+v", regs, ce.Registers)
			}
			if want := "ata: SECURITY ERASE UNIT aborted by the device (status 0x51, error 0x04)"; err.Error() != want {
				t.Errorf("error %q, want %q", err, want)
			}
		})
	}
}

// TestExecAbortedNoRegisters: libata's error handler answers a command the drive aborted
// with ABORTED COMMAND 00h/00h and no ATA registers (QEMU's AHCI disk, Linux 6.1, SANITIZE
// STATUS EXT); that is the drive's abort all the same.
func TestExecAbortedNoRegisters(t *testing.T) {
	for name, sense := range map[string]string{
		"fixed":      "70 00 0b 00 00 00 00 0a 00 00 00 00 00 00 00 00 00 00",
		"descriptor": "72 0b 00 00 00 00 00 00",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Exec(checkCondition(t, sense), SanitizeStatusExt(), nil, devio.DirNone, 0)
			var ce *CommandError
			if !errors.Is(err, ErrAborted) || !errors.As(err, &ce) || !ce.Translated {
				t.Fatalf("got %v, want a translated ErrAborted", err)
			}
			if errors.Is(err, devio.ErrUnsupported) {
				t.Error("matched devio.ErrUnsupported")
			}
		})
	}
	// ABORTED COMMAND with an additional sense code is the transport's abort, not the drive's.
	_, err := Exec(checkCondition(t, "70 00 0b 00 00 00 00 0a 00 00 00 00 47 00 00 00 00 00"), SanitizeStatusExt(), nil, devio.DirNone, 0)
	if err == nil || errors.Is(err, ErrAborted) {
		t.Errorf("SCSI parity error: %v; want an error that is not ErrAborted", err)
	}
}

func TestExecDeviceFault(t *testing.T) {
	// HARDWARE ERROR, status 60h: DRDY and DEVICE FAULT, no ERR.
	_, err := Exec(checkCondition(t, "72 04 44 00 00 00 00 0e 09 0c 00 00 00 00 00 00 00 00 00 00 40 60"), SecurityErasePrepare(), nil, devio.DirNone, 0)
	var ce *CommandError
	if !errors.As(err, &ce) || errors.Is(err, ErrAborted) {
		t.Fatalf("got %v, want a *CommandError that is not ErrAborted", err)
	}
	if !strings.Contains(err.Error(), "device fault") {
		t.Errorf("error %q does not mention the device fault", err)
	}
}

func TestExecUnsupported(t *testing.T) {
	for name, sense := range map[string]string{
		"invalid opcode, descriptor": senseDescInvalidOpcode,
		"invalid field, fixed":       senseFixedInvalidField,
	} {
		t.Run(name, func(t *testing.T) {
			regs, err := Exec(checkCondition(t, sense), IdentifyDevice(), make([]byte, 512), devio.DirFromDevice, 0)
			if !errors.Is(err, devio.ErrUnsupported) {
				t.Fatalf("got %v, want devio.ErrUnsupported", err)
			}
			if errors.Is(err, ErrAborted) {
				t.Error("matched ErrAborted")
			}
			var se *scsi.StatusError
			if !errors.As(err, &se) || se.Sense.Key != scsi.IllegalRequest {
				t.Errorf("%v does not carry the ILLEGAL REQUEST sense", err)
			}
			if regs != (Registers{}) {
				t.Errorf("registers %+v, want zero", regs)
			}
		})
	}
}

func TestExecOtherFailures(t *testing.T) {
	transport := errors.New("sg_io: no such device")
	tests := []struct {
		name  string
		dev   *fakeSCSI
		cmd   Command
		check func(error) bool
	}{
		{"transport error", &fakeSCSI{err: transport}, SecurityErasePrepare(),
			func(err error) bool { return errors.Is(err, transport) }},
		{"unit attention", checkCondition(t, senseUnitAttention), SecurityErasePrepare(),
			func(err error) bool {
				var se *scsi.StatusError
				return errors.As(err, &se) && se.Sense.Key == scsi.UnitAttention && !errors.Is(err, devio.ErrUnsupported)
			}},
		{"check condition without sense", &fakeSCSI{res: devio.SCSIResult{Status: devio.StatusCheckCondition}}, SecurityErasePrepare(),
			func(err error) bool { var se *scsi.StatusError; return errors.As(err, &se) && !se.HasSense }},
		{"check condition with garbage sense", &fakeSCSI{res: devio.SCSIResult{Status: devio.StatusCheckCondition, Sense: make([]byte, 18)}}, SecurityErasePrepare(),
			func(err error) bool { var se *scsi.StatusError; return errors.As(err, &se) }},
		{"busy", &fakeSCSI{res: devio.SCSIResult{Status: devio.StatusBusy}}, SecurityErasePrepare(),
			func(err error) bool {
				var se *scsi.StatusError
				return errors.As(err, &se) && se.Status == devio.StatusBusy
			}},
		{"registers wanted, none returned", &fakeSCSI{res: devio.SCSIResult{Status: devio.StatusGood}}, ReadNativeMaxAddressExt(),
			func(err error) bool { return errors.Is(err, ErrNoRegisters) }},
		{"deferred error", checkCondition(t, "71 00 01 00 50 40 00 0a 80 00 00 00 00 1d 00 00 00 00"), ReadNativeMaxAddressExt(),
			func(err error) bool { var se *scsi.StatusError; return errors.As(err, &se) && se.Sense.Deferred() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Exec(tt.dev, tt.cmd, nil, devio.DirNone, 0)
			if err == nil || !tt.check(err) {
				t.Errorf("got %v", err)
			}
		})
	}
}

func TestExecChecksBuffers(t *testing.T) {
	dev := &fakeSCSI{res: devio.SCSIResult{Status: devio.StatusGood}}
	if _, err := Exec(dev, IdentifyDevice(), make([]byte, 511), devio.DirFromDevice, 0); err == nil {
		t.Error("511-byte buffer: want an error")
	}
	if _, err := Exec(dev, SecurityErasePrepare(), make([]byte, 512), devio.DirNone, 0); err == nil {
		t.Error("buffer for a non-data command: want an error")
	}
	if _, err := Exec(dev, IdentifyDevice(), make([]byte, 512), devio.DirNone, 0); err == nil {
		t.Error("direction mismatch: want an error")
	}
	if dev.calls != 0 {
		t.Errorf("device called %d times for invalid commands", dev.calls)
	}

	short := &fakeSCSI{res: devio.SCSIResult{Status: devio.StatusGood, Resid: 12}}
	if _, err := Exec(short, IdentifyDevice(), make([]byte, 512), devio.DirFromDevice, 0); err == nil || !strings.Contains(err.Error(), "short transfer") {
		t.Errorf("resid 12: got %v, want a short transfer error", err)
	}
}
