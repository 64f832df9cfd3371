//go:build !amd64 && !arm64

package veil

// growStackFrame is 0 where growStack is not implemented.
const growStackFrame = 0

// growStack does nothing on this architecture; see growstack.go.
func growStack() {}
