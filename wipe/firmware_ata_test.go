package wipe

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/decom-project/decom/internal/ata"
	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/drivesim"
)

// eraseUnitTimeout is the timeout the drive saw on SECURITY ERASE UNIT.
func eraseUnitTimeout(t *testing.T, log []drivesim.Entry) time.Duration {
	t.Helper()
	for _, e := range log {
		if e.Command == "SECURITY ERASE UNIT" {
			return e.Timeout
		}
	}
	t.Fatal("no SECURITY ERASE UNIT sent")
	return 0
}

// preparedErase checks that every SECURITY ERASE UNIT came right after an ERASE PREPARE.
func preparedErase(t *testing.T, cmds []string) {
	t.Helper()
	for i, c := range cmds {
		if c == "SECURITY ERASE UNIT" && (i == 0 || cmds[i-1] != "SECURITY ERASE PREPARE") {
			t.Errorf("SECURITY ERASE UNIT not immediately after SECURITY ERASE PREPARE: %q", cmds)
		}
	}
}

var senseFormats = map[string]drivesim.SenseFormat{"descriptor": drivesim.DescriptorSense, "fixed": drivesim.FixedSense}

func TestSanitizeATASecurityErase(t *testing.T) {
	for fname, format := range senseFormats {
		for _, tc := range []struct {
			tech    Technique
			mode    string
			pattern []byte
		}{
			{TechATASecurityErase, "normal", nil},
			{TechATASecurityEraseEnhanced, "enhanced", []byte{0x5A, 0xC3}},
		} {
			t.Run(fname+"/"+tc.mode, func(t *testing.T) {
				sim, data, d := newATASim(t, drivesim.ATAConfig{Security: true, EnhancedErase: true,
					EnhancedEraseMinutes: 300, ErasePattern: []byte{0x5A, 0xC3}, Sense: format})
				var events []Event
				rec := Sanitize(context.Background(), d, tc.tech, fastOptions(&events))
				wantCompleted(t, rec)
				wantCommands(t, "record", rec.Commands, []string{"IDENTIFY DEVICE", "SECURITY SET PASSWORD",
					"SECURITY ERASE PREPARE", "SECURITY ERASE UNIT (" + tc.mode + ")", "IDENTIFY DEVICE"})
				wantCommands(t, "drive log", sim.Commands(), []string{"IDENTIFY DEVICE", "SECURITY SET PASSWORD",
					"SECURITY ERASE PREPARE", "SECURITY ERASE UNIT", "IDENTIFY DEVICE"})
				preparedErase(t, sim.Commands())
				if tc.pattern == nil && !zeros(data) {
					t.Error("normal erase did not leave zeros")
				}
				if tc.pattern != nil && !bytes.Equal(data, bytes.Repeat(tc.pattern, fwSize/2)) {
					t.Error("enhanced erase did not leave the drive's pattern")
				}
				if st := sim.State(); st.SecurityEnabled || st.Locked {
					t.Errorf("security left %+v", st)
				}
				// The drive estimates 300 minutes for an enhanced erase: twice that and
				// half an hour. No estimate for a normal one: the 2 h floor.
				want := map[string]time.Duration{"normal": 2 * time.Hour, "enhanced": 630 * time.Minute}[tc.mode]
				if got := eraseUnitTimeout(t, sim.Log()); got != want {
					t.Errorf("ERASE UNIT timeout %v, want %v", got, want)
				}
				wantProgress(t, events, tc.tech, false)
			})
		}
	}
}

func TestSanitizeATASecurityEraseTimeoutOption(t *testing.T) {
	sim, _, d := newATASim(t, drivesim.ATAConfig{Security: true})
	o := fastOptions(new([]Event))
	o.Timeout = 7 * time.Hour
	wantCompleted(t, Sanitize(context.Background(), d, TechATASecurityErase, o))
	if got := eraseUnitTimeout(t, sim.Log()); got != 7*time.Hour {
		t.Errorf("timeout %v", got)
	}
}

