package wipe

import (
	"crypto/aes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/decom-project/decom/internal/aesctr"
)

// Pattern kinds.
const (
	KindFixed  = "fixed"  // a repeating sequence of one to three bytes
	KindRandom = "random" // an AES-256-CTR keystream, keyed afresh for every pass
)

// maxPatternLen bounds a fixed pattern: the standards use one byte, Gutmann three.
const maxPatternLen = 8

// Pattern is what one pass writes. Its JSON form is part of the wipe record.
type Pattern struct {
	Kind string `json:"kind"`
	// Value is the repeating sequence of a fixed pattern: byte i of the device gets
	// Value[i % len(Value)], so a pattern lines up the same way on every device.
	Value Bytes `json:"value,omitempty"`
}

// Fixed returns a fixed pattern of the given bytes.
func Fixed(b ...byte) Pattern { return Pattern{Kind: KindFixed, Value: b} }

// Random returns a random pattern.
func Random() Pattern { return Pattern{Kind: KindRandom} }

func (p Pattern) String() string {
	if p.Kind == KindRandom {
		return "random"
	}
	return p.Value.String()
}

// ParsePattern reads one pass of a --passes list: "random", or hex bytes such as
// "0x55" or "0x924924" (the 0x is optional).
func ParsePattern(s string) (Pattern, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "random" {
		return Random(), nil
	}
	h := strings.TrimPrefix(s, "0x")
	b, err := hex.DecodeString(h)
	if err != nil || len(b) == 0 || len(b) > maxPatternLen {
		return Pattern{}, fmt.Errorf("bad pass %q: want random or 1 to %d hex bytes such as 0x55 or 0x924924", s, maxPatternLen)
	}
	return Fixed(b...), nil
}

// ParsePasses reads a comma-separated pass list: "0x55,0xaa,random,0x00".
func ParsePasses(s string) ([]Pattern, error) {
	var out []Pattern
	for _, f := range strings.Split(s, ",") {
		p, err := ParsePattern(f)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// Bytes is a byte string written in JSON as 0x-prefixed hex.
type Bytes []byte

func (b Bytes) String() string { return "0x" + hex.EncodeToString(b) }

func (b Bytes) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

func (b *Bytes) UnmarshalText(t []byte) error {
	v, err := hex.DecodeString(strings.TrimPrefix(string(t), "0x"))
	if err != nil {
		return fmt.Errorf("bad hex bytes %q", t)
	}
	*b = v
	return nil
}

// Keys are what regenerates a random pass: an AES-256 key and the initial counter
// block. They are recorded with the pass so that verification, then or years later,
// can recompute the bytes at any offset. They protect nothing: the keystream is
// meant to be public once written.
type Keys struct {
	Key Bytes `json:"key"`
	IV  Bytes `json:"iv"`
}

// NewKeys draws fresh keys from the operating system's random source.
func NewKeys() (Keys, error) {
	k := Keys{Key: make([]byte, 32), IV: make([]byte, aes.BlockSize)}
	if _, err := rand.Read(k.Key); err != nil {
		return Keys{}, err
	}
	if _, err := rand.Read(k.IV); err != nil {
		return Keys{}, err
	}
	// The low 64 bits of the counter start at zero so that a device of any size never
	// wraps them (2^64 blocks of 16 bytes); the high 64 bits are the per-pass nonce.
	clear(k.IV[8:])
	return k, nil
}

// Stream produces the bytes a pass writes, at any offset: a fixed pattern repeated,
// or the AES-CTR keystream, which is seekable, so any worker or verifier can compute
// any block independently. A Stream is safe for concurrent use.
type Stream struct {
	fixed []byte
	ctr   *aesctr.Stream // random passes: the keystream of the pass's keys
}

// NewStream prepares the byte source of pattern p. Random patterns need keys.
func NewStream(p Pattern, keys Keys) (*Stream, error) {
	switch p.Kind {
	case KindFixed:
		if len(p.Value) == 0 || len(p.Value) > maxPatternLen {
			return nil, fmt.Errorf("fixed pattern of %d bytes", len(p.Value))
		}
		return &Stream{fixed: p.Value}, nil
	case KindRandom:
		if len(keys.Key) != 32 || len(keys.IV) != aes.BlockSize {
			return nil, errors.New("random pattern needs a 32-byte key and a 16-byte IV")
		}
		if binary.BigEndian.Uint64(keys.IV[8:]) != 0 {
			return nil, errors.New("random pattern IV must end in 8 zero bytes")
		}
		ctr, err := aesctr.New(keys.Key, binary.BigEndian.Uint64(keys.IV[:8]))
		if err != nil {
			return nil, err
		}
		return &Stream{ctr: ctr}, nil
	}
	return nil, fmt.Errorf("unknown pattern kind %q", p.Kind)
}

// Period is the length of a fixed pattern, 0 for a random one.
func (s *Stream) Period() int { return len(s.fixed) }

// FillAt fills buf with the bytes the pass puts at device offset off. For a random
// pass it writes the keystream straight into buf (internal/aesctr: no allocation, and
// on processors with VAES several times faster than crypto/cipher's CTR mode).
func (s *Stream) FillAt(buf []byte, off int64) {
	if s.ctr == nil {
		Repeat(buf, s.fixed, off)
		return
	}
	s.ctr.KeyStreamAt(buf, off)
}

// FillOut is FillAt for a buffer that is written to the device and not read here
// again: a random pass's keystream is then stored past the processor's caches
// (aesctr's Out), which spares fetching each line of the buffer only to overwrite
// it. The bytes are FillAt's.
func (s *Stream) FillOut(buf []byte, off int64) {
	if s.ctr == nil {
		Repeat(buf, s.fixed, off)
		return
	}
	s.ctr.Out(buf, off)
}

// Repeat fills buf with what a device holding pattern repeated from offset 0 has at
// offset off.
func Repeat(buf, pattern []byte, off int64) {
	p := len(pattern)
	phase := int(off % int64(p))
	n := copy(buf, pattern[phase:])
	n += copy(buf[n:], pattern[:phase]) // one whole period, starting at the phase
	for n < len(buf) {
		n += copy(buf[n:], buf[:n]) // n stays a multiple of p: the phase holds
	}
}
