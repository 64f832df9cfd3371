package tokens

import "strings"

// What stays public. A TXT record stays public because its value has the
// shape of a record that must stay public, never because of its owner name
// alone: under a wildcard the owner is whatever name a client asks for, so
// a token stored at *.dyn would otherwise come out whole for
// _acme-challenge.dyn or x._domainkey.dyn. Two kinds of shape:
//
//   - at any owner, a value that starts with the version tag of SPF,
//     DMARC, DKIM, MTA-STS, TLS-RPT or BIMI, or with the DKIM key tags k=
//     or p= (a DKIM key record without "v=DKIM1"): isPublicValue;
//   - at an owner with a public label, the shapes the records that live
//     there have besides: under _domainkey a DKIM tag list starting with
//     any DKIM tag (RFC 6376 section 3.6.1), at _acme-challenge an ACME
//     DNS-01 key authorisation digest (RFC 8555 section 8.4: 43 characters
//     of base64url), at _atproto an AT Protocol handle (did=did:plc:... or
//     did=did:web:...): isPublicAt. The DMARC, MTA-STS, TLS-RPT and BIMI
//     labels add nothing: their records' version tags are public anywhere.
//
// Everything else at those labels is classified like any other record: a
// token is hidden wherever it stands. The pre-claim records of the catalog
// (asuid, _github-pages-challenge-ORG) and its ACME entry are owner-only
// entries; a value must have their shape too (ruleShapes).

// publicLabel is a set of the public labels an owner name has.
type publicLabel uint8

const (
	labelDKIM    publicLabel = 1 << iota // selector._domainkey
	labelDMARC                           // _dmarc, x._report._dmarc
	labelMTASTS                          // _mta-sts
	labelTLSRPT                          // _smtp._tls
	labelBIMI                            // selector._bimi
	labelACME                            // _acme-challenge
	labelATProto                         // _atproto
)

// publicOwnerLabels are the owner labels under which a public record has a
// shape of its own or is expected; TLS-RPT lives at _smtp._tls, a pair of
// labels, which publicLabels checks apart.
var publicOwnerLabels = [...]struct {
	label string
	bit   publicLabel
}{
	{"_domainkey", labelDKIM}, {"_dmarc", labelDMARC}, {"_mta-sts", labelMTASTS}, {"_bimi", labelBIMI},
	{"_acme-challenge", labelACME}, {"_atproto", labelATProto},
}

// publicValuePrefixes start TXT values that must stay public at any owner:
// the version tags of SPF, DMARC, DKIM, MTA-STS, TLS-RPT and BIMI, and the
// DKIM key tags a record without "v=DKIM1" starts with. Lower case; a
// version tag must be followed by the end, a space or a semicolon.
var publicValuePrefixes = []struct {
	prefix string
	tag    bool // a whole tag: must end there
}{
	{"v=spf1", true},
	{"v=dmarc1", true},
	{"v=dkim1", true},
	{"v=stsv1", true},
	{"v=tlsrptv1", true},
	{"v=bimi1", true},
	{"k=", false},
	{"p=", false},
}

// publicLabels returns the public labels owner (a domain name in
// presentation form) has, at any depth. Only labels that start with an
// underscore are looked at.
func publicLabels(owner string) publicLabel {
	var set publicLabel
	prev := ""
	for len(owner) > 0 {
		label := owner
		if i := strings.IndexByte(owner, '.'); i >= 0 {
			label, owner = owner[:i], owner[i+1:]
		} else {
			owner = ""
		}
		if label != "" && label[0] == '_' {
			for _, l := range publicOwnerLabels {
				if len(label) == len(l.label) && strings.EqualFold(label, l.label) {
					set |= l.bit
				}
			}
			if strings.EqualFold(prev, "_smtp") && strings.EqualFold(label, "_tls") {
				set |= labelTLSRPT
			}
		}
		prev = label
	}
	return set
}

// isPublicValue reports whether the lower-cased head of a TXT value starts
// with a tag of a record that must stay public at any owner.
func isPublicValue(head []byte) bool {
	h := head
	for len(h) > 0 && (h[0] == ' ' || h[0] == '\t') {
		h = h[1:]
	}
	if len(h) < 2 || h[1] != '=' {
		return false
	}
	switch h[0] {
	case 'k', 'p':
		return true
	case 'v':
	default:
		return false
	}
	for _, p := range publicValuePrefixes {
		if !hasPrefix(h, p.prefix) {
			continue
		}
		if !p.tag || len(h) == len(p.prefix) {
			return true
		}
		if c := h[len(p.prefix)]; c == ' ' || c == ';' || c == '\t' {
			return true
		}
	}
	return false
}

