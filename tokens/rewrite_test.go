package tokens

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// testZone is the zone of the rewrite tests.
const testZone = "example.org."

// testSOA is the SOA the rewrite tests' soa callback serves for testZone.
const testSOA = "example.org.\t300\tIN\tSOA\tns1.example.org. hostmaster.example.org. 2026010101 7200 3600 1209600 300"

// newRR parses a record in presentation form.
func newRR(t testing.TB, s string) dns.RR {
	t.Helper()
	rr, err := dns.NewRR(s)
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return rr
}

// newRRs parses records in presentation form.
func newRRs(t testing.TB, ss []string) []dns.RR {
	t.Helper()
	var out []dns.RR
	for _, s := range ss {
		out = append(out, newRR(t, s))
	}
	return out
}

// rrStrings returns the presentation form of rrs; OPT records are "OPT".
func rrStrings(rrs []dns.RR) []string {
	out := []string{}
	for _, rr := range rrs {
		if rr.Header().Rrtype == dns.TypeOPT {
			out = append(out, "OPT")
			continue
		}
		out = append(out, rr.String())
	}
	return out
}

// testPolicy returns the default policy over the embedded catalog.
func testPolicy(t testing.TB) *Policy {
	t.Helper()
	return NewPolicy(newMatcher(t))
}

// negativeFor returns a negative callback for Hide's rewrite of m that
// answers as the rest of a chain answers a type the name does not hold:
// m's header and question, its CNAME chain, testSOA alone in the
// authority section and m's OPT record; it counts its calls. Like veil's
// (isNODATA), it returns nil when the chain would answer with more than
// the CNAME chain: an answer that held records at other names, which the
// fuzzer makes and no real backend does.
func negativeFor(t testing.TB, m *dns.Msg, calls *int) func() *dns.Msg {
	return negativeWith(m, newRR(t, testSOA), calls)
}

// negativeWith is negativeFor with the SOA soa.
func negativeWith(m *dns.Msg, soa dns.RR, calls *int) func() *dns.Msg {
	return func() *dns.Msg {
		*calls++
		n := new(dns.Msg)
		n.MsgHdr, n.Question = m.MsgHdr, m.Question
		target := finalTarget(m.Answer, m.Question[0].Name)
		for _, rr := range m.Answer {
			switch h := rr.Header(); {
			case h.Rrtype == dns.TypeTXT && strings.EqualFold(h.Name, target):
			case h.Rrtype == dns.TypeCNAME:
				n.Answer = append(n.Answer, rr)
			default:
				return nil
			}
		}
		n.Ns = []dns.RR{soa}
		if opt := m.IsEdns0(); opt != nil {
			n.Extra = []dns.RR{opt}
		}
		return n
	}
}

// A signature over www's TXT RRset (its content does not matter here).
const wwwSig = "www.example.org. 300 IN RRSIG TXT 13 3 300 20300101000000 20260101000000 4242 example.org. AAAA"

