package tokenstest

import (
	"testing"
)

// TestMustStayPublic pins the oracle down.
func TestMustStayPublic(t *testing.T) {
	for _, c := range []struct {
		owner, value string
		public, may  bool
	}{
		{"x.example.org.", "V=SPF1 -all", true, true}, {"x.example.org.", "v=spf1", true, true}, {"x.example.org.", "v=spf10", false, false},
		{"_DMARC.example.org.", "whatever", true, true}, {"a._report._dmarc.example.org.", "", true, true}, {"_report._dmarc.example.org.", "x", false, true},
		{"sel._domainkey.example.org.", "", true, true}, {"_domainkey.example.org.", "x", false, true}, {"x.example.org.", "p=abc", true, true},
		{"_smtp._tls.example.org.", "", true, true}, {"_tls._smtp.example.org.", "x", false, false}, {"_acme-challenge.www.example.org.", "x", true, true},
		{"www._acme-challenge.example.org.", "x", false, true}, {"x.example.org.", "MS=ms1", false, false}, {"x.example.org.", " v=spf1", false, true},
		{"_atproto.example.org.", "did=x", false, true}, {"asuid.example.org.", "x", false, true}, {"_github-pages-challenge-o.example.org.", "x", false, true},
		{"_github-challenge-o.example.org.", "x", false, false}, {"x.example.org.", "v=spf1\t-all", false, true},
	} {
		if got := MustStayPublic(c.owner, []string{c.value}); got != c.public {
			t.Errorf("MustStayPublic(%q, %q) = %v, want %v", c.owner, c.value, got, c.public)
		}
		if got := MayStayPublic(c.owner, []string{c.value}); got != c.may {
			t.Errorf("MayStayPublic(%q, %q) = %v, want %v", c.owner, c.value, got, c.may)
		}
	}
}
