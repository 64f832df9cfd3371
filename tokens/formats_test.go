package tokens

import (
	"fmt"
	"strings"
	"testing"
)

// Token values as they really appear (issue 13 §3): each class a table of
// values, as ClassifyAt receives them (miekg/dns presentation form, see
// corpus_test.go), that must be a token of the given rule.
func TestTokenFormats(t *testing.T) {
	m := newMatcher(t)
	const gsv = "google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ"
	type rec struct {
		owner string
		txt   []string
		id    string
	}
	one := func(v, id string) rec { return rec{"example.org.", []string{v}, id} }
	classes := map[string][]rec{
		"leading blank": {
			one(" "+gsv, "google"), one("\t"+gsv, "google"), one(`\009MS=ms123`, "microsoft"),
			one(`\032\032MS=ms123`, "microsoft"), one("\r\n"+gsv, "google"), {"example.org.", []string{" ", "", "MS=ms123"}, "microsoft"},
		},
		"blank around the delimiter": {
			one("google-site-verification =abc", "google"), one("google-site-verification= abc", "google"),
			one("google-site-verification \t= \tabc", "google"), one(`MS\009=ms123`, "microsoft"),
			one("sendinblue-code : abc", "brevo"), one("anthropic-domain-verification-x1 = abc", "anthropic"),
			one(" 00D5g000004Sxyz =1", "salesforce"),
		},
		"quoted": {
			one(`\"MS=ms123\"`, "microsoft"), one(`\"MS=ms123`, "microsoft"), one("'"+gsv+"'", "google"),
			one(`\" `+gsv+` \"`, "google"), one(` \"google-site-verification = abc\" `, "google"),
			{"mailjet._a1b2c3d4.example.org.", []string{`\"46a1ea7b1f6df60ba41e145725f7d3bf\"`}, "mailjet"},
			{"mailjet._a1b2c3d4.example.org.", []string{"'46a1ea7b1f6df60ba41e145725f7d3bf' "}, "mailjet"},
		},
		"escaped": {
			one(`google-site-verification\=abc`, "google"), one(`\077S=ms123`, "microsoft"),
			one(`\077\083\061ms123`, "microsoft"), one(`\103oogle-site-verification=abc`, "google"),
			one(`\"docusign\=1b0a6754\"`, "docusign"), one(`\\`+"MS=ms123", ""),
		},
		"mixed case": {
			one("GOOGLE-SITE-VERIFICATION=abc", "google"), one("ms=MS123", "microsoft"),
			one("Mandrill_Verify.qFmG2YBGhKd446rthmMirQ", "mandrill"), one(" Google-Site-Verification = abc", "google"),
			{"Cloudflare-Verify.example.org.", []string{"366246018-317404567"}, "cloudflare"},
		},
		"new vendors": {
			one("mandrill_verify.qFmG2YBGhKd446rthmMirQ", "mandrill"),
			{"mail.example.org.", []string{"mandrill_verify.J6D4EK4DxGiLqR1nMTfHSA"}, "mandrill"},
			{"cloudflare-verify.example.org.", []string{"366246018-317404567"}, "cloudflare"},
		},
		"new generic shapes": {
			one("acme_verify.abcdefgh12345678", GenericID), one("verification.8f14e45fceea167a", GenericID),
			one("verify.Zm9vYmFyYmF6cXV4", GenericID), one("widgetco-verification.4c1a2b3c4d5e", GenericID),
			one("quuxly-verify=abc", GenericID), one("quuxly_verify : abc", GenericID),
			{"acme-verify.example.org.", []string{"8f14e45fceea"}, GenericID},
			{"acme_verify.example.org.", []string{"8f14e45fceea"}, GenericID},
			{"_acme-verify.example.org.", []string{"8f14e45fceea"}, GenericID},
			{"widget_verification.example.org.", []string{"8f14e45fceea"}, GenericID},
		},
	}
	for class, recs := range classes {
		for _, r := range recs {
			got := m.ClassifyAt(ownerOf(r.owner), r.txt)
			switch {
			case r.id == "" && got.Kind == Token:
				t.Errorf("%s: %s %q: %+v, want not a token", class, r.owner, r.txt, got)
			case r.id != "" && (got.Kind != Token || m.Rules()[got.Rule].ID != r.id):
				t.Errorf("%s: %s %q: %+v, want a token of %s", class, r.owner, r.txt, got, r.id)
			}
		}
	}
}

func ownerOf(name string) *Owner {
	var o Owner
	o.Set(name)
	return &o
}

// Split across character-strings at every position of the key (and of a
// few bytes past it), in two and three pieces, with blanks and quotes
// around: the classification does not change.
func TestTokenSplitEverywhere(t *testing.T) {
	m := newMatcher(t)
	for _, c := range []struct{ value, id string }{
		{"google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ", "google"},
		{" google-site-verification = abc", "google"},
		{`\"MS=ms123\"`, "microsoft"},
		{"mandrill_verify.qFmG2YBGhKd446rthmMirQ", "mandrill"},
		{"frobnicate-domain-verification =8f14e45f", GenericID},
		{"verification.8f14e45fceea167a", GenericID},
		{"anthropic-domain-verification-x1 = abc", "anthropic"},
	} {
		o := ownerOf("example.org.")
		end := min(len(c.value), strings.IndexAny(c.value, "=.")+4)
		for i := 0; i <= end; i++ {
			if i < len(c.value) && i > 0 && c.value[i-1] == '\\' {
				continue // an escape is never cut: each string is escaped on its own
			}
			for j := i; j <= end; j++ {
				if j < len(c.value) && j > 0 && c.value[j-1] == '\\' {
					continue
				}
				txt := []string{c.value[:i], c.value[i:j], c.value[j:]}
				got := m.ClassifyAt(o, txt)
				if got.Kind != Token || m.Rules()[got.Rule].ID != c.id {
					t.Errorf("%q: %+v, want a token of %s", txt, got, c.id)
				}
			}
		}
	}
}