var rewriteCases = []struct {
	name                string
	qname               string
	qtype               uint16
	answer, ns, extra   []string
	wantFound           []string // rule ids of the records found
	wantSigned          bool
	wantAnswer, wantNs  []string // nil: m's section, less the found records
	wantExtra           []string
	wantNegative        bool  // the question loses its answer: the chain's NODATA
	wantSection, wantAt []int // of the found records, if set
}{
	{
		name: "apex: tokens hidden, SPF, re-checked vendor and text stay", qname: testZone, qtype: dns.TypeTXT,
		answer: []string{
			`example.org. 300 IN TXT "v=spf1 include:_spf.google.com ~all"`,
			`example.org. 300 IN TXT "MS=ms64239401"`,
			`example.org. 300 IN TXT "google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ"`,
			`example.org. 300 IN TXT "docusign=1b0a6754-49b1-4db5-8540-d2c12664b289"`,
			`example.org. 300 IN TXT "this zone is for tests"`,
		},
		ns:        []string{"example.org. 300 IN NS ns1.example.org."},
		extra:     []string{"ns1.example.org. 300 IN A 192.0.2.53"},
		wantFound: []string{"microsoft", "docusign"}, wantSection: []int{0, 0}, wantAt: []int{1, 3},
		wantAnswer: []string{
			"example.org.\t300\tIN\tTXT\t\"v=spf1 include:_spf.google.com ~all\"",
			"example.org.\t300\tIN\tTXT\t\"google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ\"",
			"example.org.\t300\tIN\tTXT\t\"this zone is for tests\"",
		},
	},
	{
		name: "dedicated label: the chain's NODATA", qname: "_github-challenge-acme-org.example.org.", qtype: dns.TypeTXT,
		answer:    []string{`_github-challenge-acme-org.example.org. 300 IN TXT "8b9ea5d1e0"`},
		ns:        []string{"example.org. 300 IN NS ns1.example.org."},
		extra:     []string{"ns1.example.org. 300 IN A 192.0.2.53"},
		wantFound: []string{"github"}, wantAnswer: []string{}, wantNs: []string{testSOA}, wantExtra: []string{"OPT"},
		wantNegative: true,
	},
	{
		name: "underscore label, generic owner: the chain's NODATA", qname: "_newvendor-challenge.example.org.", qtype: dns.TypeTXT,
		answer:    []string{`_newvendor-challenge.example.org. 300 IN TXT "c0ffee1234"`},
		wantFound: []string{GenericID}, wantAnswer: []string{}, wantNs: []string{testSOA}, wantExtra: []string{"OPT"},
		wantNegative: true,
	},
	{
		name: "token at a host: NODATA", qname: "www.example.org.", qtype: dns.TypeTXT,
		answer:    []string{`www.example.org. 300 IN TXT "zoho-verification=zb12345678.zmverify.zoho.eu"`},
		ns:        []string{"example.org. 300 IN NS ns1.example.org."},
		extra:     []string{"ns1.example.org. 300 IN A 192.0.2.53"},
		wantFound: []string{"zoho"}, wantAnswer: []string{}, wantNs: []string{testSOA}, wantExtra: []string{"OPT"},
		wantNegative: true,
	},
	{
		name: "dedicated token sharing its RRset with another token: NODATA", qname: "widget-domain-verification.example.org.", qtype: dns.TypeTXT,
		answer: []string{
			`widget-domain-verification.example.org. 300 IN TXT "b71c"`,
			`widget-domain-verification.example.org. 300 IN TXT "MS=ms1"`,
		},
		wantFound: []string{GenericID, "microsoft"}, wantAnswer: []string{}, wantNs: []string{testSOA}, wantExtra: []string{"OPT"},
		wantNegative: true,
	},
	{
		name: "SOA of another zone in the authority section: the chain's NODATA", qname: "www.sub.example.org.", qtype: dns.TypeTXT,
		answer:    []string{`www.sub.example.org. 300 IN TXT "MS=ms1"`},
		ns:        []string{"sub.example.org. 300 IN SOA ns1.sub.example.org. h.sub.example.org. 1 2 3 4 5"},
		wantFound: []string{"microsoft"}, wantAnswer: []string{}, wantNs: []string{testSOA}, wantExtra: []string{"OPT"},
		wantNegative: true,
	},
	{
		name: "CNAME chain to a dedicated label: the chain's NODATA, the CNAME stays", qname: "alias.example.org.", qtype: dns.TypeTXT,
		answer: []string{
			"alias.example.org. 300 IN CNAME _github-challenge-acme-org.example.org.",
			`_github-challenge-acme-org.example.org. 300 IN TXT "8b9ea5d1e0"`,
		},
		wantFound:  []string{"github"},
		wantAnswer: []string{"alias.example.org.\t300\tIN\tCNAME\t_github-challenge-acme-org.example.org."},
		wantNs:     []string{testSOA}, wantExtra: []string{"OPT"}, wantNegative: true,
	},
	{
		name: "ANY: the address stays, no reshaping", qname: "www.example.org.", qtype: dns.TypeANY,
		answer:     []string{"www.example.org. 300 IN A 192.0.2.11", `www.example.org. 300 IN TXT "MS=ms1"`},
		wantFound:  []string{"microsoft"},
		wantAnswer: []string{"www.example.org.\t300\tIN\tA\t192.0.2.11"},
	},
	{
		name: "ANY with nothing but a token: NODATA", qname: "www.example.org.", qtype: dns.TypeANY,
		answer:    []string{`www.example.org. 300 IN TXT "MS=ms1"`},
		wantFound: []string{"microsoft"}, wantAnswer: []string{}, wantNs: []string{testSOA}, wantExtra: []string{"OPT"},
		wantNegative: true,
	},
	{
		name: "signed RRset left whole and reported", qname: "www.example.org.", qtype: dns.TypeTXT,
		answer:     []string{`www.example.org. 300 IN TXT "MS=ms1"`, wwwSig},
		wantSigned: true,
	},
	{
		name: "signed in the answer, unsigned in the additional section", qname: "www.example.org.", qtype: dns.TypeTXT,
		answer:     []string{`www.example.org. 300 IN TXT "MS=ms1"`, wwwSig},
		extra:      []string{`www.example.org. 300 IN TXT "MS=ms1"`},
		wantSigned: true, wantFound: []string{"microsoft"}, wantSection: []int{2}, wantAt: []int{0},
	},
	{
		name: "tokens in the authority and additional sections of an A answer", qname: "www.example.org.", qtype: dns.TypeA,
		answer:    []string{"www.example.org. 300 IN A 192.0.2.11"},
		ns:        []string{"example.org. 300 IN NS ns1.example.org.", `example.org. 300 IN TXT "MS=ms1"`},
		extra:     []string{`x.example.org. 300 IN TXT "v=spf1 -all"`, `_github-challenge-a.example.org. 300 IN TXT "1"`, "ns1.example.org. 300 IN A 192.0.2.53"},
		wantFound: []string{"microsoft", "github"}, wantSection: []int{1, 2}, wantAt: []int{1, 1},
		wantNs:    []string{"example.org.\t300\tIN\tNS\tns1.example.org."},
		wantExtra: []string{"x.example.org.\t300\tIN\tTXT\t\"v=spf1 -all\"", "ns1.example.org.\t300\tIN\tA\t192.0.2.53", "OPT"},
	},
	{
		name: "nothing hidden", qname: testZone, qtype: dns.TypeTXT,
		answer: []string{`example.org. 300 IN TXT "v=spf1 -all"`, `_dmarc.example.org. 300 IN TXT "v=DMARC1; p=none"`, `example.org. 300 IN TXT "google-site-verification=x"`},
	},
}

