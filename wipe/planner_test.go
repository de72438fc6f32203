package wipe

import (
	"errors"
	"strings"
	"testing"

	"github.com/decom-project/decom/inventory"
)

// drive builds an inventory device of a transport and media with the given capabilities;
// probed drives only.
func drive(transport, media string, caps inventory.Capabilities) *inventory.Device {
	caps.Probed = true
	return &inventory.Device{Path: "/dev/x", Transport: transport, Media: media, Capabilities: &caps}
}

func TestChoosePurge(t *testing.T) {
	all := &inventory.SanitizeModes{CryptoErase: true, BlockErase: true, Overwrite: true}
	frozen := func(d *inventory.Device) *inventory.Device {
		d.SecurityState = &inventory.SecurityState{Supported: true, Frozen: true}
		return d
	}
	enhanced := &inventory.ATASecurityErase{Normal: true, Enhanced: true, EnhancedMinutes: 120}
	for _, tc := range []struct {
		name string
		d    *inventory.Device
		want Technique
		// unachievable, when set, is a phrase the refusal must contain.
		unachievable string
	}{
		{"nvme with every sanitize", drive("nvme", "ssd", inventory.Capabilities{NVMeSanitize: all,
			NVMeFormat: &inventory.NVMeFormat{UserDataErase: true, CryptoErase: true}}), TechNVMeSanitizeCrypto, ""},
		{"nvme block erase only", drive("nvme", "ssd", inventory.Capabilities{NVMeSanitize: &inventory.SanitizeModes{BlockErase: true},
			NVMeFormat: &inventory.NVMeFormat{UserDataErase: true, CryptoErase: true}}), TechNVMeSanitizeBlock, ""},
		{"nvme sanitize overwrite only: format crypto first", drive("nvme", "ssd", inventory.Capabilities{NVMeSanitize: &inventory.SanitizeModes{Overwrite: true},
			NVMeFormat: &inventory.NVMeFormat{UserDataErase: true, CryptoErase: true}}), TechNVMeFormatCrypto, ""},
		{"nvme like QEMU: format, no sanitize", drive("nvme", "ssd", inventory.Capabilities{NVMeFormat: &inventory.NVMeFormat{UserDataErase: true}}),
			TechNVMeFormatUserData, ""},
		{"nvme that cannot format", drive("nvme", "ssd", inventory.Capabilities{}), "", "Format NVM not supported"},
		{"ata ssd block erase", drive("sata", "ssd", inventory.Capabilities{ATASanitize: all, ATASecurityErase: enhanced}), TechATASanitizeBlock, ""},
		{"ata ssd crypto scramble", drive("sata", "ssd", inventory.Capabilities{ATASanitize: &inventory.SanitizeModes{CryptoErase: true}}), TechATASanitizeCrypto, ""},
		{"ata ssd with only security erase: Purge refused", drive("sata", "ssd", inventory.Capabilities{ATASecurityErase: enhanced}), "",
			"only a Clear on flash"},
		{"ata hdd sanitize overwrite", drive("sata", "hdd", inventory.Capabilities{ATASanitize: all, ATASecurityErase: enhanced}), TechATASanitizeOverwrite, ""},
		{"ata hdd enhanced security erase", drive("sata", "hdd", inventory.Capabilities{ATASecurityErase: enhanced}), TechATASecurityEraseEnhanced, ""},
		{"ata hdd frozen: refused with the remedy", frozen(drive("sata", "hdd", inventory.Capabilities{ATASecurityErase: enhanced})), "",
			"suspend and resume"},
		{"ata hdd frozen but crypto scramble", frozen(drive("sata", "hdd", inventory.Capabilities{ATASecurityErase: enhanced,
			ATASanitize: &inventory.SanitizeModes{CryptoErase: true}})), TechATASanitizeCrypto, ""},
		{"ata hdd normal erase only: not Purge", drive("sata", "hdd", inventory.Capabilities{ATASecurityErase: &inventory.ATASecurityErase{Normal: true}}), "",
			"enhanced security erase not supported"},
		{"sas ssd", drive("sas", "ssd", inventory.Capabilities{SCSISanitize: all}), TechSCSISanitizeBlock, ""},
		{"sas hdd", drive("sas", "hdd", inventory.Capabilities{SCSISanitize: all}), TechSCSISanitizeOverwrite, ""},
		{"sas hdd crypto only", drive("sas", "hdd", inventory.Capabilities{SCSISanitize: &inventory.SanitizeModes{CryptoErase: true}}), TechSCSISanitizeCrypto, ""},
		{"scsi disk without sanitize", drive("scsi", "hdd", inventory.Capabilities{}), "", "SANITIZE service action not supported"},
		{"emmc, even one said to offer secure discard", drive("mmc", "flash", inventory.Capabilities{SecureDiscard: true}), "", "no Purge technique for eMMC"},
		{"emmc with capabilities that are not its own", drive("mmc", "flash", inventory.Capabilities{ATASanitize: all, NVMeSanitize: all}), "", "no Purge technique for eMMC"},
		{"emmc not probed, as inventory leaves it", &inventory.Device{Transport: "mmc", Media: "flash",
			Capabilities: &inventory.Capabilities{ProbeError: "eMMC capabilities (EXT_CSD) are not read yet"}}, "", "no Purge technique for eMMC"},
		{"usb flash", drive("usb", "flash", inventory.Capabilities{}), "", "USB"},
		{"usb bridge with sanitize still refused", drive("usb", "ssd", inventory.Capabilities{ATASanitize: all}), "", "USB"},
		{"virtio", drive("virtio", "virtual", inventory.Capabilities{}), "", "no firmware"},
		{"loop", drive("loop", "virtual", inventory.Capabilities{}), "", "no firmware"},
		{"not probed", &inventory.Device{Transport: "nvme", Media: "ssd", Capabilities: &inventory.Capabilities{ProbeError: "permission denied"}}, "",
			"could not be read (permission denied)"},
		{"no capabilities at all", &inventory.Device{Transport: "sata", Media: "hdd"}, "", "could not be read"},
		{"unknown media on sata", drive("sata", "unknown", inventory.Capabilities{ATASanitize: all}), "", "no Purge rule"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Choose(tc.d, ClassPurge)
			if tc.unachievable != "" {
				if !errors.Is(err, ErrUnachievable) || !strings.Contains(err.Error(), tc.unachievable) {
					t.Fatalf("Choose: %+v, %v; want ErrUnachievable mentioning %q", c, err, tc.unachievable)
				}
				return
			}
			if err != nil {
				t.Fatalf("Choose: %v", err)
			}
			if c.Technique != tc.want || c.Class != ClassPurge || c.Reason == "" {
				t.Errorf("Choose: %+v; want %s, purge, with a reason", c, tc.want)
			}
		})
	}
}

