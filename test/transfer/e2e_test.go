//go:build e2e

// End-to-end test of veil against the reconnaissance tools an attacker would
// point at an authoritative server: dig, kdig, dnsrecon and nmap.
//
// The test builds ./cmd/coredns (stock CoreDNS plus veil), writes a zone with
// names that must never leak and starts one CoreDNS process with three
// listeners on port 53 of distinct loopback addresses:
//
//	trusted   127.0.86.1  veil trusts 127.0.0.1, so the tools are trusted here
//	external  127.0.86.2  veil trusts only 127.0.0.250, so the tools are external
//	baseline  127.0.86.3  no veil at all: what CoreDNS alone sends
//
// Two listeners are needed because most tools cannot choose their source
// address: on Linux a query to any 127.x.y.z leaves from 127.0.0.1. Port 53
// is needed because dnsrecon always transfers from port 53 and the portrule
// of nmap's dns-zone-transfer script only matches 53/tcp; binding it needs
// root (or CAP_NET_BIND_SERVICE), which CI has.
//
// Run it with:
//
//	go test -tags e2e -run TestE2E -count=1 -v ./test/transfer/
//
// The tools are required (never skipped); on Debian:
// apt-get install bind9-dnsutils knot-dnsutils dnsrecon nmap
package transfer

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/veildns/veil/test/harness"
)

const (
	e2eZone         = "example.net"
	e2eTrustedAddr  = "127.0.86.1" // veil trusts 127.0.0.1 here: the tools are trusted
	e2eExternalAddr = "127.0.86.2" // veil trusts only 127.0.0.250 here: the tools are external
	e2eBaselineAddr = "127.0.86.3" // no veil: the reference for "exactly what CoreDNS sends"
	e2eOtherSource  = "127.0.0.2"  // dig -b source that is external on the trusted listener
	e2eMetricsAddr  = "127.0.86.1:9153"
)

// e2eSecretNames are owner names and TXT data that only a zone transfer (or
// a real ANY answer) reveals; the trusted runs must show them, the external
// runs must not.
var e2eSecretNames = []string{"vpn-gw", "jenkins-ci", "secret-db", "mx-hidden", "e2e-leak-token-Zq7Xw3Rt"}

// e2eSecrets adds the addresses of those names: none of them may appear in
// any output from the external listener either.
var e2eSecrets = append(slices.Clone(e2eSecretNames),
	"198.51.100.71", "198.51.100.72", "198.51.100.73", "198.51.100.74", "2001:db8:5ec::db")

// e2eZoneTemplate is the zone. The first verb is the address of ns1, which
// is the listener serving the file: dnsrecon transfers from the addresses of
// the zone's SOA MNAME and NS names (looked up through -n), not from -n
// itself, so each listener's zone must name that listener. The second verb
// is a per-run nonce the readiness probe looks for, so a stale server left
// on the same address cannot pass for ours.
const e2eZoneTemplate = `$ORIGIN example.net.
$TTL 3600
@           IN SOA   ns1.example.net. hostmaster.example.net. 2026112601 7200 3600 1209600 3600
@           IN NS    ns1.example.net.
@           IN MX    10 mx-hidden.example.net.
@           IN TXT   "e2e-leak-token-Zq7Xw3Rt"
ns1         IN A     %s
run-id      IN TXT   "%s"
vpn-gw      IN A     198.51.100.71
jenkins-ci  IN A     198.51.100.72
secret-db   IN A     198.51.100.73
secret-db   IN AAAA  2001:db8:5ec::db
mx-hidden   IN A     198.51.100.74
`

