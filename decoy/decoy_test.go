package decoy

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

const testZone = `
$ORIGIN example.org.
@        3600 IN SOA ns1 hostmaster 1 7200 3600 1209600 300
@        3600 IN NS  ns1
@        3600 IN A   192.0.2.1
@        3600 IN MX  10 mail
ns1      3600 IN A   192.0.2.53
www      300  IN A   192.0.2.10
www      300  IN AAAA 2001:db8::10
mail     3600 IN A   198.51.100.25
vpn      3600 IN A   203.0.113.7
vpn      3600 IN A   203.0.113.8
txt      3600 IN A   192.0.2.20
txt      3600 IN TXT "google-site-verification=abc"
alias    3600 IN CNAME www
*.dyn    3600 IN A   192.0.2.99
sub      3600 IN NS  ns.sub
ns.sub   3600 IN A   192.0.2.77
a.b.ent  3600 IN A   192.0.2.30
`

func zoneRRs(t testing.TB, text string) []dns.RR {
	t.Helper()
	var rrs []dns.RR
	zp := dns.NewZoneParser(strings.NewReader(text), "example.org.", "")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
	}
	if err := zp.Err(); err != nil {
		t.Fatal(err)
	}
	return rrs
}

// The templates are the plain hosts: below the apex, outside delegations
// and wildcards, with nothing but addresses.
func TestPlainHosts(t *testing.T) {
	got := plainHosts("example.org.", zoneRRs(t, testZone))
	want := []string{"a.b.ent.example.org.", "mail.example.org.", "ns1.example.org.", "vpn.example.org.", "www.example.org."}
	if !slices.Equal(got, want) {
		t.Errorf("plain hosts: got %v, want %v", got, want)
	}
}

func TestTemplateDeterministicPerKey(t *testing.T) {
	rrs := zoneRRs(t, testZone)
	k1, k2 := KeyFromSecret("one"), KeyFromSecret("two")
	a, b, c := NewProfile("example.org.", rrs, k1, Options{}), NewProfile("example.org.", rrs, k1, Options{}), NewProfile("example.org.", rrs, k2, Options{})
	differ := 0
	for i := range 200 {
		name := fmt.Sprintf("guess%d.example.org.", i)
		ta, _ := a.Template(name)
		tb, _ := b.Template(strings.ToUpper(name))
		tc, _ := c.Template(name)
		if ta != tb {
			t.Fatalf("%s: template %s, and %s from a profile with the same key (name in upper case)", name, ta, tb)
		}
		if ta != tc {
			differ++
		}
	}
	if differ == 0 {
		t.Error("another key chose the same template for every name")
	}
	if _, ok := NewProfile("example.org.", zoneRRs(t, "$ORIGIN example.org.\n@ 300 IN A 192.0.2.1\n"), k1, Options{}).Template("x.example.org."); ok {
		t.Error("a zone without a plain host gave a template")
	}
}

// A host added to the zone moves the names next to it on the ring only.
func TestTemplateStableWhenZoneGrows(t *testing.T) {
	k := KeyFromSecret("stable")
	var text strings.Builder
	text.WriteString("$ORIGIN example.org.\n")
	for i := range 100 {
		fmt.Fprintf(&text, "h%d 300 IN A 192.0.2.%d\n", i, i+1)
	}
	before := NewProfile("example.org.", zoneRRs(t, text.String()), k, Options{})
	text.WriteString("new 300 IN A 192.0.2.200\n")
	after := NewProfile("example.org.", zoneRRs(t, text.String()), k, Options{})
	moved := 0
	const names = 5000
	for i := range names {
		name := fmt.Sprintf("n%d.example.org.", i)
		x, _ := before.Template(name)
		y, _ := after.Template(name)
		if x != y {
			moved++
			if y != "new.example.org." {
				t.Fatalf("%s moved from %s to %s, not to the new host", name, x, y)
			}
		}
	}
	if moved > names/10 {
		t.Errorf("%d of %d names changed template when one of 101 hosts was added", moved, names)
	}
}

func TestTemplatesEvenlyDrawn(t *testing.T) {
	p := NewProfile("example.org.", zoneRRs(t, testZone), KeyFromSecret("even"), Options{})
	counts := map[string]int{}
	const names = 20000
	for i := range names {
		name, _ := p.Template(fmt.Sprintf("w%d.example.org.", i))
		counts[name]++
	}
	for name, n := range counts {
		// 5 templates: 4,000 each on average; the ring's arcs vary, so
		// allow a wide band, but no template may be (nearly) never used.
		if n < names/5/8 {
			t.Errorf("template %s drawn %d times of %d", name, n, names)
		}
	}
	if len(counts) != p.Hosts() {
		t.Errorf("%d of %d templates drawn", len(counts), p.Hosts())
	}
}

func hostAnswer(t *testing.T, q string, qtype uint16, rrs ...string) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(q, qtype)
	m.Response, m.Authoritative = true, true
	for _, s := range rrs {
		rr, err := dns.NewRR(s)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.Contains(s, " NS "):
			m.Ns = append(m.Ns, rr)
		case strings.HasPrefix(s, "ns1."):
			m.Extra = append(m.Extra, rr)
		default:
			m.Answer = append(m.Answer, rr)
		}
	}
	return m
}

