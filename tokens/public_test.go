package tokens

import (
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Tokens at the labels of public records (issue 13, "The always public
// check must not be a door"): a label alone never makes a value public.
// Under a wildcard the owner is whatever name a client asks for, so a
// token stored at *.dyn must stay hidden for _acme-challenge.dyn,
// _dmarc.dyn, x._domainkey.dyn, asuid.dyn and the other public labels.

// publicLabelCases has, per public label, a legitimate value that stays
// public (none where the label adds no shape of its own: those are the
// version-tag records public anywhere).
var publicLabelCases = []struct {
	owner, public string
}{
	{"_dmarc.dyn.example.org.", "v=DMARC1; p=reject; rua=mailto:dmarc@example.org"},
	{"example.net._report._dmarc.dyn.example.org.", "v=DMARC1"},
	{"sel._domainkey.dyn.example.org.", "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDDmzRmJRQx"},
	{"sel._domainkey.dyn.example.org.", "k=rsa; t=s; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDDmzRmJRQx"},
	{"sel._domainkey.dyn.example.org.", "h=sha256; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDDmzRmJRQx"},
	{"sel._domainkey.dyn.example.org.", "t=s:y; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDDmzRmJRQx"},
	{"_mta-sts.dyn.example.org.", "v=STSv1; id=20260101T000000Z;"},
	{"_smtp._tls.dyn.example.org.", "v=TLSRPTv1; rua=mailto:tlsrpt@example.org"},
	{"default._bimi.dyn.example.org.", "v=BIMI1; l=https://example.org/logo.svg; a=;"},
	{"_acme-challenge.dyn.example.org.", "cE3A8qQpEzAIYq-T9DWNdLJ1_YRXamdxcjGTbzrOH5L"},
	{"_atproto.dyn.example.org.", "did=did:plc:z72i7hdynmk6r22z27h6tvur"},
	{"_atproto.dyn.example.org.", "did=did:web:alice.example.org"},
}

// foreignValues are what must not be public at any of those labels: a
// catalog token, a generic token (both Token) and a random opaque string
// (not Public).
var foreignValues = []struct {
	value string
	token bool
}{
	{"MS=ms64239401", true},
	{"apple-domain-verification=QOCyOkZb1ujaT6sB", true},
	{"google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ", true},
	{"frobnicate-domain-verification=8f14e45fceea", true},
	{"mandrill_verify.qFmG2YBGhKd446rthmMirQ", true},
	{"Zx9#opaque!value-QkqvK_N2eMvpjuqJd45pLsv", false},
	{"hello world", false},
}

func TestPublicLabels(t *testing.T) {
	m := newMatcher(t)
	for _, c := range publicLabelCases {
		if got := m.Classify(c.owner, []string{c.public}); got.Kind != Public {
			t.Errorf("%s TXT %q: kind %d, want public", c.owner, c.public, got.Kind)
		}
		// Split into character-strings, the same.
		if got := m.Classify(c.owner, splitN(c.public, 3)); got.Kind != Public {
			t.Errorf("%s TXT %q split: kind %d, want public", c.owner, c.public, got.Kind)
		}
		for _, f := range foreignValues {
			got := m.Classify(c.owner, []string{f.value})
			switch {
			case f.token && got.Kind != Token:
				t.Errorf("%s TXT %q: kind %d, want a token", c.owner, f.value, got.Kind)
			case got.Kind == Public:
				t.Errorf("%s TXT %q: public", c.owner, f.value)
			}
		}
	}
}

// The pre-claim records and the ACME entry of the catalog are owner-only
// entries with an always-public lifecycle: the value must have their
// shape as well, or it is classified like any other.
func TestAlwaysPublicEntriesNeedTheirShape(t *testing.T) {
	m := newMatcher(t)
	p := NewPolicy(m)
	if err := p.Apply(true, []string{"all"}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		owner, value string
		public       bool // public or an always-public entry's record
	}{
		{"asuid.dyn.example.org.", "7C9D2E4F6A8B0C1D3E5F7A9B1C3D5E7F9A0B2C4D6E8F0A1B3C5D7E9F1A2B3C4D", true},
		{"_github-pages-challenge-octocat.dyn.example.org.", "3a64cd63e42a9263bd186598d42dc7", true},
		{"_acme-challenge.dyn.example.org.", "cE3A8qQpEzAIYq-T9DWNdLJ1_YRXamdxcjGTbzrOH5L", true},
		{"asuid.dyn.example.org.", `\"7C9D2E4F6A8B0C1D3E5F7A9B1C3D5E7F\"`, true}, // as a checker reads it
		{"_acme-challenge.dyn.example.org.", " cE3A8qQpEzAIYq-T9DWNdLJ1_YRXamdxcjGTbzrOH5L", true},
		{"asuid.dyn.example.org.", "MS=ms64239401", false},
		{"asuid.dyn.example.org.", "frobnicate-domain-verification=8f14e45fceea", false},
		{"asuid.dyn.example.org.", "not hex at all", false},
		{"_github-pages-challenge-octocat.dyn.example.org.", "apple-domain-verification=QOCyOkZb1ujaT6sB", false},
		{"_github-pages-challenge-octocat.dyn.example.org.", "zz not hex", false},
		{"_acme-challenge.dyn.example.org.", "MS=ms64239401", false},
		{"_acme-challenge.dyn.example.org.", "cE3A8qQpEzAIYq-T9DWNdLJ1_YRXamdxcjGTbzrOH5L-too-long", false},
	} {
		got := m.Classify(c.owner, []string{c.value})
		public := got.Kind == Public || got.Kind == Token && m.Rules()[got.Rule].Lifecycle.AlwaysPublic()
		if public != c.public {
			t.Errorf("%s TXT %q: %+v, public %v, want %v", c.owner, c.value, got, public, c.public)
		}
	}
	// An always-public entry without a value pattern must name a shape.
	if _, err := NewMatcher([]Entry{{ID: "x", Owner: "^_x$", Lifecycle: PreClaim}}, nil); err == nil {
		t.Error("an always-public owner-only entry without a shape accepted")
	}
}

// A non-token value at a public label that has no shape of the record
// expected there is neither hidden nor public: CA values at
// _acme-challenge, free text at _dmarc.
func TestPublicLabelsOtherValues(t *testing.T) {
	m := newMatcher(t)
	for _, c := range []struct{ owner, value string }{
		{"_acme-challenge.example.org.", "ca3-1ea20493d982fb10aa4ff7691c548d68"},
		{"_acme-challenge.example.org.", "hello world"},
		{"_dmarc.example.org.", "hello world"},
		{"sel._domainkey.example.org.", "hello world"},
		{"_atproto.example.org.", "did=x"},
	} {
		if got := m.Classify(c.owner, []string{c.value}); got.Kind != None {
			t.Errorf("%s TXT %q: %+v, want none", c.owner, c.value, got)
		}
	}
}

// The wildcard case end to end: a token stored at *.dyn, answered for
// _acme-challenge.dyn, is hidden by the rewrite.
func TestRewriteWildcardPublicLabel(t *testing.T) {
	p := testPolicy(t)
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	for _, v := range []string{"MS=ms64239401", "apple-domain-verification=QOCyOkZb1ujaT6sB"} {
		for _, qname := range []string{"_acme-challenge.dyn.example.org.", "_dmarc.dyn.example.org.", "x._domainkey.dyn.example.org.", "asuid.dyn.example.org."} {
			m := new(dns.Msg)
			m.SetQuestion(qname, dns.TypeTXT)
			m.Response, m.Authoritative = true, true
			m.Answer = newRRs(t, []string{qname + ` 300 IN TXT "` + v + `"`})
			found, _ := p.Find(m, now, nil)
			if len(found) != 1 {
				t.Errorf("%s TXT %q: found %d, want the token", qname, v, len(found))
			}
		}
	}
}
