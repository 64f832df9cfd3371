package enum

import (
	"fmt"
	"testing"

	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

// TestLimiterStubBudget: with respond block and its defaults, a client
// that asks like a stub or a scanning tool (recursion desired, no EDNS)
// gets 4 answers at once (the stub burst; the query that trips is the
// first blocked), names that exist included, and is then blocked by the
// stub budget, as is one that asks with DNSSEC OK as NSEC walkers do;
// a person with dig (recursion desired, EDNS without DO) asking 30 names,
// 5 of them typos, and a resolver (recursion not desired, EDNS) asking 200
// names are never limited.
func TestLimiterStubBudget(t *testing.T) {
	s := harness.StartServer(t, harness.Corefile("veil {\n trusted 127.0.0.1\n limit {\n respond block\n }\n }"))
	for _, c := range []struct {
		src string
		do  bool
	}{{harness.ExternalIP, false}, {"127.0.0.5", true}} {
		client := harness.Client("udp", c.src)
		client.Timeout = harness.NoAnswerWait
		answered := 0
		for range 12 {
			m := harness.AQuery("www.example.org.")
			if c.do {
				m.SetEdns0(1232, true)
			}
			if r, _, err := client.Exchange(m, s.Addr); err == nil && len(r.Answer) == 1 {
				answered++
			}
		}
		if answered != 4 {
			t.Errorf("a stub-like client (DO %v) got %d of 12 answers, want 4", c.do, answered)
		}
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
	if got := harness.MetricValue(mfs, "coredns_veil_limiter_trips_total", map[string]string{"server": s.Label, "tier": "v4_32", "rule": "stub"}); got != 2 {
		t.Errorf("limiter_trips_total{tier=v4_32,rule=stub} = %v, want 2", got)
	}
}
