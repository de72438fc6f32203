package wipe

import (
	"log/slog"
	"time"

	"github.com/decom-project/decom/internal/devio"
	"github.com/decom-project/decom/inventory"
)

// DriveCommands is what the firmware executors talk to: the command interfaces of one drive.
// The executors never open anything themselves; the caller builds the DriveCommands from the
// file the safety gate opened (devio.NewSGDevice, devio.NewNVMeDevice) or, in tests,
// from the drive simulator.
type DriveCommands struct {
	Path string
	// SCSI carries SCSI commands and ATA commands (ATA PASS-THROUGH) for SATA, SAS
	// and SCSI drives; nil for NVMe.
	SCSI devio.SCSI
	// NVMe carries admin commands for an NVMe namespace; nil otherwise. NSID is the
	// namespace.
	NVMe devio.NVMe
	NSID uint32
	// Size is the drive's size in bytes, for progress events.
	Size int64

	closer func() error
}

// Close releases what Device.Commands opened for the Drive.
func (d DriveCommands) Close() error {
	if d.closer == nil {
		return nil
	}
	return d.closer()
}

// FirmwareOptions tune a firmware sanitize.
type FirmwareOptions struct {
	// Progress receives the same events as an overwrite's: one pass, whose Pattern is
	// the technique and whose Done is the drive's own progress indicator scaled to Size.
	Progress func(Event)
	// PollInterval is how often the drive's progress is read (default 2 s).
	PollInterval time.Duration
	// StallTimeout: a drive whose progress indicator does not move for this long has
	// failed (default 30 min); a progress indicator that goes backwards has failed at
	// once. (nvme-cli treats a sanitize the same way.)
	StallTimeout time.Duration
	// Timeout bounds commands that run to completion before they answer (SECURITY
	// ERASE UNIT, Format NVM); zero derives it from the drive's own estimate, at
	// least 2 h.
	Timeout time.Duration
	Logger  *slog.Logger
}

// FirmwareRecord is what a firmware sanitize did: the evidence a certificate names.
type FirmwareRecord struct {
	Technique Technique `json:"technique"`
	// Commands lists the commands sent, in order, as the drive's command set names
	// them ("SECURITY ERASE PREPARE", "Sanitize (crypto erase)", …).
	Commands []string `json:"commands"`
	// HPABefore and HPAAfter are the drive's Host Protected Area before and after (ATA).
	HPABefore *inventory.HPA `json:"hpa_before,omitempty"`
	HPAAfter  *inventory.HPA `json:"hpa_after,omitempty"`
	Completed bool           `json:"completed"`
	Error     string         `json:"error,omitempty"`
	Started   time.Time      `json:"started"`
	Finished  time.Time      `json:"finished"`

	// Resumed marks the record of ResumeSanitize: not a sanitize decom sent and
	// followed, but the check, after an interruption (power loss, crash), of one sent
	// earlier, at Sent. Its Commands are the status reads of that check only; Started
	// and Finished are the check's.
	Resumed bool       `json:"resumed,omitempty"`
	Sent    *time.Time `json:"sent,omitempty"`
	// Outcome says, for a resumed check, how its result is known: ResumeFollowed,
	// ResumeDriveStatus or ResumeUnknown.
	Outcome ResumeOutcome `json:"outcome,omitempty"`
	// Note says, for a resumed check that ended completed, what the drive reported.
	Note string `json:"note,omitempty"`
}
