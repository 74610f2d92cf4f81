//go:build amd64.v3

#include "textflag.h"

// func wideRun(s string, ascii bool) int
//
// Per 32-byte block a byte is special when it equals '"' or '\\', or when
// the signed compare t > (x ^ k) holds: with ascii set k = 0 and t = 0x20,
// true for x < 0x20 and for every x ≥ 0x80 (negative as int8); without it
// k = 0x80 and t = 0xa0 (-96), true exactly for x < 0x20.
// Constants go into vector registers with VEX-encoded VMOVQ: a legacy SSE
// MOVQ there costs an SSE/AVX transition on every call.
TEXT ·wideRun(SB), NOSPLIT, $0-32
	MOVQ s_base+0(FP), SI
	MOVQ s_len+8(FP), BX
	XORQ AX, AX
	MOVQ $0x22, DX
	VMOVQ DX, X1
	VPBROADCASTB X1, Y1
	MOVQ $0x5c, DX
	VMOVQ DX, X2
	VPBROADCASTB X2, Y2
	MOVQ $0x20, DX // t, ascii
	MOVQ $0x00, R8 // k, ascii
	CMPB ascii+16(FP), $0
	JNE  consts
	MOVQ $0xa0, DX
	MOVQ $0x80, R8

consts:
	VMOVQ DX, X3
	VPBROADCASTB X3, Y3
	VMOVQ R8, X7
	VPBROADCASTB X7, Y7

loop:
	LEAQ 32(AX), DX
	CMPQ DX, BX
	JHI  done
	VMOVDQU (SI)(AX*1), Y0
	VPCMPEQB Y0, Y1, Y4
	VPCMPEQB Y0, Y2, Y5
	VPXOR Y0, Y7, Y6
	VPCMPGTB Y6, Y3, Y6
	VPOR Y4, Y5, Y4
	VPOR Y4, Y6, Y4
	VPMOVMSKB Y4, CX
	TESTL CX, CX
	JNZ  found
	MOVQ DX, AX
	JMP  loop

found:
	TZCNTL CX, CX
	ADDQ CX, AX

done:
	VZEROUPPER
	MOVQ AX, ret+24(FP)
	RET