func TestRewrite(t *testing.T) {
	p := testPolicy(t)
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range rewriteCases {
		t.Run(c.name, func(t *testing.T) {
			m := new(dns.Msg)
			m.SetQuestion(c.qname, c.qtype)
			m.Response, m.Authoritative = true, true
			m.Answer, m.Ns, m.Extra = newRRs(t, c.answer), newRRs(t, c.ns), newRRs(t, c.extra)
			m.SetEdns0(1232, true)
			before := m.Copy()
			sections := [3][]dns.RR{m.Answer, m.Ns, m.Extra}

			found, signed := p.Find(m, now, nil)
			var ids []string
			for i, f := range found {
				ids = append(ids, p.Matcher().Rules()[f.Rule].ID)
				if sections[f.Section][f.Pos] != f.RR {
					t.Errorf("found %d: RR is not the record at section %d position %d", i, f.Section, f.Pos)
				}
				if c.wantSection != nil && (f.Section != c.wantSection[i] || f.Pos != c.wantAt[i]) {
					t.Errorf("found %d at section %d position %d, want %d %d", i, f.Section, f.Pos, c.wantSection[i], c.wantAt[i])
				}
			}
			if !slices.Equal(ids, c.wantFound) || signed != c.wantSigned {
				t.Fatalf("Find: %v signed %v, want %v signed %v", ids, signed, c.wantFound, c.wantSigned)
			}
			if len(found) == 0 {
				return
			}
			calls := 0
			out := p.Hide(m, m.Question[0], found, negativeFor(t, m, &calls))
			checkSection(t, "answer", out.Answer, c.wantAnswer, m.Answer, 0, found)
			checkSection(t, "authority", out.Ns, c.wantNs, m.Ns, 1, found)
			checkSection(t, "additional", out.Extra, c.wantExtra, m.Extra, 2, found)
			if out.Rcode != m.Rcode {
				t.Errorf("rcode %s, want the chain's %s", dns.RcodeToString[out.Rcode], dns.RcodeToString[m.Rcode])
			}
			if want := map[bool]int{true: 1}[c.wantNegative]; calls != want {
				t.Errorf("negative called %d times, want %d", calls, want)
			}
			if out.Id != m.Id || out.Question[0] != m.Question[0] || !out.Authoritative {
				t.Errorf("header changed:\n%s", out)
			}
			if m.String() != before.String() || !sameSections(sections, m) {
				t.Errorf("m modified:\n%s\nwas\n%s", m, before)
			}
			if again, _ := p.Find(out, now, nil); len(again) != 0 {
				t.Errorf("the output still hides %d records", len(again))
			}
		})
	}
}

