//go:build amd64.v3

#include "textflag.h"

// func wideRun(s string, ascii bool) int
//
// Per 32-byte block: a byte is special when it equals '"' or '\\', or is
// below 0x20; with ascii set the signed compare 0x20 > x also catches every
// byte ≥ 0x80 (negative as int8), without it min(x, 0x1f) == x is x ≤ 0x1f.
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
	CMPB ascii+16(FP), $0
	JEQ  controls

	MOVQ $0x20, DX
	VMOVQ DX, X3
	VPBROADCASTB X3, Y3

ascii:
	LEAQ 32(AX), DX
	CMPQ DX, BX
	JHI  done
	VMOVDQU (SI)(AX*1), Y0
	VPCMPEQB Y0, Y1, Y4
	VPCMPEQB Y0, Y2, Y5
	VPCMPGTB Y0, Y3, Y6
	VPOR Y4, Y5, Y4
	VPOR Y4, Y6, Y4
	VPMOVMSKB Y4, CX
	TESTL CX, CX
	JNZ  found
	MOVQ DX, AX
	JMP  ascii

controls:
	MOVQ $0x1f, DX
	VMOVQ DX, X3
	VPBROADCASTB X3, Y3

control:
	LEAQ 32(AX), DX
	CMPQ DX, BX
	JHI  done
	VMOVDQU (SI)(AX*1), Y0
	VPCMPEQB Y0, Y1, Y4
	VPCMPEQB Y0, Y2, Y5
	VPMINUB Y0, Y3, Y6
	VPCMPEQB Y0, Y6, Y6
	VPOR Y4, Y5, Y4
	VPOR Y4, Y6, Y4
	VPMOVMSKB Y4, CX
	TESTL CX, CX
	JNZ  found
	MOVQ DX, AX
	JMP  control

found:
	TZCNTL CX, CX
	ADDQ CX, AX

done:
	VZEROUPPER
	MOVQ AX, ret+24(FP)
	RET
