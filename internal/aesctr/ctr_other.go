//go:build !amd64 || purego

package aesctr

// haveFast is false: only amd64 has the package's own assembly.
const haveFast = false

func ctrBlocks(rk *roundKeys, dst *byte, nonce, idx uint64, n int) {
	panic("aesctr: no fast path on this architecture")
}

const haveAsm = false
