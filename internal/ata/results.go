package ata

import (
	"errors"
	"fmt"
)

// ErrPartialRegisters is returned when an answer needs output register bits that fixed-format
// sense data cannot carry (COUNT(15:8), LBA(47:24)) and they were non-zero. The translation
// layer returns descriptor-format sense data when the control mode page's D_SENSE bit is set.
var ErrPartialRegisters = errors.New("ata: the translation layer returned only part of the ATA registers (fixed-format sense data)")

// SanitizeStatus is the answer of SANITIZE STATUS EXT (ACS-3 §7.36; outputs in COUNT and LBA).
type SanitizeStatus struct {
	// CompletedWithoutError is COUNT bit 15, SANITIZE OPERATION COMPLETED WITHOUT ERROR: the
	// last sanitize succeeded. It is kept across power cycles.
	CompletedWithoutError bool
	// InProgress is COUNT bit 14: a sanitize operation is running.
	InProgress bool
	// Frozen is COUNT bit 13: SANITIZE FREEZE LOCK EXT has been processed since power-on.
	Frozen bool
	// AntifreezeLocked is COUNT bit 12: SANITIZE ANTIFREEZE LOCK EXT has been processed.
	AntifreezeLocked bool
	// Progress is SANITIZE PROGRESS INDICATION (LBA(15:0)) divided by 65536, meaningful while
	// InProgress; the field reads FFFFh otherwise.
	Progress float64
}

// ParseSanitizeStatus decodes the output registers of SANITIZE STATUS EXT. A sanitize that
// failed makes the command itself fail: Exec then returns a *CommandError with ABORT set,
// whose Registers hold the same fields and, in LBA(7:0), the SANITIZE DEVICE ERROR REASON
// (0 not reported, 1 the sanitize left user data areas unsanitized, 2 unsupported feature
// value, 3 sanitize frozen, 4 freeze lock refused because of an antifreeze lock).
func ParseSanitizeStatus(r Registers) (SanitizeStatus, error) {
	// The status bits live in COUNT(15:8), which fixed-format sense data drops.
	if r.Partial && r.CountUpperNonZero {
		return SanitizeStatus{}, fmt.Errorf("ata: sanitize status: %w", ErrPartialRegisters)
	}
	return SanitizeStatus{
		CompletedWithoutError: r.Count&(1<<15) != 0,
		InProgress:            r.Count&(1<<14) != 0,
		Frozen:                r.Count&(1<<13) != 0,
		AntifreezeLocked:      r.Count&(1<<12) != 0,
		Progress:              float64(r.LBA&0xFFFF) / 65536,
	}, nil
}

// MaxAddress returns the address in the LBA output register of READ NATIVE MAX ADDRESS EXT or
// GET NATIVE MAX ADDRESS EXT: the highest LBA of the drive. It fails with ErrPartialRegisters
// when fixed-format sense data dropped non-zero bits 47:24 of it (any drive over 8 GiB).
func MaxAddress(r Registers) (uint64, error) {
	if r.Partial && r.LBAUpperNonZero {
		return 0, fmt.Errorf("ata: native max address: %w", ErrPartialRegisters)
	}
	return r.LBA & (1<<48 - 1), nil
}
