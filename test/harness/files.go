package harness

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// modulePath is the module the repository root's go.mod declares.
const modulePath = "github.com/veildns/veil"

// RepoRoot returns the root of the repository: the nearest directory at or
// above the working directory (a test's package directory) whose go.mod
// declares github.com/veildns/veil.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.Contains(mod, []byte("module "+modulePath+"\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("no go.mod of %s at or above the working directory (run the tests from inside the repository)", modulePath)
		}
		dir = parent
	}
}

// ZonesDir returns the absolute path of test/harness/testdata, the zones
// the capability packages share: db.example.org and the signed zone
// signed.test.zone.
func ZonesDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(RepoRoot(t), "test", "harness", "testdata")
}

// ReadTestdata returns the file name in the calling package's testdata
// directory.
func ReadTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ReadZone parses the zone file at path, with origin for relative names.
func ReadZone(t testing.TB, path, origin string) []dns.RR {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	zp := dns.NewZoneParser(bytes.NewReader(b), origin, path)
	var rrs []dns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
	}
	if err := zp.Err(); err != nil {
		t.Fatal(err)
	}
	return rrs
}

// WriteFile writes content to path, failing the test on error.
func WriteFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Tail returns the last n lines of the file at path, or a note saying why
// it cannot be read.
func Tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
