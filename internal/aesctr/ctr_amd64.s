//go:build amd64 && !purego

#include "textflag.h"

// The counter of a block is kept in a 128-bit lane as two native quadwords, the
// nonce then the block index, so that VPADDQ steps the index. VPSHUFB with bswapq
// turns each quadword big-endian, which gives the counter block nonce||index.
DATA bswapq<>+0x00(SB)/8, $0x0001020304050607
DATA bswapq<>+0x08(SB)/8, $0x08090a0b0c0d0e0f
DATA bswapq<>+0x10(SB)/8, $0x0001020304050607
DATA bswapq<>+0x18(SB)/8, $0x08090a0b0c0d0e0f
GLOBL bswapq<>(SB), RODATA|NOPTR, $32

// Added once: the upper lane holds the block after the lower one's.
DATA lane1<>+0x00(SB)/8, $0
DATA lane1<>+0x08(SB)/8, $0
DATA lane1<>+0x10(SB)/8, $0
DATA lane1<>+0x18(SB)/8, $1
GLOBL lane1<>(SB), RODATA|NOPTR, $32

// Two blocks further, in both lanes.
DATA inc2<>+0x00(SB)/8, $0
DATA inc2<>+0x08(SB)/8, $2
DATA inc2<>+0x10(SB)/8, $0
DATA inc2<>+0x18(SB)/8, $2
GLOBL inc2<>(SB), RODATA|NOPTR, $32

// Sixteen blocks further, in both lanes.
DATA inc16<>+0x00(SB)/8, $0
DATA inc16<>+0x08(SB)/8, $16
DATA inc16<>+0x10(SB)/8, $0
DATA inc16<>+0x18(SB)/8, $16
GLOBL inc16<>(SB), RODATA|NOPTR, $32

// func cpuid(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL leaf+0(FP), AX
	MOVL subleaf+4(FP), CX
	CPUID
	MOVL AX, eax+8(FP)
	MOVL BX, ebx+12(FP)
	MOVL CX, ecx+16(FP)
	MOVL DX, edx+20(FP)
	RET

// One AES round over the eight state registers Y0-Y7 with round key number r,
// broadcast from the schedule at AX into both lanes of Y8.
#define ROUND8(r) \
	VBROADCASTI128 (r*16)(AX), Y8; \
	VAESENC        Y8, Y0, Y0; \
	VAESENC        Y8, Y1, Y1; \
	VAESENC        Y8, Y2, Y2; \
	VAESENC        Y8, Y3, Y3; \
	VAESENC        Y8, Y4, Y4; \
	VAESENC        Y8, Y5, Y5; \
	VAESENC        Y8, Y6, Y6; \
	VAESENC        Y8, Y7, Y7

// Counter register Yn: byte-swap into a counter block, then the first round key.
#define WHITEN(Yn) \
	VPSHUFB Y10, Yn, Yn; \
	VPXOR   Y8, Yn, Yn

// One AES round over Y0 alone.
#define ROUND1(r) \
	VBROADCASTI128 (r*16)(AX), Y8; \
	VAESENC        Y8, Y0, Y0

// func ctrBlocks(rk *roundKeys, dst *byte, nonce, idx uint64, n int)
//
// Registers: AX round keys, DI dst, CX blocks left, Y0-Y7 state (two blocks each),
// Y8 the current round key, Y9 the next counter pair, Y10 bswapq, Y11 inc2,
// Y12 inc16.
TEXT ·ctrBlocks(SB), NOSPLIT, $0-40
	MOVQ rk+0(FP), AX
	MOVQ dst+8(FP), DI
	MOVQ nonce+16(FP), R8
	MOVQ idx+24(FP), R9
	MOVQ n+32(FP), CX

	VMOVDQU bswapq<>(SB), Y10
	VMOVDQU inc2<>(SB), Y11
	VMOVDQU inc16<>(SB), Y12
	VMOVQ   R8, X9
	VPINSRQ $1, R9, X9, X9
	VINSERTI128 $1, X9, Y9, Y9
	VPADDQ  lane1<>(SB), Y9, Y9

	CMPQ CX, $16
	JB   pairs

