package drivesim

import (
	"bytes"
	"encoding/binary"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/decom-project/decom/internal/ata"
	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/scsi"
)

const simSize = 1 << 20 // 2048 sectors

// randomData is media full of non-zero bytes, so every erase shows.
func randomData(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7+3) | 0x01
	}
	return b
}

func newATA(t *testing.T, cfg ATAConfig) (*ATA, []byte) {
	t.Helper()
	data := randomData(simSize)
	cfg.Media, cfg.Size = Memory(data), simSize
	if cfg.Model == "" {
		cfg.Model, cfg.Serial, cfg.Firmware = "SIM SSD 1TB", "SIM0001", "FW01"
	}
	a, err := NewATA(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a, data
}

func identify(t *testing.T, d devio.SCSI) ata.Identify {
	t.Helper()
	buf := make([]byte, 512)
	if _, err := ata.Exec(d, ata.IdentifyDevice(), buf, devio.DirFromDevice, 0); err != nil {
		t.Fatal(err)
	}
	id, err := ata.ParseIdentify(buf)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// secCmd sends a security command built by one of ata's builders:
// secCmd(d)(ata.SecurityUnlock(pw)).
func secCmd(d devio.SCSI) func(ata.Command, []byte, error) error {
	return func(c ata.Command, block []byte, err error) error {
		if err != nil {
			return err
		}
		_, err = ata.Exec(d, c, block, devio.DirToDevice, 0)
		return err
	}
}

func setPassword(d devio.SCSI, pw string) error {
	return secCmd(d)(ata.SecuritySetPassword(ata.Password{Secret: []byte(pw)}, ata.SecurityHigh))
}

func eraseUnit(d devio.SCSI, pw string, mode ata.EraseMode) error {
	if _, err := ata.Exec(d, ata.SecurityErasePrepare(), nil, devio.DirNone, 0); err != nil {
		return err
	}
	return secCmd(d)(ata.SecurityEraseUnit(ata.Password{Secret: []byte(pw)}, mode))
}

func wantAborted(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, ata.ErrAborted) {
		t.Errorf("%s: got %v, want the command aborted", what, err)
	}
}

func TestATAIdentifyReflectsConfig(t *testing.T) {
	a, _ := newATA(t, ATAConfig{
		Model: "WDC WD40EFRX", Serial: "WD-123", Firmware: "82.00A82", RotationRate: 5400,
		Security: true, EnhancedErase: true, EraseMinutes: 400, EnhancedEraseMinutes: 600,
		Sanitize: Modes{BlockErase: true, Overwrite: true},
		HPA:      true, HiddenSectors: 48,
	})
	id := identify(t, a)
	if id.Model != "WDC WD40EFRX" || id.Serial != "WD-123" || id.Firmware != "82.00A82" || id.RotationRate != 5400 {
		t.Errorf("identity: %+v", id)
	}
	if !id.Checksummed || !id.LBA48 {
		t.Errorf("checksummed %v, 48-bit %v", id.Checksummed, id.LBA48)
	}
	if id.Sectors != simSize/512-48 {
		t.Errorf("sectors %d, want %d (the HPA hides 48)", id.Sectors, simSize/512-48)
	}
	s := id.Security
	if !s.Supported || s.Enabled || s.Locked || s.Frozen || s.CountExpired || !s.EnhancedEraseSupported {
		t.Errorf("security %+v", s)
	}
	if s.EraseTime.Duration != 400*time.Minute || s.EnhancedEraseTime.Duration != 600*time.Minute {
		t.Errorf("erase times %v, %v", s.EraseTime, s.EnhancedEraseTime)
	}
	if z := id.Sanitize; !z.Supported || !z.BlockErase || !z.Overwrite || z.CryptoScramble {
		t.Errorf("sanitize %+v", z)
	}
	if !id.HPASupported || !id.HPAEnabled {
		t.Errorf("hpa supported %v enabled %v", id.HPASupported, id.HPAEnabled)
	}

	buf := make([]byte, 36)
	res, err := a.Exec(&devio.SCSICommand{CDB: scsi.Inquiry(36), Dir: devio.DirFromDevice, Data: buf})
	if err != nil || scsi.Check(res) != nil {
		t.Fatal(err, res)
	}
	inq, err := scsi.ParseInquiry(buf)
	if err != nil || inq.Vendor != "ATA" || inq.Product != "WDC WD40EFRX" || inq.Revision != "0A82" {
		t.Errorf("inquiry %+v, %v", inq, err)
	}
	page := make([]byte, 572)
	res, err = a.Exec(&devio.SCSICommand{CDB: scsi.InquiryVPD(scsi.PageATAInformation, 572), Dir: devio.DirFromDevice, Data: page})
	if err != nil || scsi.Check(res) != nil {
		t.Fatal(err, res)
	}
	info, err := scsi.ParseATAInformation(page)
	if err != nil {
		t.Fatal(err)
	}
	if id2, err := ata.ParseIdentify(info.Identify); err != nil || id2.Serial != "WD-123" {
		t.Errorf("identify in the ATA Information page: %+v, %v", id2, err)
	}
}

// The ACS-3 security state machine: SEC1 → SET PASSWORD → SEC5; ERASE PREPARE must be
// the command right before ERASE UNIT; a wrong password costs an attempt, five expire the
// counter; a power cycle locks a drive with a password (SEC4); the right password erases
// and disables security.
func TestATASecurityStateMachine(t *testing.T) {
	a, data := newATA(t, ATAConfig{Security: true})
	orig := bytes.Clone(data)

	wantAborted(t, "ERASE UNIT with security disabled", eraseUnit(a, "pw", ata.NormalErase))
	if err := setPassword(a, "pw"); err != nil {
		t.Fatal(err)
	}
	if s := identify(t, a).Security; !s.Enabled || s.Locked {
		t.Fatalf("after SET PASSWORD: %+v", s)
	}

	// ERASE UNIT alone, and with a command between PREPARE and it, is aborted.
	wantAborted(t, "ERASE UNIT without PREPARE", secCmd(a)(ata.SecurityEraseUnit(ata.Password{Secret: []byte("pw")}, ata.NormalErase)))
	if _, err := ata.Exec(a, ata.SecurityErasePrepare(), nil, devio.DirNone, 0); err != nil {
		t.Fatal(err)
	}
	identify(t, a)
	wantAborted(t, "ERASE UNIT after PREPARE then IDENTIFY", secCmd(a)(ata.SecurityEraseUnit(ata.Password{Secret: []byte("pw")}, ata.NormalErase)))
	if !bytes.Equal(data, orig) {
		t.Fatal("an aborted ERASE UNIT changed the data")
	}

	// Wrong passwords: each costs an attempt; the fifth expires the counter, after which
	// even the right password is refused.
	for i := 1; i <= 5; i++ {
		wantAborted(t, "ERASE UNIT with a wrong password", eraseUnit(a, "wrong", ata.NormalErase))
		if got := a.State().PasswordAttempts; got != 5-i {
			t.Fatalf("after %d wrong passwords %d attempts left", i, got)
		}
	}
	if s := identify(t, a).Security; !s.CountExpired {
		t.Fatalf("count not expired: %+v", s)
	}
	wantAborted(t, "ERASE UNIT with the counter expired", eraseUnit(a, "pw", ata.NormalErase))

	// A power cycle resets the counter and locks the drive; UNLOCK opens it.
	a.PowerCycle()
	if s := identify(t, a).Security; !s.Locked || s.CountExpired {
		t.Fatalf("after power cycle: %+v", s)
	}
	wantAborted(t, "SET PASSWORD while locked", setPassword(a, "other"))
	wantAborted(t, "UNLOCK with a wrong password", secCmd(a)(ata.SecurityUnlock(ata.Password{Secret: []byte("nope")})))
	if err := secCmd(a)(ata.SecurityUnlock(ata.Password{Secret: []byte("pw")})); err != nil {
		t.Fatal(err)
	}

	if err := eraseUnit(a, "pw", ata.NormalErase); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, make([]byte, len(data))) {
		t.Error("normal erase did not leave zeros")
	}
	if s := identify(t, a).Security; s.Enabled || s.Locked {
		t.Errorf("after ERASE UNIT security is %+v, want disabled", s)
	}
	a.PowerCycle()
	if identify(t, a).Security.Locked {
		t.Error("a drive without a password locked itself at power-on")
	}
	want := []string{"SECURITY UNLOCK", "SECURITY ERASE PREPARE", "SECURITY ERASE UNIT", "IDENTIFY DEVICE", "IDENTIFY DEVICE"}
	if got := a.Commands(); !slices.Equal(got[len(got)-len(want):], want) {
		t.Errorf("log ends with %q", got[len(got)-len(want):])
	}
}

