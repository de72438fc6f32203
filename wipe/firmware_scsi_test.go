package wipe

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/drivesim"
	"github.com/decom-project/decom/internal/scsi"
)

func newSCSISim(t *testing.T, cfg drivesim.SCSIConfig) (*drivesim.SCSI, []byte, DriveCommands) {
	t.Helper()
	data := userData()
	cfg.Media, cfg.Size = drivesim.Memory(data), fwSize
	cfg.Vendor, cfg.Product, cfg.Revision, cfg.Serial = "SIM", "SAS DISK", "0001", "SIMS1"
	sim, err := drivesim.NewSCSI(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sim, data, DriveCommands{Path: "/dev/sim", SCSI: sim, Size: fwSize}
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
