//go:build e2e && enum

package enum

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/veildns/veil/test/harness"
)

// keygen makes the ED25519 key the signed zones are signed with and
// returns the base name of its files.
func keygen(t *testing.T, dir string) string {
	t.Helper()
	keyDir := filepath.Join(dir, "key")
	if err := os.MkdirAll(keyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	out := harness.RunBounded(t, harness.Command{Dir: keyDir, Budget: 30 * time.Second}, "ldns-keygen", "-a", "ED25519", "-k", zoneName)
	base := strings.TrimSpace(out.Text)
	if out.Code != 0 || out.Killed || !strings.HasPrefix(base, "K"+zoneName+".+015+") {
		t.Fatalf("ldns-keygen failed:\n%s", out.Tail(20))
	}
	return filepath.Join(keyDir, base)
}

// listener is one server block of a CoreDNS process: a listener on port
// 53 of addr serving the zone, plain, signed (ldns-signzone, NSEC) or
// signed on the fly (the dnssec plugin, black lies), with veil configured
// by the lines in veil ("" for no veil).
type listener struct {
	addr     string
	signed   bool
	onTheFly bool
	veil     string
	transfer bool
}

// startServer writes the zone files and the Corefile of the listeners
// into dir, starts CoreDNS and waits until every listener answers with this
// run's nonce. Metrics are on port 9153 of the first listener's address.
// The process is killed and reaped in t.Cleanup; if the test failed, the
// end of its log is printed.
func startServer(t *testing.T, bin, dir string, z *zoneData, keyBase string, listeners []listener) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	metricsAddr := net.JoinHostPort(listeners[0].addr, "9153")
	var corefile strings.Builder
	for _, l := range listeners {
		zoneFile := filepath.Join(dir, "db."+zoneName+"."+l.addr)
		harness.WriteFile(t, zoneFile, z.text(l.addr))
		if l.signed {
			out := harness.RunBounded(t, harness.Command{Dir: dir, Budget: 60 * time.Second}, "ldns-signzone", "-f", zoneFile+".signed", zoneFile, keyBase)
			if out.Code != 0 || out.Killed {
				t.Fatalf("ldns-signzone failed:\n%s", out.Tail(20))
			}
			zoneFile += ".signed"
		}
		fmt.Fprintf(&corefile, "%s:%s {\n    bind %s\n    prometheus %s\n    errors\n", zoneName, harness.DNSPort, l.addr, metricsAddr)
		if l.veil != "" {
			fmt.Fprintf(&corefile, "    veil {\n        %s\n    }\n", l.veil)
		}
		if l.transfer {
			corefile.WriteString("    transfer {\n        to *\n    }\n")
		}
		if l.onTheFly {
			fmt.Fprintf(&corefile, "    dnssec {\n        key file %s\n    }\n", keyBase)
		}
		fmt.Fprintf(&corefile, "    file %s\n}\n\n", zoneFile)
	}
	corefilePath := filepath.Join(dir, "Corefile")
	harness.WriteFile(t, corefilePath, corefile.String())

	harness.StartCoreDNS(t, bin, corefilePath, harness.ReadyTimeout, func() error {
		for _, l := range listeners {
			if err := probe(l.addr, z.nonce); err != nil {
				return err
			}
		}
		return nil
	}, "free addresses in 127.0.87.0/24")
}

// probe asks a listener, over UDP and TCP, for this run's nonce.
func probe(addr, nonce string) error {
	return harness.ProbeNonce(net.JoinHostPort(addr, harness.DNSPort), runIDLabel+"."+zoneName+".", nonce)
}

// scrape fetches /metrics from addr and keeps veil's samples and
// CoreDNS's request and response counters.
func scrape(t *testing.T, addr string) harness.Metrics {
	t.Helper()
	return harness.ScrapeText(t, addr, "coredns_veil_", "coredns_dns_requests_total", "coredns_dns_responses_total")
}

// veilLines returns the coredns_veil_ lines of a scrape for server, and
// its request and response counters.
func veilLines(m harness.Metrics, server string) string {
	var b strings.Builder
	for line := range strings.Lines(m.Text) {
		if strings.Contains(line, `server="`+server+`"`) &&
			(strings.HasPrefix(line, "coredns_veil_") || strings.HasPrefix(line, "coredns_dns_")) {
			b.WriteString("  " + line)
		}
	}
	return b.String()
}
