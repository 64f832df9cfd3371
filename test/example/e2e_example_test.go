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
// desired, no EDNS) from 127.0.0.2. The first 2 get NXDOMAIN over UDP (the
// stub rule's burst); the third flags the address, and from then on every
// guess gets NOERROR with an address of the zone's hosts' network over
// UDP: a decoy. None is truncated or times out. A name that exists keeps
// its true answer after the loop.
func TestE2EExampleWalkthrough(t *testing.T) {
	s := harness.StartServer(t, exampleCorefile(t))
	host, port, _ := net.SplitHostPort(s.Addr)
	dig := func(name string) string {
		return harness.Run(t, "dig", "-p", port, "@"+host, "-b", harness.ExternalIP, "+noedns", "+tries=1", "+time=1",
			"+noall", "+comments", "+answer", name).Text
	}
	var nx, decoys, other int
	for i := 1; i <= 20; i++ {
		out := dig(fmt.Sprintf("guess%d.example.org", i))
		switch {
		case strings.Contains(out, "Truncated"):
			other++
		case strings.Contains(out, "status: NXDOMAIN"):
			nx++
		case strings.Contains(out, "status: NOERROR") && strings.Contains(out, "IN\tA\t192.0.2."):
			decoys++
		default:
			other++
		}
	}
	t.Logf("20 guesses: %d NXDOMAIN, %d decoys (NOERROR, an address in 192.0.2.0/24), %d else", nx, decoys, other)
	if nx != 2 || decoys != 18 {
		t.Errorf("want 2 NXDOMAIN, then 18 decoys, nothing else")
	}
	if out := dig("vpn.example.org"); !strings.Contains(out, "IN\tA\t192.0.2.50") {
		t.Errorf("after the loop, vpn.example.org got\n%s\nwant its true address 192.0.2.50", out)
	}
}
