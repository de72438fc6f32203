// Package aesctr writes an AES-256-CTR keystream at any offset, straight into the
// caller's buffer.
//
// The counter block of keystream block i is the 8-byte big-endian nonce followed by
// the 8-byte big-endian block index i, and the keystream byte at offset off is byte
// off%16 of block off/16. These are the bytes crypto/cipher's CTR mode produces over
// zeros from the counter block nonce||0, so a pass written with one can be verified
// with the other.
//
// On amd64 processors with VAES the blocks are encrypted by the package's own
// assembly: thirty-two blocks at a time in 512-bit registers where AVX-512 is there,
// sixteen at a time in 256-bit registers where only AVX2 is. The standard library's
// CTR mode uses 128-bit AES-NI and cannot be repositioned without a new cipher state;
// on an AMD EPYC (Zen 5) the 256-bit kernel is about twice as fast and the 512-bit one
// about four times. Elsewhere the package falls back to crypto/cipher, with the same
// bytes.
//
// A Stream is read-only once made: any number of goroutines may call KeyStreamAt on
// one Stream at the same time.
package aesctr

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
	"unsafe"
)

// KeySize is the length of an AES-256 key.
const KeySize = 32

// BlockSize is the AES block size: the keystream advances one counter per block.
const BlockSize = aes.BlockSize

// kernel is the code that encrypts the counter blocks.
type kernel int

const (
	kernelStdlib  kernel = iota // crypto/cipher's CTR mode
	kernelVAES256               // this package's assembly, 16 blocks at a time in YMM registers
	kernelVAES512               // this package's assembly, 32 blocks at a time in ZMM registers
)

func (k kernel) String() string {
	switch k {
	case kernelVAES256:
		return "vaes256"
	case kernelVAES512:
		return "vaes512"
	}
	return "fallback"
}

// Stream is an AES-256-CTR keystream under one key and nonce.
type Stream struct {
	nonce  uint64
	kernel kernel
	rk     roundKeys    // the expanded key, for the assembly
	block  cipher.Block // for crypto/cipher
}

// New prepares the keystream of key (32 bytes) and nonce, with the fastest code the
// processor allows.
func New(key []byte, nonce uint64) (*Stream, error) {
	return newStream(key, nonce, best)
}

// newStream is New with kernel k, or the best one the processor has if k is not
// available, so that tests can run every kernel the machine has.
func newStream(key []byte, nonce uint64, k kernel) (*Stream, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("aesctr: key of %d bytes, want %d", len(key), KeySize)
	}
	s := &Stream{nonce: nonce, kernel: min(k, best)}
	if s.kernel != kernelStdlib {
		expandKey256(&s.rk, key)
		return s, nil
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	s.block = b
	return s, nil
}

// Fast reports whether s uses the package's own assembly rather than crypto/cipher.
func (s *Stream) Fast() bool { return s.kernel != kernelStdlib }

// KeyStreamAt overwrites dst with the keystream bytes at offsets off to
// off+len(dst). off must not be negative. With the assembly it allocates nothing.
func (s *Stream) KeyStreamAt(dst []byte, off int64) { s.keyStreamAt(dst, off, false) }

// Out is KeyStreamAt for a buffer the processor will not read again, one that goes
// to a device: the 512-bit kernel then stores past the caches where dst is 64-byte
// aligned. A wipe's writer hands each buffer to the kernel, which copies or DMAs it
// from another core; ordinary stores would first fetch every line of the buffer
// back into this core's cache only to overwrite it (on this machine that doubled
// the keystream's cost within a wipe). The bytes are the same as KeyStreamAt's.
func (s *Stream) Out(dst []byte, off int64) { s.keyStreamAt(dst, off, true) }

func (s *Stream) keyStreamAt(dst []byte, off int64, out bool) {
	if off < 0 {
		panic("aesctr: negative offset")
	}
	if len(dst) == 0 {
		return
	}
	idx := uint64(off) / BlockSize
	skip := int(uint64(off) % BlockSize)
	if s.kernel == kernelStdlib {
		s.fallbackAt(dst, idx, skip)
		return
	}
	var one [BlockSize]byte
	if skip != 0 {
		ctrBlocks(&s.rk, &one[0], s.nonce, idx, 1)
		n := copy(dst, one[skip:])
		dst = dst[n:]
		idx++
	}
	whole := len(dst) / BlockSize
	if s.kernel == kernelVAES512 && whole >= 4 {
		n := whole &^ 3
		stream := out && uintptr(unsafe.Pointer(&dst[0]))%64 == 0
		ctrBlocks512(&s.rk, &dst[0], s.nonce, idx, n, stream)
		dst = dst[n*BlockSize:]
		idx += uint64(n)
		whole -= n
	}
	if whole > 0 {
		ctrBlocks(&s.rk, &dst[0], s.nonce, idx, whole)
		dst = dst[whole*BlockSize:]
		idx += uint64(whole)
	}
	if len(dst) > 0 {
		ctrBlocks(&s.rk, &one[0], s.nonce, idx, 1)
		copy(dst, one[:])
	}
}

// fallbackAt is KeyStreamAt through crypto/cipher: its CTR mode cannot be moved to
// an offset, so every call makes one (a small allocation), and it encrypts over
// zeros.
func (s *Stream) fallbackAt(dst []byte, idx uint64, skip int) {
	var iv [BlockSize]byte
	binary.BigEndian.PutUint64(iv[:8], s.nonce)
	binary.BigEndian.PutUint64(iv[8:], idx)
	ctr := cipher.NewCTR(s.block, iv[:])
	if skip != 0 {
		var head [BlockSize]byte
		ctr.XORKeyStream(head[:skip], head[:skip])
	}
	clear(dst)
	ctr.XORKeyStream(dst, dst)
}