func TestEraseTimeout(t *testing.T) {
	for _, tc := range []struct {
		o    FirmwareOptions
		est  ata.EraseTime
		want time.Duration
	}{
		{FirmwareOptions{}, ata.EraseTime{}, 2 * time.Hour},
		{FirmwareOptions{}, ata.EraseTime{Duration: 20 * time.Minute}, 2 * time.Hour},
		{FirmwareOptions{}, ata.EraseTime{Duration: 200 * time.Minute}, 430 * time.Minute},
		{FirmwareOptions{}, ata.EraseTime{Duration: 508 * time.Minute, Longer: true}, (4*508 + 30) * time.Minute},
		{FirmwareOptions{Timeout: time.Minute}, ata.EraseTime{Duration: 200 * time.Minute}, time.Minute},
	} {
		if got := eraseTimeout(tc.o, tc.est); got != tc.want {
			t.Errorf("eraseTimeout(%v, %+v) = %v, want %v", tc.o.Timeout, tc.est, got, tc.want)
		}
	}
}

// A drive whose security state forbids the erase is refused after IDENTIFY DEVICE, the
// only command it receives; its data are untouched.
func TestSanitizeATASecurityEraseRefusals(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tech  Technique
		cfg   drivesim.ATAConfig
		setup func(t *testing.T, sim *drivesim.ATA)
		want  string
	}{
		{"frozen", TechATASecurityEraseEnhanced, drivesim.ATAConfig{Security: true, EnhancedErase: true, Frozen: true},
			nil, "security is frozen: suspend/resume or power-cycle the drive"},
		{"locked", TechATASecurityErase, drivesim.ATAConfig{Security: true, UserPassword: []byte("owner"), Locked: true},
			nil, "locked with a password decom does not know"},
		{"unknown password", TechATASecurityErase, drivesim.ATAConfig{Security: true, UserPassword: []byte("owner")},
			nil, "already has a user password"},
		{"count expired", TechATASecurityErase, drivesim.ATAConfig{Security: true, UserPassword: []byte("owner")},
			expireCounter, "password attempt counter has expired: power-cycle the drive"},
		{"no enhanced erase", TechATASecurityEraseEnhanced, drivesim.ATAConfig{Security: true},
			nil, "does not offer the enhanced SECURITY ERASE UNIT"},
		{"no security", TechATASecurityErase, drivesim.ATAConfig{},
			nil, "does not implement the ATA Security feature set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, data, d := newATASim(t, tc.cfg)
			if tc.setup != nil {
				tc.setup(t, sim)
			}
			orig := bytes.Clone(data)
			before := len(sim.Commands())
			rec := Sanitize(context.Background(), d, tc.tech, fastOptions(new([]Event)))
			wantFailed(t, rec, tc.want)
			wantCommands(t, "drive log", sim.Commands()[before:], []string{"IDENTIFY DEVICE"})
			wantCommands(t, "record", rec.Commands, []string{"IDENTIFY DEVICE"})
			if !bytes.Equal(data, orig) {
				t.Error("a refused drive's data changed")
			}
		})
	}
}

// expireCounter spends the drive's five password attempts.
func expireCounter(t *testing.T, sim *drivesim.ATA) {
	for range 5 {
		if _, err := ata.Exec(sim, ata.SecurityErasePrepare(), nil, devio.DirNone, 0); err != nil {
			t.Fatal(err)
		}
		c, b, _ := ata.SecurityEraseUnit(ata.Password{Secret: []byte("guess")}, ata.NormalErase)
		if _, err := ata.Exec(sim, c, b, devio.DirToDevice, 0); !errors.Is(err, ata.ErrAborted) {
			t.Fatalf("wrong password: %v", err)
		}
	}
	if !sim.State().CountExpired {
		t.Fatal("counter not expired")
	}
}

