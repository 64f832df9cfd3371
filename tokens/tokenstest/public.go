package tokenstest

import (
	"strings"

	"github.com/miekg/dns"
)

// publicTags are the version tags of the records that must stay public.
var publicTags = []string{"v=spf1", "v=dmarc1", "v=dkim1", "v=stsv1", "v=tlsrptv1", "v=bimi1"}

// MustStayPublic is the test's own oracle, written from README.md and the
// RFCs rather than from package tokens, for the standard records the
// rewrite (Find and Hide) must never take out. A record must stay public
// because of its value's shape; an owner label alone never makes it (under
// a wildcard the owner is whatever name a client asks for), it only says
// where a shape is expected:
//
//   - at any owner: the version tags of SPF (v=spf1), DMARC (v=DMARC1),
//     DKIM (v=DKIM1), MTA-STS (v=STSv1), TLS-RPT (v=TLSRPTv1) and BIMI
//     (v=BIMI1), ending the value or followed by a space or a semicolon,
//     and values starting with the DKIM key tags k= or p=;
//   - at *._domainkey: a DKIM tag list starting with h=, s=, t=, n= or g=
//     whose first tag value (up to ';') holds no '=' (RFC 6376 section
//     3.6.1);
//   - at _acme-challenge (the first label): an ACME DNS-01 digest, 43
//     characters of base64url (RFC 8555 section 8.4).
//
// Tags and labels compare case-insensitively. It is deliberately narrower
// than package tokens' public check (no _atproto, no pre-claim records, no
// leading blanks, no label deeper in the name): see MayStayPublic.
func MustStayPublic(owner string, txt []string) bool {
	v := strings.ToLower(strings.Join(txt, ""))
	if publicValue(v, false) {
		return true
	}
	labels := dns.SplitDomainName(strings.ToLower(owner))
	if len(labels) > 0 && labels[0] == "_acme-challenge" && acmeDigest(v) {
		return true
	}
	for i := 1; i < len(labels); i++ {
		if labels[i] == "_domainkey" && dkimTagList(v) {
			return true
		}
	}
	return false
}

// publicValue reports whether a lower-cased value starts with a public
// tag; tab lets a tab follow a version tag too.
func publicValue(v string, tab bool) bool {
	for _, t := range publicTags {
		if v == t || strings.HasPrefix(v, t+" ") || strings.HasPrefix(v, t+";") || tab && strings.HasPrefix(v, t+"\t") {
			return true
		}
	}
	return strings.HasPrefix(v, "k=") || strings.HasPrefix(v, "p=")
}

// acmeDigest reports whether v is base64url, unpadded, of 32 bytes.
func acmeDigest(v string) bool {
	return len(v) == 43 && strings.Trim(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == ""
}

// dkimTagList reports whether a lower-cased v starts with one of the DKIM
// tags h=, s=, t=, n=, g= and a tag value without '='.
func dkimTagList(v string) bool {
	if len(v) < 2 || v[1] != '=' || !strings.ContainsRune("ghnst", rune(v[0])) {
		return false
	}
	first, _, _ := strings.Cut(v[2:], ";")
	return !strings.Contains(first, "=")
}

// hexValue reports whether v is at least 16 hexadecimal digits.
func hexValue(v string) bool {
	return len(v) >= 16 && strings.Trim(v, "0123456789abcdefABCDEF") == ""
}

// atprotoDID reports whether a lower-cased v is an AT Protocol handle
// record: did=did:plc:... or did=did:web:..., the rest of the DID of
// letters, digits and ".-_:%".
func atprotoDID(v string) bool {
	for _, p := range []string{"did=did:plc:", "did=did:web:"} {
		if rest, ok := strings.CutPrefix(v, p); ok {
			return rest != "" && strings.Trim(rest, "abcdefghijklmnopqrstuvwxyz0123456789.-_:%") == ""
		}
	}
	return false
}

// MayStayPublic reports whether a TXT record may survive a policy that
// hides every token. It is wider than MustStayPublic by what package
// tokens documents it keeps besides (doc.go, catalog.json): public tags
// after leading blanks or followed by a tab, public tags in the value as a
// checker reads it (AsRead: escapes resolved, blanks and one opening quote
// trimmed, blanks around the first '=' or ':' gone), the public labels at
// any depth of the owner name (split at every dot, escaped or not), AT
// Protocol handles (did=did:plc:... at _atproto), and the pre-claim
// records of Azure (hexadecimal at asuid) and GitHub Pages (hexadecimal at
// _github-pages-challenge-ORG). Like MustStayPublic it never keeps a
// record for its owner label alone, and never one that IsToken says is a
// token.
func MayStayPublic(owner string, txt []string) bool {
	if IsToken(txt) {
		return false
	}
	if MustStayPublic(owner, txt) {
		return true
	}
	raw := strings.Join(txt, "")
	v := strings.TrimLeft(strings.ToLower(raw), " \t")
	read := AsRead(txt)
	r := strings.ToLower(read)
	if publicValue(v, true) || publicValue(r, true) {
		return true
	}
	lower := strings.ToLower(owner)
	for _, labels := range [][]string{dns.SplitDomainName(lower), strings.Split(lower, ".")} {
		for i, l := range labels {
			switch {
			case l == "_acme-challenge" && (acmeDigest(raw) || acmeDigest(read)):
				return true
			case l == "_domainkey" && (dkimTagList(v) || dkimTagList(r)):
				return true
			case l == "_atproto" && (atprotoDID(v) || atprotoDID(r)):
				return true
			case i == 0 && (l == "asuid" || strings.HasPrefix(l, "_github-pages-challenge-")) && (hexValue(raw) || hexValue(read)):
				return true
			}
		}
	}
	return false
}

// tokenKeys start the values IsToken calls tokens: a few vendors' keys,
// from their documents, compared case-insensitively. Deliberately a short
// list of its own, not package tokens' catalog.
var tokenKeys = []string{
	"google-site-verification=", "ms=ms", "apple-domain-verification=", "facebook-domain-verification=",
	"atlassian-domain-verification=", "docusign=",
}

// IsToken reports whether a TXT value is, by the oracle's own narrow list,
// a verification token: one of tokenKeys followed by at least one
// character, at the start of the value or of the value as a checker reads
// it (AsRead). Such a value is a token wherever it stands, whatever its
// owner: a policy that hides every token hides it unless its RRset is
// signed.
func IsToken(txt []string) bool {
	for _, v := range []string{strings.ToLower(strings.Join(txt, "")), strings.ToLower(AsRead(txt))} {
		for _, k := range tokenKeys {
			if len(v) > len(k) && strings.HasPrefix(v, k) {
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
