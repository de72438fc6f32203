package wipe

import (
	"errors"
	"fmt"
	"strings"

	"github.com/decom-project/decom/inventory"
)

// Technique is how a drive is sanitized: an overwrite through the block device, or one
// of the drive's own commands.
type Technique string

// Techniques. The names appear in certificates and in decom wipe --dry-run.
const (
	TechOverwrite                Technique = "overwrite"
	TechATASecurityErase         Technique = "ata-security-erase"
	TechATASecurityEraseEnhanced Technique = "ata-security-erase-enhanced"
	TechATASanitizeCrypto        Technique = "ata-sanitize-crypto-scramble"
	TechATASanitizeBlock         Technique = "ata-sanitize-block-erase"
	TechATASanitizeOverwrite     Technique = "ata-sanitize-overwrite"
	TechNVMeFormatUserData       Technique = "nvme-format-user-data-erase"
	TechNVMeFormatCrypto         Technique = "nvme-format-crypto-erase"
	TechNVMeSanitizeCrypto       Technique = "nvme-sanitize-crypto-erase"
	TechNVMeSanitizeBlock        Technique = "nvme-sanitize-block-erase"
	TechNVMeSanitizeOverwrite    Technique = "nvme-sanitize-overwrite"
	TechSCSISanitizeCrypto       Technique = "scsi-sanitize-crypto-erase"
	TechSCSISanitizeBlock        Technique = "scsi-sanitize-block-erase"
	TechSCSISanitizeOverwrite    Technique = "scsi-sanitize-overwrite"
)

// Crypto reports whether the technique destroys data by changing the media encryption
// key: afterwards the old ciphertext reads as noise, so verification compares blocks
// read before and after.
func (t Technique) Crypto() bool {
	switch t {
	case TechATASanitizeCrypto, TechNVMeFormatCrypto, TechNVMeSanitizeCrypto, TechSCSISanitizeCrypto:
		return true
	}
	return false
}

// Firmware reports whether the drive does the work (everything but an overwrite).
func (t Technique) Firmware() bool { return t != TechOverwrite && t != "" }

// Names of the planned methods: decom picks the technique per drive (nist-clear is also
// an overwrite method of the catalogue).
const (
	MethodNISTPurge = "nist-purge"
	MethodNISTClear = "nist-clear"
)

// PurgeMethod is nist-purge: it has no pass sequence of its own; the planner picks each
// drive's own sanitize command (Choose).
func PurgeMethod() Method {
	return Method{Name: MethodNISTPurge, Title: "NIST SP 800-88 Purge with the drive's own sanitize command",
		Standard: "NIST SP 800-88 Rev. 1, Appendix A; IEEE 2883-2022", Passes: []Pattern{}, Verify: true, NISTClass: ClassPurge,
		Notes: "the technique is chosen per drive (decom wipe --dry-run shows which and why); drives that cannot be purged are refused"}
}

// ErrUnachievable is wrapped by Choose when no technique reaches the asked NIST class
// on a drive: the drive is refused, never sanitized to a lesser class.
var ErrUnachievable = errors.New("sanitization class not achievable on this drive")

// Choice is the planner's decision for one drive.
type Choice struct {
	Technique Technique `json:"technique"`
	// Class is the NIST SP 800-88 class the technique achieves on this drive.
	Class string `json:"nist_class"`
	// Reason says why this technique, in words for the technician and the auditor.
	Reason string `json:"reason"`
	// Rejected lists the better techniques that were passed over, and why.
	Rejected []string `json:"rejected,omitempty"`
	// RemoveHPA: the drive has a Host Protected Area that must be removed first.
	RemoveHPA bool `json:"remove_hpa,omitempty"`
}

// candidate is one row of the rule table: a technique, the class it achieves on the
// media it is listed for, and whether the drive offers it.
type candidate struct {
	tech  Technique
	class string
	why   string
	// offered returns "" when the drive can do it now, else the reason it cannot.
	offered func(d *inventory.Device) string
}

