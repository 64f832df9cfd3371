//go:build e2e

// End-to-end test of veil's verification-token filter with real clients:
// dig, kdig and dnsrecon -t std read the TXT records of tokens.test
// (testdata/tokens.zone: 20 tokens of 17 vendors and every kind of mail
// record) from the built binary. The tools cannot choose their source
// address (a query to 127.x.y.z leaves from 127.0.0.1), so the process has
// two listeners:
//
//	external  127.0.86.4  veil trusts only 127.0.0.250: the tools are external
//	trusted   127.0.86.5  veil trusts 127.0.0.1: the tools see everything
//
// Run it with:
//
//	go test -tags e2e -run TestE2ETokens -count=1 -v ./test/tokens/
package tokens

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/veildns/veil/test/harness"
)

const (
	e2eExternal = "127.0.86.4"
	e2eTrusted  = "127.0.86.5"
	e2eZone     = "tokens.test"
)

// e2eCorefile serves the zone on both listeners. The external one has the
// limiter off: dnsrecon asks like a stub (recursion desired, no EDNS), so
// the stub rule would block it after 5 answers; this test is about tokens
// (test/enum tests the limiter against dnsrecon).
const e2eCorefile = `tokens.test:53 {
    bind %[2]s
    errors
    veil {
        trusted 127.0.0.250
        limit off
    }
    cache
    file %[1]s
}

tokens.test:53 {
    bind %[3]s
    errors
    veil {
        trusted 127.0.0.1
    }
    cache
    file %[1]s
}
`

// e2eHidden are tokens the default policy hides; e2eKept are the
// records an external client must still get.
var (
	e2eHidden = []string{"MS=ms64239401", "docusign=", "facebook-domain-verification=", "apple-domain-verification=",
		"adobe-idp-site-verification=", "slack-domain-verification=", "stripe-verification=", "ZOOM_verify_",
		"hubspot-developer-verification=", "openai-domain-verification=", "frobnicate-domain-verification=",
		"globalsign-domain-verification="}
	e2eKept = []string{"v=spf1 include:_spf.google.com", "google-site-verification=", "atlassian-domain-verification="}
)

func TestE2ETokens(t *testing.T) {
	for _, tool := range []string{"dig", "kdig", "dnsrecon"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found in PATH: install bind9-dnsutils, knot-dnsutils and dnsrecon", tool)
		}
	}
	dir := e2eStart(t)
	t.Run("dig", e2eDig)
	t.Run("kdig", e2eKdig)
	t.Run("dnsrecon", func(t *testing.T) { e2eDNSRecon(t, dir) })
}

// e2eStart builds the binary, writes tokens.zone (addresses moved to
// loopback, a nonce added) and the Corefile into a temporary directory,
// starts CoreDNS and returns the directory.
func e2eStart(t *testing.T) string {
	t.Helper()
	bin := harness.BuildCoreDNS(t)
	dir := t.TempDir()
	nonce := harness.Nonce(t)
	// The zone's name server and mail host resolve to the external
	// listener, so tools that follow them stay on loopback.
	zone := strings.NewReplacer("192.0.2.53", e2eExternal, "192.0.2.25", e2eExternal, "192.0.2.", "127.0.86.1").
		Replace(harness.ReadTestdata(t, "tokens.zone")) + fmt.Sprintf("run-id IN TXT %q\n", nonce)
	zonePath := filepath.Join(dir, "tokens.zone")
	harness.WriteFile(t, zonePath, zone)
	corefile := filepath.Join(dir, "Corefile")
	harness.WriteFile(t, corefile, fmt.Sprintf(e2eCorefile, zonePath, e2eExternal, e2eTrusted))
	harness.StartCoreDNS(t, bin, corefile, harness.ReadyTimeout, func() error {
		for _, a := range []string{e2eExternal, e2eTrusted} {
			if err := harness.ProbeNonce(net.JoinHostPort(a, harness.DNSPort), "run-id."+e2eZone+".", nonce); err != nil {
				return err
			}
		}
		return nil
	}, "free addresses "+e2eExternal+" and "+e2eTrusted)
	return dir
}