// e2eCorefileTemplate has no "any" plugin, so a trusted ANY reaches the file
// plugin, and "transfer { to * }", so veil is all that protects the zone.
// Verbs: 1 trusted zone file, 2 external zone file.
const e2eCorefileTemplate = `example.net:53 {
    bind 127.0.86.1
    prometheus 127.0.86.1:9153
    errors
    log
    veil {
        trusted 127.0.0.1
    }
    transfer {
        to *
    }
    file %[1]s
}

example.net:53 {
    bind 127.0.86.2
    prometheus 127.0.86.1:9153
    errors
    log
    veil {
        trusted 127.0.0.250
    }
    transfer {
        to *
    }
    file %[2]s
}

example.net:53 {
    bind 127.0.86.3
    prometheus 127.0.86.1:9153
    errors
    log
    transfer {
        to *
    }
    file %[1]s
}
`

// e2eTools maps each tool to the Debian package that provides it.
var e2eTools = []struct{ name, pkg string }{
	{"dig", "bind9-dnsutils"},
	{"kdig", "knot-dnsutils"},
	{"dnsrecon", "dnsrecon"},
	{"nmap", "nmap"},
}

// e2eAttempts counts the requests veil must have acted on, so the metrics
// check expects only what the subtests that ran actually sent.
type e2eAttempts struct {
	extAXFR, extIXFR, extANY int // from 127.0.0.1 to the external listener
	trustedListenerAXFR      int // from 127.0.0.2 to the trusted listener
}

func TestE2E(t *testing.T) {
	for _, tool := range e2eTools {
		if _, err := exec.LookPath(tool.name); err != nil {
			t.Fatalf("%s not found in PATH (%v): install the Debian package %s", tool.name, err, tool.pkg)
		}
	}

	bin := harness.BuildCoreDNS(t)
	dir := t.TempDir()
	e2eStartServer(t, bin, dir)

	before := e2eScrape(t)
	var n e2eAttempts

	t.Run("dig_axfr", func(t *testing.T) { e2eDigAXFR(t, &n) })
	t.Run("dig_ixfr", func(t *testing.T) { e2eDigIXFR(t, &n) })
	t.Run("dnsrecon", func(t *testing.T) { e2eDNSRecon(t, &n) })
	t.Run("nmap", func(t *testing.T) { e2eNmap(t, &n) })
	t.Run("kdig_any", func(t *testing.T) { e2eKdigANY(t, &n) })
	t.Run("metrics", func(t *testing.T) { e2eCheckMetrics(t, before, e2eScrape(t), n) })
}

// e2eStartServer writes the zones and Corefile into dir, starts CoreDNS and
// waits until all three listeners answer with this run's nonce. The process
// is killed and reaped in t.Cleanup; if the test failed its log is printed.
func e2eStartServer(t *testing.T, bin, dir string) {
	t.Helper()
	nonce := harness.Nonce(t)
	trustedZone := filepath.Join(dir, "db.example.net.trusted")
	externalZone := filepath.Join(dir, "db.example.net.external")
	corefile := filepath.Join(dir, "Corefile")
	harness.WriteFile(t, trustedZone, fmt.Sprintf(e2eZoneTemplate, e2eTrustedAddr, nonce))
	harness.WriteFile(t, externalZone, fmt.Sprintf(e2eZoneTemplate, e2eExternalAddr, nonce))
	harness.WriteFile(t, corefile, fmt.Sprintf(e2eCorefileTemplate, trustedZone, externalZone))

	harness.StartCoreDNS(t, bin, corefile, harness.ReadyTimeout, func() error { return e2eProbe(nonce) },
		fmt.Sprintf("free addresses %s, %s, %s", e2eTrustedAddr, e2eExternalAddr, e2eBaselineAddr))
}

// e2eProbe asks every listener, over UDP and TCP, for this run's nonce.
func e2eProbe(nonce string) error {
	for _, addr := range []string{e2eTrustedAddr, e2eExternalAddr, e2eBaselineAddr} {
		if err := harness.ProbeNonce(net.JoinHostPort(addr, harness.DNSPort), "run-id."+e2eZone+".", nonce); err != nil {
			return err
		}
	}
	return nil
}
