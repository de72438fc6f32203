// Package devio is the contract between decom's drive commands and whatever carries them: the
// Linux kernel (SG_IO for SCSI CDBs and ATA PASS-THROUGH, NVMe admin passthrough ioctls) or the
// drive simulator the tests use. Command builders and parsers live in internal/ata,
// internal/scsi and internal/nvme; executors in package wipe speak only these interfaces.
package devio

import (
	"errors"
	"fmt"
	"time"
)

// Direction is the direction of a command's data transfer.
type Direction int

const (
	// DirNone: the command moves no data.
	DirNone Direction = iota
	// DirFromDevice: the device fills Data.
	DirFromDevice
	// DirToDevice: Data is sent to the device.
	DirToDevice
)

// SCSI status bytes the callers look at.
const (
	StatusGood           = 0x00
	StatusCheckCondition = 0x02
	StatusBusy           = 0x08
)

// SCSICommand is one CDB and its data buffer.
type SCSICommand struct {
	CDB     []byte
	Dir     Direction
	Data    []byte        // filled by the device (DirFromDevice) or sent to it (DirToDevice)
	Timeout time.Duration // zero means DefaultTimeout
}

// SCSIResult is what the device answered. A CHECK CONDITION is an answer, not an error: ATA
// PASS-THROUGH with CK_COND set returns the ATA registers in the sense data that way.
type SCSIResult struct {
	Status byte   // SCSI status byte
	Sense  []byte // sense data, fixed (0x70/0x71) or descriptor (0x72/0x73) format, when present
	Resid  int    // bytes of Data not transferred
}

// SCSI carries SCSI commands (and ATA commands wrapped in ATA PASS-THROUGH) to a device.
// Exec returns an error only when the command did not reach the device or no answer came
// back (ioctl failure, host or driver error, timeout).
type SCSI interface {
	Exec(cmd *SCSICommand) (SCSIResult, error)
}

// NVMeAdminCommand is one NVMe admin command (the fields of struct nvme_admin_cmd).
type NVMeAdminCommand struct {
	Opcode uint8
	Flags  uint8
	NSID   uint32
	CDW2   uint32
	CDW3   uint32
	CDW10  uint32
	CDW11  uint32
	CDW12  uint32
	CDW13  uint32
	CDW14  uint32
	CDW15  uint32
	Dir    Direction
	Data   []byte
	// Timeout zero means DefaultTimeout.
	Timeout time.Duration
}

// NVMe carries admin commands to an NVMe controller (through a namespace or controller node).
// Admin returns the completion's command-specific result (DW0). A completion with a non-zero
// status is an *NVMeStatusError; other errors mean the command did not complete.
type NVMe interface {
	Admin(cmd *NVMeAdminCommand) (result uint32, err error)
}

// DefaultTimeout bounds commands that set no timeout of their own.
const DefaultTimeout = 30 * time.Second

// NVMeStatusError is an NVMe completion with a non-zero status field: the status code type in
// bits 10:8, the status code in bits 7:0, DNR in bit 14 (the layout Linux returns from the
// passthrough ioctls, without the phase bit).
type NVMeStatusError struct {
	Status uint16
}

func (e *NVMeStatusError) Error() string {
	return fmt.Sprintf("nvme: command failed: status type %#x code %#x%s", e.SCT(), e.SC(), map[bool]string{true: " (do not retry)"}[e.DNR()])
}

// SCT is the status code type.
func (e *NVMeStatusError) SCT() uint8 { return uint8(e.Status>>8) & 0x7 }

// SC is the status code.
func (e *NVMeStatusError) SC() uint8 { return uint8(e.Status) }

// DNR reports the Do Not Retry bit.
func (e *NVMeStatusError) DNR() bool { return e.Status&(1<<14) != 0 }

// ErrUnsupported is returned (wrapped) by transports that cannot carry a kind of command at all,
// e.g. SG_IO on a device whose driver does not implement it.
var ErrUnsupported = errors.New("devio: command set not supported by this device")
