//go:build e2e

package transfer

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/veildns/veil/test/harness"
)

// Checks of what dig, kdig, dnsrecon and nmap print.

// e2eNoLeak fails if any secret name or address appears in the output.
func e2eNoLeak(t *testing.T, o harness.Output) {
	t.Helper()
	for _, s := range e2eSecrets {
		if strings.Contains(o.Text, s) {
			t.Errorf("LEAK: %q from the zone is in the output of an external client:\n%s", s, o)
		}
	}
}

// e2eOnlyTypes fails if dig/kdig output has a record other than SOA, NS or
// HINFO.
func e2eOnlyTypes(t *testing.T, o harness.Output) {
	t.Helper()
	for _, r := range e2eRecords(o.Text) {
		switch r[3] {
		case "SOA", "NS", "HINFO":
		default:
			t.Errorf("external client got a %s record %q:\n%s", r[3], strings.Join(r, " "), o)
		}
	}
}

// e2eRecords returns the fields of the resource record lines in dig or kdig
// output: lines "NAME TTL CLASS TYPE RDATA..." outside comments.
func e2eRecords(text string) [][]string {
	var recs [][]string
	for line := range strings.Lines(text) {
		if strings.HasPrefix(line, ";") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || f[2] != "IN" {
			continue
		}
		if _, err := strconv.ParseUint(f[1], 10, 32); err != nil {
			continue
		}
		recs = append(recs, f)
	}
	return recs
}

// e2eVolatile matches dig and kdig lines that differ between two identical
// answers: the command line (with the server address), server, times, sizes
// of the query round trip.
var e2eVolatile = regexp.MustCompile(`^(; <<>> DiG |;; (SERVER|WHEN|Query time|Time|From)[: ])`)

var e2eMsgID = regexp.MustCompile(`id: \d+`)

// e2eNormalize drops the volatile lines and message IDs, and sorts the
// record lines: CoreDNS's file plugin sends the RRsets of a name in map
// order (MX and TXT at the apex swap places between two transfers), so only
// the set of records is comparable.
func e2eNormalize(text string) string {
	var b strings.Builder
	var recs []string
	for line := range strings.Lines(text) {
		switch {
		case e2eVolatile.MatchString(line):
		case len(e2eRecords(line)) == 1:
			recs = append(recs, strings.Join(strings.Fields(line), " "))
		default:
			b.WriteString(e2eMsgID.ReplaceAllString(line, "id: N"))
		}
	}
	slices.Sort(recs)
	b.WriteString("\nrecords:\n" + strings.Join(recs, "\n"))
	return b.String()
}

// e2eSameAsBaseline fails unless the trusted listener's answer, as the tool
// shows it, is the baseline's (CoreDNS without veil).
func e2eSameAsBaseline(t *testing.T, trusted, baseline harness.Output) {
	t.Helper()
	if trusted.Code != baseline.Code || e2eNormalize(trusted.Text) != e2eNormalize(baseline.Text) {
		t.Errorf("trusted answer differs from CoreDNS without veil:\n--- trusted\n%s\n--- baseline\n%s", trusted, baseline)
	}
}
