package wipe

import (
	"bytes"
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/decom-project/decom/internal/ata"
	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/drivesim"
	"github.com/decom-project/decom/internal/loopdev"
	"github.com/decom-project/decom/internal/nvme"
	"github.com/decom-project/decom/internal/scsi"
)

// The firmware executors run against the drive simulator: the same devio interfaces as
// the kernel transports, a byte slice for media, and sanitizes that advance one step per
// status poll. PollInterval is a millisecond, so each test takes milliseconds.

const fwSize = 1 << 20

// userData is media full of non-zero bytes that differ from sector to sector, so every
// erase shows.
func userData() []byte {
	b := make([]byte, fwSize)
	for i := range b {
		b[i] = byte(i*13+i/512) | 0x80
	}
	return b
}

func zeros(b []byte) bool { return bytes.Equal(b, make([]byte, len(b))) }

// freshNoise reports whether every sector of got is neither what it was nor zeros: the
// result of a crypto erase.
func freshNoise(got, orig []byte) bool {
	for s := 0; s < len(got); s += 512 {
		if bytes.Equal(got[s:s+512], orig[s:s+512]) || zeros(got[s:s+512]) {
			return false
		}
	}
	return true
}

// fastOptions polls every millisecond, calls a sanitize stuck after 25 ms, and collects
// the progress events.
func fastOptions(events *[]Event) FirmwareOptions {
	return FirmwareOptions{
		PollInterval: time.Millisecond,
		StallTimeout: 25 * time.Millisecond,
		Progress:     func(e Event) { *events = append(*events, e) },
	}
}

