package decoy

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// FuzzDecoy: a zone of random hosts (addresses drawn from the input, some
// with IPv6, some not plain) and a random question name. Whatever they
// are: the template is one of the zone's plain hosts, the same for the
// name in any case and under the same key; the decoy made of the host's
// backend answer has its sections, types, classes and TTLs, its records
// owned by the name in lower case, every address in the template
// address's /24 or /64 (never its network's first or last IPv4 address),
// no address twice in an RRset, no CNAME; the backend's answer is left as
// it was, and the decoy is the same when made again.
func FuzzDecoy(f *testing.F) {
	f.Add([]byte{10, 20, 30, 1, 2, 3, 200, 7}, "guess.example.org.", false)
	f.Add([]byte{0, 0, 0, 0, 255, 255, 255, 255, 1}, "Deep.Miss.EXAMPLE.org.", true)
	f.Add([]byte{}, "x.example.org.", false)
	f.Fuzz(func(t *testing.T, addrs []byte, qname string, key bool) {
		if _, ok := dns.IsDomainName(qname); !ok || !dns.IsSubDomain("example.org.", dns.Fqdn(qname)) {
			return
		}
		qname = dns.Fqdn(qname)
		rrs, plain := fuzzZone(t, addrs)
		k := KeyFromSecret("fuzz")
		if key {
			k = KeyFromSecret("fuzz, another key")
		}
		p := NewProfile("example.org.", rrs, k, Options{})
		tm, ok := p.Template(qname)
		if ok != (len(plain) > 0) || ok && !plain[tm] {
			t.Fatalf("template %q, %v for %d plain hosts %v", tm, ok, len(plain), plain)
		}
		if !ok {
			return
		}
		if again, _ := NewProfile("example.org.", rrs, k, Options{}).Template(strings.ToUpper(qname)); again != tm {
			t.Fatalf("template %q for %s, %q for it in upper case under the same key", tm, qname, again)
		}
		for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
			checkFuzzDecoy(t, p, rrs, tm, qname, qtype)
		}
	})
}

// fuzzZone returns a zone of up to 16 hosts whose addresses come from b,
// four bytes each (a host whose first byte is odd also gets an AAAA, one
// whose second is divisible by 5 also a TXT, so it is not plain), and the
// plain hosts' names.
func fuzzZone(t *testing.T, b []byte) ([]dns.RR, map[string]bool) {
	text := "$ORIGIN example.org.\n@ 3600 IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ 3600 IN NS ns1\n"
	plain := map[string]bool{}
	for i := 0; i+4 <= len(b) && i < 64; i += 4 {
		name := fmt.Sprintf("h%d", i/4)
		text += fmt.Sprintf("%s %d IN A %d.%d.%d.%d\n", name, 60+int(b[i]), b[i], b[i+1], b[i+2], b[i+3])
		if b[i]%2 == 1 {
			text += fmt.Sprintf("%s 300 IN AAAA 2001:db8:%x::%x\n", name, b[i+1], b[i+3])
		}
		if b[i+1]%5 == 0 {
			text += name + " 300 IN TXT \"not plain\"\n"
			continue
		}
		plain[name+".example.org."] = true
	}
	return zoneRRs(t, text), plain
}

// checkFuzzDecoy checks the decoy for qname's qtype made of the zone's
// answer at template tm.
func checkFuzzDecoy(t *testing.T, p *Profile, rrs []dns.RR, tm, qname string, qtype uint16) {
	m := new(dns.Msg)
	m.SetQuestion(tm, qtype)
	m.Response, m.Authoritative = true, true
	for _, rr := range rrs {
		if strings.EqualFold(rr.Header().Name, tm) && rr.Header().Rrtype == qtype {
			m.Answer = append(m.Answer, dns.Copy(rr))
		}
	}
	before := m.String()
	d := p.Answer(m, tm, qname)
	if m.String() != before {
		t.Fatal("Answer modified the backend's answer")
	}
	if d.String() != p.Answer(m, tm, qname).String() {
		t.Fatal("not deterministic")
	}
	if d.Rcode != m.Rcode || d.Authoritative != m.Authoritative || len(d.Answer) != len(m.Answer) || len(d.Ns) != len(m.Ns) || len(d.Extra) != len(m.Extra) {
		t.Fatalf("shape changed:\n%s\nfrom\n%s", d, m)
	}
	var seen []netip.Addr
	for i, rr := range d.Answer {
		o, h := m.Answer[i].Header(), rr.Header()
		if h.Name != strings.ToLower(qname) || h.Rrtype != o.Rrtype || h.Class != o.Class || h.Ttl != o.Ttl || h.Rrtype == dns.TypeCNAME {
			t.Fatalf("record %d: %s from %s", i, rr, m.Answer[i])
		}
		var orig, got netip.Addr
		bits := 64
		switch a := rr.(type) {
		case *dns.A:
			orig, got, bits = netip.MustParseAddr(m.Answer[i].(*dns.A).A.String()), netip.MustParseAddr(a.A.String()), 24
			if last := got.As4()[3]; last == 0 || last == 255 {
				t.Fatalf("decoy %s: the /24's first or last address", got)
			}
		case *dns.AAAA:
			orig, got = netip.MustParseAddr(m.Answer[i].(*dns.AAAA).AAAA.String()), netip.MustParseAddr(a.AAAA.String())
		}
		if !netip.PrefixFrom(orig, bits).Masked().Contains(got) {
			t.Fatalf("decoy %s outside %s's /%d", got, orig, bits)
		}
		if slices.Contains(seen, got) {
			t.Fatalf("decoy address %s twice in %s", got, d)
		}
		seen = append(seen, got)
	}
}
