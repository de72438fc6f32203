//go:build amd64 && !purego

package aesctr

import "golang.org/x/sys/cpu"

// haveAsm: this build has the package's assembly.
const haveAsm = true

// best is the fastest kernel the processor and the OS give us. VAES on 256-bit
// registers needs AES-NI, AVX2 (which x/sys/cpu reports only when the OS saves the
// YMM registers) and the VAES CPUID bit, which x/sys/cpu reports only together with
// AVX-512, so it is read here. The 512-bit kernel also needs AVX-512 F and BW.
var best = func() kernel {
	if !cpu.X86.HasAES || !cpu.X86.HasAVX2 || !hasVAES() {
		return kernelStdlib
	}
	if cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VAES {
		return kernelVAES512
	}
	return kernelVAES256
}()

// hasVAES reads CPUID leaf 7, subleaf 0, ECX bit 9.
func hasVAES() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, ecx, _ := cpuid(7, 0)
	return ecx&(1<<9) != 0
}

func cpuid(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)

// ctrBlocks writes n keystream blocks, those of counters nonce||idx to
// nonce||idx+n-1, to dst, which must hold n*16 bytes. It uses 256-bit VAES.
//
//go:noescape
func ctrBlocks(rk *roundKeys, dst *byte, nonce, idx uint64, n int)

// ctrBlocks512 is ctrBlocks with 512-bit VAES, for n a multiple of 4. With stream,
// dst must be 64-byte aligned, and the stores bypass the caches (see [Stream.Out]).
//
//go:noescape
func ctrBlocks512(rk *roundKeys, dst *byte, nonce, idx uint64, n int, stream bool)