// TestChooseNeverDowngrades: whatever the drive, a Purge request gives a Purge technique or a
// refusal, never an overwrite or a Clear-only technique.
func TestChooseNeverDowngrades(t *testing.T) {
	bools := []bool{false, true}
	n := 0
	for _, tr := range []string{"nvme", "sata", "sas", "scsi", "usb", "mmc", "virtio", "loop", "unknown"} {
		for _, media := range []string{"hdd", "ssd", "flash", "virtual", "unknown"} {
			for mask := range 1 << 9 {
				bit := func(i int) bool { return mask&(1<<i) != 0 }
				modes := func(i int) *inventory.SanitizeModes {
					if !bit(i) {
						return nil
					}
					return &inventory.SanitizeModes{CryptoErase: bit(7), BlockErase: bit(8), Overwrite: !bit(7) && !bit(8)}
				}
				caps := inventory.Capabilities{ATASanitize: modes(0), NVMeSanitize: modes(1), SCSISanitize: modes(2), SecureDiscard: bit(3)}
				if bit(4) {
					caps.ATASecurityErase = &inventory.ATASecurityErase{Normal: true, Enhanced: bit(5)}
				}
				if bit(6) {
					caps.NVMeFormat = &inventory.NVMeFormat{UserDataErase: true, CryptoErase: bit(7)}
				}
				for _, frozen := range bools {
					d := drive(tr, media, caps)
					d.SecurityState = &inventory.SecurityState{Supported: true, Frozen: frozen}
					c, err := Choose(d, ClassPurge)
					n++
					if err != nil {
						if !errors.Is(err, ErrUnachievable) {
							t.Fatalf("%s/%s %+v: %v, not ErrUnachievable", tr, media, caps, err)
						}
						continue
					}
					if c.Class != ClassPurge || !c.Technique.Firmware() {
						t.Fatalf("%s/%s %+v: Purge asked, got %+v", tr, media, caps, c)
					}
					if frozen && (c.Technique == TechATASecurityErase || c.Technique == TechATASecurityEraseEnhanced) {
						t.Fatalf("%s/%s: a frozen drive was planned for %s", tr, media, c.Technique)
					}
				}
			}
		}
	}
	t.Logf("%d drive configurations planned", n)
}