blocks16:
	// Sixteen counters: Y0 holds the next two, Y1 the two after, and so on.
	VMOVDQA Y9, Y0
	VPADDQ  Y11, Y0, Y1
	VPADDQ  Y11, Y1, Y2
	VPADDQ  Y11, Y2, Y3
	VPADDQ  Y11, Y3, Y4
	VPADDQ  Y11, Y4, Y5
	VPADDQ  Y11, Y5, Y6
	VPADDQ  Y11, Y6, Y7
	VPADDQ  Y12, Y9, Y9

	VBROADCASTI128 (AX), Y8
	WHITEN(Y0)
	WHITEN(Y1)
	WHITEN(Y2)
	WHITEN(Y3)
	WHITEN(Y4)
	WHITEN(Y5)
	WHITEN(Y6)
	WHITEN(Y7)

	ROUND8(1)
	ROUND8(2)
	ROUND8(3)
	ROUND8(4)
	ROUND8(5)
	ROUND8(6)
	ROUND8(7)
	ROUND8(8)
	ROUND8(9)
	ROUND8(10)
	ROUND8(11)
	ROUND8(12)
	ROUND8(13)

	VBROADCASTI128 224(AX), Y8
	VAESENCLAST Y8, Y0, Y0
	VAESENCLAST Y8, Y1, Y1
	VAESENCLAST Y8, Y2, Y2
	VAESENCLAST Y8, Y3, Y3
	VAESENCLAST Y8, Y4, Y4
	VAESENCLAST Y8, Y5, Y5
	VAESENCLAST Y8, Y6, Y6
	VAESENCLAST Y8, Y7, Y7

	VMOVDQU Y0, 0(DI)
	VMOVDQU Y1, 32(DI)
	VMOVDQU Y2, 64(DI)
	VMOVDQU Y3, 96(DI)
	VMOVDQU Y4, 128(DI)
	VMOVDQU Y5, 160(DI)
	VMOVDQU Y6, 192(DI)
	VMOVDQU Y7, 224(DI)

	ADDQ $256, DI
	SUBQ $16, CX
	CMPQ CX, $16
	JAE  blocks16

pairs:
	// Two blocks at a time in Y0.
	CMPQ CX, $2
	JB   single
	VBROADCASTI128 (AX), Y8
	VPSHUFB Y10, Y9, Y0
	VPXOR   Y8, Y0, Y0
	ROUND1(1)
	ROUND1(2)
	ROUND1(3)
	ROUND1(4)
	ROUND1(5)
	ROUND1(6)
	ROUND1(7)
	ROUND1(8)
	ROUND1(9)
	ROUND1(10)
	ROUND1(11)
	ROUND1(12)
	ROUND1(13)
	VBROADCASTI128 224(AX), Y8
	VAESENCLAST Y8, Y0, Y0
	VMOVDQU Y0, (DI)
	VPADDQ  Y11, Y9, Y9
	ADDQ $32, DI
	SUBQ $2, CX
	JMP  pairs

single:
	// The last odd block: the lower lane of Y9 is its counter.
	TESTQ CX, CX
	JZ    done
	VPSHUFB     X10, X9, X0
	VPXOR       (AX), X0, X0
	VAESENC     16(AX), X0, X0
	VAESENC     32(AX), X0, X0
	VAESENC     48(AX), X0, X0
	VAESENC     64(AX), X0, X0
	VAESENC     80(AX), X0, X0
	VAESENC     96(AX), X0, X0
	VAESENC     112(AX), X0, X0
	VAESENC     128(AX), X0, X0
	VAESENC     144(AX), X0, X0
	VAESENC     160(AX), X0, X0
	VAESENC     176(AX), X0, X0
	VAESENC     192(AX), X0, X0
	VAESENC     208(AX), X0, X0
	VAESENCLAST 224(AX), X0, X0
	VMOVDQU     X0, (DI)

done:
	VZEROUPPER
	RET
