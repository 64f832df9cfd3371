package tokens

import (
	"testing"
	"time"

	"github.com/miekg/dns"
)

// apexTXT is the apex TXT RRset of veil's token tests (testdata/tokens.zone
// at the repository root, with the 4 records BenchmarkTokens adds): 20
// records, 14 of them hidden by the default policy.
var apexTXT = []string{
	"v=spf1 include:_spf.google.com include:spf.protection.outlook.com include:sendgrid.net ~all",
	"google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ",
	"MS=ms64239401",
	"atlassian-domain-verification=Z8Yq6zkT9TWr3Lsl4nJ8GvJIEkjwx/4o2HSnAiSnyqBOHwTB10TQ5L0vKuG3BeZ4",
	"docusign=1b0a6754-49b1-4db5-8540-d2c12664b289",
	"facebook-domain-verification=8ug4xhx5dh5zu6u5mxsb5cw5d4l0ad",
	"apple-domain-verification=QOCyOkZb1ujaT6sB",
	"adobe-idp-site-verification=ab4c7e8d-5a3e-4f1b-9c2d-0e1f2a3b4c5d",
	"slack-domain-verification=Gx7b0o9MtmkVpSdzVJ1L0q2b8ZlTf9hh7Lz7y3b6",
	"stripe-verification=5b4f2c1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b",
	"ZOOM_verify_kx3OD2N5RkWa6MKgCHsW9A",
	"hubspot-developer-verification=OTQ2NGFhZTYtZTQ2NC00Mzc3LWE4YzItMzJkMjE3MGE0ZWNh",
	"openai-domain-verification=dv-9Xk2mQ7rTz4bNc8Lw1pYs6Hd",
	"frobnicate-domain-verification=8f14e45fceea167a5a36dedd4bea2543",
	"globalsign-domain-verification=4b2d0aF2x_8nP1jQ7mZ3tV6wY9rS5uH0",
	"this zone is for tests",
	"keybase-site-verification=Bm9ieXdpZGdldHM",
	"v=spf1 include:mailgun.org -all",
	"our office is open 9-5",
	"have-i-been-pwned-verification=8e1f2d3c4b5a69788796a5b4c3d2e1f0",
}

// apexMsg returns the file plugin's answer to TXT at the apex with the
// given values: the RRset, the zone's NS in the authority section, the
// name server's address and an OPT record in the additional section.
func apexMsg(values []string) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(testZone, dns.TypeTXT)
	m.Response, m.Authoritative = true, true
	for _, v := range values {
		m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: testZone, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 3600}, Txt: []string{v}})
	}
	m.Ns = []dns.RR{&dns.NS{Hdr: dns.RR_Header{Name: testZone, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: 3600}, Ns: "ns1." + testZone}}
	m.Extra = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: "ns1." + testZone, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 3600}, A: []byte{192, 0, 2, 53}}}
	m.SetEdns0(1232, false)
	return m
}

// BenchmarkRewrite measures the rewrite under the default policy: Find on
// an answer with nothing to hide (no TXT record; the 6 apex records the
// policy keeps), which must not allocate, and Find then Hide on the
// 20-record apex RRset.
//
//	go test -run '^$' -bench Rewrite -benchmem ./tokens/
func BenchmarkRewrite(b *testing.B) {
	p := NewPolicy(newMatcher(b))
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	var kept []string
	for _, v := range apexTXT {
		if mt := p.Matcher().Classify(testZone, []string{v}); mt.Kind != Token || !p.Hides(mt.Rule, []string{v}, now) {
			kept = append(kept, v)
		}
	}
	if len(kept) != 6 {
		b.Fatalf("the default policy keeps %d apex records, want 6", len(kept))
	}
	noTXT := apexMsg(nil)
	noTXT.Question[0].Qtype = dns.TypeA
	noTXT.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: testZone, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 3600}, A: []byte{192, 0, 2, 10}}}
	negative := func() *dns.Msg { return nil }
	for _, c := range []struct {
		name string
		m    *dns.Msg
		hide bool
	}{
		{"find/no-TXT", noTXT, false},
		{"find/TXT-apex-nothing-hidden", apexMsg(kept), false},
		{"find+hide/TXT-apex-20", apexMsg(apexTXT), true},
	} {
		b.Run(c.name, func(b *testing.B) {
			q := c.m.Question[0]
			b.ReportAllocs()
			for b.Loop() {
				var buf [4]Found
				found, _ := p.Find(c.m, now, buf[:0])
				if c.hide {
					if len(found) != 14 || len(p.Hide(c.m, q, found, negative).Answer) != 6 {
						b.Fatal("want 14 records hidden and 6 kept")
					}
				} else if len(found) != 0 {
					b.Fatal("found a record to hide")
				}
			}
		})
	}
}

// Find allocates nothing when nothing is hidden, with or without TXT
// records, nor when what it finds fits the caller's buffer.
func TestFindNoAllocs(t *testing.T) {
	p := testPolicy(t)
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	msg := func(rrs ...string) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(testZone, dns.TypeTXT)
		m.Answer = newRRs(t, rrs)
		m.Ns = newRRs(t, []string{"example.org. 300 IN NS ns1.example.org."})
		m.SetEdns0(1232, false)
		return m
	}
	cases := []struct {
		name string
		m    *dns.Msg
		want int
	}{
		{"no TXT", msg("www.example.org. 300 IN A 192.0.2.11"), 0},
		{"public and visible TXT", msg(`example.org. 300 IN TXT "v=spf1 -all"`, `example.org. 300 IN TXT "google-site-verification=x"`, `example.org. 300 IN TXT "hello"`), 0},
		{"signed token", msg(`www.example.org. 300 IN TXT "MS=ms1"`, wwwSig), 0},
		{"tokens within the buffer", msg(`example.org. 300 IN TXT "MS=ms1"`, `example.org. 300 IN TXT "docusign=1"`), 2},
	}
	for _, c := range cases {
		var buf [4]Found
		var n int
		allocs := testing.AllocsPerRun(100, func() {
			found, _ := p.Find(c.m, now, buf[:0])
			n = len(found)
		})
		if allocs != 0 || n != c.want {
			t.Errorf("%s: %v allocations, %d found; want 0 allocations, %d found", c.name, allocs, n, c.want)
		}
	}
}