func TestATAEnhancedEraseAndMasterPassword(t *testing.T) {
	a, data := newATA(t, ATAConfig{Security: true, EnhancedErase: true, ErasePattern: []byte{0xDE, 0xAD}})
	if err := setPassword(a, "user"); err != nil {
		t.Fatal(err)
	}
	if _, err := ata.Exec(a, ata.SecurityErasePrepare(), nil, devio.DirNone, 0); err != nil {
		t.Fatal(err)
	}
	if err := secCmd(a)(ata.SecurityEraseUnit(ata.Password{Master: true, Secret: []byte("drivesim-master")}, ata.EnhancedErase)); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, bytes.Repeat([]byte{0xDE, 0xAD}, len(data)/2)) {
		t.Error("enhanced erase did not leave the vendor pattern")
	}

	b, _ := newATA(t, ATAConfig{Security: true})
	if err := setPassword(b, "user"); err != nil {
		t.Fatal(err)
	}
	wantAborted(t, "enhanced erase on a drive without it", eraseUnit(b, "user", ata.EnhancedErase))
}

func TestATAFrozen(t *testing.T) {
	a, data := newATA(t, ATAConfig{Security: true, Frozen: true})
	orig := bytes.Clone(data)
	if !identify(t, a).Security.Frozen {
		t.Fatal("not frozen")
	}
	pw := ata.Password{Secret: []byte("pw")}
	wantAborted(t, "SET PASSWORD", setPassword(a, "pw"))
	wantAborted(t, "UNLOCK", secCmd(a)(ata.SecurityUnlock(pw)))
	wantAborted(t, "DISABLE PASSWORD", secCmd(a)(ata.SecurityDisablePassword(pw)))
	_, err := ata.Exec(a, ata.SecurityErasePrepare(), nil, devio.DirNone, 0)
	wantAborted(t, "ERASE PREPARE", err)
	wantAborted(t, "ERASE UNIT", secCmd(a)(ata.SecurityEraseUnit(pw, ata.NormalErase)))
	// SECURITY FREEZE LOCK is the one security command a frozen drive processes.
	freeze := ata.Command{Command: 0xF5, Protocol: ata.NonData}
	if _, err := ata.Exec(a, freeze, nil, devio.DirNone, 0); err != nil {
		t.Errorf("FREEZE LOCK on a frozen drive: %v", err)
	}
	if !bytes.Equal(data, orig) {
		t.Error("a frozen drive changed its data")
	}
	a.PowerCycle()
	if identify(t, a).Security.Frozen {
		t.Error("still frozen after a power cycle")
	}
	if err := setPassword(a, "pw"); err != nil {
		t.Errorf("SET PASSWORD after the power cycle: %v", err)
	}
	a.Freeze()
	wantAborted(t, "DISABLE PASSWORD after Freeze", secCmd(a)(ata.SecurityDisablePassword(pw)))
}

