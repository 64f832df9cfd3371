//go:build e2e

package tokens

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veildns/veil/test/harness"
)

// validateNames are names of each class of absentNames that
// TestE2ETokensHiddenNamesValidate has delv validate, relative to absent.test.
var validateNames = []string{
	"nothing-here", "_github-challenge-acme-org", "_amazonses", "h1", "h3", "www.h3", "team", "_github-challenge-x.team",
	"lone.deep", "x._amazonses", "foo.dyn", "_acme-challenge.dyn", "foo.mixed", "_amazonses.sub", "mixa", "mixb", "alias-a",
	"odd3", "oddm", "_dmarc", "www", "H1", "_AmazonSES.Sub",
}

// TestE2ETokensHiddenNamesValidate: on a zone the dnssec plugin signs on the
// fly, BIND's validator (delv, the zone's key as its trust anchor) reaches
// the same verdict on every answer of the server with veil as on the same
// server serving the zone without the hidden records, with and without
// cache, and prints the same records: a name that holds only hidden
// tokens is a validated negative answer like an absent name, not a bogus
// one (its NSEC names the client's name and its signature covers it), and
// a name that keeps other records validates without its tokens.
func TestE2ETokensHiddenNamesValidate(t *testing.T) {
	dir := t.TempDir()
	key := harness.WriteSigningKey(t, dir, "absent.test")
	anchor := filepath.Join(dir, "anchor.conf")
	harness.WriteFile(t, anchor, key.TrustAnchor())
	removed := removedAbsentZone(t)
	for _, cache := range []string{"", "cache"} {
		guarded := absentServer(t, absentVeil, cache, key.Base, "{testdata}/absent.zone")
		reference := absentServer(t, absentVeil, cache, key.Base, removed)
		for _, name := range validateNames {
			for _, qtype := range []string{"A", "TXT", "MX"} {
				fqdn := name + ".absent.test."
				got, want := delv(t, anchor, guarded.Addr, fqdn, qtype), delv(t, anchor, reference.Addr, fqdn, qtype)
				if got != want {
					t.Errorf("cache %q, %s %s: delv says\n%s\nthrough veil, and\n%s\nwithout the hidden records", cache, fqdn, qtype, got, want)
				}
				if !strings.Contains(want, "fully validated") {
					t.Errorf("cache %q, %s %s: the reference does not validate:\n%s", cache, fqdn, qtype, want)
				}
			}
		}
	}
}

// delv validates name's qtype at the server at addr with the trust anchor
// in anchorFile and returns its verdict and records, without TTLs and
// signatures.
func delv(t *testing.T, anchorFile, addr, name, qtype string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	out := harness.Run(t, "delv", "@"+host, "-p", port, "-b", harness.ExternalIP, "-a", anchorFile, "+root=absent.test.", "+nottl", "+nocrypto", name, qtype)
	var lines []string
	for line := range strings.Lines(out.Text) {
		line = strings.TrimSpace(line)
		if line == "" || strings.Contains(line, "\tRRSIG\t") {
			continue
		}
		lines = append(lines, line)
	}
	return fmt.Sprint(strings.Join(lines, "\n"))
}