// Choose picks the technique that gives drive d the NIST class asked for (ClassClear or
// ClassPurge), following NIST SP 800-88 Rev. 1 Appendix A and IEEE 2883-2022:
//
//   - NVMe SSD, Purge: Sanitize crypto erase, else Sanitize block erase, else Format NVM
//     with crypto erase, else with user-data erase.
//   - ATA SSD, Purge: SANITIZE block erase, else crypto scramble. ATA security erase is
//     only a Clear on flash: it may skip spare blocks.
//   - ATA HDD, Purge: SANITIZE overwrite, else enhanced SECURITY ERASE UNIT, else
//     SANITIZE crypto scramble.
//   - SCSI/SAS SSD, Purge: SANITIZE block erase, else crypto erase; SCSI/SAS HDD:
//     SANITIZE overwrite, else crypto erase.
//   - USB flash, eMMC and SD cards, virtual and loop devices, image files, and drives
//     that could not be asked: no Purge is possible: refused. (An eMMC's secure erase
//     or sanitize would be one, but decom has no card to test it on and does not send it.)
//   - Clear, every drive: one overwrite pass, verified (nist-clear), which reaches every
//     user-addressable sector; an ATA drive's HPA is removed first.
//
// The drive's state counts: a frozen ATA drive cannot run SECURITY ERASE UNIT. When the
// class cannot be reached Choose returns an error wrapping ErrUnachievable with the
// reasons; it never falls back to a lesser class.
func Choose(d *inventory.Device, class string) (Choice, error) {
	var c Choice
	switch class {
	case ClassClear:
		c = Choice{Technique: TechOverwrite, Class: ClassClear,
			Reason: "NIST SP 800-88 Clear: one verified overwrite of every user-addressable sector"}
	case ClassPurge:
		var err error
		if c, err = choosePurge(d); err != nil {
			return Choice{}, err
		}
	default:
		return Choice{}, fmt.Errorf("plan: class %q: want %s or %s", class, ClassClear, ClassPurge)
	}
	if d.HPA != nil && d.HPA.Enabled && d.HPA.HiddenSectors > 0 {
		c.RemoveHPA = true
	}
	if d.HPA != nil && d.HPA.Enabled && d.HPA.NativeMaxLBA == 0 {
		return Choice{}, fmt.Errorf("%w: the drive has a Host Protected Area whose size could not be read, so its hidden sectors could not be reached", ErrUnachievable)
	}
	if d.DCO != nil && d.DCO.HiddenSectors > 0 {
		return Choice{}, fmt.Errorf("%w: a Device Configuration Overlay hides %d sectors; decom does not alter DCO settings (restore them with the vendor's tool or hdparm --dco-restore, then try again)",
			ErrUnachievable, d.DCO.HiddenSectors)
	}
	return c, nil
}

func choosePurge(d *inventory.Device) (Choice, error) {
	if d.Transport == inventory.TransportUSB {
		return Choice{}, fmt.Errorf("%w: Purge needs the drive's own sanitize commands, which USB flash media do not have and USB bridges do not reliably pass through; Clear (nist-clear) is possible, or destroy the media", ErrUnachievable)
	}
	switch d.Transport {
	case inventory.TransportMMC:
		return Choice{}, fmt.Errorf("%w: decom has no Purge technique for eMMC and SD cards (it does not send an eMMC's secure erase or sanitize, which it cannot test); Clear (nist-clear) is possible, or destroy the media", ErrUnachievable)
	case inventory.TransportLoop, inventory.TransportVirtio:
		return Choice{}, fmt.Errorf("%w: a %s device has no firmware of its own to sanitize the media behind it; sanitize the backing storage instead, or use Clear (nist-clear)", ErrUnachievable, d.Transport)
	}
	if d.Capabilities == nil || !d.Capabilities.Probed {
		why := "the drive's capabilities could not be read"
		if d.Capabilities != nil && d.Capabilities.ProbeError != "" {
			why += " (" + d.Capabilities.ProbeError + ")"
		}
		return Choice{}, fmt.Errorf("%w: %s, so no Purge technique can be chosen", ErrUnachievable, why)
	}
	rows, kind := purgeRules(d)
	if rows == nil {
		return Choice{}, fmt.Errorf("%w: no Purge rule for %s media on %s", ErrUnachievable, d.Media, d.Transport)
	}
	var rejected []string
	for _, r := range rows {
		if why := r.offered(d); why != "" {
			rejected = append(rejected, fmt.Sprintf("%s: %s", r.tech, why))
			continue
		}
		return Choice{Technique: r.tech, Class: r.class, Reason: fmt.Sprintf("NIST SP 800-88 Purge for %s: %s", kind, r.why), Rejected: rejected}, nil
	}
	return Choice{}, fmt.Errorf("%w: none of the Purge techniques for %s is available (%s)", ErrUnachievable, kind, strings.Join(rejected, "; "))
}

