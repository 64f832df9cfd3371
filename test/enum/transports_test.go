package enum

import (
	"fmt"
	"testing"

	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

// TestLimiterOneBudgetForBothTransports: a scanner that alternates UDP and
// TCP guesses trips its UDP budget after as many denials as one that uses
// UDP alone (the ratio rule's 20 responses), because its TCP denials count
// against UDP too; its TCP queries stay judged by TCP's own counters, and a
// neighbour whose UDP guesses tripped keeps its TCP answers.
func TestLimiterOneBudgetForBothTransports(t *testing.T) {
	s := harness.StartServer(t, harness.Corefile(harness.LimitVeil))
	for i := range 10 {
		for _, network := range []string{"udp", "tcp"} {
			m := harness.Exchange(t, network, harness.ExternalIP, s.Addr, harness.ResolverQuery(fmt.Sprintf("guess-%s-%d.example.org.", network, i)))
			if m.Rcode != dns.RcodeNameError {
				t.Fatalf("%s guess %d: %s, want NXDOMAIN before the budget is spent", network, i, dns.RcodeToString[m.Rcode])
			}
		}
	}
	udp := harness.Client("udp", harness.ExternalIP)
	udp.Timeout = harness.NoAnswerWait
	answered := 0
	for range 6 {
		r, _, err := udp.Exchange(harness.ResolverQuery("www.example.org."), s.Addr)
		if err == nil && len(r.Answer) > 0 {
			answered++
		}
	}
	if answered != 0 {
		t.Errorf("%d of 6 UDP queries answered after 10 UDP and 10 TCP denials; want the UDP budget spent", answered)
	}
	if m := harness.Exchange(t, "tcp", harness.ExternalIP, s.Addr, harness.ResolverQuery("www.example.org.")); len(m.Answer) != 1 {
		t.Errorf("TCP blocked after 10 TCP denials: %v", m)
	}
	mfs := harness.Scrape(t, s.MetricsURL)
	if got := harness.MetricValue(mfs, "coredns_veil_limiter_trips_total", map[string]string{"server": s.Label, "tier": "v4_32", "rule": "ratio"}); got != 1 {
		t.Errorf("limiter_trips_total{tier=v4_32,rule=ratio} = %v, want 1", got)
	}
}
