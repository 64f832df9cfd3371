package veil

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/test"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/miekg/dns"

	"github.com/veildns/veil/ratelimit"
)

// zoneBackend answers like an authoritative server for example.org: names
// in exists get an A record, everything else NXDOMAIN with the SOA.
type zoneBackend struct{ calls int }

var exists = map[string]bool{"www.example.org.": true, "mail.example.org.": true}

func (z *zoneBackend) ServeDNS(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	z.calls++
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	soa := test.SOA("example.org. 300 IN SOA ns1.example.org. hostmaster.example.org. 1 7200 3600 1209600 300")
	if exists[r.Question[0].Name] {
		m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300}, A: net.IPv4(192, 0, 2, 80)}}
	} else {
		m.Rcode = dns.RcodeNameError
		m.Ns = []dns.RR{soa}
	}
	w.WriteMsg(m)
	return dns.RcodeSuccess, nil
}

func (z *zoneBackend) Name() string { return "zone" }

// fakeClock stands in for the limiter's ticking clock (limit_clock.go):
// the clock reads as running, and only advance moves it. Tests that use it
// do not run in parallel.
type fakeClock struct{}

func (fakeClock) advance(d time.Duration) { clockMillis.Add(d.Milliseconds()) }

// newFakeClock sets the limiter's clock to 1 s until the test ends.
func newFakeClock(tb testing.TB) fakeClock {
	clockMu.Lock()
	defer clockMu.Unlock()
	if clockUsers > 0 {
		tb.Fatal("the limiter's clock is running; a fake clock would race with it")
	}
	clockRunning.Store(true)
	clockMillis.Store(1000)
	tb.Cleanup(func() { clockRunning.Store(false) })
	return fakeClock{}
}
func limitVeil(t *testing.T, block string) *Veil {
	t.Helper()
	return newTestVeil(t, "veil {\n trusted 192.0.2.0/24\n"+block+"\n}", &zoneBackend{})
}

// ask sends one query and returns what was written (nil for nothing) and
// whether the backend saw it.
func ask(t *testing.T, v *Veil, addr string, tcp bool, name string) (*dns.Msg, bool) {
	t.Helper()
	w := newTestWriter(t, addr, tcp)
	backend := v.Next.(*zoneBackend)
	before := backend.calls
	if _, err := v.ServeDNS(context.Background(), w, query(name, dns.TypeA, true)); err != nil {
		t.Fatal(err)
	}
	var m *dns.Msg
	if len(w.msgs) == 1 {
		m = w.msgs[0]
	} else if len(w.msgs) > 1 {
		t.Fatalf("%d messages written", len(w.msgs))
	}
	return m, backend.calls > before
}

func limitedCount(v *Veil, action string) float64 {
	return testutil.ToFloat64(LimitedCount.WithLabelValues("", v.zones[0].name, "", action))
}

func TestLimitBurstThenBlock(t *testing.T) {
	v := limitVeil(t, " limit {\n respond block\n rate 10\n burst 5\n ratio off\n slip 0\n }")
	newFakeClock(t)
	scanner := "198.51.100.9:5353"
	for i := range 5 {
		if m, passed := ask(t, v, scanner, false, "no-such-name.example.org."); !passed || m.Rcode != dns.RcodeNameError {
			t.Fatalf("denial %d within the burst was not answered: %v", i+1, m)
		}
	}
	// The sixth denial is answered (it is what trips the prefix)...
	if m, passed := ask(t, v, scanner, false, "nope6.example.org."); !passed || m.Rcode != dns.RcodeNameError {
		t.Fatalf("the denial that trips was not answered: %v", m)
	}
	// ...and from then on every query of the prefix to the zone, positive
	// ones included, is dropped over UDP (slip 0).
	before := limitedCount(v, "drop")
	for _, name := range []string{"www.example.org.", "nope7.example.org."} {
		if m, passed := ask(t, v, scanner, false, name); m != nil || passed {
			t.Fatalf("blocked query for %s: answer %v, reached backend %v", name, m, passed)
		}
	}
	if got := limitedCount(v, "drop") - before; got != 2 {
		t.Errorf("limited_requests_total{action=drop} moved by %v, want 2", got)
	}
	// A neighbour in the same /24 and another network are unaffected.
	for _, addr := range []string{"198.51.100.10:5353", "203.0.113.1:5353"} {
		if m, passed := ask(t, v, addr, false, "www.example.org."); !passed || len(m.Answer) != 1 {
			t.Errorf("%s limited by its neighbour: %v", addr, m)
		}
	}
}