// purgeRules returns the Purge rows for the drive's kind, best first, and the kind's name.
func purgeRules(d *inventory.Device) ([]candidate, string) {
	caps := d.Capabilities
	flash := d.Media == inventory.MediaSSD || d.Media == inventory.MediaFlash
	hdd := d.Media == inventory.MediaHDD
	switch {
	case d.Transport == inventory.TransportNVMe:
		san := func(get func(*inventory.SanitizeModes) bool) func(*inventory.Device) string {
			return func(*inventory.Device) string {
				if caps.NVMeSanitize == nil || !get(caps.NVMeSanitize) {
					return "not supported by the controller (SANICAP)"
				}
				return ""
			}
		}
		return []candidate{
			{TechNVMeSanitizeCrypto, ClassPurge, "Sanitize with crypto erase", san(func(m *inventory.SanitizeModes) bool { return m.CryptoErase })},
			{TechNVMeSanitizeBlock, ClassPurge, "Sanitize with block erase", san(func(m *inventory.SanitizeModes) bool { return m.BlockErase })},
			{TechNVMeFormatCrypto, ClassPurge, "Format NVM with cryptographic erase (SES 2)", func(*inventory.Device) string {
				switch {
				case caps.NVMeFormat == nil:
					return "Format NVM not supported (OACS)"
				case !caps.NVMeFormat.CryptoErase:
					return "cryptographic erase not supported (FNA)"
				}
				return ""
			}},
			{TechNVMeFormatUserData, ClassPurge, "Format NVM with user data erase (SES 1)", func(*inventory.Device) string {
				if caps.NVMeFormat == nil || !caps.NVMeFormat.UserDataErase {
					return "Format NVM not supported (OACS)"
				}
				return ""
			}},
		}, "an NVMe SSD"
	case (d.Transport == inventory.TransportSATA || caps.ATASanitize != nil || caps.ATASecurityErase != nil) && flash:
		return []candidate{
			{TechATASanitizeBlock, ClassPurge, "SANITIZE BLOCK ERASE EXT", ataSanitize(caps, func(m *inventory.SanitizeModes) bool { return m.BlockErase })},
			{TechATASanitizeCrypto, ClassPurge, "SANITIZE CRYPTO SCRAMBLE EXT", ataSanitize(caps, func(m *inventory.SanitizeModes) bool { return m.CryptoErase })},
			{TechATASecurityEraseEnhanced, ClassClear, "", func(*inventory.Device) string {
				return "only a Clear on flash media: the drive may leave spare and remapped blocks"
			}},
		}, "an ATA SSD"
	case (d.Transport == inventory.TransportSATA || caps.ATASanitize != nil || caps.ATASecurityErase != nil) && hdd:
		return []candidate{
			{TechATASanitizeOverwrite, ClassPurge, "SANITIZE OVERWRITE EXT", ataSanitize(caps, func(m *inventory.SanitizeModes) bool { return m.Overwrite })},
			{TechATASecurityEraseEnhanced, ClassPurge, "enhanced SECURITY ERASE UNIT, which also writes reallocated sectors", func(d *inventory.Device) string {
				switch {
				case caps.ATASecurityErase == nil || !caps.ATASecurityErase.Enhanced:
					return "enhanced security erase not supported"
				case d.SecurityState != nil && d.SecurityState.Frozen:
					return "the drive's security is frozen (by the BIOS): suspend and resume the machine, or unplug and replug the drive's power, then try again"
				case d.SecurityState != nil && d.SecurityState.Locked:
					return "the drive is locked with a password decom does not know"
				case d.SecurityState != nil && d.SecurityState.CountExpired:
					return "the drive's password attempt counter expired: power-cycle it"
				}
				return ""
			}},
			{TechATASanitizeCrypto, ClassPurge, "SANITIZE CRYPTO SCRAMBLE EXT", ataSanitize(caps, func(m *inventory.SanitizeModes) bool { return m.CryptoErase })},
		}, "an ATA hard disk"
	case d.Transport == inventory.TransportSAS || d.Transport == inventory.TransportSCSI:
		san := func(get func(*inventory.SanitizeModes) bool) func(*inventory.Device) string {
			return func(*inventory.Device) string {
				if caps.SCSISanitize == nil || !get(caps.SCSISanitize) {
					return "SANITIZE service action not supported"
				}
				return ""
			}
		}
		if flash {
			return []candidate{
				{TechSCSISanitizeBlock, ClassPurge, "SANITIZE BLOCK ERASE", san(func(m *inventory.SanitizeModes) bool { return m.BlockErase })},
				{TechSCSISanitizeCrypto, ClassPurge, "SANITIZE CRYPTOGRAPHIC ERASE", san(func(m *inventory.SanitizeModes) bool { return m.CryptoErase })},
			}, "a SCSI SSD"
		}
		if hdd {
			return []candidate{
				{TechSCSISanitizeOverwrite, ClassPurge, "SANITIZE OVERWRITE", san(func(m *inventory.SanitizeModes) bool { return m.Overwrite })},
				{TechSCSISanitizeCrypto, ClassPurge, "SANITIZE CRYPTOGRAPHIC ERASE", san(func(m *inventory.SanitizeModes) bool { return m.CryptoErase })},
			}, "a SCSI hard disk"
		}
	}
	return nil, ""
}

func ataSanitize(caps *inventory.Capabilities, get func(*inventory.SanitizeModes) bool) func(*inventory.Device) string {
	return func(*inventory.Device) string {
		if caps.ATASanitize == nil || !get(caps.ATASanitize) {
			return "not supported by the drive (IDENTIFY word 59)"
		}
		return ""
	}
}
