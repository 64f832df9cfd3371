package enum

import (
	"fmt"
	"testing"

	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

// TestLimiterBlocksScannerOnly: a client that only guesses names is
// blocked over UDP (slipped and dropped in turn) while its TCP retries and
// its neighbour are still answered, and the limiter's counters say so.
func TestLimiterBlocksScannerOnly(t *testing.T) {
	s := harness.StartServer(t, harness.Corefile(harness.LimitVeil))
	udp := harness.Client("udp", harness.ExternalIP)
	udp.Timeout = harness.NoAnswerWait

	// A scanner guesses names; with the defaults the ratio rule trips after
	// 20 responses that were all denials.
	for i := range 20 {
		m := harness.ResolverQuery(fmt.Sprintf("guess-%d.example.org.", i))
		r, _, err := udp.Exchange(m, s.Addr)
		if err != nil || r.Rcode != dns.RcodeNameError {
			t.Fatalf("guess %d: %v %v; want NXDOMAIN until the scanner trips", i, r, err)
		}
	}
	// Blocked now: even names that exist are not answered over UDP. With
	// slip 2 about every second blocked query gets an empty TC=1 answer,
	// which ones a keyed hash of each query decides: ask until both
	// happened, at least 10 times.
	slipped, dropped := 0, 0
	for i := 0; i < 10 || slipped == 0 || dropped == 0; i++ {
		if i == 40 {
			t.Fatalf("blocked UDP queries: %d slipped, %d dropped of 40; want some of each", slipped, dropped)
		}
		m := harness.ResolverQuery("www.example.org.")
		r, _, err := udp.Exchange(m, s.Addr)
		switch {
		case err != nil:
			dropped++
		case r.Truncated && len(r.Answer) == 0:
			slipped++
		default:
			t.Fatalf("blocked scanner got an answer: %v", r)
		}
	}
	// Its TCP retry is judged on TCP's own counters: a real client behind a
	// spoofed address still gets its answers.
	r := harness.Exchange(t, "tcp", harness.ExternalIP, s.Addr, harness.AQuery("www.example.org."))
	if len(r.Answer) != 1 {
		t.Errorf("TCP from the blocked address: %v", r)
	}
	// A neighbour on 127.0.0.3, a resolver, is unaffected, typos and all.
	for i := range 60 {
		name := "www.example.org."
		want := dns.RcodeSuccess
		if i%20 == 0 {
			name, want = "wwww.example.org.", dns.RcodeNameError
		}
		if r := harness.Exchange(t, "udp", harness.ThirdIP, s.Addr, harness.ResolverQuery(name)); r.Rcode != want {
			t.Fatalf("neighbour query %d: %s, want %s", i, dns.RcodeToString[r.Rcode], dns.RcodeToString[want])
		}
	}

	checkScannerMetrics(t, s, slipped, dropped)
}

// checkScannerMetrics checks the limiter's counters after
// TestLimiterBlocksScannerOnly: one trip of the ratio rule, the slipped and
// dropped queries it saw, one blocked prefix.
func checkScannerMetrics(t *testing.T, s harness.Server, slipped, dropped int) {
	t.Helper()
	mfs := harness.Scrape(t, s.MetricsURL)
	labels := func(kv ...string) map[string]string {
		m := map[string]string{"server": s.Label, "zone": "example.org."}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"coredns_veil_limiter_trips_total", labels("tier", "v4_32", "rule", "ratio"), 1},
		{"coredns_veil_limited_requests_total", labels("action", "slip"), float64(slipped)},
		{"coredns_veil_limited_requests_total", labels("action", "drop"), float64(dropped)},
		{"coredns_veil_limited_requests_total", labels("action", "refuse"), 0},
		{"coredns_veil_limiter_blocked_prefixes", labels(), 1},
		{"coredns_veil_limiter_table_slots", labels("state", "total"), 262144},
	} {
		if got := harness.MetricValue(mfs, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if used := harness.MetricValue(mfs, "coredns_veil_limiter_table_slots", labels("state", "used")); used < 2 || used > 20 {
		t.Errorf("table slots used = %v, want a handful", used)
	}
}

// A trusted client is never limited, whatever it asks.
func TestLimiterNeverLimitsTrusted(t *testing.T) {
	s := harness.StartServer(t, harness.Corefile(harness.LimitVeil))
	for i := range 300 {
		r := harness.Exchange(t, "udp", harness.TrustedIP, s.Addr, harness.AQuery(fmt.Sprintf("nope-%d.example.org.", i)))
		if r.Rcode != dns.RcodeNameError {
			t.Fatalf("trusted denial %d: %s", i, dns.RcodeToString[r.Rcode])
		}
	}
	if rrs, err := harness.Transfer(t, harness.TrustedIP, s.Addr, harness.XFRQuery("example.org.", dns.TypeAXFR, false)); err != nil || len(rrs) < 10 {
		t.Fatalf("trusted AXFR after a burst of denials: %d records, %v", len(rrs), err)
	}
	mfs := harness.Scrape(t, s.MetricsURL)
	if got := harness.MetricValue(mfs, "coredns_veil_limiter_trips_total", map[string]string{"server": s.Label}); got != 0 {
		t.Errorf("trips = %v, want 0", got)
	}
}
