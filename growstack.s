//go:build amd64 || arm64

#include "textflag.h"
#include "funcdata.h"

// func growStack()
//
// A frame of growStackFrame (2048) bytes and no body: the prologue the
// assembler adds grows the goroutine's stack if that frame does not fit.
TEXT ·growStack(SB), 0, $2048-0
	NO_LOCAL_POINTERS
	RET
