package wipe

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/drivesim"
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

func newATASim(t *testing.T, cfg drivesim.ATAConfig) (*drivesim.ATA, []byte, DriveCommands) {
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
	return sim, data, DriveCommands{Path: "/dev/sim", SCSI: sim, Size: cfg.Size}
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

// Cancelling stops the polling, not the drive: the record says so.
func TestSanitizeCancelled(t *testing.T) {
	nvmeSim, _, nd := newNVMeSim(t, drivesim.NVMeConfig{SANICAP: 0x07, Step: 0.01})
	scsiSim, _, sd := newSCSISim(t, drivesim.SCSIConfig{Sanitize: allModes, Step: 0.01})
	ataSim, _, ad := newATASim(t, drivesim.ATAConfig{Sanitize: allModes, Step: 0.01})
	for _, tc := range []struct {
		tech    Technique
		d       DriveCommands
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

func TestSanitizeWrongTechniqueOrInterface(t *testing.T) {
	_, _, ad := newATASim(t, drivesim.ATAConfig{})
	_, _, nd := newNVMeSim(t, drivesim.NVMeConfig{})
	for _, tc := range []struct {
		d    DriveCommands
		tech Technique
		want string
	}{
		{ad, TechOverwrite, `"overwrite" is not a firmware technique`},
		{ad, "", `"" is not a firmware technique`},
		{ad, "secure-discard", `"secure-discard" is not a firmware technique`},
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
		d    func(t *testing.T, cancel func()) (DriveCommands, func() []string)
		last string
	}{
		{TechATASanitizeCrypto, func(t *testing.T, cancel func()) (DriveCommands, func() []string) {
			sim, _, d := newATASim(t, drivesim.ATAConfig{Sanitize: allModes})
			d.SCSI = hooked{sim, func(cmd *devio.SCSICommand) error {
				if ataCode(cmd) == 0xB4 {
					cancel()
				}
				return nil
			}}
			return d, sim.Commands
		}, "SANITIZE STATUS EXT"},
		{TechNVMeSanitizeCrypto, func(t *testing.T, cancel func()) (DriveCommands, func() []string) {
			sim, _, d := newNVMeSim(t, drivesim.NVMeConfig{SANICAP: 0x07})
			d.NVMe = nvmeHook{sim, func(cmd *devio.NVMeAdminCommand) error {
				if cmd.Opcode == nvme.OpGetLogPage {
					cancel()
				}
				return nil
			}}
			return d, sim.Commands
		}, "Get Log Page (Sanitize Status)"},
		{TechNVMeFormatUserData, func(t *testing.T, cancel func()) (DriveCommands, func() []string) {
			sim, _, d := newNVMeSim(t, drivesim.NVMeConfig{OACS: 0x02})
			d.NVMe = nvmeHook{sim, func(cmd *devio.NVMeAdminCommand) error {
				if cmd.Opcode == nvme.OpIdentify && cmd.CDW10 == 0 {
					cancel()
				}
				return nil
			}}
			return d, sim.Commands
		}, "Identify Namespace"},
		{TechSCSISanitizeCrypto, func(t *testing.T, cancel func()) (DriveCommands, func() []string) {
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