func TestATAKeepSecurityEnabledAndAbortFaults(t *testing.T) {
	a, data := newATA(t, ATAConfig{Security: true, KeepSecurityEnabled: true})
	if err := setPassword(a, "pw"); err != nil {
		t.Fatal(err)
	}
	if err := eraseUnit(a, "pw", ata.NormalErase); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, make([]byte, len(data))) {
		t.Error("erase did not erase")
	}
	if !identify(t, a).Security.Enabled {
		t.Error("KeepSecurityEnabled: security was disabled")
	}
	if err := secCmd(a)(ata.SecurityDisablePassword(ata.Password{Secret: []byte("pw")})); err != nil {
		t.Fatal(err)
	}
	if identify(t, a).Security.Enabled {
		t.Error("DISABLE PASSWORD left security enabled")
	}

	b, bdata := newATA(t, ATAConfig{Security: true, Abort: []uint8{0xF4}})
	orig := bytes.Clone(bdata)
	if err := setPassword(b, "pw"); err != nil {
		t.Fatal(err)
	}
	wantAborted(t, "ERASE UNIT in Abort", eraseUnit(b, "pw", ata.NormalErase))
	if !bytes.Equal(bdata, orig) {
		t.Error("an aborted erase changed the data")
	}
}

func sanitizeStatus(t *testing.T, d devio.SCSI) (ata.SanitizeStatus, error) {
	t.Helper()
	regs, err := ata.Exec(d, ata.SanitizeStatusExt(), nil, devio.DirNone, 0)
	if err != nil {
		return ata.SanitizeStatus{}, err
	}
	return ata.ParseSanitizeStatus(regs)
}

