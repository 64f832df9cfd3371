package enum

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

// decoyVeil is veil with the limiter's defaults (a flagged prefix gets
// decoys), a canary to flag a client at once, and a fixed decoy key.
const decoyVeil = `veil {
		trusted 127.0.0.1
		limit {
			canary canary-trap.example.org canary-trap.signed.test
			decoy key decoy-test-secret-0123456789
		}
	}`

// decoyCorefile is BaseCorefile with veil block veilBlock, with or without
// the cache plugin below veil.
func decoyCorefile(veilBlock string, cache bool) string {
	c := harness.Corefile(veilBlock)
	if !cache {
		c = strings.Replace(c, "\tcache\n", "", 1)
	}
	return c
}

// flag asks for the canary from src over network, which flags src's
// prefix (over UDP, and over TCP too when asked over TCP).
func flag(t *testing.T, network, src, addr string) {
	t.Helper()
	harness.Exchange(t, network, src, addr, harness.ResolverQuery("canary-trap.example.org."))
}

// plainHosts are db.example.org's names that hold nothing but addresses:
// the shapes a decoy takes.
var plainHosts = []string{"ns1", "ns2", "mail", "www", "vpn-gw", "jenkins", "sub", "deep.sub"}

// decoyTypes are the question types a decoy is checked at.
var decoyTypes = []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeMX, dns.TypeTXT, dns.TypeNS, dns.TypeCNAME, dns.TypeSRV, dns.TypeCAA, dns.TypeSOA, 65123}

// queryAs returns a query for name's qtype as a resolver asks (resolver
// true: recursion not desired, EDNS 1232) or as a stub does.
func queryAs(name string, qtype uint16, resolver bool) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	if resolver {
		m.RecursionDesired = false
		m.SetEdns0(1232, false)
	}
	return m
}

// shape is everything a client sees of an answer but the ID, the owner
// name of the records at the question name ("Q"), the host part of their
// addresses (the /24 or /64 is kept) and, unless ttl, the TTLs.
func shape(m *dns.Msg, qname string, ttl bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s aa=%v tc=%v rd=%v ra=%v ad=%v cd=%v q=%d\n", dns.RcodeToString[m.Rcode], m.Authoritative, m.Truncated,
		m.RecursionDesired, m.RecursionAvailable, m.AuthenticatedData, m.CheckingDisabled, len(m.Question))
	for i, sec := range [][]dns.RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range sec {
			c := dns.Copy(rr)
			h := c.Header()
			if strings.EqualFold(h.Name, qname) {
				h.Name = "Q."
				switch a := c.(type) {
				case *dns.A:
					a.A = netip.PrefixFrom(netip.MustParseAddr(a.A.String()), 24).Masked().Addr().AsSlice()
				case *dns.AAAA:
					a.AAAA = netip.PrefixFrom(netip.MustParseAddr(a.AAAA.String()), 64).Masked().Addr().AsSlice()
				}
			}
			if !ttl {
				h.Ttl = 0
			}
			if opt, ok := c.(*dns.OPT); ok {
				fmt.Fprintf(&b, "%d OPT size=%d do=%v\n", i, opt.UDPSize(), opt.Do())
				continue
			}
			fmt.Fprintf(&b, "%d %s\n", i, c)
		}
	}
	return b.String()
}

// TestDecoysLookLikeHosts: a flagged client asking for names that do not
// exist gets, at every question type, over UDP and TCP, as a resolver or a
// stub asks, with and without cache, an answer of exactly the shape one of
// the zone's hosts gets (flags, sections, record types and counts, the
// authority and additional records, TTLs without cache), its addresses in
// the hosts' networks; the same answer for the same name every time.
func TestDecoysLookLikeHosts(t *testing.T) {
	for _, cache := range []bool{false, true} {
		t.Run(fmt.Sprintf("cache=%v", cache), func(t *testing.T) {
			s := harness.StartServer(t, decoyCorefile(decoyVeil, cache))
			const flagged, other = "127.0.40.1", "127.0.40.2"
			flag(t, "tcp", flagged, s.Addr)
			for _, qtype := range decoyTypes {
				for _, resolver := range []bool{true, false} {
					real := map[string]bool{}
					for _, h := range plainHosts {
						name := h + ".example.org."
						real[shape(harness.Exchange(t, "udp", other, s.Addr, queryAs(name, qtype, resolver)), name, !cache)] = true
					}
					for i := range 12 {
						name := fmt.Sprintf("no-such-host-%d.example.org.", i)
						udp := harness.Exchange(t, "udp", flagged, s.Addr, queryAs(name, qtype, resolver))
						tcp := harness.Exchange(t, "tcp", flagged, s.Addr, queryAs(strings.ToUpper(name), qtype, resolver))
						what := fmt.Sprintf("%s %s (resolver-like %v)", name, dns.TypeToString[qtype], resolver)
						if got := shape(udp, name, !cache); !real[got] {
							t.Fatalf("%s: a decoy of a shape no host has:\n%s\nhosts:\n%s", what, got, strings.Join(slices.Sorted(mapKeys(real)), "--\n"))
						}
						if shape(udp, name, false) != shape(tcp, name, false) || !sameRecords(udp, tcp) {
							t.Errorf("%s: decoy over UDP\n%s\nover TCP\n%s", what, udp, tcp)
						}
						checkDecoyAddresses(t, what, udp)
					}
				}
			}
		})
	}
}

func mapKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// sameRecords reports whether a and b hold the same answer records, TTLs
// aside, owner names compared without case.
func sameRecords(a, b *dns.Msg) bool {
	if len(a.Answer) != len(b.Answer) {
		return false
	}
	for i := range a.Answer {
		x, y := dns.Copy(a.Answer[i]), dns.Copy(b.Answer[i])
		x.Header().Ttl, y.Header().Ttl = 0, 0
		x.Header().Name, y.Header().Name = strings.ToLower(x.Header().Name), strings.ToLower(y.Header().Name)
		if x.String() != y.String() {
			return false
		}
	}
	return true
}

// checkDecoyAddresses checks that every address of a decoy's answer is in
// the networks of db.example.org's hosts, and that nothing but addresses
// is in it.
func checkDecoyAddresses(t *testing.T, what string, m *dns.Msg) {
	t.Helper()
	v4, v6 := netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::/64")
	for _, rr := range m.Answer {
		switch a := rr.(type) {
		case *dns.A:
			if ip := netip.MustParseAddr(a.A.String()); !v4.Contains(ip) || ip.As4()[3] == 0 || ip.As4()[3] == 255 {
				t.Errorf("%s: decoy address %s", what, ip)
			}
		case *dns.AAAA:
			if ip := netip.MustParseAddr(a.AAAA.String()); !v6.Contains(ip) {
				t.Errorf("%s: decoy address %s", what, ip)
			}
		default:
			t.Errorf("%s: a decoy holds %s", what, rr)
		}
	}
}

// TestDecoysSpareNamesThatExist: a flagged client gets the true answer of
// every name that exists, NODATA and CNAME included, as an unflagged one.
func TestDecoysSpareNamesThatExist(t *testing.T) {
	s := harness.StartServer(t, decoyCorefile(decoyVeil, false))
	const flagged, other = "127.0.41.1", "127.0.41.2"
	flag(t, "tcp", flagged, s.Addr)
	for _, q := range []struct {
		name  string
		qtype uint16
	}{
		{"www", dns.TypeA}, {"www", dns.TypeAAAA}, {"mail", dns.TypeAAAA}, {"@", dns.TypeMX}, {"@", dns.TypeTXT},
		{"intranet", dns.TypeA}, {"intranet", dns.TypeCNAME}, {"_dmarc", dns.TypeTXT}, {"_dmarc", dns.TypeA},
		{"sub", dns.TypeA}, {"deep.sub", dns.TypeMX}, {"@", dns.TypeNS}, {"@", dns.TypeSOA}, {"ns1", dns.TypeA},
	} {
		name := strings.TrimPrefix(q.name+".example.org.", "@.")
		for _, network := range []string{"udp", "tcp"} {
			got := harness.Exchange(t, network, flagged, s.Addr, queryAs(name, q.qtype, true))
			want := harness.Exchange(t, network, other, s.Addr, queryAs(name, q.qtype, true))
			got.Id = want.Id
			if got.String() != want.String() {
				t.Errorf("%s %s over %s: flagged client got\n%s\nunflagged\n%s", name, dns.TypeToString[q.qtype], network, got, want)
			}
		}
	}
}