// Without the chain's NODATA (negative returns nil), a question that lost
// its answer gets a NODATA of Hide's own: no answer, no authority, the OPT
// record alone in the additional section, the backend's rcode.
func TestHideWithoutNegative(t *testing.T) {
	p := testPolicy(t)
	m := new(dns.Msg)
	m.SetQuestion("www.example.org.", dns.TypeTXT)
	m.Answer = newRRs(t, []string{`www.example.org. 300 IN TXT "MS=ms1"`})
	m.Ns = newRRs(t, []string{"example.org. 300 IN NS ns1.example.org."})
	m.Extra = newRRs(t, []string{"ns1.example.org. 300 IN A 192.0.2.53"})
	m.SetEdns0(1232, false)
	found, _ := p.Find(m, time.Now(), nil)
	out := p.Hide(m, m.Question[0], found, func() *dns.Msg { return nil })
	if len(out.Answer)+len(out.Ns) != 0 || len(out.Extra) != 1 || out.Extra[0].Header().Rrtype != dns.TypeOPT || out.Rcode != dns.RcodeSuccess {
		t.Fatalf("want an empty NODATA with the OPT record, got\n%s", out)
	}
}

// sameSections reports whether m's sections are still the slices in secs.
func sameSections(secs [3][]dns.RR, m *dns.Msg) bool {
	for i, sec := range [3][]dns.RR{m.Answer, m.Ns, m.Extra} {
		if len(sec) != len(secs[i]) || len(sec) > 0 && &sec[0] != &secs[i][0] {
			return false
		}
	}
	return true
}

// checkSection compares section got of Hide's result with want, or, when
// want is nil, with the section of m less the found records.
func checkSection(t *testing.T, name string, got []dns.RR, want []string, in []dns.RR, sec int, found []Found) {
	t.Helper()
	if want == nil {
		want = []string{}
		for pos, rr := range in {
			if !slices.ContainsFunc(found, func(f Found) bool { return f.Section == sec && f.Pos == pos }) {
				want = append(want, rrStrings([]dns.RR{rr})...)
			}
		}
	}
	if g := rrStrings(got); !slices.Equal(g, want) {
		t.Errorf("%s section:\n got %q\nwant %q", name, g, want)
	}
}
