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
//	go test -tags e2e -run TestE2ETokens -count=1 -v ./test/
package test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const (
	e2eTokExternal = "127.0.86.4"
	e2eTokTrusted  = "127.0.86.5"
	e2eTokZone     = "tokens.test"
)

const e2eTokCorefile = `tokens.test:53 {
    bind %[2]s
    errors
    veil {
        trusted 127.0.0.250
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

// e2eTokHidden are tokens the default policy hides; e2eTokKept are the
// records an external client must still get.
var (
	e2eTokHidden = []string{"MS=ms64239401", "docusign=", "facebook-domain-verification=", "apple-domain-verification=",
		"adobe-idp-site-verification=", "slack-domain-verification=", "stripe-verification=", "ZOOM_verify_",
		"hubspot-developer-verification=", "openai-domain-verification=", "frobnicate-domain-verification=",
		"globalsign-domain-verification="}
	e2eTokKept = []string{"v=spf1 include:_spf.google.com", "google-site-verification=", "atlassian-domain-verification="}
)

func TestE2ETokens(t *testing.T) {
	for _, tool := range []string{"dig", "kdig", "dnsrecon"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found in PATH: install bind9-dnsutils, knot-dnsutils and dnsrecon", tool)
		}
	}
	bin := e2eBuildBinary(t)
	dir := t.TempDir()
	nb := make([]byte, 8)
	if _, err := rand.Read(nb); err != nil {
		t.Fatal(err)
	}
	nonce := hex.EncodeToString(nb)
	// The zone's name server and mail host resolve to the external
	// listener, so tools that follow them stay on loopback.
	zone := strings.NewReplacer("192.0.2.53", e2eTokExternal, "192.0.2.25", e2eTokExternal, "192.0.2.", "127.0.86.1").
		Replace(readTestdata(t, "tokens.zone")) + fmt.Sprintf("run-id IN TXT %q\n", nonce)
	zonePath := filepath.Join(dir, "tokens.zone")
	e2eWrite(t, zonePath, zone)
	corefile := filepath.Join(dir, "Corefile")
	e2eWrite(t, corefile, fmt.Sprintf(e2eTokCorefile, zonePath, e2eTokExternal, e2eTokTrusted))
	e2eRunCoreDNS(t, bin, corefile, e2eReadyTimeout, func() error {
		for _, a := range []string{e2eTokExternal, e2eTokTrusted} {
			if err := e2eProbeNonce(net.JoinHostPort(a, e2ePort), "run-id."+e2eTokZone+".", nonce); err != nil {
				return err
			}
		}
		return nil
	}, "free addresses "+e2eTokExternal+" and "+e2eTokTrusted)

	t.Run("dig", func(t *testing.T) {
		out := e2eRun(t, "dig", "@"+e2eTokExternal, "-p", e2ePort, e2eTokZone, "TXT")
		e2eExitZero(t, out)
		e2eWant(t, out, "status: NOERROR")
		e2eWant(t, out, e2eTokKept...)
		e2eDontWant(t, out, e2eTokHidden...)
		for _, name := range []string{"_dmarc", "partner.example._report._dmarc", "google._domainkey", "s1._domainkey",
			"_mta-sts", "_smtp._tls", "default._bimi", "_acme-challenge", "_atproto", "asuid", "_github-pages-challenge-acme"} {
			out := e2eRun(t, "dig", "@"+e2eTokExternal, "-p", e2ePort, name+"."+e2eTokZone, "TXT", "+short")
			if e2eExitZero(t, out); strings.Count(strings.TrimSpace(out.text), "\n") != 0 || !strings.HasPrefix(out.text, `"`) {
				t.Errorf("%s: want its one TXT record:\n%s", name, out)
			}
		}
		out = e2eRun(t, "dig", "@"+e2eTokExternal, "-p", e2ePort, "_github-challenge-acme-org."+e2eTokZone, "TXT")
		e2eWant(t, out, "status: NXDOMAIN", "IN\tSOA")
		e2eDontWant(t, out, "8b9ea5d1e0")
		out = e2eRun(t, "dig", "@"+e2eTokExternal, "-p", e2ePort, "www."+e2eTokZone, "TXT")
		e2eWant(t, out, "status: NOERROR", "ANSWER: 0", "IN\tSOA")
		e2eDontWant(t, out, "zoho-verification")
	})
	t.Run("kdig", func(t *testing.T) {
		for _, tr := range []string{"+notcp", "+tcp"} {
			// +bufsize: without EDNS the trusted answer (16 records) would
			// be truncated at 512 bytes and kdig does not retry over TCP.
			out := e2eRun(t, "kdig", "@"+e2eTokExternal, "-p", e2ePort, e2eTokZone, "TXT", tr, "+bufsize=1232")
			e2eExitZero(t, out)
			e2eWant(t, out, e2eTokKept...)
			e2eDontWant(t, out, e2eTokHidden...)
			out = e2eRun(t, "kdig", "@"+e2eTokTrusted, "-p", e2ePort, e2eTokZone, "TXT", tr, "+bufsize=1232")
			e2eWant(t, out, e2eTokKept...)
			e2eWant(t, out, e2eTokHidden...)
		}
	})
	t.Run("dnsrecon", func(t *testing.T) {
		for _, c := range []struct {
			addr    string
			trusted bool
		}{{e2eTokExternal, false}, {e2eTokTrusted, true}} {
			// dnsrecon -t std asks the system resolver for the DNSKEY
			// (dns_sec_check ignores -n) and gives up when that says
			// NXDOMAIN; it runs in a mount namespace whose resolv.conf
			// points at the listener, so every query stays on loopback.
			resolv := filepath.Join(dir, "resolv.conf."+c.addr)
			e2eWrite(t, resolv, "nameserver "+c.addr+"\n")
			out := e2eRun(t, "unshare", "--mount", "sh", "-c", `mount --bind "$1" /etc/resolv.conf && shift && exec "$@"`,
				"sh", resolv, "dnsrecon", "-t", "std", "-d", e2eTokZone, "-n", c.addr)
			e2eWant(t, out, "TXT tokens.test v=spf1 include:_spf.google.com", "TXT _dmarc.tokens.test v=DMARC1",
				"TXT tokens.test google-site-verification=")
			if c.trusted {
				// The same tool sees the tokens where veil trusts it: the
				// check below passes because veil hides them, not because
				// dnsrecon missed them.
				e2eWant(t, out, e2eTokHidden...)
			} else {
				e2eDontWant(t, out, e2eTokHidden...)
			}
		}
	})
}