func TestATASanitizeRunsInSimulatedTime(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cmd   func() ata.Command
		check func([]byte, []byte) bool
	}{
		{"block erase", func() ata.Command { return ata.BlockEraseExt(0) }, func(got, _ []byte) bool { return bytes.Equal(got, make([]byte, len(got))) }},
		{"crypto scramble", func() ata.Command { return ata.CryptoScrambleExt(0) }, func(got, orig []byte) bool {
			for s := 0; s < len(got); s += 512 {
				if bytes.Equal(got[s:s+512], orig[s:s+512]) || bytes.Equal(got[s:s+512], make([]byte, 512)) {
					return false
				}
			}
			return true
		}},
		{"overwrite", func() ata.Command {
			c, _ := ata.OverwriteExt(ata.Overwrite{Pattern: 0x11223344, Passes: 2, Invert: true}, 0)
			return c
		}, func(got, _ []byte) bool {
			// Two passes, inverted between them: the second (last) pass is inverted;
			// the pattern is written little-endian.
			return bytes.Equal(got, bytes.Repeat([]byte{^byte(0x44), ^byte(0x33), ^byte(0x22), ^byte(0x11)}, len(got)/4))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, data := newATA(t, ATAConfig{Security: true, Sanitize: Modes{CryptoErase: true, BlockErase: true, Overwrite: true}})
			orig := bytes.Clone(data)
			if _, err := ata.Exec(a, tc.cmd(), nil, devio.DirNone, 0); err != nil {
				t.Fatal(err)
			}
			// While it runs: IDENTIFY is processed, everything else aborted.
			identify(t, a)
			wantAborted(t, "SET PASSWORD during a sanitize", setPassword(a, "pw"))
			_, err := ata.Exec(a, ata.BlockEraseExt(0), nil, devio.DirNone, 0)
			wantAborted(t, "a second sanitize", err)

			var progress []float64
			for {
				st, err := sanitizeStatus(t, a)
				if err != nil {
					t.Fatal(err)
				}
				if !st.InProgress {
					if !st.CompletedWithoutError {
						t.Fatalf("ended without completing: %+v", st)
					}
					break
				}
				progress = append(progress, st.Progress)
			}
			if !slices.Equal(progress, []float64{0.25, 0.5, 0.75}) {
				t.Errorf("progress %v", progress)
			}
			if !tc.check(data, orig) {
				t.Error("the media does not show the sanitize's effect")
			}
			if err := setPassword(a, "pw"); err != nil {
				t.Errorf("after the sanitize: %v", err)
			}
		})
	}
}

