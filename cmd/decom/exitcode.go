package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/decom-project/decom/certificates"
	"github.com/decom-project/decom/inventory"
	"github.com/decom-project/decom/registry"
	"github.com/decom-project/decom/sanitize"
	"github.com/decom-project/decom/wipe"
)

// Exit codes. They are an interface: scripts branch on them, so a code keeps its
// meaning forever. exitCodes below says what each means, for the help and the README.
const (
	exitOK           = 0
	exitInternal     = 1   // unexpected failure: a bug, or the system refused something basic
	exitUsage        = 2   // bad command line: unknown command or flag, bad value, missing argument
	exitDevice       = 3   // the device named does not exist, is not a block device, vanished, or cannot be read
	exitRefused      = 4   // a safety gate refused the operation; nothing was written
	exitWipeFailed   = 5   // a wipe failed
	exitVerifyFailed = 6   // a wipe completed but verification found data that should not be there
	exitExceptions   = 7   // completed with exceptions (for example unwritable ranges skipped)
	exitCertInvalid  = 8   // a certificate did not verify: altered, untrusted key, wrong type or schema
	exitBadInput     = 9   // an input file or key is missing, unreadable or malformed, or its passphrase is wrong; a journal that cannot be resumed
	exitUnreachable  = 10  // the registry could not be reached; certificates wait in the spool
	exitInterrupted  = 130 // stopped by SIGINT or SIGTERM
)

// exitCodes says what each exit code means, in the words of every command's help and
// of the README's table (a test holds the README to it).
var exitCodes = []struct {
	code    int
	meaning string
}{
	{exitOK, "success"},
	{exitInternal, "internal error (a bug, or the system refused something basic)"},
	{exitUsage, "usage error: unknown command or flag, bad value, missing argument"},
	{exitDevice, "device error: no such device, not a block device, vanished, unreadable"},
	{exitRefused, "refused by a safety gate; nothing was written"},
	{exitWipeFailed, "wipe failed"},
	{exitVerifyFailed, "verification failed"},
	{exitExceptions, "completed with exceptions"},
	{exitCertInvalid, "certificate verification failed: altered, untrusted key, wrong type or schema"},
	{exitBadInput, "bad input file or key: missing, unreadable, malformed, or a wrong passphrase; a journal that cannot be resumed"},
	{exitUnreachable, "registry unreachable: certificates wait in the certificate directory"},
	{exitInterrupted, "interrupted (SIGINT or SIGTERM)"},
}

// exitCodeHelp is the list every command's long help ends with.
var exitCodeHelp = func() string {
	var b strings.Builder
	b.WriteString("Exit codes:")
	for _, e := range exitCodes {
		fmt.Fprintf(&b, "\n  %-4d %s", e.code, e.meaning)
	}
	return b.String()
}()

// usageError marks an error as the user's command line being wrong.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// badInputError marks an input file or key that cannot be used.
type badInputError struct{ err error }

func (e badInputError) Error() string { return e.err.Error() }
func (e badInputError) Unwrap() error { return e.err }

func badInputf(format string, args ...any) error {
	return badInputError{fmt.Errorf(format, args...)}
}

// exitCode is the one place that turns an error into a process exit code.
func exitCode(err error) int {
	var usage usageError
	var badInput badInputError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case errors.As(err, &usage):
		return exitUsage
	case errors.As(err, &badInput),
		errors.Is(err, certificates.ErrPassphrase),
		errors.Is(err, certificates.ErrKey),
		errors.Is(err, sanitize.ErrJournal):
		return exitBadInput
	case errors.Is(err, registry.ErrUnreachable):
		return exitUnreachable
	case errors.Is(err, registry.ErrRejected),
		errors.Is(err, registry.ErrInconsistent),
		errors.Is(err, certificates.ErrFormat),
		errors.Is(err, certificates.ErrSignature),
		errors.Is(err, certificates.ErrPredicateType),
		errors.Is(err, certificates.ErrInvalid):
		return exitCertInvalid
	case errors.Is(err, inventory.ErrNotFound),
		errors.Is(err, inventory.ErrNotBlockDevice),
		errors.Is(err, inventory.ErrVanished),
		errors.Is(err, fs.ErrPermission):
		return exitDevice
	case errors.Is(err, wipe.ErrRefused):
		return exitRefused
	case errors.Is(err, sanitize.ErrWipeFailed):
		return exitWipeFailed
	case errors.Is(err, sanitize.ErrExceptions):
		return exitExceptions
	case errors.Is(err, sanitize.ErrVerifyFailed):
		return exitVerifyFailed
	}
	return exitInternal
}

// errorMessage is the one line a user sees for err.
func errorMessage(err error) string {
	switch {
	case errors.Is(err, context.Canceled):
		return "interrupted"
	case errors.Is(err, fs.ErrPermission):
		return err.Error() + " (decom reads devices directly: run it as root)"
	}
	return err.Error()
}
