//go:build !amd64 || purego

package aesctr

// haveAsm: this build has no assembly; only amd64 has it.
const haveAsm = false

const best = kernelStdlib

func ctrBlocks(rk *roundKeys, dst *byte, nonce, idx uint64, n int) {
	panic("aesctr: no assembly in this build")
}

func ctrBlocks512(rk *roundKeys, dst *byte, nonce, idx uint64, n int, stream bool) {
	panic("aesctr: no assembly in this build")
}
