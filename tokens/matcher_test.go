package tokens

import (
	"strings"
	"testing"
	"time"

	"github.com/veildns/veil/tokens/tokenstest"
)

// newMatcher returns a matcher for the embedded catalog.
func newMatcher(t testing.TB, custom ...string) *Matcher {
	t.Helper()
	es, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	m, err := NewMatcher(es, custom)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// owner returns the owner name for a catalog sample's first label.
func owner(label string) string {
	if label == "@" || label == "" {
		return "example.org."
	}
	return label + ".example.org."
}

func TestCatalogValid(t *testing.T) {
	es, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	if len(es) < 100 {
		t.Fatalf("catalog has %d entries, want the researched catalog (over 100)", len(es))
	}
	for _, e := range es {
		if e.Source == "" || !strings.HasPrefix(e.Source, "https://") {
			t.Errorf("%s: source %q is not a public https address", e.ID, e.Source)
		}
		if e.Sample == "" || e.SampleOwner == "" {
			t.Errorf("%s: no sample", e.ID)
		}
		if e.ID == CustomID || e.ID == GenericID {
			t.Errorf("%s: id is reserved", e.ID)
		}
	}
}

// Every catalog entry recognises its own sample as a token of its vendor,
// unless the sample is a record that must stay public (only the ACME entry,
// which is in the catalog to be named, never hidden).
func TestCatalogSamples(t *testing.T) {
	m := newMatcher(t)
	es, _ := Catalog()
	for _, e := range es {
		got := m.Classify(owner(e.SampleOwner), []string{e.Sample})
		if e.Lifecycle == NeverHide {
			if got.Kind != Public {
				t.Errorf("%s: sample %q at %s: kind %d, want public", e.ID, e.Sample, e.SampleOwner, got.Kind)
			}
			continue
		}
		if got.Kind != Token {
			t.Errorf("%s: sample %q at %s: not recognised as a token", e.ID, e.Sample, e.SampleOwner)
			continue
		}
		if r := m.Rules()[got.Rule]; r.ID != e.ID {
			t.Errorf("%s: sample %q at %s recognised as %s", e.ID, e.Sample, e.SampleOwner, r.ID)
		}
		// Case does not matter, and a value split into several
		// character-strings is matched as one.
		if up := m.Classify(strings.ToUpper(owner(e.SampleOwner)), []string{strings.ToUpper(e.Sample)}); up.Kind != Token {
			t.Errorf("%s: upper-case sample not recognised", e.ID)
		}
		if len(e.Sample) > 4 {
			split := []string{e.Sample[:3], e.Sample[3:]}
			if sp := m.Classify(owner(e.SampleOwner), split); sp.Kind != Token || m.Rules()[sp.Rule].ID != e.ID {
				t.Errorf("%s: sample split in two strings not recognised", e.ID)
			}
		}
	}
}

// publicSamples are real-world records of every kind that must stay public.
var publicSamples = []struct{ owner, value string }{
	{"example.org.", "v=spf1 include:_spf.google.com include:spf.protection.outlook.com ~all"},
	{"example.org.", "v=spf1 -all"},
	{"mail.example.org.", "V=SPF1 ip4:192.0.2.0/24 mx -all"},
	{"bounces.example.org.", "v=spf1 include:amazonses.com ~all"},
	{"_dmarc.example.org.", "v=DMARC1; p=reject; rua=mailto:dmarc-reports@example.org; fo=1"},
	{"_dmarc.example.org.", "v=DMARC1;p=none"},
	{"example.org._report._dmarc.example.net.", "v=DMARC1"},
	{"google._domainkey.example.org.", "v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAsz"},
	{"s1._domainkey.example.org.", "k=rsa; t=s; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC"},
	{"mandrill._domainkey.example.org.", "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCrLHiExVd55zd"},
	{"selector1._domainkey.example.org.", "v=DKIM1; p="},
	{"_mta-sts.example.org.", "v=STSv1; id=20240101T000000Z;"},
	{"_smtp._tls.example.org.", "v=TLSRPTv1; rua=mailto:tlsrpt@example.org"},
	{"default._bimi.example.org.", "v=BIMI1; l=https://example.org/bimi/logo.svg; a=https://example.org/bimi/vmc.pem"},
	{"example.org.", "v=BIMI1; l=https://example.org/logo.svg;"},
	{"_acme-challenge.example.org.", "cE3A8qQpEzAIYq-T9DWNdLJ1_YRXamdxcjGTbzrOH5L"},
	{"_acme-challenge.www.example.org.", "gfj9Xq-Rkh4yXT0f4nsJm-mE6Au5mbnjURuUx2lyCwk"},
	{"_atproto.example.org.", "did=did:plc:z72i7hdynmk6r22z27h6tvur"},
	{"_atproto.alice.example.org.", "did=did:web:alice.example.org"},
}

func TestPublicRecordsStayPublic(t *testing.T) {
	// Even an operator pattern that would catch everything does not.
	m := newMatcher(t, ".*", "^v=")
	for _, s := range publicSamples {
		if got := m.Classify(s.owner, []string{s.value}); got.Kind != Public {
			t.Errorf("%s TXT %q: kind %d, want public", s.owner, s.value, got.Kind)
		}
	}
}

// The generic shapes, on their own, never match a record that must stay
// public, whether or not the public check runs first.
func TestGenericNeverMatchesPublic(t *testing.T) {
	for _, s := range publicSamples {
		if l := strings.ToLower(s.value); genericValue([]byte(l), strings.IndexAny(l, "=:")) {
			t.Errorf("generic value shape matches %q", s.value)
		}
		if l := strings.ToLower(firstLabel(s.owner)); genericOwner([]byte(l)) && l != "_acme-challenge" {
			t.Errorf("generic owner shape matches %q", s.owner)
		}
	}
}

// Tokens of vendors the catalog does not know are caught by the generic
// shapes; ordinary TXT records are not.
func TestGenericShapes(t *testing.T) {
	m := newMatcher(t)
	tokens := []struct{ owner, value string }{
		{"example.org.", "frobnicate-domain-verification=8f14e45fceea167a5a36dedd4bea2543"},
		{"example.org.", "acmesaas-site-verification=Zm9vYmFyYmF6"},
		{"example.org.", "zylo-verification=4c1a2b3c"},
		{"example.org.", "newvendor-verification-code=123456"},
		{"example.org.", "Quuxly-Domain-Verify=abc"},
		{"example.org.", "widgetco_dns_verification: 77e0"},
		{"_newvendor-challenge-acme.example.org.", "3f9a0c1d2e"},
		{"_quux-verification.example.org.", "token"},
		{"widget-domain-verification.example.org.", "b71c"},
	}
	for _, s := range tokens {
		got := m.Classify(s.owner, []string{s.value})
		if got.Kind != Token || m.Rules()[got.Rule].ID != GenericID {
			t.Errorf("%s TXT %q: %+v, want a generic token", s.owner, s.value, got)
		}
	}
	ordinary := []struct{ owner, value string }{
		{"example.org.", "Our office hours are 9-5"},
		{"www.example.org.", "served by web-3"},
		{"validation.example.org.", "staging host"},
		{"challenge.example.org.", "ctf 2026"},
		{"example.org.", "verification of identity is done by HR"},
		{"_sip._tcp.example.org.", "sip service"},
		{"example.org.", "ca3-8a2b2b7a5f744a0fbc0b5ff4e7a6e2d3"},
	}
	for _, s := range ordinary {
		if got := m.Classify(s.owner, []string{s.value}); got.Kind != None {
			t.Errorf("%s TXT %q: %+v, want not a token", s.owner, s.value, got)
		}
	}
}

func TestOperatorPattern(t *testing.T) {
	m := newMatcher(t, "^internal-audit-id=")
	got := m.Classify("example.org.", []string{"Internal-Audit-ID=42"})
	if got.Kind != Token || m.Rules()[got.Rule].ID != CustomID {
		t.Fatalf("operator pattern: %+v", got)
	}
	// A catalog vendor keeps its own id even if an operator pattern would
	// also match.
	m = newMatcher(t, "^google")
	got = m.Classify("example.org.", []string{"google-site-verification=abc"})
	if m.Rules()[got.Rule].ID != "google" {
		t.Fatalf("catalog entry lost to operator pattern: %s", m.Rules()[got.Rule].ID)
	}
	if _, err := NewMatcher(nil, []string{"("}); err == nil {
		t.Fatal("bad operator pattern accepted")
	}
}

// A token at a vendor's dedicated label is recognised by the label alone,
// whatever its value.
func TestDedicatedLabels(t *testing.T) {
	m := newMatcher(t)
	if got := m.Classify("_github-challenge-acme-org.example.org.", []string{"8b9ea5d1e0"}); got.Kind != Token || m.Rules()[got.Rule].ID != "github" {
		t.Fatalf("GitHub challenge label: %+v", got)
	}
	if got := m.Classify("example.org.", []string{"8b9ea5d1e0"}); got.Kind == Token {
		t.Fatalf("the same value at the apex classified as a token: %+v", got)
	}
}

func TestLiteralPrefix(t *testing.T) {
	for pattern, want := range map[string]string{
		"^google-site-verification=": "google-site-verification=",
		"^MS=":                       "ms=",
		"^00D[a-z0-9]{12}=":          "00d",
		"^(a|b)=":                    "",
		"google":                     "",
		"^_github-challenge-[a-z]+$": "_github-challenge-",
	} {
		if got, _ := literalPrefix(pattern); got != want {
			t.Errorf("literalPrefix(%q) = %q, want %q", pattern, got, want)
		}
	}
}

func TestExpiry(t *testing.T) {
	for value, want := range map[string]string{
		"token=abc; expiry=2026-01-02T03:04:05Z":                   "2026-01-02T03:04:05Z",
		"foo-verification=abc;expiry=2026-01-02":                   "2026-01-03T00:00:00Z",
		"foo-verification=abc; EXPIRY = 2026-01-02T00:00:00+02:00": "2026-01-01T22:00:00Z",
	} {
		got, ok := Expiry(value)
		if !ok || got.UTC().Format(time.RFC3339) != want {
			t.Errorf("Expiry(%q) = %v, %v; want %s", value, got, ok, want)
		}
	}
	for _, value := range []string{"token=abc", "expiry=tomorrow", "v=spf1 -all", "noexpiry=2026-01-01"} {
		if _, ok := Expiry(value); ok {
			t.Errorf("Expiry(%q) found one", value)
		}
	}
}

func TestParseCatalogErrors(t *testing.T) {
	for _, bad := range []string{
		`[{"id":"X","value":"^a="}]`,
		`[{"id":"ok","value":"","owner":""}]`,
		`[{"id":"ok","value":"("}]`,
		`[{"id":"ok","value":"^a=","lifecycle":"forever"}]`,
		`{`,
	} {
		if _, err := parseCatalog([]byte(bad)); err == nil {
			t.Errorf("parseCatalog(%s) accepted", bad)
		}
	}
}

// FuzzClassify: any owner and value classify without panicking, and a value
// that starts with a public tag, or an owner under a public label, is
// always public.
//
//	go test -run '^$' -fuzz FuzzClassify -fuzztime 30s ./tokens/
func FuzzClassify(f *testing.F) {
	m := newMatcher(f, "^custom-(a|b)+=")
	for _, s := range publicSamples {
		f.Add(s.owner, s.value)
	}
	es, _ := Catalog()
	for _, e := range es {
		f.Add(owner(e.SampleOwner), e.Sample)
	}
	f.Add("", "")
	f.Add(`a\.b.example.org.`, "=:=:")
	f.Fuzz(func(t *testing.T, owner, value string) {
		got := m.Classify(owner, []string{value})
		if got.Kind == Token && (got.Rule < 0 || got.Rule >= len(m.Rules())) {
			t.Fatalf("rule %d out of range", got.Rule)
		}
		if got.Kind != Public && (tokenstest.MustStayPublic(owner, []string{value}) || strings.HasPrefix(strings.ToLower(value), "v=spf1 ")) {
			t.Fatalf("%q TXT %q: kind %d, want public", owner, value, got.Kind)
		}
		// A label alone never makes a record public: a token is not
		// public wherever it stands.
		if tokenstest.IsToken([]string{value}) && got.Kind == Public {
			t.Fatalf("%q TXT %q: public, but a token", owner, value)
		}
		// Splitting the value into character-strings changes nothing
		// (but inside an escape: miekg/dns escapes each string on its own).
		if len(value) > 1 && value[0] != '\\' {
			if split := m.Classify(owner, []string{value[:1], value[1:]}); split != got {
				t.Fatalf("%q TXT %q: %+v whole, %+v split", owner, value, got, split)
			}
		}
	})
}
