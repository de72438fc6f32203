//go:build amd64 && !purego

package aesctr

import "golang.org/x/sys/cpu"

// haveFast is true when the processor and the OS give us VAES on 256-bit registers:
// AES-NI, AVX2 (which x/sys/cpu reports only when the OS saves the YMM registers) and
// VAES. x/sys/cpu reports VAES only together with AVX-512, so the CPUID bit is read
// here.
var haveFast = cpu.X86.HasAES && cpu.X86.HasAVX2 && hasVAES()

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
// nonce||idx+n-1, to dst, which must hold n*16 bytes.
//
//go:noescape
func ctrBlocks(rk *roundKeys, dst *byte, nonce, idx uint64, n int)

const haveAsm = true
