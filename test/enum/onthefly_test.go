package enum

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

// onTheFlyCorefile is BaseCorefile whose example.org the dnssec plugin
// signs on the fly with the key {key}.
func onTheFlyCorefile(veilBlock, keyBase string) string {
	return strings.Replace(harness.Corefile(veilBlock), "\tcache\n", "\tcache\n\tdnssec example.org {\n\t\tkey file "+keyBase+"\n\t}\n", 1)
}

// doQuery asks for name's qtype as a validating resolver or a DNSSEC-aware
// scanner does: recursion not desired, EDNS 1232 with DO.
func doQuery(name string, qtype uint16) *dns.Msg {
	m := harness.ResolverQuery(name)
	m.Question[0].Qtype = qtype
	m.IsEdns0().SetDo() // the one OPT record ResolverQuery added
	return m
}

// TestLimiterOnTheFlySignedZone: on a zone the dnssec plugin signs on the
// fly, a miss asked with DNSSEC OK gets NOERROR and a "black lie" NSEC at
// the name, the shape of NODATA; veil learns the outcome with a lookup of
// its own and charges it as a (signed) denial, so a resolver-like scanner
// with DO is blocked, at the looser limits of answers no decoy can
// replace, while a validating resolver that asks for names that exist
// (NODATA for most of their AAAA and DS included) is never limited.
func TestLimiterOnTheFlySignedZone(t *testing.T) {
	key := harness.WriteSigningKey(t, t.TempDir(), "example.org")
	veilBlock := "veil {\n trusted 127.0.0.1\n }"
	unsigned := harness.StartServer(t, harness.Corefile(veilBlock))
	signed := harness.StartServer(t, onTheFlyCorefile(veilBlock, key.Base))

	scan := func(s harness.Server, src string) (denied int) {
		c := harness.Client("udp", src)
		c.Timeout = 50 * time.Millisecond
		deadline := time.Now().Add(2 * time.Second)
		for i := 0; time.Now().Before(deadline); i++ {
			r, _, err := c.Exchange(doQuery(fmt.Sprintf("guess-%d.example.org.", i), dns.TypeA), s.Addr)
			if err != nil || r.Truncated {
				continue
			}
			if r.Rcode == dns.RcodeNameError || r.Rcode == dns.RcodeSuccess && len(r.Answer) == 0 {
				denied++
			}
		}
		return denied
	}
	r := harness.Exchange(t, "udp", "127.0.7.1", signed.Addr, doQuery("no-such-name.example.org.", dns.TypeA))
	if !blackLie(r) {
		t.Fatalf("the signed server's answer for a missing name is not a black lie:\n%v", r)
	}
	plain, onTheFly := scan(unsigned, "127.0.7.2"), scan(signed, "127.0.8.2")
	t.Logf("a DO scanner learned the fate of %d guesses on the unsigned zone, %d on the zone signed on the fly", plain, onTheFly)
	// Unsigned, its misses after the burst get decoys; signed on the fly,
	// every answer carries DNSSEC records, which no decoy can imitate, so
	// they are judged at respond block's rate (a denial counts 1/15 of
	// one) and blocked past it: burst 5 becomes 75.
	if plain > 8 || onTheFly < 70 || onTheFly > 82 {
		t.Errorf("DO scanner: %d guesses answered on the zone signed on the fly, %d unsigned; want about 76 and at most 8", onTheFly, plain)
	}

	denials := func() float64 {
		return harness.MetricValue(harness.Scrape(t, signed.MetricsURL), "coredns_veil_limiter_denials_total", map[string]string{"server": signed.Label, "zone": "example.org."})
	}
	before := denials()
	if before < float64(onTheFly) {
		t.Errorf("limiter_denials_total = %v on the signed server, want at least the scanner's %d denials", before, onTheFly)
	}
	validator := "127.0.9.3"
	for i := range 300 {
		name, qtype := []string{"www.example.org.", "mail.example.org.", "ns1.example.org.", "example.org."}[i%4], []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeDS, dns.TypeDNSKEY}[i%4]
		r := harness.Exchange(t, "udp", validator, signed.Addr, doQuery(name, qtype))
		if r.Rcode != dns.RcodeSuccess || r.Truncated {
			t.Fatalf("validating resolver, query %d (%s %s): %s tc=%v", i, name, dns.TypeToString[qtype], dns.RcodeToString[r.Rcode], r.Truncated)
		}
	}
	if after := denials(); after != before {
		t.Errorf("limiter_denials_total went from %v to %v while a validating resolver asked for names that exist (its NODATA answers are no denials)", before, after)
	}
}

// blackLie reports whether m is NOERROR without an answer whose authority
// section holds an NSEC at the question name with the next name \000.NAME.
func blackLie(m *dns.Msg) bool {
	if m.Rcode != dns.RcodeSuccess || len(m.Answer) != 0 {
		return false
	}
	for _, rr := range m.Ns {
		if n, ok := rr.(*dns.NSEC); ok && strings.EqualFold(n.Hdr.Name, m.Question[0].Name) && strings.EqualFold(n.NextDomain, `\000.`+m.Question[0].Name) {
			return true
		}
	}
	return false
}
