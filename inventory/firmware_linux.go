package inventory

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/decom-project/decom/internal/ata"
	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/internal/nvme"
	"github.com/decom-project/decom/internal/scsi"
)

// probeTimeout bounds each identify command.
const probeTimeout = 10 * time.Second

// probeFirmware asks the drive what its firmware can do to sanitize it, and reads its
// security state and hidden areas. Only commands that change nothing are sent:
// ATA IDENTIFY DEVICE, READ NATIVE MAX ADDRESS EXT, DEVICE CONFIGURATION IDENTIFY;
// NVMe Identify; SCSI REPORT SUPPORTED OPERATION CODES.
func probeFirmware(d *Device, root string, log *slog.Logger) {
	caps := &Capabilities{}
	d.Capabilities = caps
	switch d.Transport {
	case TransportLoop:
		caps.ProbeError = "a loop device has no firmware"
		return
	case TransportMMC:
		caps.ProbeError = "eMMC capabilities (EXT_CSD) are not read yet"
		return
	}
	if d.Media == MediaVirtual && d.Transport != TransportVirtio {
		caps.ProbeError = "a virtual device has no firmware"
		return
	}
	f, err := openForProbe(root, d.Name, d.DevNo)
	if err != nil {
		caps.ProbeError = err.Error()
		return
	}
	if d.Transport == TransportNVMe || strings.HasPrefix(d.Name, "nvme") {
		err = probeNVMe(d, devio.NewNVMeDevice(f))
	} else {
		err = probeSCSI(d, devio.NewSGDevice(f))
	}
	f.Close()
	if err != nil {
		caps.ProbeError = err.Error()
		log.Debug("drive firmware not readable", "device", d.Path, "err", err)
		return
	}
	caps.Probed = true
}

func probeNVMe(d *Device, dev devio.NVMe) error {
	ctrl, err := nvme.IdentifyController(dev)
	if err != nil {
		return err
	}
	caps := d.Capabilities
	if ctrl.FormatNVM {
		caps.NVMeFormat = &NVMeFormat{UserDataErase: true, CryptoErase: ctrl.Format.CryptoErase,
			AllNamespaces: ctrl.Format.SecureEraseAllNamespaces}
	}
	if ctrl.Sanitize.Supported() {
		caps.NVMeSanitize = &SanitizeModes{CryptoErase: ctrl.Sanitize.CryptoErase, BlockErase: ctrl.Sanitize.BlockErase,
			Overwrite: ctrl.Sanitize.Overwrite}
	}
	return nil
}

// probeSCSI speaks ATA through ATA PASS-THROUGH first (SATA drives, also behind SAS
// HBAs and USB bridges that translate), then SCSI.
func probeSCSI(d *Device, dev devio.SCSI) error {
	buf := make([]byte, 512)
	_, ataErr := ata.Exec(dev, ata.IdentifyDevice(), buf, devio.DirFromDevice, probeTimeout)
	if ataErr == nil {
		id, err := ata.ParseIdentify(buf)
		if err != nil {
			return fmt.Errorf("IDENTIFY DEVICE: %w", err)
		}
		probeATA(d, dev, id)
		return nil
	}
	// A SCSI device that is not an ATA drive refuses the pass-through with a SCSI status;
	// anything else (no SCSI commands on this device at all, a failed IDENTIFY) ends here.
	var se *scsi.StatusError
	if !errors.As(ataErr, &se) {
		return ataErr
	}
	return probeSCSISanitize(d, dev)
}

