//go:build e2e

package example

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/veildns/veil/test/harness"
)

// TestE2EExampleWalkthrough runs the README's walkthrough of the limiter
// with the real dig against the example Corefile: a loop of 20 lookups of
// names that do not exist, asked as the brute-force tools ask (recursion
// desired, no EDNS) from 127.0.0.2. The first 5 get NXDOMAIN over UDP (the
// stub rule's burst and the answer that trips it); every later UDP query
// gets an empty truncated answer, which dig retries over TCP, where the
// address, blocked over UDP, gets its denials beyond the rate's drain up
// to 5 (a few more: the rate drains while dig starts), then REFUSED. None
// times out.
func TestE2EExampleWalkthrough(t *testing.T) {
	s := harness.StartServer(t, exampleCorefile(t))
	host, port, _ := net.SplitHostPort(s.Addr)
	var udp, tcp, refused, other int
	for i := 1; i <= 20; i++ {
		out := harness.Run(t, "dig", "-p", port, "@"+host, "-b", harness.ExternalIP, "+noedns", "+tries=1", "+time=1",
			"+noall", "+comments", fmt.Sprintf("guess%d.example.org", i))
		overTCP := strings.Contains(out.Text, "Truncated, retrying in TCP mode")
		switch {
		case strings.Contains(out.Text, "status: NXDOMAIN") && !overTCP:
			udp++
		case strings.Contains(out.Text, "status: NXDOMAIN"):
			tcp++
		case strings.Contains(out.Text, "status: REFUSED") && overTCP:
			refused++
		default:
			other++
		}
	}
	t.Logf("20 guesses: %d NXDOMAIN over UDP, %d NXDOMAIN over TCP after a truncated answer, %d REFUSED over TCP, %d else", udp, tcp, refused, other)
	if udp != 5 || tcp < 6 || tcp > 9 || other != 0 || udp+tcp+refused != 20 {
		t.Errorf("want 5 NXDOMAIN over UDP, then 6 to 9 over TCP, then REFUSED, nothing else")
	}
}
