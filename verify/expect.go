package verify

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"github.com/decom-project/decom/wipe"
)

// maxPatternFile bounds a pattern file: it is held in memory and repeated.
const maxPatternFile = 16 << 20

// Expectation is what a device should hold: the bytes at any offset, and a
// description for people and records.
type Expectation struct {
	Description string
	fill        func(buf []byte, off int64)
}

// ExpectPass expects what a wipe pass wrote; random passes need their keys.
func ExpectPass(p wipe.Pattern, keys *wipe.Keys) (Expectation, error) {
	var k wipe.Keys
	if keys != nil {
		k = *keys
	}
	s, err := wipe.NewStream(p, k)
	if err != nil {
		return Expectation{}, err
	}
	desc := p.String()
	if p.Kind == wipe.KindRandom {
		desc = "random (AES-256-CTR keystream, key " + k.Key.String() + ", iv " + k.IV.String() + ")"
	}
	return Expectation{Description: desc, fill: s.FillAt}, nil
}

// ExpectBytes expects data repeated over the whole device, from offset 0.
func ExpectBytes(data []byte, description string) (Expectation, error) {
	if len(data) == 0 || len(data) > maxPatternFile {
		return Expectation{}, fmt.Errorf("pattern of %d bytes: want 1 byte to %d MiB", len(data), maxPatternFile>>20)
	}
	return Expectation{Description: description, fill: func(buf []byte, off int64) {
		wipe.Repeat(buf, data, off)
	}}, nil
}

// ParseExpect reads --expect: zero, one, hex bytes (0x55, 0x924924), or the path of a
// pattern file whose content repeats over the device.
func ParseExpect(s string) (Expectation, error) {
	switch strings.ToLower(s) {
	case "zero", "zeros", "0":
		return ExpectPass(wipe.Fixed(0x00), nil)
	case "one", "ones":
		return ExpectPass(wipe.Fixed(0xff), nil)
	}
	if strings.HasPrefix(strings.ToLower(s), "0x") {
		p, err := wipe.ParsePattern(s)
		if err != nil {
			return Expectation{}, err
		}
		return ExpectPass(p, nil)
	}
	data, err := os.ReadFile(s)
	if err != nil {
		return Expectation{}, fmt.Errorf("expected content %q is neither zero, one, 0xNN nor a readable pattern file: %w", s, err)
	}
	sum := sha256.Sum256(data)
	return ExpectBytes(data, fmt.Sprintf("pattern file %s (%d bytes, sha256 %s)", s, len(data), hex.EncodeToString(sum[:])))
}
