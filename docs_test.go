package veil

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// The README and the operations guide describe veil as it is: no commit
// hash and no date in their prose, which belong to the measurements of
// docs/performance.md, each stamped there. Code (fenced blocks and inline
// spans, which hold Corefile dates such as a reveal window's) and stamp
// lines ("Measured at commit ...") are not prose.
func TestDocsCarryNoHistory(t *testing.T) {
	hash := regexp.MustCompile(`\b[0-9a-f]{7,40}\b`)
	date := regexp.MustCompile(`\b(19|20)\d\d-[01]\d-[0-3]\d\b`)
	inline := regexp.MustCompile("`[^`]*`")
	for _, path := range []string{"README.md", "docs/operations.md"} {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		fenced := false
		for i, line := range strings.Split(string(b), "\n") {
			if t := strings.TrimSpace(line); strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~") {
				fenced = !fenced
				continue
			}
			if fenced || stampLine(line) {
				continue
			}
			prose := inline.ReplaceAllString(line, "")
			for _, h := range hash.FindAllString(prose, -1) {
				if strings.ContainsAny(h, "0123456789") && strings.ContainsAny(h, "abcdef") && h != "ed25519" {
					t.Errorf("%s:%d: %q looks like a commit hash in prose: %s", path, i+1, h, line)
				}
			}
			if d := date.FindString(prose); d != "" {
				t.Errorf("%s:%d: a date, %s, in prose: %s", path, i+1, d, line)
			}
		}
	}
}

// stampLine reports whether line stamps a measurement with its commit and
// command, as make bench-record writes it.
func stampLine(line string) bool {
	l := strings.ToLower(strings.TrimLeft(line, "_*> "))
	return strings.HasPrefix(l, "measured at commit")
}