// isPublicAt reports whether a TXT value (character-strings txt, normal
// form head of its start) has the shape of a public record expected at an
// owner with the public labels set, beyond what isPublicValue accepts
// anywhere.
func isPublicAt(set publicLabel, head []byte, txt []string) bool {
	switch {
	case set&labelDKIM != 0 && isDKIMTagList(head, txt):
		return true
	case set&labelACME != 0 && isACMEDigest(txt):
		return true
	case set&labelATProto != 0 && isATProtoDID(head, txt):
		return true
	}
	return false
}

// dkimTags are the tags besides k= and p= (public anywhere) a DKIM key
// record may start with (RFC 6376 section 3.6.1; g= of RFC 4871), each
// followed by '='; v= is public as "v=DKIM1" only.
const dkimTags = "ghnst"

// isDKIMTagList reports whether a value (character-strings txt, normal
// form head of its start) starts like a DKIM key record's tag list: a DKIM
// tag, '=', and a value up to ';' or the end that holds no other '=', as a
// key=value token would ("s=google-site-verification=...").
func isDKIMTagList(head []byte, txt []string) bool {
	if len(head) < 2 || head[1] != '=' || strings.IndexByte(dkimTags, head[0]) < 0 {
		return false
	}
	seen := false // the tag's '='
	for _, s := range txt {
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case c == ';':
				return seen
			case c == '=' && !seen:
				seen = true
			case c == '=':
				return false
			}
		}
	}
	return seen
}

// acmeDigestLen is the length of an ACME DNS-01 TXT value: the base64url
// encoding, without padding, of a SHA-256 digest (RFC 8555 section 8.4).
const acmeDigestLen = 43

// isACMEDigest reports whether txt, its character-strings concatenated, is
// an ACME DNS-01 key authorisation digest.
func isACMEDigest(txt []string) bool {
	n := 0
	for _, s := range txt {
		n += len(s)
		if n > acmeDigestLen {
			return false
		}
		if !allBytes(s, isBase64URL) {
			return false
		}
	}
	return n == acmeDigestLen
}

// isATProtoDID reports whether a value is an AT Protocol handle record:
// "did=did:plc:" or "did=did:web:" followed by the rest of a DID (letters,
// digits, '.', '-', '_', ':', '%'), nothing else.
func isATProtoDID(head []byte, txt []string) bool {
	const plc, web = "did=did:plc:", "did=did:web:"
	if !hasPrefix(head, plc) && !hasPrefix(head, web) {
		return false
	}
	n := 0
	for _, s := range txt {
		if n < len(plc) {
			k := min(len(s), len(plc)-n)
			if !strings.EqualFold(s[:k], plc[n:n+k]) && !strings.EqualFold(s[:k], web[n:n+k]) {
				return false
			}
			n += k
			s = s[k:]
		}
		n += len(s)
		if !allBytes(s, isDIDByte) {
			return false
		}
	}
	return n > len(plc)
}

// ruleShape is the value shape an owner-only catalog entry whose records
// are always public requires: the owner label alone must not make a value
// public.
type ruleShape uint8

const (
	shapeAny  ruleShape = iota // not an always-public owner-only entry
	shapeACME                  // isACMEDigest
	shapeHex                   // hexadecimal digits only, at least 16
)

// ruleShapes are the shapes of the catalog's owner-only always-public
// entries, by id: the ACME DNS-01 digest; Azure's custom domain
// verification id (asuid), a SHA-256 in hexadecimal; GitHub Pages'
// challenge, hexadecimal. NewMatcher refuses an always-public entry
// without a value pattern that is not listed here.
var ruleShapes = map[string]ruleShape{
	"acme_challenge": shapeACME,
	"azure_asuid":    shapeHex,
	"github_pages":   shapeHex,
}

// hasShape reports whether a value with character-strings txt has shape s.
func hasShape(s ruleShape, txt []string) bool {
	switch s {
	case shapeACME:
		return isACMEDigest(txt)
	case shapeHex:
		n := 0
		for _, t := range txt {
			if !allBytes(t, isHex) {
				return false
			}
			n += len(t)
		}
		return n >= 16
	}
	return true
}

func allBytes(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func isBase64URL(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func isDIDByte(c byte) bool {
	return isBase64URL(c) || c == '.' || c == ':' || c == '%'
}
