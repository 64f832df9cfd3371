package tokens

import "testing"

// BenchmarkClassify measures one TXT record: a token at the apex, an SPF
// record, an ordinary record, and a dedicated challenge label.
//
//	go test -run '^$' -bench Classify -benchmem ./tokens/
func BenchmarkClassify(b *testing.B) {
	m := newMatcher(b)
	cases := []struct{ name, owner, value string }{
		{"token", "example.org.", "google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ"},
		{"spf", "example.org.", "v=spf1 include:_spf.google.com ~all"},
		{"ordinary", "www.example.org.", "served by web-3"},
		{"generic", "example.org.", "frobnicate-domain-verification=8f14e45fceea167a5a36dedd4bea2543"},
		{"label", "_github-challenge-acme-org.example.org.", "8b9ea5d1e0"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			txt := []string{c.value}
			b.ReportAllocs()
			for b.Loop() {
				m.Classify(c.owner, txt)
			}
		})
	}
}