// When the erase fails after the temporary password is set, SECURITY DISABLE PASSWORD
// takes it off again, and the error says whether that worked.
func TestSanitizeATASecurityEraseCleanup(t *testing.T) {
	for fname, format := range senseFormats {
		t.Run(fname+"/erase unit aborted", func(t *testing.T) {
			sim, data, d := newATASim(t, drivesim.ATAConfig{Security: true, Abort: []uint8{0xF4}, Sense: format})
			orig := bytes.Clone(data)
			rec := Sanitize(context.Background(), d, TechATASecurityErase, fastOptions(new([]Event)))
			wantFailed(t, rec, "SECURITY ERASE UNIT", "aborted by the device", "the temporary password was removed again")
			wantCommands(t, "drive log", sim.Commands(), []string{"IDENTIFY DEVICE", "SECURITY SET PASSWORD",
				"SECURITY ERASE PREPARE", "SECURITY ERASE UNIT", "SECURITY DISABLE PASSWORD"})
			preparedErase(t, sim.Commands())
			if log := sim.Log(); log[3].Result != "aborted" || log[4].Result != "ok" {
				t.Errorf("log %+v", log)
			}
			if st := sim.State(); st.SecurityEnabled {
				t.Error("the temporary password is still set")
			}
			if !bytes.Equal(data, orig) {
				t.Error("data changed")
			}
		})
	}
	t.Run("erase unit and disable password aborted", func(t *testing.T) {
		sim, _, d := newATASim(t, drivesim.ATAConfig{Security: true, Abort: []uint8{0xF4, 0xF6}})
		rec := Sanitize(context.Background(), d, TechATASecurityErase, fastOptions(new([]Event)))
		wantFailed(t, rec, "SECURITY ERASE UNIT", "removing the temporary password failed too", "master password")
		if !sim.State().SecurityEnabled {
			t.Error("the simulator should have kept the password")
		}
	})
	t.Run("erase prepare aborted", func(t *testing.T) {
		sim, _, d := newATASim(t, drivesim.ATAConfig{Security: true, Abort: []uint8{0xF3}})
		rec := Sanitize(context.Background(), d, TechATASecurityErase, fastOptions(new([]Event)))
		wantFailed(t, rec, "SECURITY ERASE PREPARE", "the temporary password was removed again")
		wantCommands(t, "drive log", sim.Commands(), []string{"IDENTIFY DEVICE", "SECURITY SET PASSWORD",
			"SECURITY ERASE PREPARE", "SECURITY DISABLE PASSWORD"})
		if sim.State().SecurityEnabled {
			t.Error("password left set")
		}
	})
	t.Run("set password refused", func(t *testing.T) {
		sim, _, d := newATASim(t, drivesim.ATAConfig{Security: true, Abort: []uint8{0xF1}})
		rec := Sanitize(context.Background(), d, TechATASecurityErase, fastOptions(new([]Event)))
		wantFailed(t, rec, "the drive refused to set a password")
		wantCommands(t, "drive log", sim.Commands(), []string{"IDENTIFY DEVICE", "SECURITY SET PASSWORD"})
	})
	t.Run("set password lost in transport", func(t *testing.T) {
		sim, _, d := newATASim(t, drivesim.ATAConfig{Security: true})
		d.SCSI = hooked{sim, failNth(0xF1, 1)}
		rec := Sanitize(context.Background(), d, TechATASecurityErase, fastOptions(new([]Event)))
		// The drive never saw it, but decom cannot know: it tries to remove the
		// password, which the drive refuses since none is set.
		wantFailed(t, rec, "setting a password", "DID_TIME_OUT", "removing the temporary password failed too")
		wantCommands(t, "drive log", sim.Commands(), []string{"IDENTIFY DEVICE", "SECURITY DISABLE PASSWORD"})
	})
}

