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
// security state, hidden areas and health. Only commands that change nothing are sent:
// ATA IDENTIFY DEVICE, READ NATIVE MAX ADDRESS EXT, DEVICE CONFIGURATION IDENTIFY, SMART
// READ DATA, READ THRESHOLDS, RETURN STATUS; NVMe Identify, Get Log Page 02h; SCSI REPORT
// SUPPORTED OPERATION CODES, LOG SENSE.
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
		d.Health = healthUnavailable(err.Error(), time.Now().UTC())
		return
	}
	if isNVMe(d) {
		err = probeNVMe(d, devio.NewNVMeDevice(f))
	} else {
		err = probeSCSI(d, devio.NewSGDevice(f))
	}
	f.Close()
	if err != nil {
		caps.ProbeError = err.Error()
		d.Health = healthUnavailable(err.Error(), time.Now().UTC())
		log.Debug("drive firmware not readable", "device", d.Path, "err", err)
		return
	}
	caps.Probed = true
}

func isNVMe(d *Device) bool { return d.Transport == TransportNVMe || strings.HasPrefix(d.Name, "nvme") }

// hasFirmware reports whether d is a drive whose firmware can be asked anything.
func hasFirmware(d *Device) bool {
	switch {
	case d.Transport == TransportLoop || d.Transport == TransportMMC:
		return false
	case d.Media == MediaVirtual && d.Transport != TransportVirtio:
		return false
	}
	return true
}

// readHealth reads the drive's health alone (Options.ReadHealth without ProbeFirmware).
// Devices without firmware (loop, virtual, eMMC) are left without.
func readHealth(d *Device, root string, log *slog.Logger) {
	if !hasFirmware(d) {
		return
	}
	now := time.Now().UTC()
	f, err := openForProbe(root, d.Name, d.DevNo)
	if err != nil {
		d.Health = healthUnavailable(err.Error(), now)
		return
	}
	defer f.Close()
	if isNVMe(d) {
		d.Health = readNVMeHealth(devio.NewNVMeDevice(f), now)
	} else {
		d.Health = readSCSIOrATAHealth(devio.NewSGDevice(f), now)
	}
	log.Debug("drive health", "device", d.Path, "health", d.Health.Summary())
}

// readNVMeHealth reads the controller-wide SMART / Health Information log page.
func readNVMeHealth(dev devio.NVMe, at time.Time) *Health {
	s, err := nvme.ReadSMARTLog(dev)
	if err != nil {
		return healthUnavailable(err.Error(), at)
	}
	return nvmeHealth(s, at)
}

// readSCSIOrATAHealth identifies the drive through ATA PASS-THROUGH and reads its SMART data
// if it is an ATA drive, its log pages otherwise.
func readSCSIOrATAHealth(dev devio.SCSI, at time.Time) *Health {
	buf := make([]byte, 512)
	_, err := ata.Exec(dev, ata.IdentifyDevice(), buf, devio.DirFromDevice, probeTimeout)
	if err == nil {
		id, err := ata.ParseIdentify(buf)
		if err != nil {
			return healthUnavailable("IDENTIFY DEVICE: "+err.Error(), at)
		}
		return readATAHealth(dev, id, at)
	}
	var se *scsi.StatusError
	if !errors.As(err, &se) {
		return healthUnavailable(err.Error(), at)
	}
	return readSCSIHealth(dev, at)
}

// readATAHealth reads SMART RETURN STATUS, READ DATA and READ THRESHOLDS from a drive whose
// IDENTIFY data says SMART is supported and enabled.
func readATAHealth(dev devio.SCSI, id ata.Identify, at time.Time) *Health {
	switch {
	case !id.SMARTSupported:
		return healthUnavailable("the drive does not support SMART", at)
	case !id.SMARTEnabled:
		return healthUnavailable("SMART is disabled on the drive", at)
	}
	regs, statusErr := ata.Exec(dev, ata.SMARTReturnStatus(), nil, devio.DirNone, probeTimeout)
	var exceeded bool
	if statusErr == nil {
		exceeded, statusErr = ata.ParseSMARTStatus(regs)
	}
	buf := make([]byte, 512)
	var data ata.SMARTData
	_, err := ata.Exec(dev, ata.SMARTReadData(), buf, devio.DirFromDevice, probeTimeout)
	if err == nil {
		data, err = ata.ParseSMARTData(buf)
	}
	if err != nil {
		if statusErr != nil {
			return healthUnavailable(err.Error(), at)
		}
		h := ataHealth(ata.SMARTData{}, exceeded, nil, at)
		h.Reasons = append(h.Reasons, "attributes unreadable: "+err.Error())
		return h
	}
	th := make([]byte, 512)
	if _, err := ata.Exec(dev, ata.SMARTReadThresholds(), th, devio.DirFromDevice, probeTimeout); err == nil {
		if t, err := ata.ParseSMARTThresholds(th); err == nil {
			data.ApplyThresholds(t)
		}
	}
	return ataHealth(data, exceeded, statusErr, at)
}