// A decoy is the template's answer renamed, with its addresses in the
// template addresses' networks; nothing else changes, and the backend's
// answer is left as it was.
func TestAnswerShape(t *testing.T) {
	p := NewProfile("example.org.", zoneRRs(t, testZone), KeyFromSecret("shape"), Options{})
	for _, c := range []struct {
		name  string
		msg   *dns.Msg
		check func(t *testing.T, orig, got dns.RR)
	}{
		{"two A records", hostAnswer(t, "vpn.example.org.", dns.TypeA, "vpn.example.org. 3600 IN A 203.0.113.7", "vpn.example.org. 3600 IN A 203.0.113.8",
			"example.org. 3600 IN NS ns1.example.org.", "ns1.example.org. 3600 IN A 192.0.2.53"), func(t *testing.T, orig, got dns.RR) {
			o, g := netip.MustParseAddr(orig.(*dns.A).A.String()), netip.MustParseAddr(got.(*dns.A).A.String())
			if !netip.PrefixFrom(o, 24).Masked().Contains(g) || g.As4()[3] == 0 || g.As4()[3] == 255 {
				t.Errorf("decoy address %s for %s", g, o)
			}
		}},
		{"AAAA", hostAnswer(t, "www.example.org.", dns.TypeAAAA, "www.example.org. 300 IN AAAA 2001:db8::10"), func(t *testing.T, orig, got dns.RR) {
			o, g := netip.MustParseAddr(orig.(*dns.AAAA).AAAA.String()), netip.MustParseAddr(got.(*dns.AAAA).AAAA.String())
			gb := g.As16()
			if !netip.PrefixFrom(o, 64).Masked().Contains(g) || gb[8] != 0 || gb[15] == 0 && gb[14] == 0 {
				t.Errorf("decoy address %s for %s: want the /64 and an interface identifier of 8 significant bits", g, o)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := c.msg.Copy()
			got := p.Answer(c.msg, c.msg.Question[0].Name, "Guess.Example.Org.")
			if c.msg.String() != before.String() {
				t.Fatal("Answer modified the backend's answer")
			}
			if len(got.Answer) != len(c.msg.Answer) || len(got.Ns) != len(c.msg.Ns) || len(got.Extra) != len(c.msg.Extra) {
				t.Fatalf("sections changed:\n%s", got)
			}
			for i, rr := range got.Answer {
				if rr.Header().Name != "guess.example.org." || rr.Header().Ttl != c.msg.Answer[i].Header().Ttl {
					t.Errorf("answer %d: %s", i, rr)
				}
				c.check(t, c.msg.Answer[i], rr)
			}
			if len(got.Answer) == 2 && got.Answer[0].String() == got.Answer[1].String() {
				t.Errorf("the same record twice: %s", got.Answer[0])
			}
			for i := range got.Ns {
				if got.Ns[i].String() != c.msg.Ns[i].String() || got.Extra[i].String() != c.msg.Extra[i].String() {
					t.Errorf("authority or additional changed: %s", got)
				}
			}
			again := p.Answer(c.msg, c.msg.Question[0].Name, "guess.example.org.")
			if again.String() != got.String() {
				t.Errorf("not deterministic:\n%s\n%s", got, again)
			}
		})
	}
}

func TestAnswerNetworksOption(t *testing.T) {
	nets := []netip.Prefix{netip.MustParsePrefix("100.64.7.0/24"), netip.MustParsePrefix("2001:db8:feed::/48")}
	p := NewProfile("example.org.", zoneRRs(t, testZone), KeyFromSecret("nets"), Options{Networks: nets})
	m := hostAnswer(t, "www.example.org.", dns.TypeA, "www.example.org. 300 IN A 192.0.2.10")
	m6 := hostAnswer(t, "www.example.org.", dns.TypeAAAA, "www.example.org. 300 IN AAAA 2001:db8::10")
	for i := range 100 {
		name := fmt.Sprintf("n%d.example.org.", i)
		a := netip.MustParseAddr(p.Answer(m, "www.example.org.", name).Answer[0].(*dns.A).A.String())
		a6 := netip.MustParseAddr(p.Answer(m6, "www.example.org.", name).Answer[0].(*dns.AAAA).AAAA.String())
		if !nets[0].Contains(a) || a == nets[0].Addr() || !nets[1].Contains(a6) {
			t.Fatalf("%s: %s and %s outside %v", name, a, a6, nets)
		}
	}
}

// Every host byte of a network is as likely in a decoy: a decoy address
// says nothing about which addresses hosts use.
func TestAddressesEvenlyDrawn(t *testing.T) {
	p := NewProfile("example.org.", zoneRRs(t, testZone), KeyFromSecret("spread"), Options{})
	m := hostAnswer(t, "www.example.org.", dns.TypeA, "www.example.org. 300 IN A 192.0.2.10")
	var counts [256]int
	const names = 254 * 40
	for i := range names {
		a := p.Answer(m, "www.example.org.", fmt.Sprintf("n%d.example.org.", i)).Answer[0].(*dns.A).A.To4()
		counts[a[3]]++
	}
	if counts[0] != 0 || counts[255] != 0 {
		t.Errorf(".0 drawn %d times, .255 %d times", counts[0], counts[255])
	}
	for b := 1; b < 255; b++ {
		if counts[b] < 10 || counts[b] > 90 {
			t.Errorf("host byte %d drawn %d times of %d (40 expected)", b, counts[b], names)
		}
	}
}
