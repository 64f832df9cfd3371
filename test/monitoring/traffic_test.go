//go:build e2e

package monitoring

import (
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

// startCoreDNS writes the zone and the Corefile into dir, starts bin and
// waits until both listeners answer with this run's nonce.
func startCoreDNS(t *testing.T, bin, dir string) {
	t.Helper()
	// The enforcing listener shares its limiter through a Redis, so the
	// cluster series appear too.
	redis := harness.StartRedis(t)
	nonce := harness.Nonce(t)
	zone := filepath.Join(dir, "db.mon.test")
	harness.WriteFile(t, zone, fmt.Sprintf(zoneTemplate, nonce))
	corefile := filepath.Join(dir, "Corefile")
	harness.WriteFile(t, corefile, fmt.Sprintf(corefileTemplate, zone, redis.Addr))
	harness.StartCoreDNS(t, bin, corefile, readyTimeout, func() error {
		for _, a := range []string{enforceAddr, logOnlyAddr} {
			if err := harness.ProbeNonce(net.JoinHostPort(a, harness.DNSPort), "run-id."+zoneName+".", nonce); err != nil {
				return err
			}
		}
		return nil
	}, "free addresses "+enforceAddr+", "+logOnlyAddr+" and "+metricsAddr)
}

// exchange sends one query from src over network ("udp" or "tcp") to
// the listener at addr. A timeout returns a nil message: a dropped query.
func exchange(t *testing.T, network, src, addr, name string, qtype uint16, timeout time.Duration) *dns.Msg {
	t.Helper()
	c := harness.Client(network, src)
	c.Timeout, c.Dialer.Timeout = timeout, timeout
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	q.SetEdns0(1232, false)
	r, _, err := c.Exchange(q, net.JoinHostPort(addr, harness.DNSPort))
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		if network == "tcp" && (errors.Is(err, io.EOF) || strings.Contains(err.Error(), "connection reset")) {
			return nil // dropped over TCP: veil closes the connection
		}
		t.Fatalf("%s %s %s from %s to %s: %v", network, name, dns.TypeToString[qtype], src, addr, err)
	}
	return r
}

// shortWait is how long sendTraffic waits for an answer veil may drop.
const shortWait = 300 * time.Millisecond

// sendTraffic sends each listener every kind of request veil counts.
func sendTraffic(t *testing.T) {
	t.Helper()
	for _, addr := range []string{enforceAddr, logOnlyAddr} {
		logOnly := addr == logOnlyAddr
		sendQueries(t, addr, logOnly)
		sendBursts(t, addr, logOnly)
	}
	// The canary, which flags its asker at once (answered as a flagged
	// prefix is: slipped or dropped).
	exchange(t, "udp", canarySrc, enforceAddr, "vault-admin."+zoneName, dns.TypeA, shortWait)
}

// sendQueries sends the listener at addr trusted and external positive
// queries, the apex TXT with tokens, and external transfers and ANY over
// UDP and TCP, and checks the answers (log-only: that of the TXT only).
func sendQueries(t *testing.T, addr string, logOnly bool) {
	t.Helper()
	ask := func(network, src, name string, qtype uint16) *dns.Msg {
		return exchange(t, network, src, addr, name, qtype, time.Second)
	}
	// Trusted: a positive answer and the whole zone.
	if r := ask("udp", trustedSrc, "www."+zoneName, dns.TypeA); r == nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("%s: trusted A query: %v", addr, r)
	}
	if r := ask("tcp", trustedSrc, zoneName, dns.TypeAXFR); r == nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) < 5 {
		t.Errorf("%s: trusted AXFR: %v", addr, r)
	}
	// External: a positive answer, the apex TXT with tokens hidden.
	if r := ask("udp", extSrc, "www."+zoneName, dns.TypeA); r == nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Errorf("%s: external A query: %v", addr, r)
	}
	txt := ask("udp", extSrc, zoneName, dns.TypeTXT)
	if txt == nil {
		t.Fatalf("%s: external TXT query unanswered", addr)
	}
	if got, want := len(txt.Answer), map[bool]int{false: 2, true: 5}[logOnly]; got != want {
		t.Errorf("%s: external TXT: %d records, want %d (SPF and Google's token; all in log-only mode):\n%v", addr, got, want, txt)
	}
	// External transfers and ANY, over UDP and TCP.
	for _, network := range []string{"udp", "tcp"} {
		for _, qtype := range []uint16{dns.TypeAXFR, dns.TypeIXFR, dns.TypeANY} {
			r := exchange(t, network, extSrc, addr, zoneName, qtype, shortWait)
			switch {
			case logOnly:
			case qtype == dns.TypeANY && network == "udp":
				if r == nil || len(r.Answer) != 1 || r.Answer[0].Header().Rrtype != dns.TypeHINFO {
					t.Errorf("%s: external ANY over UDP: want the RFC 8482 HINFO, got %v", addr, r)
				}
			default:
				if r == nil || r.Rcode != dns.RcodeRefused {
					t.Errorf("%s: external %s over %s: want REFUSED, got %v", addr, dns.TypeToString[qtype], network, r)
				}
			}
		}
	}
}

// sendBursts sends the listener at addr NXDOMAIN bursts over UDP and TCP
// that trip the limiter.
func sendBursts(t *testing.T, addr string, logOnly bool) {
	t.Helper()
	// NXDOMAIN bursts over UDP and TCP: the limiter trips after burst
	// 4 and then slips, drops and refuses (log-only: answers). Which
	// blocked UDP queries slip a keyed hash of each decides: past 14
	// rounds, go on until both a slip and a drop happened.
	var answered, unanswered, truncated, refused int
	for i := 0; i < 14 || (!logOnly && i < 40 && (unanswered == 0 || truncated == 0)); i++ {
		for _, b := range []struct{ network, src string }{{"udp", udpBurstSrc}, {"tcp", tcpBurstSrc}} {
			r := exchange(t, b.network, b.src, addr, fmt.Sprintf("guess-%d.%s", i, zoneName), dns.TypeA, shortWait)
			switch {
			case r == nil:
				unanswered++
			case r.Truncated:
				truncated++
			case r.Rcode == dns.RcodeRefused:
				refused++
			default:
				answered++
			}
		}
	}
	if logOnly && answered != 28 {
		t.Errorf("%s (log-only): %d of 28 NXDOMAIN guesses answered, want all", addr, answered)
	}
	if !logOnly && (unanswered == 0 || truncated == 0 || refused == 0) {
		t.Errorf("%s: NXDOMAIN burst: %d answered, %d dropped, %d truncated, %d refused; want some of each limiter action",
			addr, answered, unanswered, truncated, refused)
	}
}