func probeATA(d *Device, dev devio.SCSI, id ata.Identify) {
	caps := d.Capabilities
	s := id.Security
	d.SecurityState = &SecurityState{Supported: s.Supported, Enabled: s.Enabled, Locked: s.Locked, Frozen: s.Frozen,
		CountExpired: s.CountExpired}
	if s.Supported {
		caps.ATASecurityErase = &ATASecurityErase{Normal: true, Enhanced: s.EnhancedEraseSupported,
			NormalMinutes: int(s.EraseTime.Duration / time.Minute), EnhancedMinutes: int(s.EnhancedEraseTime.Duration / time.Minute)}
	}
	if id.Sanitize.Supported {
		caps.ATASanitize = &SanitizeModes{CryptoErase: id.Sanitize.CryptoScramble, BlockErase: id.Sanitize.BlockErase,
			Overwrite: id.Sanitize.Overwrite}
	}
	if id.AMAXSupported {
		d.AMAX = &AMAX{Supported: true}
	}
	if id.HPASupported || id.AMAXSupported {
		hpa := &HPA{Supported: true, Enabled: id.HPAEnabled, CurrentMaxLBA: id.Sectors - 1}
		cmd := ata.ReadNativeMaxAddressExt()
		if id.AMAXSupported && !id.HPASupported {
			cmd = ata.GetNativeMaxAddressExt()
		}
		if regs, err := ata.Exec(dev, cmd, nil, devio.DirNone, probeTimeout); err == nil {
			if native, err := ata.MaxAddress(regs); err == nil && native >= hpa.CurrentMaxLBA {
				hpa.NativeMaxLBA = native
				hpa.HiddenSectors = native - hpa.CurrentMaxLBA
				hpa.Enabled = hpa.Enabled || hpa.HiddenSectors > 0
			}
		}
		d.HPA = hpa
	}
	if id.DCOSupported {
		dco := &DCO{Supported: true, HiddenFeatures: []string{}}
		buf := make([]byte, 512)
		if _, err := ata.Exec(dev, ata.DeviceConfigurationIdentify(), buf, devio.DirFromDevice, probeTimeout); err == nil {
			if di, err := ata.ParseDCOIdentify(buf); err == nil {
				dco.Read = true
				dco.FactoryMaxLBA = di.MaxLBA
				native := id.Sectors - 1
				if d.HPA != nil && d.HPA.NativeMaxLBA > 0 {
					native = d.HPA.NativeMaxLBA
				}
				if di.MaxLBA > native {
					dco.HiddenSectors = di.MaxLBA - native
				}
				dco.HiddenFeatures = append(dco.HiddenFeatures, di.HiddenFeatures(id)...)
			}
		}
		d.DCO = dco
	}
	if d.Media == MediaUnknown || d.Media == "" {
		switch {
		case id.NonRotating():
			d.Media = MediaSSD
		case id.RotationRate > 1:
			d.Media = MediaHDD
		}
	}
}

// sanitizeOpcode is SCSI SANITIZE (SBC-4).
const sanitizeOpcode = 0x48

func probeSCSISanitize(d *Device, dev devio.SCSI) error {
	modes := &SanitizeModes{}
	for _, sa := range []struct {
		action scsi.SanitizeAction
		set    *bool
	}{{scsi.SanitizeAction(0x01), &modes.Overwrite}, {scsi.SanitizeAction(0x02), &modes.BlockErase}, {scsi.SanitizeAction(0x03), &modes.CryptoErase}} {
		buf := make([]byte, 64)
		res, err := dev.Exec(&devio.SCSICommand{CDB: scsi.ReportServiceAction(sanitizeOpcode, uint16(sa.action), uint32(len(buf))),
			Dir: devio.DirFromDevice, Data: buf, Timeout: probeTimeout})
		if err != nil {
			return fmt.Errorf("REPORT SUPPORTED OPERATION CODES: %w", err)
		}
		if scsi.Check(res) != nil {
			// Devices without the command (QEMU's disks among them) answer ILLEGAL
			// REQUEST: nothing can be told about SANITIZE, which then counts as absent.
			continue
		}
		if cs, err := scsi.ParseOneCommand(buf[:len(buf)-res.Resid]); err == nil && cs.Supported() {
			*sa.set = true
		}
	}
	if modes.Any() {
		d.Capabilities.SCSISanitize = modes
	}
	return nil
}
