package aesctr

import "sync"

// roundKeys is an expanded AES-256 key: fifteen 16-byte round keys, in the byte
// order AES-NI's AESENC takes them.
type roundKeys [15][16]byte

var (
	sboxOnce sync.Once
	sbox     [256]byte
)

// gfMul multiplies in GF(2^8) modulo the AES polynomial x^8+x^4+x^3+x+1.
func gfMul(a, b byte) byte {
	var p byte
	for b != 0 {
		if b&1 != 0 {
			p ^= a
		}
		hi := a & 0x80
		a <<= 1
		if hi != 0 {
			a ^= 0x1b
		}
		b >>= 1
	}
	return p
}

// buildSbox computes the AES S-box: the multiplicative inverse (0 for 0) followed by
// the affine map b ^ rotl(b,1) ^ rotl(b,2) ^ rotl(b,3) ^ rotl(b,4) ^ 0x63.
func buildSbox() {
	var inv [256]byte
	for a := 1; a < 256; a++ {
		for b := 1; b < 256; b++ {
			if gfMul(byte(a), byte(b)) == 1 {
				inv[a] = byte(b)
				break
			}
		}
	}
	rotl := func(x byte, n uint) byte { return x<<n | x>>(8-n) }
	for i := range sbox {
		b := inv[i]
		sbox[i] = b ^ rotl(b, 1) ^ rotl(b, 2) ^ rotl(b, 3) ^ rotl(b, 4) ^ 0x63
	}
}

// expandKey256 is the AES-256 key schedule of FIPS 197, section 5.2: 60 four-byte
// words, the first eight the key itself.
func expandKey256(rk *roundKeys, key []byte) {
	sboxOnce.Do(buildSbox)
	var w [60][4]byte
	for i := 0; i < 8; i++ {
		copy(w[i][:], key[4*i:4*i+4])
	}
	rcon := byte(1)
	for i := 8; i < 60; i++ {
		t := w[i-1]
		switch i % 8 {
		case 0: // rotate, substitute, add the round constant
			t = [4]byte{sbox[t[1]] ^ rcon, sbox[t[2]], sbox[t[3]], sbox[t[0]]}
			rcon = gfMul(rcon, 2)
		case 4: // substitute only
			t = [4]byte{sbox[t[0]], sbox[t[1]], sbox[t[2]], sbox[t[3]]}
		}
		for j := range t {
			w[i][j] = w[i-8][j] ^ t[j]
		}
	}
	for r := range rk {
		for j := 0; j < 4; j++ {
			copy(rk[r][4*j:4*j+4], w[4*r+j][:])
		}
	}
}
