package tokens

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// absenceZone is a zone with one name of each shape NewAbsence tells apart.
const absenceZone = `
example.org. 300 IN SOA ns1.example.org. h.example.org. 1 2 3 4 300
example.org. 300 IN NS ns1.example.org.
ns1.example.org. 300 IN A 192.0.2.53
_github-challenge-acme-org.example.org. 300 IN TXT "8b9ea5d1e0"
h1.example.org. 300 IN TXT "MS=ms1"
h1.example.org. 300 IN TXT "docusign=1b0a6754-49b1-4db5-8540-d2c12664b289"
www.example.org. 300 IN A 192.0.2.1
www.example.org. 300 IN TXT "MS=ms2"
_amazonses.team.example.org. 300 IN TXT "pmBGN/7MjnfhTKUZ06Enqq1PeGUaOkw8lGhcfwefcHU="
_amazonses.corp.example.org. 300 IN TXT "pmBGN/7MjnfhTKUZ06Enqq1PeGUaOkw8lGhcfwefcHU="
www.corp.example.org. 300 IN A 192.0.2.2
h3.example.org. 300 IN TXT "MS=ms3"
www.h3.example.org. 300 IN A 192.0.2.3
*.dyn.example.org. 300 IN TXT "MS=ms4"
real.dyn.example.org. 300 IN A 192.0.2.4
*.sub.example.org. 300 IN A 192.0.2.5
_amazonses.sub.example.org. 300 IN TXT "pmBGN/7MjnfhTKUZ06Enqq1PeGUaOkw8lGhcfwefcHU="
child.example.org. 300 IN NS ns.child.example.org.
_amazonses.child.example.org. 300 IN TXT "pmBGN/7MjnfhTKUZ06Enqq1PeGUaOkw8lGhcfwefcHU="
_dmarc.example.org. 300 IN TXT "v=DMARC1; p=reject"
gexp.example.org. 300 IN TXT "google-site-verification=x1; expiry=2026-07-01T00:00:00Z"
`

// The names of absenceZone that Under answers for, and where their twins
// go: hidden-only names (by label, by value, with several tokens), names
// below them, empty non-terminals left with nothing, a hidden wildcard and
// the names it synthesises. Names that keep a record, a delegation's
// names and absent names are not Under's.
func TestAbsenceUnder(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	a, next, complete := NewAbsence("example.org.", zoneRRs(t, absenceZone), testPolicy(t), now)
	if !complete || a.Names() != 6 || a.Signed() {
		t.Fatalf("complete %v, %d names, signed %v; want complete, 6 names (the github challenge, h1, team, _amazonses.corp, *.dyn, _amazonses.sub), unsigned", complete, a.Names(), a.Signed())
	}
	if want := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC); !next.Equal(want) {
		t.Errorf("next change %v, want the expiry %v", next, want)
	}
	for _, c := range []struct{ qname, under string }{
		{"_github-challenge-acme-org.example.org.", "example.org."},
		{"_GitHub-Challenge-ACME-org.Example.ORG.", "example.org."},
		{"h1.example.org.", "example.org."},
		{"x.y.h1.example.org.", "example.org."},
		{"team.example.org.", "example.org."},
		{"_amazonses.team.example.org.", "example.org."},
		{"_amazonses.corp.example.org.", "corp.example.org."},
		{"h3.example.org.", ""}, // an empty non-terminal above www.h3: a name
		{"www.h3.example.org.", ""},
		{"www.example.org.", ""},
		{"foo.dyn.example.org.", "*.dyn.example.org."},
		{"a.b.dyn.example.org.", "*.dyn.example.org."},
		{"*.dyn.example.org.", "*.dyn.example.org."},
		{"real.dyn.example.org.", ""},
		{"x.real.dyn.example.org.", ""},
		{"dyn.example.org.", ""},
		{"_amazonses.sub.example.org.", "sub.example.org."},
		{"foo.sub.example.org.", ""},
		{"_amazonses.child.example.org.", ""},
		{"gexp.example.org.", ""}, // Google's, re-checked: visible until its expiry=
		{"_dmarc.example.org.", ""},
		{"nothing.example.org.", ""},
		{"example.org.", ""},
	} {
		under, ok := a.Under(c.qname)
		if ok != (c.under != "") || under != c.under {
			t.Errorf("Under(%s) = %q, %v; want %q", c.qname, under, ok, c.under)
		}
	}
	// From its expiry on, Google's token is hidden: its name is too.
	later, _, _ := NewAbsence("example.org.", zoneRRs(t, absenceZone), testPolicy(t), next)
	if under, ok := later.Under("gexp.example.org."); !ok || under != "example.org." {
		t.Error("a token past its expiry= left its name visible")
	}
}