// A drive that erases but leaves security enabled gets its password removed; the erase
// counts only once IDENTIFY DEVICE shows security disabled.
func TestSanitizeATASecurityEraseLeftEnabled(t *testing.T) {
	t.Run("disabled afterwards", func(t *testing.T) {
		sim, data, d := newATASim(t, drivesim.ATAConfig{Security: true, KeepSecurityEnabled: true})
		rec := Sanitize(context.Background(), d, TechATASecurityErase, fastOptions(new([]Event)))
		wantCompleted(t, rec)
		wantCommands(t, "record", rec.Commands, []string{"IDENTIFY DEVICE", "SECURITY SET PASSWORD",
			"SECURITY ERASE PREPARE", "SECURITY ERASE UNIT (normal)", "IDENTIFY DEVICE",
			"SECURITY DISABLE PASSWORD", "IDENTIFY DEVICE"})
		if sim.State().SecurityEnabled || !zeros(data) {
			t.Errorf("state %+v, zeros %v", sim.State(), zeros(data))
		}
	})
	t.Run("disable refused", func(t *testing.T) {
		sim, data, d := newATASim(t, drivesim.ATAConfig{Security: true, KeepSecurityEnabled: true, Abort: []uint8{0xF6}})
		rec := Sanitize(context.Background(), d, TechATASecurityErase, fastOptions(new([]Event)))
		wantFailed(t, rec, "left security enabled", "removing the temporary password failed", "master password")
		if !zeros(data) || !sim.State().SecurityEnabled {
			t.Error("the simulator should have erased and kept security enabled")
		}
	})
	t.Run("identify lost after the erase", func(t *testing.T) {
		sim, data, d := newATASim(t, drivesim.ATAConfig{Security: true})
		d.SCSI = hooked{sim, failNth(0xEC, 2)}
		rec := Sanitize(context.Background(), d, TechATASecurityErase, fastOptions(new([]Event)))
		wantFailed(t, rec, "reading IDENTIFY DEVICE afterwards failed")
		if !zeros(data) {
			t.Error("no erase")
		}
	})
	t.Run("identify lost after disabling", func(t *testing.T) {
		sim, _, d := newATASim(t, drivesim.ATAConfig{Security: true, KeepSecurityEnabled: true})
		d.SCSI = hooked{sim, failNth(0xEC, 3)}
		rec := Sanitize(context.Background(), d, TechATASecurityErase, fastOptions(new([]Event)))
		wantFailed(t, rec, "after SECURITY DISABLE PASSWORD, IDENTIFY DEVICE failed")
	})
	t.Run("identify lost before anything", func(t *testing.T) {
		sim, _, d := newATASim(t, drivesim.ATAConfig{Security: true})
		d.SCSI = hooked{sim, failNth(0xEC, 1)}
		rec := Sanitize(context.Background(), d, TechATASecurityErase, fastOptions(new([]Event)))
		wantFailed(t, rec, "reading the drive's security state")
		if len(sim.Commands()) != 0 {
			t.Errorf("sent %q", sim.Commands())
		}
	})
}

var ataSanitizes = []struct {
	tech Technique
	cmd  string
	// erased checks the media after the sanitize.
	erased func(got, orig []byte) bool
}{
	{TechATASanitizeBlock, "BLOCK ERASE EXT", func(got, _ []byte) bool { return zeros(got) }},
	{TechATASanitizeCrypto, "CRYPTO SCRAMBLE EXT", freshNoise},
	{TechATASanitizeOverwrite, "OVERWRITE EXT", func(got, _ []byte) bool { return zeros(got) }},
}

var allModes = drivesim.Modes{CryptoErase: true, BlockErase: true, Overwrite: true}