// TestDecoysSameEverywhere: two servers given the same decoy key (two
// replicas) give a flagged client the same decoys, and so does a server
// after a reload; a server with another key gives others.
func TestDecoysSameEverywhere(t *testing.T) {
	a := harness.StartServer(t, decoyCorefile(decoyVeil, true))
	b := harness.StartServer(t, decoyCorefile(decoyVeil, false))
	c := harness.StartServer(t, decoyCorefile(strings.Replace(decoyVeil, "decoy-test-secret", "another-secret-xx", 1), false))
	const src = "127.0.42.1"
	for _, s := range []harness.Server{a, b, c} {
		flag(t, "udp", src, s.Addr)
	}
	answers := func(s harness.Server) []*dns.Msg {
		var out []*dns.Msg
		for i := range 20 {
			for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
				out = append(out, harness.Exchange(t, "udp", src, s.Addr, queryAs(fmt.Sprintf("guess-%d.example.org.", i), qtype, true)))
			}
		}
		return out
	}
	fromA, fromB, fromC := answers(a), answers(b), answers(c)
	if err := a.Reload(t, decoyCorefile(decoyVeil, true)); err != nil {
		t.Fatal(err)
	}
	flag(t, "udp", src, a.Addr) // the block survives a reload anyway; the canary makes sure
	afterReload := answers(a)
	differ := 0
	for i := range fromA {
		if !sameRecords(fromA[i], fromB[i]) || !sameRecords(fromA[i], afterReload[i]) {
			t.Errorf("decoy %d differs between replicas with one key, or across a reload:\n%s\n%s\n%s", i, fromA[i], fromB[i], afterReload[i])
		}
		if !sameRecords(fromA[i], fromC[i]) {
			differ++
		}
	}
	if differ < len(fromA)/2 {
		t.Errorf("a server with another key gave %d of %d decoys alike", len(fromA)-differ, len(fromA))
	}
}

// TestDecoysSignedZone: in a signed zone a flagged client that asks with
// DNSSEC OK, whose answers a decoy could not imitate without failing
// validation, is blocked as with respond block, for names that exist too
// (else the block itself would tell hits from misses); asked without DO,
// the zone's answers carry no signatures and misses get decoys.
func TestDecoysSignedZone(t *testing.T) {
	s := harness.StartServer(t, decoyCorefile(decoyVeil, true))
	const src = "127.0.43.1"
	harness.Exchange(t, "tcp", src, s.Addr, harness.ResolverQuery("canary-trap.signed.test."))
	for _, name := range []string{"www.signed.test.", "no-such-host.signed.test."} {
		do := queryAs(name, dns.TypeA, true)
		do.IsEdns0().SetDo()
		if r := harness.Exchange(t, "tcp", src, s.Addr, do); r.Rcode != dns.RcodeRefused || harness.EDE(r) != int(dns.ExtendedErrorCodeBlocked) {
			t.Errorf("%s with DO over TCP from a flagged client: want REFUSED with EDE 15, got\n%s", name, r)
		}
		if r, _, err := harness.Client("udp", src).Exchange(do, s.Addr); err == nil && !r.Truncated {
			t.Errorf("%s with DO over UDP from a flagged client: want no answer or TC=1, got\n%s", name, r)
		}
	}
	r := harness.Exchange(t, "udp", src, s.Addr, queryAs("no-such-host.signed.test.", dns.TypeA, true))
	if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 || r.Answer[0].Header().Rrtype != dns.TypeA {
		t.Errorf("a miss without DO from a flagged client: want a decoy, got\n%s", r)
	}
}