// A signed zone says so; an empty Absence (or none) answers no name.
func TestAbsenceSignedAndEmpty(t *testing.T) {
	rrs := zoneRRs(t, absenceZone+"example.org. 300 IN DNSKEY 257 3 13 AAAA\n")
	a, _, _ := NewAbsence("example.org.", rrs, testPolicy(t), time.Now())
	if !a.Signed() {
		t.Error("a zone with a DNSKEY at the apex is not signed")
	}
	var none *Absence
	if _, ok := none.Under("h1.example.org."); ok || !none.Empty() || none.Names() != 0 {
		t.Error("a nil Absence answers a name")
	}
}

// A twin is drawn from the lower-case name by the key, under the parent.
// TwinName is the drawn label under the parent, or, spelled, the client's
// name in front of it, which Untwin reads back; a name too long for that
// gets the short twin.
func TestTwinName(t *testing.T) {
	var asked string
	key := func(s string) uint64 { asked = s; return 0xfeed }
	qname := "_GitHub-Challenge-X.Team.Example.ORG."
	if got := TwinName(qname, "leaf.example.org.", key, false); got != `veil-000000000000feed.leaf.example.org.` {
		t.Errorf("TwinName, not spelled, under a leaf = %q", got)
	}
	if got := TwinName(qname, "team.example.org.", key, false); got != `_GitHub-Challenge-X-000000000000feed.team.example.org.` {
		t.Errorf("TwinName, not spelled, under the parent = %q", got)
	}
	if got := TwinName("a.b.H1.example.org.", "example.org.", key, false); got != `H1-000000000000feed.example.org.` {
		t.Errorf("TwinName, not spelled, below a hidden name = %q", got)
	}
	got := TwinName(qname, "leaf.example.org.", key, true)
	if got != qname+"veil-000000000000feed.leaf.example.org." || asked != strings.ToLower(qname) {
		t.Errorf("TwinName = %q (key asked for %q)", got, asked)
	}
	// A cache that kept the twin as another client spelled it.
	if name, ok := Untwin(strings.ToUpper(got), len(qname)); !ok || name != strings.ToUpper(qname) {
		t.Errorf("Untwin = %q %v", name, ok)
	}
	if _, ok := Untwin(`veil-000000000000feed.example.org.`, len(qname)); ok {
		t.Error("Untwin took a short twin for a long one")
	}
	long := strings.Repeat("a", 60) + "." + strings.Repeat("b", 60) + "." + strings.Repeat("c", 60) + "." + strings.Repeat("d", 30) + ".example.org."
	if got := TwinName(long, "example.org.", key, true); got != strings.Repeat("d", 30)+`-000000000000feed.example.org.` {
		t.Errorf("TwinName of a %d-character name = %q, want the short twin", len(long), got)
	}
}

// zoneRRs parses one record per line of text.
func zoneRRs(t *testing.T, text string) []dns.RR {
	t.Helper()
	var rrs []dns.RR
	for line := range strings.Lines(text) {
		if line = strings.TrimSpace(line); line != "" {
			rrs = append(rrs, newRR(t, line))
		}
	}
	return rrs
}

// hiddenZone returns a zone of n names that hold nothing but a token.
func hiddenZone(n int) []dns.RR {
	rrs := []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: "example.org.", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 300}, Ns: "ns1.example.org.", Mbox: "h.example.org.", Serial: 1}}
	for i := range n {
		rrs = append(rrs, &dns.TXT{Hdr: dns.RR_Header{Name: fmt.Sprintf("h%d.example.org.", i), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 300}, Txt: []string{"MS=ms1"}})
	}
	return rrs
}

// A zone with more hidden names than AbsenceLimit keeps AbsenceLimit of
// them and says it is incomplete.
func TestAbsenceLimit(t *testing.T) {
	a, _, complete := NewAbsence("example.org.", hiddenZone(AbsenceLimit+1), testPolicy(t), time.Now())
	if complete || a.Names() != AbsenceLimit {
		t.Errorf("complete %v with %d names; want incomplete with %d", complete, a.Names(), AbsenceLimit)
	}
}

// BenchmarkAbsence reports what an Absence costs: building it from a zone
// of 10,000 token-only names (B/op is what the build allocates, retained
// and transient), and Under for a name that is not hidden and for one
// that is, which must not allocate.
//
//	go test -run '^$' -bench BenchmarkAbsence -benchmem ./tokens
func BenchmarkAbsence(b *testing.B) {
	rrs, p := hiddenZone(10000), testPolicy(b)
	b.Run("build-10000-names", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			NewAbsence("example.org.", rrs, p, time.Now())
		}
	})
	a, _, _ := NewAbsence("example.org.", rrs, p, time.Now())
	for _, c := range []struct{ name, qname string }{{"under-miss", "www.example.org."}, {"under-hit", "h4242.example.org."}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				a.Under(c.qname)
			}
		})
	}
}