func TestATASanitizeFaults(t *testing.T) {
	t.Run("fail", func(t *testing.T) {
		a, data := newATA(t, ATAConfig{Security: true, Sanitize: Modes{BlockErase: true}, Faults: Faults{FailAt: 0.5}})
		if _, err := ata.Exec(a, ata.BlockEraseExt(0), nil, devio.DirNone, 0); err != nil {
			t.Fatal(err)
		}
		if st, err := sanitizeStatus(t, a); err != nil || st.Progress != 0.25 {
			t.Fatalf("%+v %v", st, err)
		}
		_, err := sanitizeStatus(t, a)
		var ce *ata.CommandError
		if !errors.As(err, &ce) || !errors.Is(err, ata.ErrAborted) || ce.Registers.LBA&0xff != 1 {
			t.Fatalf("failed sanitize status: %v", err)
		}
		// Half the media was erased, the rest not.
		half := len(data) / 2
		if !bytes.Equal(data[:half], make([]byte, half)) || bytes.Equal(data[half:], make([]byte, half)) {
			t.Error("a sanitize failed at 50% should have erased exactly the first half")
		}
		wantAborted(t, "SET PASSWORD in the failed state", setPassword(a, "pw"))
		identify(t, a)
		if !a.State().SanitizeFailed {
			t.Error("state does not show the failure")
		}
		// Without FAILURE MODE, CLEAR does not leave the failed state.
		_, err = ata.Exec(a, ata.SanitizeStatusClearFailure(), nil, devio.DirNone, 0)
		wantAborted(t, "clear without failure mode", err)
	})
	t.Run("fail with failure mode, then clear", func(t *testing.T) {
		a, _ := newATA(t, ATAConfig{Security: true, Sanitize: Modes{BlockErase: true}, Faults: Faults{FailAt: 0.1}})
		if _, err := ata.Exec(a, ata.BlockEraseExt(ata.SanitizeFailureMode), nil, devio.DirNone, 0); err != nil {
			t.Fatal(err)
		}
		_, err := sanitizeStatus(t, a)
		wantAborted(t, "status of a failed sanitize", err)
		if _, err := ata.Exec(a, ata.SanitizeStatusClearFailure(), nil, devio.DirNone, 0); err != nil {
			t.Fatalf("clear: %v", err)
		}
		if err := setPassword(a, "pw"); err != nil {
			t.Errorf("after clear: %v", err)
		}
	})
	t.Run("stall", func(t *testing.T) {
		a, _ := newATA(t, ATAConfig{Sanitize: Modes{BlockErase: true}, Faults: Faults{StallAt: 0.6}})
		if _, err := ata.Exec(a, ata.BlockEraseExt(0), nil, devio.DirNone, 0); err != nil {
			t.Fatal(err)
		}
		var got []float64
		for range 6 {
			st, err := sanitizeStatus(t, a)
			if err != nil || !st.InProgress {
				t.Fatalf("%+v %v", st, err)
			}
			got = append(got, st.Progress)
		}
		p6 := float64(point(0.6)) / full
		if !slices.Equal(got, []float64{0.25, 0.5, p6, p6, p6, p6}) {
			t.Errorf("progress %v", got)
		}
	})
	t.Run("regress", func(t *testing.T) {
		a, _ := newATA(t, ATAConfig{Sanitize: Modes{BlockErase: true}, Faults: Faults{RegressAt: 0.5}})
		if _, err := ata.Exec(a, ata.BlockEraseExt(0), nil, devio.DirNone, 0); err != nil {
			t.Fatal(err)
		}
		var got []float64
		for {
			st, err := sanitizeStatus(t, a)
			if err != nil {
				t.Fatal(err)
			}
			if !st.InProgress {
				break
			}
			got = append(got, st.Progress)
		}
		if !slices.Equal(got, []float64{0.25, 0.5, 0.25, 0.5, 0.75}) {
			t.Errorf("progress %v", got)
		}
	})
	t.Run("frozen, locked, unsupported", func(t *testing.T) {
		a, _ := newATA(t, ATAConfig{Sanitize: Modes{BlockErase: true}})
		_, err := ata.Exec(a, ata.CryptoScrambleExt(0), nil, devio.DirNone, 0)
		wantAborted(t, "an operation the drive lacks", err)
		bad := ata.BlockEraseExt(0)
		bad.LBA = 0x1234
		_, err = ata.Exec(a, bad, nil, devio.DirNone, 0)
		wantAborted(t, "a wrong signature", err)
		if _, err := ata.Exec(a, ata.SanitizeFreezeLockExt(), nil, devio.DirNone, 0); err != nil {
			t.Fatal(err)
		}
		st, err := sanitizeStatus(t, a)
		if err != nil || !st.Frozen {
			t.Fatalf("%+v %v", st, err)
		}
		_, err = ata.Exec(a, ata.BlockEraseExt(0), nil, devio.DirNone, 0)
		var ce *ata.CommandError
		if !errors.As(err, &ce) || ce.Registers.LBA&0xff != 3 {
			t.Errorf("sanitize while frozen: %v", err)
		}

		b, _ := newATA(t, ATAConfig{Security: true, Sanitize: Modes{BlockErase: true}, UserPassword: []byte("pw"), Locked: true})
		_, err = ata.Exec(b, ata.BlockEraseExt(0), nil, devio.DirNone, 0)
		wantAborted(t, "sanitize of a locked drive", err)
	})
}