// TestCanaryFlagsAtOnce: one external query for a canary, or for a name
// below it, flags the client's prefix at once (its next miss gets a decoy),
// is counted and tripped by rule "canary"; other clients, and the trusted
// one asking for the canary, are untouched.
func TestCanaryFlagsAtOnce(t *testing.T) {
	s := harness.StartServer(t, decoyCorefile(decoyVeil, false))
	miss := func(src string) *dns.Msg {
		return harness.Exchange(t, "udp", src, s.Addr, queryAs("surely-absent.example.org.", dns.TypeA, true))
	}
	for i, c := range []struct {
		network, src, name string
	}{
		{"udp", "127.0.44.1", "canary-trap.example.org."},
		{"tcp", "127.0.44.2", "CANARY-TRAP.example.org."},
		{"udp", "127.0.44.3", "x.y.canary-trap.example.org."},
	} {
		if r := miss(c.src); r.Rcode != dns.RcodeNameError {
			t.Fatalf("%s before the canary: %s", c.src, dns.RcodeToString[r.Rcode])
		}
		harness.Exchange(t, c.network, c.src, s.Addr, queryAs(c.name, dns.TypeA, true))
		if r := miss(c.src); r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
			t.Errorf("%s after asking %s over %s: want a decoy, got %s", c.src, c.name, c.network, dns.RcodeToString[r.Rcode])
		}
		mfs := harness.Scrape(t, s.MetricsURL)
		labels := map[string]string{"server": s.Label, "zone": "example.org."}
		if got := harness.MetricValue(mfs, "coredns_veil_canary_queries_total", labels); got != float64(i+1) {
			t.Errorf("canary_queries_total = %v after %d canary queries", got, i+1)
		}
	}
	harness.Exchange(t, "udp", harness.TrustedIP, s.Addr, queryAs("canary-trap.example.org.", dns.TypeA, true))
	if r := miss("127.0.44.9"); r.Rcode != dns.RcodeNameError {
		t.Errorf("another client got %s for a miss", dns.RcodeToString[r.Rcode])
	}
	if r := harness.Exchange(t, "udp", harness.TrustedIP, s.Addr, queryAs("surely-absent.example.org.", dns.TypeA, true)); r.Rcode != dns.RcodeNameError {
		t.Errorf("the trusted client got %s for a miss after asking for the canary", dns.RcodeToString[r.Rcode])
	}
	if got := harness.MetricValue(harness.Scrape(t, s.MetricsURL), "coredns_veil_limiter_trips_total", map[string]string{"server": s.Label, "zone": "example.org.", "rule": "canary", "tier": "v4_32"}); got != 3 {
		t.Errorf("limiter_trips_total{rule=canary} = %v, want 3", got)
	}
}

// TestDecoysLogOnly: under log-only a flagged client gets its true
// answers, and what would have been a decoy is counted.
func TestDecoysLogOnly(t *testing.T) {
	s := harness.StartServer(t, decoyCorefile(strings.Replace(decoyVeil, "trusted 127.0.0.1", "trusted 127.0.0.1\n\t\tlog-only", 1), false))
	const src = "127.0.45.1"
	flag(t, "udp", src, s.Addr)
	for i := range 5 {
		if r := harness.Exchange(t, "udp", src, s.Addr, queryAs(fmt.Sprintf("absent-%d.example.org.", i), dns.TypeA, true)); r.Rcode != dns.RcodeNameError {
			t.Fatalf("log-only: a flagged client got %s for a miss", dns.RcodeToString[r.Rcode])
		}
	}
	mfs := harness.Scrape(t, s.MetricsURL)
	if got := harness.MetricValue(mfs, "coredns_veil_decoys_total", map[string]string{"server": s.Label, "zone": "example.org.", "mode": "log_only"}); got < 5 {
		t.Errorf("decoys_total{mode=log_only} = %v, want at least 5", got)
	}
	if got := harness.MetricValue(mfs, "coredns_veil_decoys_total", map[string]string{"server": s.Label, "zone": "example.org.", "mode": "enforce"}); got != 0 {
		t.Errorf("decoys_total{mode=enforce} = %v under log-only", got)
	}
}

