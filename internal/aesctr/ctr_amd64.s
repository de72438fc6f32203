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

// Per 128-bit lane of a ZMM register: block 0, 1, 2, 3 after the first.
DATA lanes4<>+0x00(SB)/8, $0
DATA lanes4<>+0x08(SB)/8, $0
DATA lanes4<>+0x10(SB)/8, $0
DATA lanes4<>+0x18(SB)/8, $1
DATA lanes4<>+0x20(SB)/8, $0
DATA lanes4<>+0x28(SB)/8, $2
DATA lanes4<>+0x30(SB)/8, $0
DATA lanes4<>+0x38(SB)/8, $3
GLOBL lanes4<>(SB), RODATA|NOPTR, $64

// One AES round over the eight ZMM states Z0-Z7 with the round key in Zk.
#define ZROUND8(Zk) \
	VAESENC Zk, Z0, Z0; \
	VAESENC Zk, Z1, Z1; \
	VAESENC Zk, Z2, Z2; \
	VAESENC Zk, Z3, Z3; \
	VAESENC Zk, Z4, Z4; \
	VAESENC Zk, Z5, Z5; \
	VAESENC Zk, Z6, Z6; \
	VAESENC Zk, Z7, Z7

// Counter register Zn: byte-swap into counter blocks, then the first round key.
#define ZWHITEN(Zn) \
	VPSHUFB Z9, Zn, Zn; \
	VPXORQ  Z16, Zn, Zn

// All fourteen rounds after the whitening over Z0 alone.
#define ZROUNDS1 \
	VAESENC     Z17, Z0, Z0; \
	VAESENC     Z18, Z0, Z0; \
	VAESENC     Z19, Z0, Z0; \
	VAESENC     Z20, Z0, Z0; \
	VAESENC     Z21, Z0, Z0; \
	VAESENC     Z22, Z0, Z0; \
	VAESENC     Z23, Z0, Z0; \
	VAESENC     Z24, Z0, Z0; \
	VAESENC     Z25, Z0, Z0; \
	VAESENC     Z26, Z0, Z0; \
	VAESENC     Z27, Z0, Z0; \
	VAESENC     Z28, Z0, Z0; \
	VAESENC     Z29, Z0, Z0; \
	VAESENCLAST Z30, Z0, Z0

// func ctrBlocks512(rk *roundKeys, dst *byte, nonce, idx uint64, n int, stream bool)
//
// n must be a multiple of 4. With stream set, dst must be 64-byte aligned: the
// 32-block loop then stores past the caches (VMOVNTDQ), and an SFENCE orders those
// stores before the function returns. Registers: AX round keys, DI dst, CX blocks left,
// Z0-Z7 state (four blocks each), Z8 the next four counters, Z9 bswapq in every
// lane, Z10 four blocks on, Z11 thirty-two blocks on, Z16-Z30 the round keys, each
// in all four lanes.
TEXT ·ctrBlocks512(SB), NOSPLIT, $0-41
	MOVQ rk+0(FP), AX
	MOVQ dst+8(FP), DI
	MOVQ nonce+16(FP), R8
	MOVQ idx+24(FP), R9
	MOVQ n+32(FP), CX
	MOVBLZX stream+40(FP), R10

	VBROADCASTI32X4 0(AX), Z16
	VBROADCASTI32X4 16(AX), Z17
	VBROADCASTI32X4 32(AX), Z18
	VBROADCASTI32X4 48(AX), Z19
	VBROADCASTI32X4 64(AX), Z20
	VBROADCASTI32X4 80(AX), Z21
	VBROADCASTI32X4 96(AX), Z22
	VBROADCASTI32X4 112(AX), Z23
	VBROADCASTI32X4 128(AX), Z24
	VBROADCASTI32X4 144(AX), Z25
	VBROADCASTI32X4 160(AX), Z26
	VBROADCASTI32X4 176(AX), Z27
	VBROADCASTI32X4 192(AX), Z28
	VBROADCASTI32X4 208(AX), Z29
	VBROADCASTI32X4 224(AX), Z30

	VBROADCASTI32X4 bswapq<>(SB), Z9
	MOVQ $4, DX
	VPBROADCASTQ    DX, Z10
	MOVQ $32, DX
	VPBROADCASTQ    DX, Z11
	VPBROADCASTQ    R8, Z12
	VPBROADCASTQ    R9, Z8
	// Only the index quadwords step: zero the steps' nonce halves.
	VPXORQ          Z15, Z15, Z15
	VPUNPCKLQDQ     Z10, Z15, Z10
	VPUNPCKLQDQ     Z11, Z15, Z11
	VPUNPCKLQDQ     Z8, Z12, Z8
	VPADDQ          lanes4<>(SB), Z8, Z8

	CMPQ CX, $32
	JB   quads