func TestChooseClear(t *testing.T) {
	for _, d := range []*inventory.Device{
		drive("usb", "flash", inventory.Capabilities{}),
		drive("nvme", "ssd", inventory.Capabilities{NVMeFormat: &inventory.NVMeFormat{UserDataErase: true}}),
		{Transport: "loop", Media: "virtual"},
	} {
		c, err := Choose(d, ClassClear)
		if err != nil || c.Technique != TechOverwrite || c.Class != ClassClear || c.RemoveHPA {
			t.Errorf("Clear of %s: %+v, %v; want an overwrite", d.Transport, c, err)
		}
	}
	if _, err := Choose(drive("sata", "hdd", inventory.Capabilities{}), "destroy"); err == nil || errors.Is(err, ErrUnachievable) {
		t.Errorf("class destroy: %v, want a usage error", err)
	}
}

func TestChooseHiddenAreas(t *testing.T) {
	hdd := func() *inventory.Device {
		return drive("sata", "hdd", inventory.Capabilities{ATASanitize: &inventory.SanitizeModes{Overwrite: true}})
	}
	d := hdd()
	d.HPA = &inventory.HPA{Supported: true, Enabled: true, CurrentMaxLBA: 999, NativeMaxLBA: 1999, HiddenSectors: 1000}
	for _, class := range []string{ClassClear, ClassPurge} {
		c, err := Choose(d, class)
		if err != nil || !c.RemoveHPA {
			t.Errorf("%s with an HPA: %+v, %v; want RemoveHPA", class, c, err)
		}
	}
	d = hdd()
	d.HPA = &inventory.HPA{Supported: true, Enabled: true, CurrentMaxLBA: 999}
	if _, err := Choose(d, ClassClear); !errors.Is(err, ErrUnachievable) || !strings.Contains(err.Error(), "Host Protected Area") {
		t.Errorf("HPA of unknown size: %v; want refused", err)
	}
	d = hdd()
	d.HPA = &inventory.HPA{Supported: true, CurrentMaxLBA: 1999, NativeMaxLBA: 1999}
	if c, err := Choose(d, ClassPurge); err != nil || c.RemoveHPA {
		t.Errorf("no HPA set: %+v, %v", c, err)
	}
	d = hdd()
	d.DCO = &inventory.DCO{Supported: true, Read: true, FactoryMaxLBA: 2999, HiddenSectors: 1000}
	if _, err := Choose(d, ClassPurge); !errors.Is(err, ErrUnachievable) || !strings.Contains(err.Error(), "Device Configuration Overlay") {
		t.Errorf("DCO hiding sectors: %v; want refused", err)
	}
}