func TestLimitRefill(t *testing.T) {
	v := limitVeil(t, " limit {\n respond block\n rate 10\n burst 5\n ratio off\n }")
	clock := newFakeClock(t)
	for range 5 {
		ask(t, v, "198.51.100.9:1", false, "nope.example.org.")
	}
	clock.advance(100 * time.Millisecond) // one denial's worth at 10/s
	ask(t, v, "198.51.100.9:1", false, "nope.example.org.")
	if _, passed := ask(t, v, "198.51.100.9:1", false, "www.example.org."); !passed {
		t.Fatal("limited after the budget refilled by one")
	}
}

func TestLimitSlipAndTCP(t *testing.T) {
	v := limitVeil(t, " limit {\n respond block\n rate 1\n burst 1\n ratio off\n slip 2\n }")
	newFakeClock(t)
	scanner := "198.51.100.9:5353"
	ask(t, v, scanner, false, "a.example.org.")
	ask(t, v, scanner, false, "b.example.org.") // trips the UDP budget
	// Each blocked query slips or is dropped as its own hash says
	// (ratelimit/slip_test.go tests the share).
	for i := range 10 {
		r := query(fmt.Sprintf("www%d.example.org.", i), dns.TypeA, true)
		w := newTestWriter(t, scanner, false)
		if _, err := v.ServeDNS(context.Background(), w, r); err != nil {
			t.Fatal(err)
		}
		slip := v.zones[0].limiter.Slips(netip.MustParseAddr("198.51.100.9"), r.Id, dns.TypeA, r.Question[0].Name)
		switch {
		case len(w.msgs) == 0 && !slip:
		case len(w.msgs) == 1 && slip && w.msgs[0].Truncated && len(w.msgs[0].Answer)+len(w.msgs[0].Ns) == 0 && w.msgs[0].Rcode == dns.RcodeSuccess:
		default:
			t.Fatalf("blocked query %d (slips: %v) answered %v", i, slip, w.msgs)
		}
	}
	// TCP has its own budget: the UDP block does not reach it...
	if m, passed := ask(t, v, scanner, true, "www.example.org."); !passed || len(m.Answer) != 1 {
		t.Fatalf("TCP limited by UDP denials: %v", m)
	}
	// ...and once TCP trips, it gets REFUSED with EDE 15.
	ask(t, v, scanner, true, "c.example.org.")
	ask(t, v, scanner, true, "d.example.org.")
	m, passed := ask(t, v, scanner, true, "www.example.org.")
	if passed || m == nil || m.Rcode != dns.RcodeRefused {
		t.Fatalf("blocked TCP query: %v (passed %v), want REFUSED", m, passed)
	}
	if got := edeCode(m); got != int(dns.ExtendedErrorCodeBlocked) {
		t.Errorf("EDE %d, want %d (Blocked)", got, dns.ExtendedErrorCodeBlocked)
	}
}

func TestLimitBlockExpires(t *testing.T) {
	v := limitVeil(t, " limit {\n respond block\n rate 1\n burst 1\n ratio off\n block 10s\n slip 0\n }")
	clock := newFakeClock(t)
	ask(t, v, "198.51.100.9:1", false, "a.example.org.")
	ask(t, v, "198.51.100.9:1", false, "b.example.org.")
	clock.advance(9 * time.Second)
	if _, passed := ask(t, v, "198.51.100.9:1", false, "www.example.org."); passed {
		t.Fatal("unblocked before the block ended")
	}
	clock.advance(2 * time.Second)
	if _, passed := ask(t, v, "198.51.100.9:1", false, "www.example.org."); !passed {
		t.Fatal("still blocked after the block ended")
	}
}

func TestLimitNeverTrustedOrExempt(t *testing.T) {
	v := limitVeil(t, " limit {\n respond block\n rate 1\n burst 1\n ratio off\n exempt 203.0.113.0/24 2001:db8:e::/48\n }")
	newFakeClock(t)
	for _, addr := range []string{"192.0.2.7:1", "203.0.113.5:1", "[2001:db8:e::5]:1"} {
		for i := range 50 {
			if _, passed := ask(t, v, addr, false, "nope.example.org."); !passed {
				t.Fatalf("%s limited after %d denials", addr, i)
			}
		}
	}
}

func TestLimitLogOnly(t *testing.T) {
	v := newTestVeil(t, "veil {\n log-only\n limit {\n rate 1\n burst 1\n ratio off\n }\n}", &zoneBackend{})
	newFakeClock(t)
	before := limitedCount(v, "log_only")
	for i := range 20 {
		if m, passed := ask(t, v, "198.51.100.9:1", i%2 == 0, "nope.example.org."); !passed || m.Rcode != dns.RcodeNameError {
			t.Fatalf("log-only changed answer %d: %v", i, m)
		}
	}
	if got := limitedCount(v, "log_only") - before; got == 0 {
		t.Error("log-only counted nothing")
	}
}