blocks32:
	VMOVDQA64 Z8, Z0
	VPADDQ    Z10, Z0, Z1
	VPADDQ    Z10, Z1, Z2
	VPADDQ    Z10, Z2, Z3
	VPADDQ    Z10, Z3, Z4
	VPADDQ    Z10, Z4, Z5
	VPADDQ    Z10, Z5, Z6
	VPADDQ    Z10, Z6, Z7
	VPADDQ    Z11, Z8, Z8

	ZWHITEN(Z0)
	ZWHITEN(Z1)
	ZWHITEN(Z2)
	ZWHITEN(Z3)
	ZWHITEN(Z4)
	ZWHITEN(Z5)
	ZWHITEN(Z6)
	ZWHITEN(Z7)

	ZROUND8(Z17)
	ZROUND8(Z18)
	ZROUND8(Z19)
	ZROUND8(Z20)
	ZROUND8(Z21)
	ZROUND8(Z22)
	ZROUND8(Z23)
	ZROUND8(Z24)
	ZROUND8(Z25)
	ZROUND8(Z26)
	ZROUND8(Z27)
	ZROUND8(Z28)
	ZROUND8(Z29)

	VAESENCLAST Z30, Z0, Z0
	VAESENCLAST Z30, Z1, Z1
	VAESENCLAST Z30, Z2, Z2
	VAESENCLAST Z30, Z3, Z3
	VAESENCLAST Z30, Z4, Z4
	VAESENCLAST Z30, Z5, Z5
	VAESENCLAST Z30, Z6, Z6
	VAESENCLAST Z30, Z7, Z7

	TESTQ R10, R10
	JNZ   streamed
	VMOVDQU64 Z0, 0(DI)
	VMOVDQU64 Z1, 64(DI)
	VMOVDQU64 Z2, 128(DI)
	VMOVDQU64 Z3, 192(DI)
	VMOVDQU64 Z4, 256(DI)
	VMOVDQU64 Z5, 320(DI)
	VMOVDQU64 Z6, 384(DI)
	VMOVDQU64 Z7, 448(DI)
	JMP       stored

streamed:
	VMOVNTDQ Z0, 0(DI)
	VMOVNTDQ Z1, 64(DI)
	VMOVNTDQ Z2, 128(DI)
	VMOVNTDQ Z3, 192(DI)
	VMOVNTDQ Z4, 256(DI)
	VMOVNTDQ Z5, 320(DI)
	VMOVNTDQ Z6, 384(DI)
	VMOVNTDQ Z7, 448(DI)

stored:
	ADDQ $512, DI
	SUBQ $32, CX
	CMPQ CX, $32
	JAE  blocks32

quads:
	// Four blocks at a time in Z0.
	CMPQ CX, $4
	JB   done512
	VPSHUFB Z9, Z8, Z0
	VPXORQ  Z16, Z0, Z0
	ZROUNDS1
	VMOVDQU64 Z0, (DI)
	VPADDQ    Z10, Z8, Z8
	ADDQ $64, DI
	SUBQ $4, CX
	JMP  quads

done512:
	TESTQ R10, R10
	JZ    fenced
	SFENCE

fenced:
	VZEROUPPER
	RET