func newATASim(t *testing.T, cfg drivesim.ATAConfig) (*drivesim.ATA, []byte, Drive) {
	t.Helper()
	data := userData()
	if cfg.Media == nil {
		cfg.Media, cfg.Size = drivesim.Memory(data), fwSize
	}
	cfg.Model, cfg.Serial, cfg.Firmware = "SIM ATA", "SIMA1", "FW1"
	sim, err := drivesim.NewATA(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sim, data, Drive{Path: "/dev/sim", SCSI: sim, Size: cfg.Size}
}

// hooked passes commands to a simulated drive, letting a test act before chosen ones,
// fail them as a transport would, or swallow them (errSwallow: GOOD status, and the drive
// never sees the command).
type hooked struct {
	devio.SCSI
	before func(cmd *devio.SCSICommand) error
}

func (h hooked) Exec(cmd *devio.SCSICommand) (devio.SCSIResult, error) {
	switch err := h.before(cmd); {
	case errors.Is(err, errSwallow):
		return devio.SCSIResult{Status: devio.StatusGood}, nil
	case err != nil:
		return devio.SCSIResult{}, err
	}
	return h.SCSI.Exec(cmd)
}

// ataCode returns the ATA command code of an ATA PASS-THROUGH(16) CDB, 0 for others.
func ataCode(cmd *devio.SCSICommand) byte {
	if len(cmd.CDB) == 16 && cmd.CDB[0] == scsi.OpATAPassThrough16 {
		return cmd.CDB[14]
	}
	return 0
}

// failNth fails the n-th ATA command with code code (from 1) in transport.
func failNth(code byte, n int) func(*devio.SCSICommand) error {
	seen := 0
	return func(cmd *devio.SCSICommand) error {
		if ataCode(cmd) == code {
			if seen++; seen == n {
				return errors.New("sg_io: DID_TIME_OUT")
			}
		}
		return nil
	}
}

func wantCommands(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

func wantCompleted(t *testing.T, rec FirmwareRecord) {
	t.Helper()
	if !rec.Completed || rec.Error != "" {
		t.Fatalf("not completed: %q", rec.Error)
	}
	if rec.Started.IsZero() || rec.Finished.Before(rec.Started) {
		t.Errorf("times %v %v", rec.Started, rec.Finished)
	}
}

func wantFailed(t *testing.T, rec FirmwareRecord, substrings ...string) {
	t.Helper()
	if rec.Completed {
		t.Fatalf("completed, want a failure mentioning %q", substrings)
	}
	if !strings.HasPrefix(rec.Error, string(rec.Technique)+": ") {
		t.Errorf("error %q does not name the technique", rec.Error)
	}
	for _, s := range substrings {
		if !strings.Contains(rec.Error, s) {
			t.Errorf("error %q does not say %q", rec.Error, s)
		}
	}
}

// wantProgress checks the events of a sanitize that advanced a quarter per poll.
func wantProgress(t *testing.T, events []Event, tech Technique, quarters bool) {
	t.Helper()
	var done []int64
	for _, e := range events {
		if e.Device != "/dev/sim" || e.Pass != 1 || e.Passes != 1 || e.Pattern != string(tech) || e.Size != fwSize {
			t.Fatalf("event %+v", e)
		}
		done = append(done, e.Done)
	}
	if len(events) == 0 || !events[len(events)-1].Final {
		t.Fatalf("no final event: %+v", events)
	}
	want := []int64{0, fwSize}
	if quarters {
		want = []int64{0, fwSize / 4, fwSize / 2, 3 * fwSize / 4, fwSize}
	}
	if !slices.Equal(done, want) {
		t.Errorf("progress %v, want %v", done, want)
	}
	for _, e := range events[:len(events)-1] {
		if e.Final {
			t.Errorf("final event before the end: %+v", events)
		}
	}
}

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

// Cancelling stops the polling, not the drive: the record says so.
func TestSanitizeCancelled(t *testing.T) {
	nvmeSim, _, nd := newNVMeSim(t, drivesim.NVMeConfig{SANICAP: 0x07, Step: 0.01})
	scsiSim, _, sd := newSCSISim(t, drivesim.SCSIConfig{Sanitize: allModes, Step: 0.01})
	ataSim, _, ad := newATASim(t, drivesim.ATAConfig{Sanitize: allModes, Step: 0.01})
	for _, tc := range []struct {
		tech    Technique
		d       Drive
		running func() bool
	}{
		{TechATASanitizeBlock, ad, func() bool { return ataSim.State().SanitizeInProgress }},
		{TechNVMeSanitizeBlock, nd, func() bool { return nvmeSim.State().SanitizeInProgress }},
		{TechSCSISanitizeBlock, sd, func() bool { r, _, _ := scsiSim.SanitizeState(); return r }},
	} {
		t.Run(string(tc.tech), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			o := fastOptions(new([]Event))
			o.Progress = func(e Event) {
				if e.Done > 0 {
					cancel()
				}
			}
			rec := Sanitize(ctx, tc.d, tc.tech, o)
			wantFailed(t, rec, "context canceled", "goes on with it by itself", "resumes after a power cycle")
			if !tc.running() {
				t.Error("the simulated sanitize should still be running")
			}
		})
	}
	t.Run("before the start", func(t *testing.T) {
		sim, _, d := newATASim(t, drivesim.ATAConfig{Sanitize: allModes})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		rec := Sanitize(ctx, d, TechATASanitizeBlock, fastOptions(new([]Event)))
		wantFailed(t, rec, "not started")
		if len(sim.Commands()) != 0 {
			t.Errorf("sent %q", sim.Commands())
		}
	})
}

func newNVMeSim(t *testing.T, cfg drivesim.NVMeConfig) (*drivesim.NVMe, []byte, Drive) {
	t.Helper()
	data := userData()
	cfg.Media, cfg.Size = drivesim.Memory(data), fwSize
	cfg.Model, cfg.Serial, cfg.Firmware = "SIM NVMe", "SIMN1", "FW1"
	sim, err := drivesim.NewNVMe(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sim, data, Drive{Path: "/dev/sim", NVMe: sim, NSID: 1, Size: fwSize}
}

func TestSanitizeNVMeFormat(t *testing.T) {
	for _, tc := range []struct {
		tech   Technique
		cmd    string
		simCmd string
		erased func(got, orig []byte) bool
	}{
		{TechNVMeFormatUserData, "Format NVM (user data erase)", "Format NVM (SES 1)", func(got, _ []byte) bool { return zeros(got) }},
		{TechNVMeFormatCrypto, "Format NVM (cryptographic erase)", "Format NVM (SES 2)", freshNoise},
	} {
		t.Run(string(tc.tech), func(t *testing.T) {
			sim, data, d := newNVMeSim(t, drivesim.NVMeConfig{OACS: 0x02, FNA: 0x04, Format: 1})
			orig := bytes.Clone(data)
			var events []Event
			rec := Sanitize(context.Background(), d, tc.tech, fastOptions(&events))
			wantCompleted(t, rec)
			wantCommands(t, "record", rec.Commands, []string{"Identify Controller", "Identify Namespace", tc.cmd})
			log := sim.Log()
			if last := log[len(log)-1]; last.Command != tc.simCmd || last.Timeout != 2*time.Hour {
				t.Errorf("format sent as %+v", last)
			}
			if !tc.erased(data, orig) {
				t.Error("the media does not show the format")
			}
			if sim.State().Format != 1 {
				t.Error("the format changed the namespace's LBA format")
			}
			wantProgress(t, events, tc.tech, false)
		})
	}
	t.Run("timeout option", func(t *testing.T) {
		sim, _, d := newNVMeSim(t, drivesim.NVMeConfig{OACS: 0x02})
		o := fastOptions(new([]Event))
		o.Timeout = 5 * time.Hour
		wantCompleted(t, Sanitize(context.Background(), d, TechNVMeFormatUserData, o))
		if log := sim.Log(); log[len(log)-1].Timeout != 5*time.Hour {
			t.Errorf("timeout %v", log[len(log)-1].Timeout)
		}
	})
	t.Run("secure erase reaching another namespace", func(t *testing.T) {
		sim, data, d := newNVMeSim(t, drivesim.NVMeConfig{OACS: 0x02, FNA: 0x06, Namespaces: 2})
		orig := bytes.Clone(data)
		rec := Sanitize(context.Background(), d, TechNVMeFormatCrypto, fastOptions(new([]Event)))
		wantFailed(t, rec, "the controller has 2 namespaces", "erases all of them")
		wantCommands(t, "drive log", sim.Commands(), []string{"Identify Controller", "Identify Active Namespace List"})
		if !bytes.Equal(data, orig) {
			t.Error("data changed")
		}
	})
	t.Run("one namespace, FNA all namespaces", func(t *testing.T) {
		sim, _, d := newNVMeSim(t, drivesim.NVMeConfig{OACS: 0x02, FNA: 0x03})
		wantCompleted(t, Sanitize(context.Background(), d, TechNVMeFormatUserData, fastOptions(new([]Event))))
		wantCommands(t, "drive log", sim.Commands(), []string{"Identify Controller", "Identify Active Namespace List", "Identify Namespace", "Format NVM (SES 1)"})
	})
	for _, tc := range []struct {
		name string
		tech Technique
		cfg  drivesim.NVMeConfig
		nsid uint32
		want []string
		sent []string
	}{
		{"crypto erase unsupported (FNA)", TechNVMeFormatCrypto, drivesim.NVMeConfig{OACS: 0x02}, 1,
			[]string{"not supported by the controller", "FNA bit 2"}, []string{"Identify Controller"}},
		{"no format (OACS)", TechNVMeFormatUserData, drivesim.NVMeConfig{}, 1,
			[]string{"not supported by the controller", "OACS bit 1"}, []string{"Identify Controller"}},
		{"crypto erase claimed but refused", TechNVMeFormatCrypto,
			drivesim.NVMeConfig{OACS: 0x02, FNA: 0x04, Status: map[uint8]uint16{nvme.OpFormatNVM: 0x4002}}, 1,
			[]string{"nvme-format-crypto-erase: not supported by the controller, which refused it", "invalid field"},
			[]string{"Identify Controller", "Identify Namespace", "Format NVM (SES 2)"}},
		{"inactive namespace", TechNVMeFormatUserData, drivesim.NVMeConfig{OACS: 0x02}, 5,
			[]string{"reading the namespace's format", "invalid namespace"}, []string{"Identify Controller", "Identify Namespace"}},
		{"namespace 0", TechNVMeFormatUserData, drivesim.NVMeConfig{OACS: 0x02}, 0,
			[]string{"namespace ID 0"}, []string{}},
		{"identify refused", TechNVMeFormatUserData, drivesim.NVMeConfig{OACS: 0x02, Status: map[uint8]uint16{nvme.OpIdentify: 0x0006}}, 1,
			[]string{"reading the controller's capabilities", "internal error"}, []string{"Identify Controller"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, data, d := newNVMeSim(t, tc.cfg)
			d.NSID = tc.nsid
			orig := bytes.Clone(data)
			rec := Sanitize(context.Background(), d, tc.tech, fastOptions(new([]Event)))
			wantFailed(t, rec, tc.want...)
			wantCommands(t, "drive log", sim.Commands(), tc.sent)
			if !bytes.Equal(data, orig) {
				t.Error("data changed")
			}
		})
	}
}

func TestSanitizeNVMeSanitize(t *testing.T) {
	for _, tc := range []struct {
		tech   Technique
		cmd    string
		erased func(got, orig []byte) bool
	}{
		{TechNVMeSanitizeCrypto, "Sanitize (crypto erase)", freshNoise},
		{TechNVMeSanitizeBlock, "Sanitize (block erase)", func(got, _ []byte) bool { return zeros(got) }},
		{TechNVMeSanitizeOverwrite, "Sanitize (overwrite)", func(got, _ []byte) bool { return zeros(got) }},
	} {
		t.Run(string(tc.tech), func(t *testing.T) {
			sim, data, d := newNVMeSim(t, drivesim.NVMeConfig{SANICAP: 0x07})
			orig := bytes.Clone(data)
			var events []Event
			rec := Sanitize(context.Background(), d, tc.tech, fastOptions(&events))
			wantCompleted(t, rec)
			wantCommands(t, "record", rec.Commands, []string{"Identify Controller", "Identify Active Namespace List",
				"Get Log Page (Sanitize Status)", tc.cmd, "Get Log Page (Sanitize Status) (4 times)"})
			if !tc.erased(data, orig) {
				t.Error("the media does not show the sanitize")
			}
			if !sim.State().SanitizeCompleted {
				t.Error("state")
			}
			wantProgress(t, events, tc.tech, true)
		})
	}
	for _, tc := range []struct {
		name  string
		cfg   drivesim.NVMeConfig
		setup func(t *testing.T, sim *drivesim.NVMe)
		want  []string
		sent  []string
	}{
		{"QEMU: no sanitize capabilities", drivesim.NVMeConfig{OACS: 0x02, QEMU: true}, nil,
			[]string{"nvme-sanitize-block-erase: not supported by the controller (SANICAP 0x0)"}, []string{"Identify Controller"}},
		{"QEMU answers, SANICAP claimed", drivesim.NVMeConfig{SANICAP: 0x07, QEMU: true}, nil,
			[]string{"sanitize status cannot be read", "invalid field"},
			[]string{"Identify Controller", "Identify Active Namespace List", "Get Log Page (Sanitize Status)"}},
		{"invalid opcode despite SANICAP", drivesim.NVMeConfig{SANICAP: 0x07, Status: map[uint8]uint16{nvme.OpSanitize: 0x4001}}, nil,
			[]string{"nvme-sanitize-block-erase: not supported by the controller, which refused it", "invalid command opcode"},
			[]string{"Identify Controller", "Identify Active Namespace List", "Get Log Page (Sanitize Status)", "Sanitize (block erase)"}},
		{"action not in SANICAP", drivesim.NVMeConfig{SANICAP: 0x01}, nil,
			[]string{"not supported by the controller (SANICAP 0x1)"}, []string{"Identify Controller"}},
		{"several namespaces", drivesim.NVMeConfig{SANICAP: 0x07, Namespaces: 3}, nil,
			[]string{"the controller has 3 namespaces", "whole NVM subsystem"}, []string{"Identify Controller", "Identify Active Namespace List"}},
		{"already in progress", drivesim.NVMeConfig{SANICAP: 0x07}, func(t *testing.T, sim *drivesim.NVMe) {
			c, _ := nvme.Sanitize(nvme.SanitizeOptions{Action: nvme.SanitizeCryptoErase})
			if _, err := nvme.Exec(sim, c); err != nil {
				t.Fatal(err)
			}
		}, []string{"a sanitize is already in progress"},
			[]string{"Sanitize (crypto erase)", "Identify Controller", "Identify Active Namespace List", "Get Log Page (Sanitize Status)"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, _, d := newNVMeSim(t, tc.cfg)
			if tc.setup != nil {
				tc.setup(t, sim)
			}
			rec := Sanitize(context.Background(), d, TechNVMeSanitizeBlock, fastOptions(new([]Event)))
			wantFailed(t, rec, tc.want...)
			wantCommands(t, "drive log", sim.Commands(), tc.sent)
		})
	}
	for _, tc := range []struct {
		name   string
		faults drivesim.Faults
		want   string
	}{
		{"failed", drivesim.Faults{FailAt: 0.5}, "the controller reports that the sanitize failed"},
		{"stalled", drivesim.Faults{StallAt: 0.5}, "has not moved from 50.0%"},
		{"regressed", drivesim.Faults{RegressAt: 0.75}, "went backwards, from 75.0% to 50.0%"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, d := newNVMeSim(t, drivesim.NVMeConfig{SANICAP: 0x07, Faults: tc.faults})
			wantFailed(t, Sanitize(context.Background(), d, TechNVMeSanitizeCrypto, fastOptions(new([]Event))), tc.want)
		})
	}
	t.Run("status page vanishes", func(t *testing.T) {
		sim, _, d := newNVMeSim(t, drivesim.NVMeConfig{SANICAP: 0x07})
		reads := 0
		d.NVMe = nvmeHook{sim, func(cmd *devio.NVMeAdminCommand) error {
			if cmd.Opcode == nvme.OpGetLogPage {
				if reads++; reads == 3 {
					return &devio.NVMeStatusError{Status: 0x0006}
				}
			}
			return nil
		}}
		wantFailed(t, Sanitize(context.Background(), d, TechNVMeSanitizeBlock, fastOptions(new([]Event))),
			"reading the sanitize status", "internal error")
	})
	t.Run("stale completion of another sanitize", func(t *testing.T) {
		sim, _, d := newNVMeSim(t, drivesim.NVMeConfig{SANICAP: 0x07, Step: 1})
		c, _ := nvme.Sanitize(nvme.SanitizeOptions{Action: nvme.SanitizeBlockErase})
		if _, err := nvme.Exec(sim, c); err != nil {
			t.Fatal(err)
		}
		if st, err := nvme.ReadSanitizeStatus(sim); err != nil || st.State != nvme.SanitizeCompleted {
			t.Fatal(st, err)
		}
		d.NVMe = nvmeHook{sim, func(cmd *devio.NVMeAdminCommand) error {
			if cmd.Opcode == nvme.OpSanitize {
				return errSwallow
			}
			return nil
		}}
		wantFailed(t, Sanitize(context.Background(), d, TechNVMeSanitizeCrypto, fastOptions(new([]Event))),
			"a completed sanitize, but of another kind (block erase): the crypto erase decom started never ran")
	})
	t.Run("never sanitized after the command", func(t *testing.T) {
		sim, _, d := newNVMeSim(t, drivesim.NVMeConfig{SANICAP: 0x07})
		// A controller that accepts Sanitize and does nothing.
		d.NVMe = nvmeHook{sim, func(cmd *devio.NVMeAdminCommand) error {
			if cmd.Opcode == nvme.OpSanitize {
				return errSwallow
			}
			return nil
		}}
		wantFailed(t, Sanitize(context.Background(), d, TechNVMeSanitizeBlock, fastOptions(new([]Event))),
			"no sanitize in progress and none completed (never sanitized)")
	})
}

var errSwallow = errors.New("swallowed")

// nvmeHook passes admin commands to a simulated controller, letting a test fail them
// (with an NVMe status, as the controller would) or swallow them (errSwallow: the command
// completes successfully without reaching the controller).
type nvmeHook struct {
	devio.NVMe
	before func(*devio.NVMeAdminCommand) error
}

func (h nvmeHook) Admin(cmd *devio.NVMeAdminCommand) (uint32, error) {
	switch err := h.before(cmd); {
	case errors.Is(err, errSwallow):
		return 0, nil
	case err != nil:
		return 0, err
	}
	return h.NVMe.Admin(cmd)
}

func newSCSISim(t *testing.T, cfg drivesim.SCSIConfig) (*drivesim.SCSI, []byte, Drive) {
	t.Helper()
	data := userData()
	cfg.Media, cfg.Size = drivesim.Memory(data), fwSize
	cfg.Vendor, cfg.Product, cfg.Revision, cfg.Serial = "SIM", "SAS DISK", "0001", "SIMS1"
	sim, err := drivesim.NewSCSI(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sim, data, Drive{Path: "/dev/sim", SCSI: sim, Size: fwSize}
}

func TestSanitizeSCSI(t *testing.T) {
	for _, tc := range []struct {
		tech   Technique
		cmd    string
		erased func(got, orig []byte) bool
	}{
		{TechSCSISanitizeCrypto, "SANITIZE (CRYPTOGRAPHIC ERASE, IMMED)", freshNoise},
		{TechSCSISanitizeBlock, "SANITIZE (BLOCK ERASE, IMMED)", func(got, _ []byte) bool { return zeros(got) }},
		{TechSCSISanitizeOverwrite, "SANITIZE (OVERWRITE, IMMED)", func(got, _ []byte) bool { return zeros(got) }},
	} {
		for fname, format := range senseFormats {
			t.Run(fname+"/"+string(tc.tech), func(t *testing.T) {
				sim, data, d := newSCSISim(t, drivesim.SCSIConfig{Sanitize: allModes, Sense: format})
				orig := bytes.Clone(data)
				var events []Event
				rec := Sanitize(context.Background(), d, tc.tech, fastOptions(&events))
				wantCompleted(t, rec)
				wantCommands(t, "record", rec.Commands, []string{"REPORT SUPPORTED OPERATION CODES (SANITIZE)",
					"REQUEST SENSE", tc.cmd, "REQUEST SENSE (4 times)"})
				if !tc.erased(data, orig) {
					t.Error("the media does not show the sanitize")
				}
				wantProgress(t, events, tc.tech, true)
				if running, _, failed := sim.SanitizeState(); running || failed {
					t.Error("state")
				}
			})
		}
	}
	for _, tc := range []struct {
		name  string
		tech  Technique
		cfg   drivesim.SCSIConfig
		setup func(t *testing.T, sim *drivesim.SCSI)
		want  []string
		sent  []string
	}{
		{"not reported", TechSCSISanitizeBlock, drivesim.SCSIConfig{Sanitize: drivesim.Modes{CryptoErase: true}}, nil,
			[]string{"scsi-sanitize-block-erase: not supported by the drive (REPORT SUPPORTED OPERATION CODES)"},
			[]string{"REPORT SUPPORTED OPERATION CODES"}},
		{"refused without a report", TechSCSISanitizeBlock, drivesim.SCSIConfig{Sanitize: drivesim.Modes{CryptoErase: true}, NoReportOpcodes: true}, nil,
			[]string{"not supported by the drive, which refused it", "invalid field in cdb"},
			[]string{"REPORT SUPPORTED OPERATION CODES", "REQUEST SENSE", "SANITIZE (BLOCK ERASE)"}},
		{"already in progress", TechSCSISanitizeBlock, drivesim.SCSIConfig{Sanitize: allModes}, func(t *testing.T, sim *drivesim.SCSI) {
			cdb, _ := scsi.Sanitize(scsi.SanitizeCryptoErase, scsi.SanitizeImmed)
			if res, err := sim.Exec(&devio.SCSICommand{CDB: cdb}); err != nil || res.Status != 0 {
				t.Fatal(err, res)
			}
		}, []string{"a sanitize is already in progress on the drive (25.0%)"},
			[]string{"SANITIZE (CRYPTOGRAPHIC ERASE)", "REPORT SUPPORTED OPERATION CODES", "REQUEST SENSE"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, _, d := newSCSISim(t, tc.cfg)
			if tc.setup != nil {
				tc.setup(t, sim)
			}
			rec := Sanitize(context.Background(), d, tc.tech, fastOptions(new([]Event)))
			wantFailed(t, rec, tc.want...)
			wantCommands(t, "drive log", sim.Commands(), tc.sent)
		})
	}
	t.Run("no report, supported", func(t *testing.T) {
		_, data, d := newSCSISim(t, drivesim.SCSIConfig{Sanitize: allModes, NoReportOpcodes: true})
		wantCompleted(t, Sanitize(context.Background(), d, TechSCSISanitizeBlock, fastOptions(new([]Event))))
		if !zeros(data) {
			t.Error("no erase")
		}
	})
	for _, tc := range []struct {
		name   string
		faults drivesim.Faults
		want   string
	}{
		{"failed", drivesim.Faults{FailAt: 0.5}, "the drive reports that the sanitize failed (SANITIZE COMMAND FAILED)"},
		{"stalled", drivesim.Faults{StallAt: 0.5}, "has not moved from 50.0%"},
		{"regressed", drivesim.Faults{RegressAt: 0.5}, "went backwards, from 50.0% to 25.0%"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, d := newSCSISim(t, drivesim.SCSIConfig{Sanitize: allModes, Faults: tc.faults})
			wantFailed(t, Sanitize(context.Background(), d, TechSCSISanitizeBlock, fastOptions(new([]Event))), tc.want)
		})
	}
	t.Run("no progress indication", func(t *testing.T) {
		sim, data, d := newSCSISim(t, drivesim.SCSIConfig{Sanitize: allModes})
		d.SCSI = &silentProgress{SCSI: sim}
		var events []Event
		wantCompleted(t, Sanitize(context.Background(), d, TechSCSISanitizeBlock, fastOptions(&events)))
		wantProgress(t, events, TechSCSISanitizeBlock, true)
		if !zeros(data) {
			t.Error("no erase")
		}
	})
	t.Run("request sense lost", func(t *testing.T) {
		sim, _, d := newSCSISim(t, drivesim.SCSIConfig{Sanitize: allModes})
		n := 0
		d.SCSI = hooked{sim, func(cmd *devio.SCSICommand) error {
			if cmd.CDB[0] == scsi.OpRequestSense {
				if n++; n == 3 {
					return errors.New("sg_io: DID_NO_CONNECT")
				}
			}
			return nil
		}}
		wantFailed(t, Sanitize(context.Background(), d, TechSCSISanitizeBlock, fastOptions(new([]Event))), "REQUEST SENSE", "DID_NO_CONNECT")
	})
}

// silentProgress answers REQUEST SENSE calls 2 to 5 with NOT READY, SANITIZE IN PROGRESS
// without a progress indication, 10 ms apart: longer than the stall timeout in all, which
// must not count as a stall since the drive never said how far it was.
type silentProgress struct {
	devio.SCSI
	n int
}

func (s *silentProgress) Exec(cmd *devio.SCSICommand) (devio.SCSIResult, error) {
	if cmd.CDB[0] == scsi.OpRequestSense {
		if s.n++; s.n >= 2 && s.n <= 5 {
			time.Sleep(10 * time.Millisecond)
			sense := []byte{0x70, 0, 0x02, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x04, 0x1b, 0, 0, 0, 0}
			return devio.SCSIResult{Resid: len(cmd.Data) - copy(cmd.Data, sense)}, nil
		}
	}
	return s.SCSI.Exec(cmd)
}

// nullMedia is media nobody reads: for drives too large for memory whose data no test
// looks at.
type nullMedia struct{}

func (nullMedia) ReadAt(p []byte, _ int64) (int, error)  { clear(p); return len(p), nil }
func (nullMedia) WriteAt(p []byte, _ int64) (int, error) { return len(p), nil }

func TestRemoveHPA(t *testing.T) {
	const sectors = fwSize / 512
	for fname, format := range senseFormats {
		t.Run(fname, func(t *testing.T) {
			sim, _, d := newATASim(t, drivesim.ATAConfig{HPA: true, HiddenSectors: 100, Sense: format})
			before, after, err := RemoveHPA(d)
			if err != nil {
				t.Fatal(err)
			}
			if before.CurrentMaxLBA != sectors-101 || before.NativeMaxLBA != sectors-1 || before.HiddenSectors != 100 || !before.Supported || !before.Enabled {
				t.Errorf("before %+v", before)
			}
			if after.CurrentMaxLBA != sectors-1 || after.NativeMaxLBA != sectors-1 || after.HiddenSectors != 0 {
				t.Errorf("after %+v", after)
			}
			// A small drive's native max fits in fixed-format sense data: no switch.
			wantCommands(t, "drive log", sim.Commands(), []string{"IDENTIFY DEVICE", "READ NATIVE MAX ADDRESS EXT",
				"SET MAX ADDRESS EXT", "IDENTIFY DEVICE"})
			// Volatile: the area is back after a power cycle.
			sim.PowerCycle()
			if st := sim.State(); st.CurrentMaxLBA != sectors-101 {
				t.Errorf("after a power cycle %+v", st)
			}
		})
	}
	t.Run("large drive, fixed sense", func(t *testing.T) {
		const size = 16 << 30
		sim, _, d := newATASim(t, drivesim.ATAConfig{Media: nullMedia{}, Size: size, HPA: true, HiddenSectors: 1 << 20, Sense: drivesim.FixedSense})
		before, after, err := RemoveHPA(d)
		if err != nil {
			t.Fatal(err)
		}
		if before.NativeMaxLBA != size/512-1 || before.HiddenSectors != 1<<20 || after.HiddenSectors != 0 {
			t.Errorf("before %+v after %+v", before, after)
		}
		// READ NATIVE MAX ADDRESS EXT is sent again after the switch, so that SET MAX
		// ADDRESS EXT immediately follows it.
		wantCommands(t, "drive log", sim.Commands(), []string{"IDENTIFY DEVICE", "READ NATIVE MAX ADDRESS EXT",
			"MODE SENSE(10)", "MODE SELECT(10)", "READ NATIVE MAX ADDRESS EXT", "SET MAX ADDRESS EXT",
			"IDENTIFY DEVICE", "MODE SELECT(10)"})
		if sim.State().DescriptorSense {
			t.Error("sense format not restored")
		}
	})
	t.Run("large drive, fixed sense locked", func(t *testing.T) {
		_, _, d := newATASim(t, drivesim.ATAConfig{Media: nullMedia{}, Size: 16 << 30, HPA: true, HiddenSectors: 8,
			Sense: drivesim.FixedSense, LockSenseFormat: true})
		if _, _, err := RemoveHPA(d); err == nil || !strings.Contains(err.Error(), "fixed-format sense data") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("nothing hidden", func(t *testing.T) {
		sim, _, d := newATASim(t, drivesim.ATAConfig{HPA: true})
		before, after, err := RemoveHPA(d)
		if err != nil || before != after || before.HiddenSectors != 0 || before.NativeMaxLBA != sectors-1 {
			t.Errorf("%+v %+v %v", before, after, err)
		}
		wantCommands(t, "drive log", sim.Commands(), []string{"IDENTIFY DEVICE", "READ NATIVE MAX ADDRESS EXT"})
	})
	t.Run("no HPA feature set", func(t *testing.T) {
		sim, _, d := newATASim(t, drivesim.ATAConfig{})
		before, after, err := RemoveHPA(d)
		if err != nil || before.Supported || before != after || before.CurrentMaxLBA != sectors-1 {
			t.Errorf("%+v %+v %v", before, after, err)
		}
		wantCommands(t, "drive log", sim.Commands(), []string{"IDENTIFY DEVICE"})
	})
	t.Run("SET MAX refused", func(t *testing.T) {
		sim, _, d := newATASim(t, drivesim.ATAConfig{HPA: true, HiddenSectors: 100, Abort: []uint8{0x37}})
		before, after, err := RemoveHPA(d)
		if err == nil || !strings.Contains(err.Error(), "refused SET MAX ADDRESS EXT") || !strings.Contains(err.Error(), "100 sectors") {
			t.Fatalf("got %v", err)
		}
		if after != before || after.HiddenSectors != 100 {
			t.Errorf("after %+v", after)
		}
		if st := sim.State(); st.CurrentMaxLBA != sectors-101 {
			t.Errorf("state %+v", st)
		}
	})
	t.Run("SET MAX ignored", func(t *testing.T) {
		_, _, d := newATASim(t, drivesim.ATAConfig{HPA: true, HiddenSectors: 100, IgnoreSetMax: true})
		_, after, err := RemoveHPA(d)
		if err == nil || !strings.Contains(err.Error(), "still hides 100 sectors") || after.HiddenSectors != 100 {
			t.Errorf("got %+v %v", after, err)
		}
	})
	t.Run("READ NATIVE MAX refused", func(t *testing.T) {
		_, _, d := newATASim(t, drivesim.ATAConfig{HPA: true, HiddenSectors: 100, Abort: []uint8{0x27}})
		if _, _, err := RemoveHPA(d); !errors.Is(err, ata.ErrAborted) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("IDENTIFY lost", func(t *testing.T) {
		for n, want := range map[int]string{1: "remove HPA: ata: IDENTIFY DEVICE", 2: "after SET MAX ADDRESS EXT"} {
			sim, _, d := newATASim(t, drivesim.ATAConfig{HPA: true, HiddenSectors: 100})
			d.SCSI = hooked{sim, failNth(0xEC, n)}
			if _, _, err := RemoveHPA(d); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("IDENTIFY %d lost: %v", n, err)
			}
		}
	})
	t.Run("no interface", func(t *testing.T) {
		if _, _, err := RemoveHPA(Drive{Path: "/dev/nvme0n1"}); err == nil {
			t.Error("no error")
		}
	})
}

func TestSanitizeWrongTechniqueOrInterface(t *testing.T) {
	_, _, ad := newATASim(t, drivesim.ATAConfig{})
	_, _, nd := newNVMeSim(t, drivesim.NVMeConfig{})
	for _, tc := range []struct {
		d    Drive
		tech Technique
		want string
	}{
		{ad, TechOverwrite, `"overwrite" is not a firmware technique`},
		{ad, "", `"" is not a firmware technique`},
		{ad, TechSecureDiscard, "SecureDiscard"},
		{nd, TechATASecurityErase, "no SCSI/ATA command interface"},
		{ad, TechNVMeSanitizeCrypto, "no NVMe command interface"},
	} {
		rec := Sanitize(context.Background(), tc.d, tc.tech, FirmwareOptions{})
		if rec.Completed || !strings.Contains(rec.Error, tc.want) || rec.Technique != tc.tech || rec.Commands == nil {
			t.Errorf("%s: %+v", tc.tech, rec)
		}
	}
}

func TestFirmwareOptionsDefaults(t *testing.T) {
	o := FirmwareOptions{}.withDefaults()
	if o.PollInterval != 2*time.Second || o.StallTimeout != 30*time.Minute || o.Logger == nil {
		t.Errorf("%+v", o)
	}
}

// Secure discard can only be tried on a loop device, which has no secure erase: the
// kernel answers EOPNOTSUPP, and nothing is written.
func TestSecureDiscardLoopDevice(t *testing.T) {
	const size = 4 << 20
	l := loopdev.New(t, size, false, fillRandom)
	f, err := os.OpenFile(l.Path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	before := readBack(t, l.Path, size)
	err = SecureDiscard(f, size)
	if !errors.Is(err, unix.EOPNOTSUPP) || !strings.Contains(err.Error(), "does not offer secure erase") {
		t.Errorf("got %v", err)
	}
	if !bytes.Equal(readBack(t, l.Path, size), before) {
		t.Error("the device changed")
	}
	if err := SecureDiscard(f, 0); err == nil {
		t.Error("size 0 accepted")
	}
}

// Branches where the drive or the transport misbehaves between decom's checks and its
// commands.
func TestSanitizeMisbehaviour(t *testing.T) {
	t.Run("ATA: password disable ignored", func(t *testing.T) {
		sim, _, d := newATASim(t, drivesim.ATAConfig{Security: true, KeepSecurityEnabled: true})
		d.SCSI = hooked{sim, func(cmd *devio.SCSICommand) error {
			if ataCode(cmd) == 0xF6 {
				return errSwallow
			}
			return nil
		}}
		wantFailed(t, Sanitize(context.Background(), d, TechATASecurityErase, fastOptions(new([]Event))),
			"keeps security enabled even after SECURITY DISABLE PASSWORD", "master password")
	})
	t.Run("ATA: sanitize command swallowed", func(t *testing.T) {
		sim, _, d := newATASim(t, drivesim.ATAConfig{Sanitize: allModes})
		d.SCSI = hooked{sim, func(cmd *devio.SCSICommand) error {
			if ataCode(cmd) == 0xB4 && cmd.CDB[4] == 0x12 {
				return errSwallow
			}
			return nil
		}}
		wantFailed(t, Sanitize(context.Background(), d, TechATASanitizeBlock, fastOptions(new([]Event))),
			"no sanitize in progress and none completed without error")
	})
	t.Run("ATA: sanitize command lost", func(t *testing.T) {
		sim, _, d := newATASim(t, drivesim.ATAConfig{Sanitize: allModes})
		d.SCSI = hooked{sim, failNth(0xB4, 2)}
		wantFailed(t, Sanitize(context.Background(), d, TechATASanitizeBlock, fastOptions(new([]Event))),
			"BLOCK ERASE EXT: ata: BLOCK ERASE EXT: sg_io: DID_TIME_OUT")
	})
	t.Run("ATA: MODE SENSE refused", func(t *testing.T) {
		sim, _, d := newATASim(t, drivesim.ATAConfig{Sanitize: allModes, Sense: drivesim.FixedSense})
		d.SCSI = hooked{sim, func(cmd *devio.SCSICommand) error {
			if cmd.CDB[0] == 0x5a {
				return errors.New("sg_io: DID_ERROR")
			}
			return nil
		}}
		wantFailed(t, Sanitize(context.Background(), d, TechATASanitizeBlock, fastOptions(new([]Event))),
			"fixed-format sense data", "MODE SENSE(10): sg_io: DID_ERROR")
	})
	t.Run("ATA: sense format not restored", func(t *testing.T) {
		sim, data, d := newATASim(t, drivesim.ATAConfig{Sanitize: allModes, Sense: drivesim.FixedSense})
		selects := 0
		d.SCSI = hooked{sim, func(cmd *devio.SCSICommand) error {
			if cmd.CDB[0] == 0x55 {
				if selects++; selects == 2 {
					return errors.New("sg_io: DID_ERROR")
				}
			}
			return nil
		}}
		// The sanitize is done by then: the failure is logged, not held against it.
		rec := Sanitize(context.Background(), d, TechATASanitizeBlock, fastOptions(new([]Event)))
		wantCompleted(t, rec)
		if !zeros(data) || !sim.State().DescriptorSense {
			t.Error("state")
		}
		if last := rec.Commands[len(rec.Commands)-1]; last != "MODE SELECT(10) (control mode page, D_SENSE=0)" {
			t.Errorf("last command %q", last)
		}
	})
	t.Run("NVMe: namespace list refused", func(t *testing.T) {
		sim, _, d := newNVMeSim(t, drivesim.NVMeConfig{SANICAP: 0x07})
		d.NVMe = nvmeHook{sim, func(cmd *devio.NVMeAdminCommand) error {
			if cmd.Opcode == nvme.OpIdentify && cmd.CDW10 == 2 {
				return &devio.NVMeStatusError{Status: 0x4002}
			}
			return nil
		}}
		wantFailed(t, Sanitize(context.Background(), d, TechNVMeSanitizeCrypto, fastOptions(new([]Event))),
			"listing the controller's namespaces")
	})
	t.Run("SCSI: unexpected sense", func(t *testing.T) {
		sim, _, d := newSCSISim(t, drivesim.SCSIConfig{Sanitize: allModes})
		d.SCSI = &unitAttention{SCSI: sim}
		wantFailed(t, Sanitize(context.Background(), d, TechSCSISanitizeCrypto, fastOptions(new([]Event))),
			"unexpected answer to REQUEST SENSE while sanitizing: UNIT ATTENTION")
	})
	t.Run("SCSI: report lost", func(t *testing.T) {
		sim, _, d := newSCSISim(t, drivesim.SCSIConfig{Sanitize: allModes})
		d.SCSI = hooked{sim, func(cmd *devio.SCSICommand) error {
			if cmd.CDB[0] == scsi.OpMaintenanceIn {
				return errors.New("sg_io: DID_BAD_TARGET")
			}
			return nil
		}}
		wantFailed(t, Sanitize(context.Background(), d, TechSCSISanitizeCrypto, fastOptions(new([]Event))), "DID_BAD_TARGET")
		if len(sim.Commands()) != 0 {
			t.Errorf("sent %q", sim.Commands())
		}
	})
	t.Run("SCSI: sanitize lost", func(t *testing.T) {
		sim, _, d := newSCSISim(t, drivesim.SCSIConfig{Sanitize: allModes})
		d.SCSI = hooked{sim, func(cmd *devio.SCSICommand) error {
			if cmd.CDB[0] == scsi.OpSanitize {
				return errors.New("sg_io: DID_BAD_TARGET")
			}
			return nil
		}}
		wantFailed(t, Sanitize(context.Background(), d, TechSCSISanitizeOverwrite, fastOptions(new([]Event))),
			"SANITIZE (OVERWRITE, IMMED): sg_io: DID_BAD_TARGET")
	})
}

// unitAttention answers the second REQUEST SENSE with a UNIT ATTENTION (a reset).
type unitAttention struct {
	devio.SCSI
	n int
}

func (u *unitAttention) Exec(cmd *devio.SCSICommand) (devio.SCSIResult, error) {
	if cmd.CDB[0] == scsi.OpRequestSense {
		if u.n++; u.n == 2 {
			sense := []byte{0x70, 0, 0x06, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x29, 0x00, 0, 0, 0, 0}
			return devio.SCSIResult{Resid: len(cmd.Data) - copy(cmd.Data, sense)}, nil
		}
	}
	return u.SCSI.Exec(cmd)
}

// A cancellation that arrives while decom checks the drive stops it before the command
// that cannot be taken back.
func TestSanitizeCancelledDuringChecks(t *testing.T) {
	for _, tc := range []struct {
		tech Technique
		d    func(t *testing.T, cancel func()) (Drive, func() []string)
		last string
	}{
		{TechATASanitizeCrypto, func(t *testing.T, cancel func()) (Drive, func() []string) {
			sim, _, d := newATASim(t, drivesim.ATAConfig{Sanitize: allModes})
			d.SCSI = hooked{sim, func(cmd *devio.SCSICommand) error {
				if ataCode(cmd) == 0xB4 {
					cancel()
				}
				return nil
			}}
			return d, sim.Commands
		}, "SANITIZE STATUS EXT"},
		{TechNVMeSanitizeCrypto, func(t *testing.T, cancel func()) (Drive, func() []string) {
			sim, _, d := newNVMeSim(t, drivesim.NVMeConfig{SANICAP: 0x07})
			d.NVMe = nvmeHook{sim, func(cmd *devio.NVMeAdminCommand) error {
				if cmd.Opcode == nvme.OpGetLogPage {
					cancel()
				}
				return nil
			}}
			return d, sim.Commands
		}, "Get Log Page (Sanitize Status)"},
		{TechNVMeFormatUserData, func(t *testing.T, cancel func()) (Drive, func() []string) {
			sim, _, d := newNVMeSim(t, drivesim.NVMeConfig{OACS: 0x02})
			d.NVMe = nvmeHook{sim, func(cmd *devio.NVMeAdminCommand) error {
				if cmd.Opcode == nvme.OpIdentify && cmd.CDW10 == 0 {
					cancel()
				}
				return nil
			}}
			return d, sim.Commands
		}, "Identify Namespace"},
		{TechSCSISanitizeCrypto, func(t *testing.T, cancel func()) (Drive, func() []string) {
			sim, _, d := newSCSISim(t, drivesim.SCSIConfig{Sanitize: allModes})
			d.SCSI = hooked{sim, func(cmd *devio.SCSICommand) error {
				if cmd.CDB[0] == scsi.OpRequestSense {
					cancel()
				}
				return nil
			}}
			return d, sim.Commands
		}, "REQUEST SENSE"},
	} {
		t.Run(string(tc.tech), func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			d, commands := tc.d(t, cancel)
			wantFailed(t, Sanitize(ctx, d, tc.tech, fastOptions(new([]Event))), "not started", "context canceled")
			if cmds := commands(); cmds[len(cmds)-1] != tc.last {
				t.Errorf("the drive got %q", cmds)
			}
		})
	}
}