// The records that must stay public stay public in the odd formats too,
// and the new shapes catch none of them.
func TestPublicFormats(t *testing.T) {
	m := newMatcher(t)
	for _, s := range publicSamples {
		for _, v := range []string{" " + s.value, `\"` + s.value + `\"`, `\009` + s.value} {
			if got := m.Classify(s.owner, []string{v}); got.Kind != Public {
				t.Errorf("%s TXT %q: kind %d, want public", s.owner, v, got.Kind)
			}
		}
		if genericDotValue([]byte(strings.ToLower(s.value))) {
			t.Errorf("generic dot shape matches %q", s.value)
		}
	}
	for _, v := range []string{"v = spf1 -all", `\"v=spf1 include:_spf.google.com ~all\"`, "V=DMARC1 ;p=none"} {
		if got := m.Classify("example.org.", []string{v}); got.Kind != Public {
			t.Errorf("TXT %q: kind %d, want public", v, got.Kind)
		}
	}
}

// Near misses of the new generic shapes are not tokens.
func TestGenericNearMisses(t *testing.T) {
	m := newMatcher(t)
	for _, c := range []struct{ owner, value string }{
		{"example.org.", "verify.example.org"},
		{"example.org.", "verification. Please read the docs"},
		{"example.org.", "verify.sh"},
		{"example.org.", "-verify.abcdefgh1234"},
		{"example.org.", "pre.verify.abcdefgh1234"},
		{"verify.example.org.", "mail verification service"},
		{"email-verifyer.example.org.", "host"},
		{"-verify.example.org.", "host"},
	} {
		if got := m.Classify(c.owner, []string{c.value}); got.Kind == Token {
			t.Errorf("%s TXT %q: %+v, want not a token", c.owner, c.value, got)
		}
	}
}

// ClassifyAt allocates nothing for ordinary records, public records and
// tokens a literal prefix decides, in one or several character-strings,
// in normal form or not; only a regular expression run on a value that
// is split or needs normalising builds a string.
func TestClassifyDoesNotAllocate(t *testing.T) {
	m := newMatcher(t)
	for _, c := range []struct{ owner, value string }{
		{"example.org.", "v=spf1 include:_spf.google.com ~all"},
		{"example.org.", "hello world"},
		{"example.org.", " padded = value "},
		{"example.org.", `\"quoted\"`},
		{"example.org.", `\009v=spf1 -all`},
		{"example.org.", "google-site-verification=abc"},
		{"example.org.", ` \"MS=ms123\"`},
		{"example.org.", "mandrill_verify.qFmG2YBGhKd446rthmMirQ"},
		{"s1._domainkey.example.org.", "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC"},
		{"cloudflare-verify.example.org.", "366246018-317404567"},
		// At the public labels, the shapes expected there and others.
		{"_acme-challenge.example.org.", "cE3A8qQpEzAIYq-T9DWNdLJ1_YRXamdxcjGTbzrOH5L"},
		{"_acme-challenge.example.org.", "ca3-1ea20493d982fb10aa4ff7691c548d68"},
		{"_atproto.example.org.", "did=did:plc:z72i7hdynmk6r22z27h6tvur"},
		{"sel._domainkey.example.org.", "t=y; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC"},
		{"asuid.example.org.", "7C9D2E4F6A8B0C1D3E5F7A9B1C3D5E7F9A0B2C4D6E8F0A1B3C5D7E9F1A2B3C4D"},
		{"_dmarc.example.org.", "hello world"},
	} {
		o := ownerOf(c.owner)
		for parts := 1; parts <= 3; parts++ {
			txt := splitN(c.value, parts)
			if n := testing.AllocsPerRun(50, func() { m.ClassifyAt(o, txt) }); n != 0 {
				t.Errorf("%s %q: %v allocations", c.owner, txt, n)
			}
		}
	}
}

// splitN cuts s into n pieces of about equal length, never inside an
// escape.
func splitN(s string, n int) []string {
	var out []string
	for k := n; k > 1; k-- {
		cut := len(s) / k
		for cut > 0 && cut < len(s) && s[cut-1] == '\\' {
			cut++
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	return append(out, s)
}

func ExampleMatcher_ClassifyAt_formats() {
	es, _ := Catalog()
	m, _ := NewMatcher(es, nil)
	var o Owner
	o.Set("example.org.")
	for _, v := range []string{` \"MS=ms123\"`, "google-site-verification =abc", `\077S=ms123`, "hello"} {
		got := m.ClassifyAt(&o, []string{v})
		fmt.Println(got.Kind == Token)
	}
	// Output:
	// true
	// true
	// true
	// false
}
