//go:build !amd64 && !arm64

package veil

// growStack does nothing on this architecture; see growstack.go.
func growStack() {}
