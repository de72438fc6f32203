package nvme

import (
	"errors"
	"fmt"

	"github.com/decom-project/decom/internal/devio"
)

// Sentinels for the completion statuses callers act on. A *StatusError matches the one for
// its status with errors.Is. Status codes are defined in Base 2.0 §4.2.3 ("Status Field
// Definition"): generic statuses have status code type (SCT) 0, command-specific ones SCT 1.
var (
	// ErrInvalidOpcode is SCT 0, SC 01h: the controller does not implement the command.
	// A controller without Sanitize support (QEMU's emulated NVMe, for one) answers this.
	ErrInvalidOpcode = errors.New("invalid command opcode")
	// ErrInvalidField is SCT 0, SC 02h: a field holds a value the controller does not
	// support, e.g. a sanitize action or secure erase setting it does not implement.
	ErrInvalidField = errors.New("invalid field in command")
	// ErrInvalidNamespace is SCT 0, SC 0Bh: the namespace ID is not valid for the command.
	ErrInvalidNamespace = errors.New("invalid namespace or format")
	// ErrOperationDenied is SCT 0, SC 15h: the controller denies the command, e.g. for lack
	// of access rights.
	ErrOperationDenied = errors.New("operation denied")
	// ErrSanitizeFailed is SCT 0, SC 1Ch: the last sanitize operation failed, and until a
	// sanitize succeeds (or failure mode is exited) the controller refuses other commands.
	ErrSanitizeFailed = errors.New("sanitize failed")
	// ErrSanitizeInProgress is SCT 0, SC 1Dh: a sanitize operation is running, and the
	// command is not allowed until it ends.
	ErrSanitizeInProgress = errors.New("sanitize in progress")
	// ErrWriteProtected is SCT 0, SC 20h: the namespace is write protected.
	ErrWriteProtected = errors.New("namespace is write protected")
	// ErrNamespaceNotReady is SCT 0, SC 82h: the namespace cannot be accessed for now.
	ErrNamespaceNotReady = errors.New("namespace not ready")
	// ErrFormatInProgress is SCT 0, SC 84h: a Format NVM command is running on the namespace.
	ErrFormatInProgress = errors.New("format in progress")
	// ErrInvalidLogPage is SCT 1, SC 09h: the controller does not support the log page.
	ErrInvalidLogPage = errors.New("invalid log page")
	// ErrInvalidFormat is SCT 1, SC 0Ah: Format NVM named an LBA format or protection
	// setting the namespace does not support.
	ErrInvalidFormat = errors.New("invalid format")
	// ErrSanitizeProhibited is SCT 1, SC 23h: sanitize is not allowed while a Persistent
	// Memory Region is enabled.
	ErrSanitizeProhibited = errors.New("sanitize prohibited while persistent memory region is enabled")
)

type statusInfo struct {
	err  error  // sentinel, if callers may want to test for this status
	desc string // used when there is no sentinel
	hint string // what the user can do, if anything
}

func statusKey(sct, sc uint8) uint16 { return uint16(sct)<<8 | uint16(sc) }

const (
	sctGeneric  = 0
	sctSpecific = 1
	sctMedia    = 2
)

const firmwareResetHint = "activate the pending firmware (reset the controller), then retry"

