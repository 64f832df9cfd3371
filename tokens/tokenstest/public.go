package tokenstest

import (
	"strings"

	"github.com/miekg/dns"
)

// publicTags are the version tags of the records that must stay public.
var publicTags = []string{"v=spf1", "v=dmarc1", "v=dkim1", "v=stsv1", "v=tlsrptv1", "v=bimi1"}

// MustStayPublic is the test's own oracle, written from README.md and the
// RFCs rather than from package tokens, for the standard records the
// rewrite (Find and Hide) must never take out: SPF (v=spf1 at any owner),
// DMARC (v=DMARC1; anything at _dmarc or *._report._dmarc), DKIM (v=DKIM1,
// values starting k= or p=; anything at *._domainkey), MTA-STS (v=STSv1;
// anything at _mta-sts), TLS-RPT (v=TLSRPTv1; anything at _smtp._tls), BIMI
// (v=BIMI1; anything at *._bimi) and ACME DNS-01 challenges (anything at
// _acme-challenge). Tags and labels compare case-insensitively; a version
// tag ends the value or is followed by a space or a semicolon. It is
// deliberately narrower than package tokens' public check (no _atproto, no
// pre-claim records, no leading blanks): see MayStayPublic.
func MustStayPublic(owner string, txt []string) bool {
	v := strings.ToLower(strings.Join(txt, ""))
	for _, t := range publicTags {
		if v == t || strings.HasPrefix(v, t+" ") || strings.HasPrefix(v, t+";") {
			return true
		}
	}
	if strings.HasPrefix(v, "k=") || strings.HasPrefix(v, "p=") {
		return true
	}
	labels := dns.SplitDomainName(strings.ToLower(owner))
	if len(labels) == 0 {
		return false
	}
	switch labels[0] {
	case "_dmarc", "_mta-sts", "_acme-challenge":
		return true
	}
	if len(labels) >= 2 && labels[0] == "_smtp" && labels[1] == "_tls" {
		return true
	}
	for i := 1; i < len(labels); i++ {
		switch {
		case labels[i] == "_domainkey", labels[i] == "_bimi":
			return true
		case labels[i] == "_dmarc" && i >= 2 && labels[i-1] == "_report":
			return true
		}
	}
	return false
}

// MayStayPublic reports whether a TXT record may survive a policy that
// hides every token. It is wider than MustStayPublic by what package
// tokens documents it keeps besides (doc.go, catalog.json): public tags
// after leading blanks or followed by a tab, public tags in the value as a
// checker reads it (AsRead: escapes resolved, blanks and one opening quote
// trimmed, blanks around the first '=' or ':' gone), the public labels at any depth
// of the owner name (split at every dot, escaped or not), AT Protocol
// handles (_atproto), and the pre-claim records of Azure (asuid) and
// GitHub Pages (_github-pages-challenge-ORG).
func MayStayPublic(owner string, txt []string) bool {
	if MustStayPublic(owner, txt) {
		return true
	}
	v := strings.TrimLeft(strings.ToLower(strings.Join(txt, "")), " \t")
	for _, t := range publicTags {
		if v == t || strings.HasPrefix(v, t+" ") || strings.HasPrefix(v, t+";") || strings.HasPrefix(v, t+"\t") {
			return true
		}
	}
	if strings.HasPrefix(v, "k=") || strings.HasPrefix(v, "p=") {
		return true
	}
	r := strings.ToLower(AsRead(txt))
	for _, t := range publicTags {
		if r == t || strings.HasPrefix(r, t+" ") || strings.HasPrefix(r, t+";") || strings.HasPrefix(r, t+"\t") {
			return true
		}
	}
	if strings.HasPrefix(r, "k=") || strings.HasPrefix(r, "p=") {
		return true
	}
	lower := strings.ToLower(owner)
	for _, labels := range [][]string{dns.SplitDomainName(lower), strings.Split(lower, ".")} {
		for i, l := range labels {
			switch {
			case l == "_dmarc", l == "_mta-sts", l == "_acme-challenge", l == "_atproto", l == "_domainkey", l == "_bimi":
				return true
			case l == "_tls" && i > 0 && labels[i-1] == "_smtp":
				return true
			case i == 0 && (l == "asuid" || strings.HasPrefix(l, "_github-pages-challenge-")):
				return true
			}
		}
	}
	return false
}

// blanks are what a checker trims around a value.
const blanks = " \t\r\n\v\f"

// AsRead returns a TXT value as a vendor's checker reads it, written from
// the presentation format (RFC 1035 section 5.1: "\DDD" is the byte with
// decimal value DDD, "\X" is X) and from what checkers forgive: the
// character-strings, each unescaped, concatenated; blanks trimmed at both
// ends; one opening quote (" or ') removed with the blanks after it, and
// the closing quote that matches it; the blanks around the first '=' or
// ':' removed. Case is kept.
func AsRead(txt []string) string {
	var b strings.Builder
	for _, s := range txt {
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c == '\\' && i+1 < len(s) {
				if i+3 < len(s) && allDigits(s[i+1:i+4]) {
					if d := (int(s[i+1]-'0')*10+int(s[i+2]-'0'))*10 + int(s[i+3]-'0'); d < 256 {
						b.WriteByte(byte(d))
						i += 3
						continue
					}
				}
				i++
				c = s[i]
			}
			b.WriteByte(c)
		}
	}
	v := strings.Trim(b.String(), blanks)
	if v != "" && (v[0] == '"' || v[0] == '\'') {
		q := v[0]
		v = strings.TrimLeft(v[1:], blanks)
		if strings.HasSuffix(v, string(q)) {
			v = strings.TrimRight(v[:len(v)-1], blanks)
		}
	}
	if d := strings.IndexAny(v, "=:"); d >= 0 {
		v = strings.TrimRight(v[:d], blanks) + v[d:d+1] + strings.TrimLeft(v[d+1:], blanks)
	}
	return v
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
