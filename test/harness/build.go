//go:build e2e

package harness

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// buildTimeout bounds go build ./cmd/coredns.
const buildTimeout = 10 * time.Minute

// BuildCoreDNS builds ./cmd/coredns of the repository (stock CoreDNS plus
// veil) into a temporary directory and returns the binary's path.
func BuildCoreDNS(t *testing.T) string {
	t.Helper()
	root := RepoRoot(t)
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go not found in PATH: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "coredns")
	ctx, cancel := context.WithTimeout(t.Context(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, "./cmd/coredns")
	cmd.Dir = root
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/coredns: %v\n%s", err, out)
	}
	t.Logf("built %s in %v", bin, time.Since(start).Round(time.Millisecond))
	return bin
}
