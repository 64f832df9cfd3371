package enum

import (
	"fmt"
	"testing"

	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

// TestLimiterStubBudget: with the limiter's defaults (on without a limit
// directive), a client that asks like a stub or a scanning tool (recursion
// desired, no EDNS) gets 11 answers at once, names that exist included,
// and is then blocked by the stub budget; a person with dig (recursion
// desired, EDNS) asking 30 names, 5 of them typos, and a resolver
// (recursion not desired, EDNS) asking 200 names are never limited.
func TestLimiterStubBudget(t *testing.T) {
	s := harness.StartServer(t, harness.Corefile("veil {\n trusted 127.0.0.1\n }"))
	udp := harness.Client("udp", harness.ExternalIP)
	udp.Timeout = harness.NoAnswerWait
	answered := 0
	for range 20 {
		if r, _, err := udp.Exchange(harness.AQuery("www.example.org."), s.Addr); err == nil && len(r.Answer) == 1 {
			answered++
		}
	}
	if answered != 11 {
		t.Errorf("a stub-like client got %d of 20 answers, want 11 (the stub burst of 10, and the answer that trips)", answered)
	}

	person := harness.Client("udp", harness.ThirdIP)
	for i := range 30 {
		name, want := fmt.Sprintf("host%d.example.org.", i%3), dns.RcodeNameError
		if i%6 != 0 {
			name, want = "www.example.org.", dns.RcodeSuccess
		}
		m := harness.AQuery(name)
		m.SetEdns0(1232, false)
		r, _, err := person.Exchange(m, s.Addr)
		if err != nil || r.Rcode != want {
			t.Fatalf("person with dig, query %d (%s): %v %v, want %s", i, name, r, err, dns.RcodeToString[want])
		}
	}
	for i := range 200 {
		if r := harness.Exchange(t, "udp", "127.0.0.4", s.Addr, harness.ResolverQuery("www.example.org.")); len(r.Answer) != 1 {
			t.Fatalf("resolver query %d: %v", i, r)
		}
	}
	mfs := harness.Scrape(t, s.MetricsURL)
	if got := harness.MetricValue(mfs, "coredns_veil_limiter_trips_total", map[string]string{"server": s.Label, "tier": "v4_32", "rule": "stub"}); got != 1 {
		t.Errorf("limiter_trips_total{tier=v4_32,rule=stub} = %v, want 1", got)
	}
}
