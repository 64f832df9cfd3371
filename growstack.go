//go:build amd64 || arm64

package veil

// growStackFrame is growStack's frame size in bytes (growstack.s).
const growStackFrame = 2048

// growStack does nothing but has a frame of growStackFrame bytes, so that
// calling it makes sure at least that much stack (plus the runtime's guard)
// is free below the caller, growing the goroutine's stack now if it is not.
//
// CoreDNS serves each UDP query on a new goroutine, whose stack starts small
// and doubles by copying when a call does not fit. A copy walks every frame
// on the stack to adjust its pointers, so its cost grows with the depth at
// which it happens. Without veil, a query's stack grows once while the
// request is unpacked and once more deep in the plugin chain; veil's frames
// make the second growth happen deeper still, which cost 5 to 7 % of
// stock CoreDNS's throughput at 2553268. Growing the stack in ServeDNS,
// before the next plugin runs, copies a shallow stack once, and the rest of
// the chain then runs without growing it. On the current layout a server
// with it answers 2 to 4 % more queries than one without, at 1.4 ns per
// query of its own (docs/performance.md, paired measurements).
//
// It is written in assembly because a Go function's frame would be zeroed
// on every call; this one costs a call and a compare once the stack is big
// enough (every query on a TCP connection after the first).
func growStack()