func TestLimitTripMetricAndGauge(t *testing.T) {
	v := limitVeil(t, " limit {\n respond block\n rate 1\n burst 1\n ratio off\n }")
	newFakeClock(t)
	trips := TripCount.WithLabelValues("", "example.org.", "", "v6_64", "rate")
	before := testutil.ToFloat64(trips)
	ask(t, v, "[2001:db8:1::9]:1", false, "a.example.org.")
	ask(t, v, "[2001:db8:1::9]:1", false, "b.example.org.")
	if got := testutil.ToFloat64(trips) - before; got != 1 {
		t.Errorf("limiter_trips_total{tier=v6_64,rule=rate} moved by %v, want 1", got)
	}
	gauges.add(v)
	defer gauges.remove(v)
	// Two gauges of table slots and one of blocked prefixes for ("", "").
	if n := testutil.CollectAndCount(gauges, "coredns_veil_limiter_table_slots", "coredns_veil_limiter_blocked_prefixes"); n != 3 {
		t.Errorf("collector emitted %d series, want 3", n)
	}
	active := v.zones[0].trips.active(coarseMillis())
	if len(active) != 1 {
		t.Errorf("blocked prefixes: %v, want one server with one block", active)
	}
}

func TestIsDenial(t *testing.T) {
	soa := test.SOA("example.org. 300 IN SOA ns1.example.org. h.example.org. 1 7200 3600 1209600 300")
	nsec := test.NSEC("a.example.org. 300 IN NSEC \\000.a.example.org. RRSIG NSEC")
	nxname := test.NSEC("b.example.org. 300 IN NSEC \\000.b.example.org. RRSIG NSEC TYPE128")
	nsec3 := &dns.NSEC3{Hdr: dns.RR_Header{Name: "x.example.org.", Rrtype: dns.TypeNSEC3, Class: dns.ClassINET}}
	hostNSEC := test.NSEC("q.example.org. 300 IN NSEC r.example.org. A RRSIG NSEC")
	a := test.A("www.example.org. 300 IN A 192.0.2.1")
	cname := test.CNAME("alias.example.org. 300 IN CNAME gone.example.org.")
	ns := test.NS("sub.example.org. 300 IN NS ns.sub.example.org.")
	msg := func(qtype uint16, rcode int, answer, authority []dns.RR) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion("q.example.org.", qtype)
		m.Response, m.Rcode, m.Answer, m.Ns = true, rcode, answer, authority
		return m
	}
	tests := []struct {
		name string
		m    *dns.Msg
		want bool
	}{
		{"NXDOMAIN", msg(dns.TypeA, dns.RcodeNameError, nil, []dns.RR{soa}), true},
		{"NXDOMAIN with NSEC proof", msg(dns.TypeA, dns.RcodeNameError, nil, []dns.RR{soa, nsec}), true},
		{"NXDOMAIN after a CNAME", msg(dns.TypeA, dns.RcodeNameError, []dns.RR{cname}, []dns.RR{soa}), true},
		{"NODATA: the name exists", msg(dns.TypeMX, dns.RcodeSuccess, nil, []dns.RR{soa}), false},
		{"NODATA with NSEC3", msg(dns.TypeMX, dns.RcodeSuccess, nil, []dns.RR{soa, nsec3}), false},
		{"NODATA with the name's NSEC", msg(dns.TypeMX, dns.RcodeSuccess, nil, []dns.RR{soa, hostNSEC}), false},
		{"a question for NSEC records", msg(dns.TypeNSEC, dns.RcodeSuccess, []dns.RR{hostNSEC}, nil), true},
		{"a question for NSEC3 records", msg(dns.TypeNSEC3, dns.RcodeSuccess, nil, []dns.RR{soa}), true},
		{"black lie: NOERROR with NSEC", msg(dns.TypeA, dns.RcodeSuccess, nil, []dns.RR{soa, nsec}), true},
		{"compact denial with NXNAME", msg(dns.TypeA, dns.RcodeSuccess, nil, []dns.RR{soa, nxname}), true},
		{"NSEC without SOA", msg(dns.TypeA, dns.RcodeSuccess, nil, []dns.RR{nsec}), true},
		{"CNAME to a name without the type", msg(dns.TypeA, dns.RcodeSuccess, []dns.RR{cname}, []dns.RR{soa}), false},
		{"positive", msg(dns.TypeA, dns.RcodeSuccess, []dns.RR{a}, nil), false},
		{"positive with SOA in authority", msg(dns.TypeA, dns.RcodeSuccess, []dns.RR{a}, []dns.RR{soa}), false},
		{"referral", msg(dns.TypeA, dns.RcodeSuccess, nil, []dns.RR{ns}), false},
		{"SERVFAIL", msg(dns.TypeA, dns.RcodeServerFailure, nil, nil), false},
		{"REFUSED", msg(dns.TypeA, dns.RcodeRefused, nil, nil), false},
	}
	for _, tc := range tests {
		if got := isDenial(tc.m); got != tc.want {
			t.Errorf("%s: isDenial = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// edeCode returns the Extended DNS Error code of m, or -1.
func edeCode(m *dns.Msg) int {
	if o := m.IsEdns0(); o != nil {
		for _, opt := range o.Option {
			if e, ok := opt.(*dns.EDNS0_EDE); ok {
				return int(e.InfoCode)
			}
		}
	}
	return -1
}

var _ plugin.Handler = (*zoneBackend)(nil)

// One budget per prefix: denials over TCP count against the prefix's UDP
// budget too, so a scanner alternating transports trips its UDP budget
// after as many denials as one using UDP alone; its TCP budget counts TCP
// alone, so spoofed UDP traffic never blocks a client's TCP queries.
func TestLimitTCPDenialsCountAgainstUDP(t *testing.T) {
	v := limitVeil(t, " limit {\n respond block\n rate 100\n burst 1000\n ratio 0.8 20 30s\n }")
	newFakeClock(t)
	scanner := "198.51.100.9:1"
	for i := range 10 {
		for _, tcp := range []bool{false, true} {
			if _, passed := ask(t, v, scanner, tcp, fmt.Sprintf("guess%d-%v.example.org.", i, tcp)); !passed {
				t.Fatalf("guess %d (tcp %v) limited before 20 denials", i, tcp)
			}
		}
	}
	if _, passed := ask(t, v, scanner, false, "www.example.org."); passed {
		t.Error("UDP not blocked after 10 UDP and 10 TCP denials")
	}
	if m, passed := ask(t, v, scanner, true, "www.example.org."); !passed || len(m.Answer) != 1 {
		t.Errorf("TCP blocked after 10 TCP denials, below its own minimum of 20: %v", m)
	}
	// UDP denials alone never reach the TCP budget (the suspect rule
	// aside, which needs TCP denials of its own).
	victim := "198.51.100.10:1"
	for range 30 {
		ask(t, v, victim, false, "nope.example.org.")
	}
	for i := range 30 {
		if m, passed := ask(t, v, victim, true, "www.example.org."); !passed || len(m.Answer) != 1 {
			t.Fatalf("TCP query %d of an address blocked over UDP: %v", i, m)
		}
	}
}

// A scanner blocked over UDP that falls back to TCP is blocked there after
// SuspectBurst denials more, while a client that asks for names that exist
// over TCP from the same (spoofed) address keeps its answers.
func TestLimitTCPFallbackOfBlockedScanner(t *testing.T) {
	v := limitVeil(t, " limit {\n respond block\n rate 100\n burst 1000\n ratio 0.8 20 30s\n }")
	newFakeClock(t)
	scanner := "198.51.100.9:1"
	for range 20 {
		ask(t, v, scanner, false, "nope.example.org.")
	}
	if _, passed := ask(t, v, scanner, false, "www.example.org."); passed {
		t.Fatal("UDP not blocked after 20 denials")
	}
	// The victim's real traffic over TCP: positive answers, never limited.
	for i := range 50 {
		if m, passed := ask(t, v, scanner, true, "www.example.org."); !passed || len(m.Answer) != 1 {
			t.Fatalf("positive TCP query %d of a UDP-blocked address limited", i)
		}
	}
	// The scanner over TCP: the ratio counts the 50 positives too, so
	// denials must outweigh them: with 80 % that is 200 more; a fresh
	// address shows the short path.
	walker := "198.51.100.77:1"
	for range 20 {
		ask(t, v, walker, false, "nope.example.org.")
	}
	for i := range ratelimit.SuspectBurst + 1 {
		if _, passed := ask(t, v, walker, true, "nope.example.org."); !passed {
			t.Fatalf("TCP denial %d refused within the suspect burst", i+1)
		}
	}
	m, passed := ask(t, v, walker, true, "www.example.org.")
	if passed || m == nil || m.Rcode != dns.RcodeRefused {
		t.Fatalf("TCP fallback of a blocked scanner not refused after %d denials: %v", ratelimit.SuspectBurst+1, m)
	}
}
