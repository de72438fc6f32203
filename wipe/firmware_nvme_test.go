package wipe

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/drivesim"
	"github.com/decom-project/decom/internal/nvme"
)

func newNVMeSim(t *testing.T, cfg drivesim.NVMeConfig) (*drivesim.NVMe, []byte, DriveCommands) {
	t.Helper()
	data := userData()
	cfg.Media, cfg.Size = drivesim.Memory(data), fwSize
	cfg.Model, cfg.Serial, cfg.Firmware = "SIM NVMe", "SIMN1", "FW1"
	sim, err := drivesim.NewNVMe(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return sim, data, DriveCommands{Path: "/dev/sim", NVMe: sim, NSID: 1, Size: fwSize}
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