func TestSanitizeATASanitize(t *testing.T) {
	for fname, format := range senseFormats {
		for _, tc := range ataSanitizes {
			t.Run(fname+"/"+string(tc.tech), func(t *testing.T) {
				sim, data, d := newATASim(t, drivesim.ATAConfig{Sanitize: allModes, Sense: format})
				orig := bytes.Clone(data)
				var events []Event
				rec := Sanitize(context.Background(), d, tc.tech, fastOptions(&events))
				wantCompleted(t, rec)
				want := []string{"IDENTIFY DEVICE", "SANITIZE STATUS EXT", tc.cmd, "SANITIZE STATUS EXT (4 times)"}
				if format == drivesim.FixedSense {
					// Fixed-format sense data cannot carry the status: the translation
					// layer is switched to descriptor format before the sanitize starts,
					// and back at the end.
					want = []string{"IDENTIFY DEVICE", "SANITIZE STATUS EXT",
						"MODE SENSE(10) (control mode page)", "MODE SELECT(10) (control mode page, D_SENSE=1)",
						"SANITIZE STATUS EXT", tc.cmd, "SANITIZE STATUS EXT (4 times)",
						"MODE SELECT(10) (control mode page, D_SENSE=0)"}
				}
				wantCommands(t, "record", rec.Commands, want)
				if !tc.erased(data, orig) {
					t.Error("the media does not show the sanitize")
				}
				if st := sim.State(); !st.SanitizeCompleted || st.DescriptorSense != (format == drivesim.DescriptorSense) {
					t.Errorf("state after %+v", st)
				}
				wantProgress(t, events, tc.tech, true)
			})
		}
	}
}

func TestSanitizeATASanitizeRefusals(t *testing.T) {
	for _, tc := range []struct {
		name  string
		tech  Technique
		cfg   drivesim.ATAConfig
		setup func(t *testing.T, sim *drivesim.ATA)
		want  []string
	}{
		{"not offered", TechATASanitizeCrypto, drivesim.ATAConfig{Sanitize: drivesim.Modes{BlockErase: true}}, nil,
			[]string{"does not offer CRYPTO SCRAMBLE EXT"}},
		{"no sanitize at all", TechATASanitizeBlock, drivesim.ATAConfig{}, nil,
			[]string{"does not offer BLOCK ERASE EXT"}},
		{"locked", TechATASanitizeBlock, drivesim.ATAConfig{Sanitize: allModes, Security: true, UserPassword: []byte("x"), Locked: true}, nil,
			[]string{"locked"}},
		{"fixed sense that cannot be switched", TechATASanitizeBlock, drivesim.ATAConfig{Sanitize: allModes, Sense: drivesim.FixedSense, LockSenseFormat: true}, nil,
			[]string{"reading the sanitize status", "fixed-format sense data", "D_SENSE"}},
		{"registers not returned", TechATASanitizeBlock, drivesim.ATAConfig{Sanitize: allModes, IgnoreCKCond: true}, nil,
			[]string{"reading the sanitize status", "did not return the ATA registers"}},
		{"already in progress", TechATASanitizeBlock, drivesim.ATAConfig{Sanitize: allModes}, func(t *testing.T, sim *drivesim.ATA) {
			if _, err := ata.Exec(sim, ata.CryptoScrambleExt(0), nil, devio.DirNone, 0); err != nil {
				t.Fatal(err)
			}
		}, []string{"a sanitize is already in progress"}},
		{"sanitize frozen", TechATASanitizeBlock, drivesim.ATAConfig{Sanitize: allModes}, func(t *testing.T, sim *drivesim.ATA) {
			if _, err := ata.Exec(sim, ata.SanitizeFreezeLockExt(), nil, devio.DirNone, 0); err != nil {
				t.Fatal(err)
			}
		}, []string{"sanitize is frozen", "power-cycle"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, data, d := newATASim(t, tc.cfg)
			if tc.setup != nil {
				tc.setup(t, sim)
			}
			orig := bytes.Clone(data)
			before := len(sim.Commands())
			rec := Sanitize(context.Background(), d, tc.tech, fastOptions(new([]Event)))
			wantFailed(t, rec, tc.want...)
			for _, c := range sim.Commands()[before:] {
				if strings.HasSuffix(c, " EXT") && c != "SANITIZE STATUS EXT" {
					t.Errorf("sent %s to a drive it refused", c)
				}
			}
			if tc.setup == nil && !bytes.Equal(data, orig) {
				t.Error("data changed")
			}
		})
	}
}

