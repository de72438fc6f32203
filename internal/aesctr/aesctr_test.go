package aesctr

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"unsafe"
)

// reference is the keystream as crypto/cipher's CTR mode gives it, over zeros, from
// the counter block nonce||off/16, skipping off%16 bytes.
func reference(t testing.TB, key []byte, nonce uint64, off int64, n int) []byte {
	t.Helper()
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	iv := make([]byte, 16)
	binary.BigEndian.PutUint64(iv[:8], nonce)
	binary.BigEndian.PutUint64(iv[8:], uint64(off/16))
	out := make([]byte, int(off%16)+n)
	cipher.NewCTR(b, iv).XORKeyStream(out, out)
	return out[off%16:]
}

// paths returns the streams of key and nonce to test: crypto/cipher always, and
// every assembly kernel the processor can run.
func paths(t testing.TB, key []byte, nonce uint64) map[string]*Stream {
	t.Helper()
	out := map[string]*Stream{}
	for k := kernelStdlib; k <= best; k++ {
		s, err := newStream(key, nonce, k)
		if err != nil {
			t.Fatal(err)
		}
		if s.kernel != k {
			t.Fatalf("asked for kernel %v, got %v", k, s.kernel)
		}
		out[k.String()] = s
	}
	return out
}

func TestMatchesCipherCTR(t *testing.T) {
	rng := rand.New(rand.NewPCG(19, 2026))
	lengths := []int{0, 1, 15, 16, 17, 31, 32, 33, 255, 256, 257, 4096, 1<<20 + 13}
	offsets := []int64{0, 1, 7, 15, 16, 17, 4095, 4096, 1<<40*16 + 9, 1 << 44, 1<<62 - 1}
	for round := 0; round < 3; round++ {
		key := make([]byte, KeySize)
		for i := range key {
			key[i] = byte(rng.Uint32())
		}
		nonce := rng.Uint64()
		if round == 1 {
			nonce = ^uint64(0) // all ones: no carry may reach it from the index
		}
		for name, s := range paths(t, key, nonce) {
			for _, off := range offsets {
				for _, n := range lengths {
					want := reference(t, key, nonce, off, n)
					got := make([]byte, n+2)
					got[0], got[n+1] = 0xa5, 0x5a
					s.KeyStreamAt(got[1:n+1], off)
					if got[0] != 0xa5 || got[n+1] != 0x5a {
						t.Fatalf("%s: off %d len %d wrote outside dst", name, off, n)
					}
					if !bytes.Equal(got[1:n+1], want) {
						t.Fatalf("%s: key %x nonce %#x off %d len %d: keystream differs from crypto/cipher", name, key, nonce, off, n)
					}
					// Out, into a 64-byte aligned buffer: the streaming stores
					// where the offset is whole blocks.
					buf, a := aligned64(n + 2)
					buf[a-1], buf[a+n] = 0xa5, 0x5a
					s.Out(buf[a:a+n], off)
					if buf[a-1] != 0xa5 || buf[a+n] != 0x5a {
						t.Fatalf("%s: Out, off %d len %d wrote outside dst", name, off, n)
					}
					if !bytes.Equal(buf[a:a+n], want) {
						t.Fatalf("%s: Out, key %x nonce %#x off %d len %d: keystream differs from crypto/cipher", name, key, nonce, off, n)
					}
				}
			}
		}
	}
}

// aligned64 returns a buffer of at least n+1 bytes and an index a >= 1 of it whose
// byte is 64-byte aligned, with n bytes from a on.
func aligned64(n int) ([]byte, int) {
	buf := make([]byte, n+128)
	a := 1
	for uintptr(unsafe.Pointer(&buf[a]))%64 != 0 {
		a++
	}
	return buf, a
}

// The fast path's round keys are this package's own key schedule: check it against
// FIPS 197's AES-256 example (appendix A.3) and, through one block, crypto/aes.
func TestKeySchedule(t *testing.T) {
	key, _ := hex.DecodeString("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4")
	var rk roundKeys
	expandKey256(&rk, key)
	if got := hex.EncodeToString(rk[2][:4]); got != "9ba35411" { // w[8]
		t.Errorf("w[8] = %s, want 9ba35411", got)
	}
	if got := hex.EncodeToString(rk[14][12:]); got != "706c631e" { // w[59]
		t.Errorf("w[59] = %s, want 706c631e", got)
	}
	if !bytes.Equal(rk[0][:], key[:16]) || !bytes.Equal(rk[1][:], key[16:]) {
		t.Error("the first two round keys are not the key")
	}
	if best == kernelStdlib {
		t.Skip("no assembly on this processor to encrypt with the schedule")
	}
	b, _ := aes.NewCipher(key)
	var got, want [16]byte
	ctrBlocks(&rk, &got[0], 0x0102030405060708, 0x1112131415161718, 1)
	ctr, _ := hex.DecodeString("01020304050607081112131415161718")
	b.Encrypt(want[:], ctr)
	if got != want {
		t.Errorf("one block: %x, crypto/aes %x", got, want)
	}
}