// e2eDig: dig from an external address gets the records that stay, none of
// the hidden tokens, and NXDOMAIN or NODATA where only tokens were.
func e2eDig(t *testing.T) {
	out := harness.Run(t, "dig", "@"+e2eExternal, "-p", harness.DNSPort, e2eZone, "TXT")
	harness.ExitZero(t, out)
	harness.Want(t, out, "status: NOERROR")
	harness.Want(t, out, e2eKept...)
	harness.DontWant(t, out, e2eHidden...)
	for _, name := range []string{"_dmarc", "partner.example._report._dmarc", "google._domainkey", "s1._domainkey",
		"_mta-sts", "_smtp._tls", "default._bimi", "_acme-challenge", "_atproto", "asuid", "_github-pages-challenge-acme"} {
		out := harness.Run(t, "dig", "@"+e2eExternal, "-p", harness.DNSPort, name+"."+e2eZone, "TXT", "+short")
		if harness.ExitZero(t, out); strings.Count(strings.TrimSpace(out.Text), "\n") != 0 || !strings.HasPrefix(out.Text, `"`) {
			t.Errorf("%s: want its one TXT record:\n%s", name, out)
		}
	}
	out = harness.Run(t, "dig", "@"+e2eExternal, "-p", harness.DNSPort, "_github-challenge-acme-org."+e2eZone, "TXT")
	harness.Want(t, out, "status: NXDOMAIN", "IN\tSOA")
	harness.DontWant(t, out, "8b9ea5d1e0")
	out = harness.Run(t, "dig", "@"+e2eExternal, "-p", harness.DNSPort, "www."+e2eZone, "TXT")
	harness.Want(t, out, "status: NOERROR", "ANSWER: 0", "IN\tSOA")
	harness.DontWant(t, out, "zoho-verification")
}

// e2eKdig: kdig over UDP and TCP gets no hidden token from the external
// listener and every one from the trusted listener.
func e2eKdig(t *testing.T) {
	for _, tr := range []string{"+notcp", "+tcp"} {
		// +bufsize: without EDNS the trusted answer (16 records) would
		// be truncated at 512 bytes and kdig does not retry over TCP.
		out := harness.Run(t, "kdig", "@"+e2eExternal, "-p", harness.DNSPort, e2eZone, "TXT", tr, "+bufsize=1232")
		harness.ExitZero(t, out)
		harness.Want(t, out, e2eKept...)
		harness.DontWant(t, out, e2eHidden...)
		out = harness.Run(t, "kdig", "@"+e2eTrusted, "-p", harness.DNSPort, e2eZone, "TXT", tr, "+bufsize=1232")
		harness.Want(t, out, e2eKept...)
		harness.Want(t, out, e2eHidden...)
	}
}

// e2eDNSRecon: dnsrecon -t std finds the hidden tokens only where veil
// trusts it.
func e2eDNSRecon(t *testing.T, dir string) {
	for _, c := range []struct {
		addr    string
		trusted bool
	}{{e2eExternal, false}, {e2eTrusted, true}} {
		// dnsrecon -t std asks the system resolver for the DNSKEY
		// (dns_sec_check ignores -n) and gives up when that says
		// NXDOMAIN; it runs in a mount namespace whose resolv.conf
		// points at the listener, so every query stays on loopback.
		resolv := filepath.Join(dir, "resolv.conf."+c.addr)
		harness.WriteFile(t, resolv, "nameserver "+c.addr+"\n")
		out := harness.Run(t, "unshare", "--mount", "sh", "-c", `mount --bind "$1" /etc/resolv.conf && shift && exec "$@"`,
			"sh", resolv, "dnsrecon", "-t", "std", "-d", e2eZone, "-n", c.addr)
		harness.Want(t, out, "TXT tokens.test v=spf1 include:_spf.google.com", "TXT _dmarc.tokens.test v=DMARC1",
			"TXT tokens.test google-site-verification=")
		if c.trusted {
			// The same tool sees the tokens where veil trusts it: the
			// check below passes because veil hides them, not because
			// dnsrecon missed them.
			harness.Want(t, out, e2eHidden...)
		} else {
			harness.DontWant(t, out, e2eHidden...)
		}
	}
}
