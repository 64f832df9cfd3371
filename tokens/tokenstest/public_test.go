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
		{"x.example.org.", "p=abc", true, true}, {"x.example.org.", "MS=ms1", false, false}, {"x.example.org.", " v=spf1", false, true},
		{"x.example.org.", "v=spf1\t-all", false, true},
		// A label alone makes nothing public: the value must have the
		// shape of the record expected there.
		{"_DMARC.example.org.", "whatever", false, false}, {"_DMARC.example.org.", "v=DMARC1; p=none", true, true},
		{"a._report._dmarc.example.org.", "", false, false}, {"a._report._dmarc.example.org.", "v=DMARC1", true, true},
		{"sel._domainkey.example.org.", "", false, false}, {"sel._domainkey.example.org.", "t=y; p=MIGf", true, true},
		{"sel._domainkey.example.org.", "s=MS=ms1", false, false}, {"x.example.org.", "t=y; p=MIGf", false, false},
		{"_domainkey.example.org.", "h=sha256; p=x", false, true}, {"_smtp._tls.example.org.", "", false, false},
		{"_smtp._tls.example.org.", "v=TLSRPTv1; rua=mailto:a@example.org", true, true}, {"_tls._smtp.example.org.", "x", false, false},
		{"_acme-challenge.www.example.org.", "x", false, false}, {"_acme-challenge.www.example.org.", "cE3A8qQpEzAIYq-T9DWNdLJ1_YRXamdxcjGTbzrOH5L", true, true},
		{"www._acme-challenge.example.org.", "cE3A8qQpEzAIYq-T9DWNdLJ1_YRXamdxcjGTbzrOH5L", false, true}, {"x.example.org.", "cE3A8qQpEzAIYq-T9DWNdLJ1_YRXamdxcjGTbzrOH5L", false, false},
		{"_acme-challenge.dyn.example.org.", "MS=ms64239401", false, false},
		{"_acme-challenge.dyn.example.org.", "apple-domain-verification=QOCyOkZb1ujaT6sB", false, false},
		{"_atproto.example.org.", "did=x", false, false}, {"_atproto.example.org.", "did=did:plc:z72i7hdynmk6r22z27h6tvur", false, true},
		{"_atproto.example.org.", "did=did:plc:MS=ms1", false, false},
		{"asuid.example.org.", "x", false, false}, {"asuid.example.org.", "7C9D2E4F6A8B0C1D3E5F7A9B1C3D5E7F", false, true},
		{"asuid.example.org.", "MS=ms64239401", false, false}, {"asuid.example.org.", `\"7C9D2E4F6A8B0C1D3E5F7A9B1C3D5E7F\"`, false, true},
		{"_acme-challenge.example.org.", " cE3A8qQpEzAIYq-T9DWNdLJ1_YRXamdxcjGTbzrOH5L", false, true},
		{"_github-pages-challenge-o.example.org.", "x", false, false}, {"_github-pages-challenge-o.example.org.", "3a64cd63e42a9263bd186598d42dc7", false, true},
		{"_github-challenge-o.example.org.", "3a64cd63e42a9263bd186598d42dc7", false, false},
	} {
		if got := MustStayPublic(c.owner, []string{c.value}); got != c.public {
			t.Errorf("MustStayPublic(%q, %q) = %v, want %v", c.owner, c.value, got, c.public)
		}
		if got := MayStayPublic(c.owner, []string{c.value}); got != c.may {
			t.Errorf("MayStayPublic(%q, %q) = %v, want %v", c.owner, c.value, got, c.may)
		}
	}
}

// TestIsToken pins the oracle's own token list down: a token is one at
// every owner, and MayStayPublic keeps none.
func TestIsToken(t *testing.T) {
	owners := []string{"example.org.", "_acme-challenge.dyn.example.org.", "_dmarc.example.org.", "x._domainkey.example.org.",
		"_mta-sts.example.org.", "_smtp._tls.example.org.", "d._bimi.example.org.", "_atproto.example.org.", "asuid.example.org.",
		"_github-pages-challenge-o.example.org."}
	for _, v := range []string{"MS=ms64239401", "apple-domain-verification=QOCyOkZb1ujaT6sB", " google-site-verification=abc", `\"docusign=1b0a\"`} {
		if !IsToken([]string{v}) {
			t.Errorf("IsToken(%q) = false", v)
		}
		for _, o := range owners {
			if MayStayPublic(o, []string{v}) {
				t.Errorf("MayStayPublic(%q, %q) = true for a token", o, v)
			}
		}
	}
	for _, v := range []string{"v=spf1 -all", "MS=", "ms=", "hello", "did=did:plc:abc"} {
		if IsToken([]string{v}) {
			t.Errorf("IsToken(%q) = true", v)
		}
	}
}
