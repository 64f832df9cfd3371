package test

import (
	"fmt"
	"testing"

	"github.com/miekg/dns"
)

// limitVeil is veil with the limiter at its defaults: rate 20/s, burst 100,
// ratio 0.8 of at least 20 responses in 30s, block 60s, slip 2.
const limitVeil = `veil {
		trusted 127.0.0.1
		limit
	}`

const thirdIP = "127.0.0.3"

func TestLimiterBlocksScannerOnly(t *testing.T) {
	s := startServer(t, corefile(limitVeil))
	udp := client("udp", externalIP)
	udp.Timeout = noAnswerWait

	// A scanner guesses names; with the defaults the ratio rule trips after
	// 20 responses that were all denials.
	for i := range 20 {
		m := new(dns.Msg)
		m.SetQuestion(fmt.Sprintf("guess-%d.example.org.", i), dns.TypeA)
		r, _, err := udp.Exchange(m, s.addr)
		if err != nil || r.Rcode != dns.RcodeNameError {
			t.Fatalf("guess %d: %v %v; want NXDOMAIN until the scanner trips", i, r, err)
		}
	}
	// Blocked now: even names that exist are not answered over UDP. With
	// slip 2 every second blocked query gets an empty TC=1 answer.
	slipped, dropped := 0, 0
	for range 10 {
		m := new(dns.Msg)
		m.SetQuestion("www.example.org.", dns.TypeA)
		r, _, err := udp.Exchange(m, s.addr)
		switch {
		case err != nil:
			dropped++
		case r.Truncated && len(r.Answer) == 0:
			slipped++
		default:
			t.Fatalf("blocked scanner got an answer: %v", r)
		}
	}
	if slipped != 5 || dropped != 5 {
		t.Errorf("blocked UDP queries: %d slipped, %d dropped; want 5 and 5", slipped, dropped)
	}
	// Its TCP retry is judged on TCP's own counters: a real client behind a
	// spoofed address still gets its answers.
	r := exchange(t, "tcp", externalIP, s.addr, aQuery("www.example.org."))
	if len(r.Answer) != 1 {
		t.Errorf("TCP from the blocked address: %v", r)
	}
	// A neighbour on 127.0.0.3 is unaffected, typos and all.
	for i := range 60 {
		name := "www.example.org."
		want := dns.RcodeSuccess
		if i%20 == 0 {
			name, want = "wwww.example.org.", dns.RcodeNameError
		}
		if r := exchange(t, "udp", thirdIP, s.addr, aQuery(name)); r.Rcode != want {
			t.Fatalf("neighbour query %d: %s, want %s", i, dns.RcodeToString[r.Rcode], dns.RcodeToString[want])
		}
	}

	mfs := scrape(t, s.metricsURL)
	labels := func(kv ...string) map[string]string {
		m := map[string]string{"server": s.label, "zone": "example.org."}
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
		{"coredns_veil_limited_requests_total", labels("action", "slip"), 5},
		{"coredns_veil_limited_requests_total", labels("action", "drop"), 5},
		{"coredns_veil_limited_requests_total", labels("action", "refuse"), 0},
		{"coredns_veil_limiter_blocked_prefixes", labels(), 1},
		{"coredns_veil_limiter_table_slots", labels("state", "total"), 262144},
	} {
		if got := metricValue(mfs, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	if used := metricValue(mfs, "coredns_veil_limiter_table_slots", labels("state", "used")); used < 2 || used > 20 {
		t.Errorf("table slots used = %v, want a handful", used)
	}
}

// A trusted client is never limited, whatever it asks.
func TestLimiterNeverLimitsTrusted(t *testing.T) {
	s := startServer(t, corefile(limitVeil))
	for i := range 300 {
		r := exchange(t, "udp", trustedIP, s.addr, aQuery(fmt.Sprintf("nope-%d.example.org.", i)))
		if r.Rcode != dns.RcodeNameError {
			t.Fatalf("trusted denial %d: %s", i, dns.RcodeToString[r.Rcode])
		}
	}
	if rrs, err := transfer(t, trustedIP, s.addr, axfr("example.org.", dns.TypeAXFR, false)); err != nil || len(rrs) < 10 {
		t.Fatalf("trusted AXFR after a burst of denials: %d records, %v", len(rrs), err)
	}
	mfs := scrape(t, s.metricsURL)
	if got := metricValue(mfs, "coredns_veil_limiter_trips_total", map[string]string{"server": s.label}); got != 0 {
		t.Errorf("trips = %v, want 0", got)
	}
}

func aQuery(name string) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	return m
}