// The kernel chosen must be the one /proc/cpuinfo's flags allow: 256-bit VAES with
// VAES, AVX2 and AES-NI, 512-bit VAES when AVX-512 F and BW are there too.
func TestFastPathDetected(t *testing.T) {
	info, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		t.Skip("no /proc/cpuinfo")
	}
	var flags []string
	for _, line := range strings.Split(string(info), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "flags" {
			flags = strings.Fields(v)
			break
		}
	}
	has := map[string]bool{}
	for _, f := range flags {
		has[f] = true
	}
	want := kernelStdlib
	if haveAsm && has["vaes"] && has["avx2"] && has["aes"] {
		want = kernelVAES256
		if has["avx512f"] && has["avx512bw"] {
			want = kernelVAES512
		}
	}
	if best != want {
		t.Errorf("best kernel %v, but /proc/cpuinfo flags say %v", best, want)
	}
	s, err := New(make([]byte, KeySize), 0)
	if err != nil {
		t.Fatal(err)
	}
	if s.kernel != want || s.Fast() != (want != kernelStdlib) {
		t.Errorf("New chose %v", s.kernel)
	}
}

func TestNewRejectsBadKey(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33} {
		if _, err := New(make([]byte, n), 1); err == nil {
			t.Errorf("key of %d bytes accepted", n)
		}
	}
}

func TestFastPathAllocatesNothing(t *testing.T) {
	if best == kernelStdlib {
		t.Skip("no assembly on this processor")
	}
	for name, s := range paths(t, make([]byte, KeySize), 7) {
		if !s.Fast() {
			continue
		}
		buf := make([]byte, 64<<10+5)
		if n := testing.AllocsPerRun(20, func() { s.KeyStreamAt(buf, 12345) }); n != 0 {
			t.Errorf("%s: %v allocations per call", name, n)
		}
	}
}

// Many goroutines share one Stream: each window they write equals the same window of
// the whole keystream. Run with -race.
func TestConcurrentUse(t *testing.T) {
	key := bytes.Repeat([]byte{0x42}, KeySize)
	const size = 1 << 20
	whole := reference(t, key, 99, 0, size)
	for name, s := range paths(t, key, 99) {
		var wg sync.WaitGroup
		errs := make(chan string, 8)
		for g := 0; g < 8; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(g), 1))
				buf := make([]byte, 70000)
				for i := 0; i < 200; i++ {
					n := rng.IntN(len(buf))
					off := rng.IntN(size - n)
					s.KeyStreamAt(buf[:n], int64(off))
					if !bytes.Equal(buf[:n], whole[off:off+n]) {
						errs <- name
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for n := range errs {
			t.Errorf("%s: a concurrent window differs from the whole keystream", n)
		}
	}
}

func FuzzKeyStreamAt(f *testing.F) {
	f.Add(make([]byte, KeySize), uint64(0), uint64(0), uint16(0))
	f.Add(bytes.Repeat([]byte{0xff}, KeySize), ^uint64(0), uint64(1<<40*16+3), uint16(4099))
	f.Add([]byte("0123456789abcdef0123456789abcdef"), uint64(5), uint64(17), uint16(255))
	f.Fuzz(func(t *testing.T, key []byte, nonce, off uint64, n uint16) {
		if len(key) != KeySize {
			if _, err := New(key, nonce); err == nil {
				t.Fatalf("key of %d bytes accepted", len(key))
			}
			return
		}
		o := int64(off >> 2) // any non-negative offset
		want := reference(t, key, nonce, o, int(n))
		for name, s := range paths(t, key, nonce) {
			got := make([]byte, n)
			s.KeyStreamAt(got, o)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s: off %d len %d differs from crypto/cipher", name, o, n)
			}
			buf, a := aligned64(int(n))
			s.Out(buf[a:a+int(n)], o)
			if !bytes.Equal(buf[a:a+int(n)], want) {
				t.Fatalf("%s: Out, off %d len %d differs from crypto/cipher", name, o, n)
			}
		}
	})
}

// BenchmarkKeyStream fills 1 MiB at a time; s/GiB is the CPU time a GiB of random
// pass costs in the keystream alone. stdlib-ctr-over-zeros is crypto/cipher's CTR over a zero
// buffer, as wipe.Stream did before this package.
func BenchmarkKeyStream(b *testing.B) {
	key := bytes.Repeat([]byte{7}, KeySize)
	const size = 1 << 20
	report := func(b *testing.B) {
		b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)*float64(1<<30)/size, "s/GiB")
	}
	for name, s := range paths(b, key, 3) {
		b.Run(name, func(b *testing.B) {
			buf := make([]byte, size)
			b.SetBytes(size)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				s.KeyStreamAt(buf, int64(i)*size)
			}
			report(b)
		})
		b.Run(name+"-out", func(b *testing.B) {
			buf, a := aligned64(size)
			b.SetBytes(size)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				s.Out(buf[a:a+size], int64(i)*size)
			}
			report(b)
		})
	}
	b.Run("stdlib-ctr-over-zeros", func(b *testing.B) {
		blk, _ := aes.NewCipher(key)
		buf, zero := make([]byte, size), make([]byte, size)
		iv := make([]byte, 16)
		b.SetBytes(size)
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			binary.BigEndian.PutUint64(iv[8:], uint64(i)*size/16)
			cipher.NewCTR(blk, iv).XORKeyStream(buf, zero)
		}
		report(b)
	})
}

func ExampleNew() {
	key := make([]byte, KeySize) // in decom, fresh random bytes for every pass
	s, err := New(key, 0x0123456789abcdef)
	if err != nil {
		panic(err)
	}
	buf := make([]byte, 4096)
	s.KeyStreamAt(buf, 1<<30) // the bytes a pass puts at 1 GiB
	_ = buf
}