// logSenseLength is the allocation length of LOG SENSE: the pages read are far shorter.
const logSenseLength = 1024

func logSense(dev devio.SCSI, page byte) ([]byte, error) {
	buf := make([]byte, logSenseLength)
	res, err := dev.Exec(&devio.SCSICommand{CDB: scsi.LogSense(page, 0, logSenseLength), Dir: devio.DirFromDevice,
		Data: buf, Timeout: probeTimeout})
	if err != nil {
		return nil, fmt.Errorf("LOG SENSE page %02xh: %w", page, err)
	}
	if err := scsi.Check(res); err != nil {
		return nil, fmt.Errorf("LOG SENSE page %02xh: %w", page, err)
	}
	return buf[:len(buf)-min(res.Resid, len(buf))], nil
}

// readSCSIHealth reads the informational exceptions and error counter log pages that the
// drive lists in its Supported Log Pages page.
func readSCSIHealth(dev devio.SCSI, at time.Time) *Health {
	b, err := logSense(dev, scsi.LogSupportedPages)
	if err != nil {
		return healthUnavailable(err.Error(), at)
	}
	supported, err := scsi.ParseSupportedLogPages(b)
	if err != nil {
		return healthUnavailable(err.Error(), at)
	}
	var l scsiLogs
	var problems []string
	if hasPage(supported, scsi.LogInformationalExceptions) {
		b, err := logSense(dev, scsi.LogInformationalExceptions)
		var ie scsi.InformationalExceptions
		if err == nil {
			ie, err = scsi.ParseInformationalExceptions(b)
		}
		if err != nil {
			problems = append(problems, err.Error())
		} else {
			l.ie = &ie
			l.pages = append(l.pages, scsi.LogInformationalExceptions)
		}
	}
	for _, c := range []struct {
		page byte
		set  **scsi.ErrorCounters
	}{{scsi.LogWriteErrors, &l.write}, {scsi.LogReadErrors, &l.read}, {scsi.LogVerifyErrors, &l.verify}} {
		if !hasPage(supported, c.page) {
			continue
		}
		b, err := logSense(dev, c.page)
		var ec scsi.ErrorCounters
		if err == nil {
			ec, err = scsi.ParseErrorCounters(b, c.page)
		}
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		*c.set = &ec
		l.pages = append(l.pages, c.page)
	}
	if len(l.pages) == 0 {
		if len(problems) > 0 {
			return healthUnavailable(strings.Join(problems, "; "), at)
		}
		return healthUnavailable("the drive keeps none of the log pages decom reads (2Fh, 02h, 03h, 05h)", at)
	}
	h := scsiHealth(l, at)
	h.Reasons = append(h.Reasons, problems...)
	return h
}

func probeNVMe(d *Device, dev devio.NVMe) error {
	ctrl, err := nvme.IdentifyController(dev)
	if err != nil {
		return err
	}
	d.Health = readNVMeHealth(dev, time.Now().UTC())
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
		d.Health = readATAHealth(dev, id, time.Now().UTC())
		return nil
	}
	// A SCSI device that is not an ATA drive refuses the pass-through with a SCSI status;
	// anything else (no SCSI commands on this device at all, a failed IDENTIFY) ends here.
	var se *scsi.StatusError
	if !errors.As(ataErr, &se) {
		return ataErr
	}
	d.Health = readSCSIHealth(dev, time.Now().UTC())
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