func TestSanitizeATASanitizeFaults(t *testing.T) {
	for fname, format := range senseFormats {
		t.Run(fname+"/failed", func(t *testing.T) {
			sim, data, d := newATASim(t, drivesim.ATAConfig{Sanitize: allModes, Sense: format, Faults: drivesim.Faults{FailAt: 0.5}})
			orig := bytes.Clone(data)
			var events []Event
			rec := Sanitize(context.Background(), d, TechATASanitizeBlock, fastOptions(&events))
			wantFailed(t, rec, "the drive reports that the sanitize failed", "user data areas may not be sanitized")
			if !zeros(data[:fwSize/2]) || !bytes.Equal(data[fwSize/2:], orig[fwSize/2:]) {
				t.Error("the simulator should have erased exactly the first half")
			}
			if events[len(events)-1].Final {
				t.Error("a failed sanitize sent a final event")
			}
			if !sim.State().SanitizeFailed {
				t.Error("state")
			}
			// A drive in the failed state takes a new sanitize: the way out.
			sim.SetFaults(drivesim.Faults{})
			rec = Sanitize(context.Background(), d, TechATASanitizeBlock, fastOptions(new([]Event)))
			wantCompleted(t, rec)
			if !zeros(data) {
				t.Error("second sanitize did not erase")
			}
		})
	}
	for _, tc := range []struct {
		name   string
		faults drivesim.Faults
		want   string
	}{
		{"stalled", drivesim.Faults{StallAt: 0.5}, "has not moved from 50.0%"},
		{"regressed", drivesim.Faults{RegressAt: 0.5}, "went backwards, from 50.0% to 25.0%"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, _, d := newATASim(t, drivesim.ATAConfig{Sanitize: allModes, Faults: tc.faults})
			rec := Sanitize(context.Background(), d, TechATASanitizeOverwrite, fastOptions(new([]Event)))
			wantFailed(t, rec, tc.want)
			if !sim.State().SanitizeInProgress {
				t.Error("the simulator's sanitize should still be running")
			}
		})
	}
	t.Run("refused when started", func(t *testing.T) {
		sim, _, d := newATASim(t, drivesim.ATAConfig{Sanitize: allModes})
		// Something freezes sanitize between decom's status check and its command.
		d.SCSI = hooked{sim, func(cmd *devio.SCSICommand) error {
			if ataCode(cmd) == 0xB4 && cmd.CDB[4] == 0x12 {
				_, err := ata.Exec(sim, ata.SanitizeFreezeLockExt(), nil, devio.DirNone, 0)
				return err
			}
			return nil
		}}
		rec := Sanitize(context.Background(), d, TechATASanitizeBlock, fastOptions(new([]Event)))
		wantFailed(t, rec, "the drive refused BLOCK ERASE EXT", "sanitize is frozen")
	})
	t.Run("status lost in transport", func(t *testing.T) {
		sim, _, d := newATASim(t, drivesim.ATAConfig{Sanitize: allModes})
		d.SCSI = hooked{sim, failNth(0xB4, 4)}
		rec := Sanitize(context.Background(), d, TechATASanitizeBlock, fastOptions(new([]Event)))
		wantFailed(t, rec, "reading the sanitize status", "DID_TIME_OUT")
	})
	t.Run("earlier failure", func(t *testing.T) {
		sim, data, d := newATASim(t, drivesim.ATAConfig{Sanitize: allModes, Faults: drivesim.Faults{FailAt: 0.1}})
		if _, err := ata.Exec(sim, ata.BlockEraseExt(0), nil, devio.DirNone, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := ata.Exec(sim, ata.SanitizeStatusExt(), nil, devio.DirNone, 0); !errors.Is(err, ata.ErrAborted) {
			t.Fatal(err)
		}
		sim.SetFaults(drivesim.Faults{})
		rec := Sanitize(context.Background(), d, TechATASanitizeCrypto, fastOptions(new([]Event)))
		wantCompleted(t, rec)
		if zeros(data[:512]) {
			t.Error("no crypto erase")
		}
	})
}
