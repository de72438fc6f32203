package inventory

import (
	"strconv"
	"strings"
)

// Capabilities is what a drive's own firmware offers to sanitize it, read from its
// identify data (ATA IDENTIFY DEVICE, NVMe Identify Controller, SCSI REPORT SUPPORTED
// OPERATION CODES). A nil section means the command set does not apply to the drive or
// the drive does not support it.
type Capabilities struct {
	// Probed says whether the drive answered; ProbeError says why it did not (no
	// passthrough through this bridge, a device node missing, …). A drive that was not
	// probed offers nothing a plan may count on.
	Probed     bool   `json:"probed"`
	ProbeError string `json:"probe_error,omitempty"`

	ATASecurityErase *ATASecurityErase `json:"ata_security_erase,omitempty"`
	ATASanitize      *SanitizeModes    `json:"ata_sanitize,omitempty"`
	NVMeFormat       *NVMeFormat       `json:"nvme_format,omitempty"`
	NVMeSanitize     *SanitizeModes    `json:"nvme_sanitize,omitempty"`
	SCSISanitize     *SanitizeModes    `json:"scsi_sanitize,omitempty"`
	// SecureDiscard is never set: decom does not read an eMMC's EXT_CSD, and has no
	// technique that would use its secure erase. It stays so that the inventory's
	// JSON keeps its shape.
	SecureDiscard bool `json:"secure_discard"`
}

// ATASecurityErase is the ATA Security feature set's SECURITY ERASE UNIT. The times
// are the drive's own estimates, in minutes; 0 means it gives none.
type ATASecurityErase struct {
	Normal          bool `json:"normal"`
	Enhanced        bool `json:"enhanced"`
	NormalMinutes   int  `json:"normal_minutes,omitempty"`
	EnhancedMinutes int  `json:"enhanced_minutes,omitempty"`
}

// SanitizeModes are the operations of a sanitize command set (ATA SANITIZE DEVICE,
// NVMe Sanitize, SCSI SANITIZE).
type SanitizeModes struct {
	CryptoErase bool `json:"crypto_erase"`
	BlockErase  bool `json:"block_erase"`
	Overwrite   bool `json:"overwrite"`
}

// Any reports whether some operation is supported.
func (m *SanitizeModes) Any() bool {
	return m != nil && (m.CryptoErase || m.BlockErase || m.Overwrite)
}

// NVMeFormat is the NVMe Format NVM command with a secure erase setting.
type NVMeFormat struct {
	// UserDataErase: SES 1, which every controller that formats accepts.
	UserDataErase bool `json:"user_data_erase"`
	// CryptoErase: SES 2 (FNA bit 2).
	CryptoErase bool `json:"crypto_erase"`
	// AllNamespaces: a secure erase reaches every namespace of the controller, not
	// just the one formatted (FNA bit 1).
	AllNamespaces bool `json:"all_namespaces"`
}

// SecurityState is the ATA Security feature set's state. A frozen drive refuses every
// security command until it is power-cycled or resumed from suspend; a locked drive
// refuses reads and writes until unlocked.
type SecurityState struct {
	Supported    bool `json:"supported"`
	Enabled      bool `json:"enabled"`
	Locked       bool `json:"locked"`
	Frozen       bool `json:"frozen"`
	CountExpired bool `json:"count_expired"`
}

// HPA is an ATA Host Protected Area: sectors between the current maximum address and
// the native one, invisible to the operating system and to an overwrite.
type HPA struct {
	Supported bool `json:"supported"`
	Enabled   bool `json:"enabled"`
	// CurrentMaxLBA and NativeMaxLBA are the last addressable sector now and the
	// drive's own last sector; NativeMaxLBA is 0 when it could not be read.
	CurrentMaxLBA uint64 `json:"current_max_lba"`
	NativeMaxLBA  uint64 `json:"native_max_lba"`
	// HiddenSectors is NativeMaxLBA - CurrentMaxLBA when both are known.
	HiddenSectors uint64 `json:"hidden_sectors"`
}

// DCO is an ATA Device Configuration Overlay: a drive made to report less capacity or
// fewer features than it has.
type DCO struct {
	Supported bool `json:"supported"`
	// Read says whether DEVICE CONFIGURATION IDENTIFY answered (a frozen DCO refuses).
	Read bool `json:"read"`
	// FactoryMaxLBA is the last sector the overlay allows; a value above the HPA's
	// native maximum means sectors are hidden by the overlay.
	FactoryMaxLBA  uint64   `json:"factory_max_lba,omitempty"`
	HiddenSectors  uint64   `json:"hidden_sectors"`
	HiddenFeatures []string `json:"hidden_features"`
}

// AMAX is the ACS-3 Accessible Max Address Configuration feature, the successor of HPA
// on newer drives.
type AMAX struct {
	Supported bool `json:"supported"`
}

// HiddenAreas summarises a drive's hidden areas for certificates: "none" when the
// drive was read and hides nothing, a description otherwise, "unknown" when it could
// not be read.
func (d *Device) HiddenAreas() string {
	if d.Capabilities == nil || !d.Capabilities.Probed {
		return "unknown"
	}
	if d.HPA == nil && d.DCO == nil {
		if d.Transport == TransportNVMe || d.Capabilities.SCSISanitize != nil {
			return "none" // no HPA or DCO exists in these command sets
		}
		return "unknown"
	}
	var parts []string
	switch {
	case d.HPA == nil || !d.HPA.Supported:
	case d.HPA.NativeMaxLBA == 0:
		parts = append(parts, "hpa state unknown")
	case d.HPA.HiddenSectors > 0:
		parts = append(parts, "hpa hides "+strconv.FormatUint(d.HPA.HiddenSectors, 10)+" sectors")
	}
	if d.DCO != nil && d.DCO.Supported {
		switch {
		case !d.DCO.Read:
			parts = append(parts, "dco not readable")
		case d.DCO.HiddenSectors > 0:
			parts = append(parts, "dco hides "+strconv.FormatUint(d.DCO.HiddenSectors, 10)+" sectors")
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}