// statuses explains the completion statuses a drive may answer the commands in this package
// with: generic ones (Base 2.0 §4.2.3.1), command-specific ones for Get Log Page, Format NVM
// and Sanitize (Base 2.0 §4.2.3.2, §5.14, §5.16, §5.24) and a few media errors (§4.2.3.3).
var statuses = map[uint16]statusInfo{
	statusKey(sctGeneric, 0x01): {err: ErrInvalidOpcode, hint: "the controller does not implement this command"},
	statusKey(sctGeneric, 0x02): {err: ErrInvalidField, hint: "the controller does not support a value in the command, such as the requested sanitize action, erase setting or log page"},
	statusKey(sctGeneric, 0x04): {desc: "data transfer error"},
	statusKey(sctGeneric, 0x05): {desc: "command aborted due to power loss notification"},
	statusKey(sctGeneric, 0x06): {desc: "internal error", hint: "the controller failed internally; check its error log"},
	statusKey(sctGeneric, 0x07): {desc: "command abort requested"},
	statusKey(sctGeneric, 0x0B): {err: ErrInvalidNamespace, hint: "check the namespace ID"},
	statusKey(sctGeneric, 0x0C): {desc: "command sequence error"},
	statusKey(sctGeneric, 0x15): {err: ErrOperationDenied},
	statusKey(sctGeneric, 0x1C): {err: ErrSanitizeFailed, hint: "start a new sanitize; if the failed one allowed unrestricted exit, exit failure mode instead"},
	statusKey(sctGeneric, 0x1D): {err: ErrSanitizeInProgress, hint: "wait for the running sanitize to finish; its progress is in the sanitize status log"},
	statusKey(sctGeneric, 0x20): {err: ErrWriteProtected, hint: "clear the namespace write protection first"},
	statusKey(sctGeneric, 0x21): {desc: "command interrupted", hint: "retry the command"},
	statusKey(sctGeneric, 0x23): {desc: "command prohibited by command and feature lockdown"},
	statusKey(sctGeneric, 0x24): {desc: "admin command media not ready", hint: "wait for the media to become ready, then retry"},
	statusKey(sctGeneric, 0x82): {err: ErrNamespaceNotReady, hint: "wait for the namespace to become ready, then retry"},
	statusKey(sctGeneric, 0x84): {err: ErrFormatInProgress, hint: "wait for the running format to finish"},

	statusKey(sctSpecific, 0x09): {err: ErrInvalidLogPage, hint: "the controller does not support this log page"},
	statusKey(sctSpecific, 0x0A): {err: ErrInvalidFormat, hint: "choose an LBA format and protection setting the namespace lists"},
	statusKey(sctSpecific, 0x0B): {desc: "firmware activation requires conventional reset", hint: firmwareResetHint},
	statusKey(sctSpecific, 0x10): {desc: "firmware activation requires NVM subsystem reset", hint: firmwareResetHint},
	statusKey(sctSpecific, 0x11): {desc: "firmware activation requires controller level reset", hint: firmwareResetHint},
	statusKey(sctSpecific, 0x23): {err: ErrSanitizeProhibited, hint: "disable the persistent memory region, then retry"},

	statusKey(sctMedia, 0x80): {desc: "write fault"},
	statusKey(sctMedia, 0x81): {desc: "unrecovered read error"},
	statusKey(sctMedia, 0x86): {desc: "access denied"},
}

// StatusError is an admin command that completed with a non-zero status, explained. It
// matches Status with errors.As and, for statuses that have one, this package's sentinel
// with errors.Is.
type StatusError struct {
	// Command names the command ("sanitize", "format nvm", ...).
	Command string
	// Status is the completion status as the transport returned it.
	Status *devio.NVMeStatusError
}

func (e *StatusError) Error() string {
	info, known := statuses[statusKey(e.Status.SCT(), e.Status.SC())]
	var desc string
	switch {
	case info.err != nil:
		desc = info.err.Error()
	case known:
		desc = info.desc
	case e.Status.SCT() == 7:
		desc = "vendor specific status"
	default:
		desc = "unknown status"
	}
	dnr := ""
	if e.Status.DNR() {
		dnr = ", do not retry"
	}
	s := fmt.Sprintf("nvme %s: %s (status type %d, code 0x%02x%s)", e.Command, desc, e.Status.SCT(), e.Status.SC(), dnr)
	if info.hint != "" {
		s += ": " + info.hint
	}
	return s
}

// Unwrap returns the transport's status error and, if the status has one, its sentinel.
func (e *StatusError) Unwrap() []error {
	if info := statuses[statusKey(e.Status.SCT(), e.Status.SC())]; info.err != nil {
		return []error{e.Status, info.err}
	}
	return []error{e.Status}
}
