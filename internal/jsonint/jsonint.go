// Package jsonint holds integers that JSON must carry exactly. Many JSON readers
// (JavaScript, jq, protobuf's Struct, Python's float paths) hold every number as a
// float64, which is exact only up to 2^53: a 64-bit sampling seed read that way
// comes back as another number, and selects other blocks. Uint64 writes its value
// as a decimal string, which every reader keeps as it is, and reads both the string
// and the bare number that earlier decom versions wrote.
package jsonint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Uint64 is a uint64 written in JSON as a decimal string ("18364758544493064721").
// It reads a string or a bare number of decimal digits; anything else (a sign, a
// fraction, an exponent, hex, a value above 2^64-1) is an error. With omitempty, 0
// is left out, as for a plain uint64.
type Uint64 uint64

func (u Uint64) String() string { return strconv.FormatUint(uint64(u), 10) }

// MarshalJSON writes the value as a decimal string.
func (u Uint64) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, u.String()), nil
}

// UnmarshalJSON reads a decimal string or a bare number; null leaves u as it is.
func (u *Uint64) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	digits := b
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		digits = []byte(s)
	}
	v, err := Parse(string(digits))
	if err != nil {
		return err
	}
	*u = Uint64(v)
	return nil
}

// Parse reads a decimal unsigned 64-bit integer: digits only, as JSON and
// UnmarshalJSON accept them.
func Parse(s string) (uint64, error) {
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, fmt.Errorf("%q is not an unsigned whole number", s)
		}
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not an unsigned 64-bit whole number", s)
	}
	return v, nil
}