func TestATASenseFormats(t *testing.T) {
	a, _ := newATA(t, ATAConfig{Sanitize: Modes{BlockErase: true}, Sense: FixedSense})
	if _, err := ata.Exec(a, ata.BlockEraseExt(0), nil, devio.DirNone, 0); err != nil {
		t.Fatal(err)
	}
	regs, err := ata.Exec(a, ata.SanitizeStatusExt(), nil, devio.DirNone, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !regs.Partial || !regs.CountUpperNonZero || regs.LBA != 0x4000 {
		t.Errorf("fixed-format registers %+v", regs)
	}
	if _, err := ata.ParseSanitizeStatus(regs); !errors.Is(err, ata.ErrPartialRegisters) {
		t.Errorf("parse of fixed-format status: %v", err)
	}
	// Errors come back in fixed format too, with STATUS and ERROR.
	_, err = ata.Exec(a, ata.IdentifyDevice(), make([]byte, 512), devio.DirFromDevice, 0)
	if err != nil {
		t.Errorf("IDENTIFY during sanitize: %v", err)
	}
	_, err = ata.Exec(a, ata.ReadNativeMaxAddressExt(), nil, devio.DirNone, 0)
	var ce *ata.CommandError
	if !errors.As(err, &ce) || !ce.Registers.Partial || !errors.Is(err, ata.ErrAborted) {
		t.Errorf("aborted command in fixed format: %v", err)
	}

	// MODE SELECT of the control mode page switches to descriptor format.
	page := modeSense(t, a)
	if page[2]&dSense != 0 {
		t.Fatal("D_SENSE set in fixed mode")
	}
	page[2] |= dSense
	if res := modeSelect(t, a, page); scsi.Check(res) != nil {
		t.Fatalf("MODE SELECT: %v", scsi.Check(res))
	}
	regs, err = ata.Exec(a, ata.SanitizeStatusExt(), nil, devio.DirNone, 0)
	if err != nil || regs.Partial {
		t.Fatalf("after D_SENSE=1: %+v %v", regs, err)
	}
	if st, err := ata.ParseSanitizeStatus(regs); err != nil || !st.InProgress || st.Progress != 0.5 {
		t.Errorf("status %+v %v", st, err)
	}
	// Changing anything else is refused; a power cycle restores the power-on format.
	page[3] ^= 0x10
	if res := modeSelect(t, a, page); scsi.Check(res) == nil {
		t.Error("MODE SELECT changing another field was accepted")
	}
	a.PowerCycle()
	if a.State().DescriptorSense {
		t.Error("power cycle kept D_SENSE")
	}

	b, _ := newATA(t, ATAConfig{Sense: FixedSense, LockSenseFormat: true})
	page = modeSense(t, b)
	page[2] |= dSense
	if res := modeSelect(t, b, page); scsi.Check(res) == nil || b.State().DescriptorSense {
		t.Error("a locked sense format changed")
	}

	c, _ := newATA(t, ATAConfig{HPA: true, IgnoreCKCond: true})
	if _, err := ata.Exec(c, ata.ReadNativeMaxAddressExt(), nil, devio.DirNone, 0); !errors.Is(err, ata.ErrNoRegisters) {
		t.Errorf("IgnoreCKCond: %v", err)
	}
}

func modeSense(t *testing.T, d devio.SCSI) []byte {
	t.Helper()
	buf := make([]byte, 64)
	res, err := d.Exec(&devio.SCSICommand{CDB: []byte{opModeSense10, 0x08, pageControl, 0, 0, 0, 0, 0, 64, 0}, Dir: devio.DirFromDevice, Data: buf})
	if err != nil || scsi.Check(res) != nil {
		t.Fatal(err, res)
	}
	if binary.BigEndian.Uint16(buf[6:8]) != 0 || buf[8] != pageControl {
		t.Fatalf("mode data % x", buf[:20])
	}
	return bytes.Clone(buf[8:20])
}

func modeSelect(t *testing.T, d devio.SCSI, page []byte) devio.SCSIResult {
	t.Helper()
	params := append(make([]byte, 8), page...)
	res, err := d.Exec(&devio.SCSICommand{CDB: []byte{opModeSelect10, 0x10, 0, 0, 0, 0, 0, 0, byte(len(params)), 0}, Dir: devio.DirToDevice, Data: params})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestATAHostProtectedArea(t *testing.T) {
	a, _ := newATA(t, ATAConfig{HPA: true, HiddenSectors: 100})
	native := uint64(simSize/512 - 1)

	// SET MAX ADDRESS EXT must follow READ NATIVE MAX ADDRESS EXT immediately.
	_, err := ata.Exec(a, ata.SetMaxAddressExt(native, ata.Volatile), nil, devio.DirNone, 0)
	wantAborted(t, "SET MAX without READ NATIVE MAX", err)

	regs, err := ata.Exec(a, ata.ReadNativeMaxAddressExt(), nil, devio.DirNone, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := ata.MaxAddress(regs); err != nil || got != native {
		t.Fatalf("native max %d %v, want %d", got, err, native)
	}
	_, err = ata.Exec(a, ata.SetMaxAddressExt(native+1, ata.Volatile), nil, devio.DirNone, 0)
	var ce *ata.CommandError
	if !errors.As(err, &ce) || ce.Registers.Error != ataErrorIDNF {
		t.Errorf("SET MAX beyond the native max: %v", err)
	}
	if _, err := ata.Exec(a, ata.ReadNativeMaxAddressExt(), nil, devio.DirNone, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := ata.Exec(a, ata.SetMaxAddressExt(native, ata.Volatile), nil, devio.DirNone, 0); err != nil {
		t.Fatal(err)
	}
	if id := identify(t, a); id.Sectors != native+1 {
		t.Errorf("after SET MAX: %d sectors", id.Sectors)
	}
	a.PowerCycle()
	if id := identify(t, a); id.Sectors != native+1-100 {
		t.Errorf("a volatile SET MAX survived a power cycle: %d sectors", id.Sectors)
	}

	// Non-volatile sticks.
	if _, err := ata.Exec(a, ata.ReadNativeMaxAddressExt(), nil, devio.DirNone, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := ata.Exec(a, ata.SetMaxAddressExt(native-10, ata.NonVolatile), nil, devio.DirNone, 0); err != nil {
		t.Fatal(err)
	}
	a.PowerCycle()
	if st := a.State(); st.CurrentMaxLBA != native-10 || st.NativeMaxLBA != native {
		t.Errorf("non-volatile SET MAX: %+v", st)
	}

	b, _ := newATA(t, ATAConfig{HPA: true, HiddenSectors: 100, IgnoreSetMax: true})
	if _, err := ata.Exec(b, ata.ReadNativeMaxAddressExt(), nil, devio.DirNone, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := ata.Exec(b, ata.SetMaxAddressExt(native, ata.Volatile), nil, devio.DirNone, 0); err != nil {
		t.Fatal(err)
	}
	if id := identify(t, b); id.Sectors != native+1-100 {
		t.Errorf("IgnoreSetMax: %d sectors", id.Sectors)
	}

	c, _ := newATA(t, ATAConfig{})
	_, err = ata.Exec(c, ata.ReadNativeMaxAddressExt(), nil, devio.DirNone, 0)
	wantAborted(t, "READ NATIVE MAX without the HPA feature set", err)
}

func TestATALogAndBadCDBs(t *testing.T) {
	a, _ := newATA(t, ATAConfig{})
	identify(t, a)
	// A data-in command without a buffer is rejected by the translation layer.
	cdb, _ := ata.IdentifyDevice().CDB(devio.DirFromDevice)
	res, err := a.Exec(&devio.SCSICommand{CDB: cdb, Dir: devio.DirFromDevice, Data: nil})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := scsi.ParseSense(res.Sense); err != nil || !s.Unsupported() {
		t.Errorf("bad transfer: %v %v", s, err)
	}
	res, _ = a.Exec(&devio.SCSICommand{CDB: []byte{0xC0, 0, 0, 0, 0, 0}})
	if s, err := scsi.ParseSense(res.Sense); err != nil || s.ASC != 0x20 {
		t.Errorf("unknown opcode: %v %v", s, err)
	}
	log := a.Log()
	if len(log) != 3 || log[0].Command != "IDENTIFY DEVICE" || log[0].Result != "ok" || log[2].Command != "operation code 0xc0" {
		t.Errorf("log %+v", log)
	}
}

func TestATAAntifreezeAndConfig(t *testing.T) {
	a, _ := newATA(t, ATAConfig{Sanitize: Modes{CryptoErase: true}})
	if _, err := ata.Exec(a, ata.SanitizeAntifreezeLockExt(), nil, devio.DirNone, 0); err != nil {
		t.Fatal(err)
	}
	_, err := ata.Exec(a, ata.SanitizeFreezeLockExt(), nil, devio.DirNone, 0)
	var ce *ata.CommandError
	if !errors.As(err, &ce) || ce.Registers.LBA&0xff != 4 {
		t.Errorf("freeze lock after antifreeze: %v", err)
	}
	if st, err := sanitizeStatus(t, a); err != nil || !st.AntifreezeLocked || st.Frozen {
		t.Errorf("%+v %v", st, err)
	}

	for _, cfg := range []ATAConfig{
		{Media: Memory(make([]byte, 1000)), Size: 1000},
		{Media: Memory(make([]byte, 1024)), Size: 1024, HiddenSectors: 2},
		{Media: Memory(make([]byte, 1024)), Size: 1024, Locked: true},
		{Size: 1024},
	} {
		if _, err := NewATA(cfg); err == nil {
			t.Errorf("NewATA(%+v) accepted", cfg)
		}
	}
}

func TestMemory(t *testing.T) {
	b := []byte("0123456789")
	m := Memory(b)
	p := make([]byte, 4)
	if n, err := m.ReadAt(p, 8); n != 2 || err == nil || string(p[:2]) != "89" {
		t.Errorf("short read: %d %v %q", n, err, p)
	}
	if n, err := m.ReadAt(p, 2); n != 4 || err != nil || string(p) != "2345" {
		t.Errorf("read: %d %v %q", n, err, p)
	}
	if _, err := m.WriteAt([]byte("abc"), 8); err == nil {
		t.Error("write beyond the end accepted")
	}
	if _, err := m.WriteAt([]byte("ab"), 8); err != nil || string(b) != "01234567ab" {
		t.Errorf("write: %v %q", err, b)
	}
}