// TestDistinguisherCatchesWrongTTL: the distinguisher the acceptance tests
// count with finds nothing to tell veil's decoys from hosts after the
// first decoy, and everything once the decoys are given a TTL no host has,
// another network or other flags: it can fail.
func TestDistinguisherCatchesWrongTTL(t *testing.T) {
	s := harness.StartServer(t, decoyCorefile(decoyVeil, false))
	const src = "127.0.46.1"
	var obs []observed
	ask := func(name string, exists bool) {
		start := time.Now()
		m := harness.Exchange(t, "udp", src, s.Addr, queryAs(name, dns.TypeA, true))
		obs = append(obs, observed{name: name, exists: exists, at: start, latency: time.Since(start), msg: m})
	}
	hosts := []string{"ns1", "ns2", "mail", "vpn-gw", "jenkins", "sub", "deep.sub", "www"}
	for _, h := range hosts[:3] {
		ask(h+".example.org.", true)
	}
	flag(t, "udp", src, s.Addr)
	for i := range 40 {
		ask(fmt.Sprintf("absent-%d.example.org.", i), false)
		ask(hosts[i%len(hosts)]+".example.org.", true)
	}
	v := distinguish(obs)
	if v.decoys != 40 || v.hits != 43 {
		t.Fatalf("%d decoys and %d hits, want 40 and 43", v.decoys, v.hits)
	}
	if got, why := v.learnedNames(), v.reasons(); len(got) != 3 || why != "3 before the first decoy" {
		t.Errorf("learned %v (%s), want the 3 hosts asked before the first decoy", got, why)
	}
	for _, c := range []struct {
		name, observable string
		tamper           func(m *dns.Msg)
	}{
		{"TTL", "TTLs", func(m *dns.Msg) { m.Answer[0].Header().Ttl = 300 }},
		{"network", "networks", func(m *dns.Msg) { m.Answer[0].(*dns.A).A = netip.MustParseAddr("198.51.100.7").AsSlice() }},
		{"flags", "flags", func(m *dns.Msg) { m.Authoritative = false }},
	} {
		tampered := slices.Clone(obs)
		for i, o := range tampered {
			if !o.exists && o.positive() {
				tampered[i].msg = o.msg.Copy()
				c.tamper(tampered[i].msg)
			}
		}
		tv := distinguish(tampered)
		if got := tv.learnedNames(); len(got) != len(hosts) {
			t.Errorf("decoys with another %s: learned %d names, want all %d hosts", c.name, len(got), len(hosts))
		}
		want := fmt.Sprintf("3 before the first decoy, %d by its %s", len(hosts)-3, c.observable)
		if got := tv.reasons(); got != want {
			t.Errorf("decoys with another %s: learned %q, want %q", c.name, got, want)
		}
		if got := tv.examples(1); !strings.Contains(got, "by its "+c.observable+" ") {
			t.Errorf("decoys with another %s: example %q names no value of its %s", c.name, got, c.observable)
		}
	}
}

// TestDistinguisherTTLsCountingDown: TTLs that a resolver's cache counts
// down tell nothing the client does not know (its oldest entry, made before
// the first decoy, shows a TTL no decoy does), but TTLs an authoritative
// server gives, which do not count down, tell even when they differ by one
// second.
func TestDistinguisherTTLsCountingDown(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)
	answer := func(name string, ttl uint32) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeA)
		m.Response, m.Rcode = true, dns.RcodeSuccess
		rr, err := dns.NewRR(fmt.Sprintf("%s %d IN A 192.0.2.%d", name, ttl, 1+len(name)%250))
		if err != nil {
			t.Fatal(err)
		}
		m.Answer = []dns.RR{rr}
		return m
	}
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	// Through a resolver: host-0 cached at 0 s, before the first decoy at
	// 1 s, asked again at 60 s; the decoys cached at 1 s and 2 s, asked
	// again within the minute; host-1 first asked after the first decoy.
	counted := []observed{
		{name: "host-0.example.org.", exists: true, at: at(0), msg: answer("host-0.example.org.", 3600)},
		{name: "miss-1.example.org.", at: at(1), msg: answer("miss-1.example.org.", 3600)},
		{name: "miss-2.example.org.", at: at(2), msg: answer("miss-2.example.org.", 3600)},
		{name: "host-1.example.org.", exists: true, at: at(3), msg: answer("host-1.example.org.", 3600)},
		{name: "miss-1.example.org.", at: at(40), msg: answer("miss-1.example.org.", 3561)},
		{name: "miss-2.example.org.", at: at(59), msg: answer("miss-2.example.org.", 3543)},
		{name: "host-1.example.org.", exists: true, at: at(50), msg: answer("host-1.example.org.", 3553)},
		{name: "host-0.example.org.", exists: true, at: at(60), msg: answer("host-0.example.org.", 3540)},
	}
	slices.SortFunc(counted, func(a, b observed) int { return a.at.Compare(b.at) })
	if got := distinguish(counted).reasons(); got != "1 before the first decoy" {
		t.Errorf("through a resolver: learned %q, want only host-0, asked before the first decoy", got)
	}
	// From veil itself: the decoys' TTL a second short of the hosts'.
	direct := []observed{
		{name: "miss-1.example.org.", at: at(0), msg: answer("miss-1.example.org.", 3599)},
		{name: "host-1.example.org.", exists: true, at: at(1), msg: answer("host-1.example.org.", 3600)},
		{name: "miss-1.example.org.", at: at(2), msg: answer("miss-1.example.org.", 3599)},
	}
	if got := distinguish(direct).reasons(); got != "1 by its TTLs" {
		t.Errorf("from the server: learned %q, want host-1 by its TTLs", got)
	}
}
