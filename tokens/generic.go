package tokens

import "bytes"

// Generic shapes catch the tokens of vendors the catalog does not list. They
// follow the conventions the IETF domain-verification draft describes and
// vendors use: a "<vendor>-<something>-verification=" key at the start of
// the value, a "<vendor>_verify.<token>" value (Mandrill's form), or a
// dedicated owner label, "_<vendor>-challenge" or "<vendor>-verify". They
// see the value in normal form (normalize.go). Records
// that must stay public are recognised before these run, and none of their
// tags (v=spf1, v=DMARC1, ...) has this shape, so a generic match can never
// hide them; the package tests check both. They are written out by hand
// rather than as regular expressions because they run on every TXT record
// the catalog does not claim.

// genericKeyWords end the key of a generic token value, optionally followed
// by one of genericKeySuffixes: "foo-domain-verification=",
// "bar-verification-code:", "baz_verify=".
var (
	genericKeyWords    = [][]byte{[]byte("verification"), []byte("verify"), []byte("validation"), []byte("challenge"), []byte("confirmation")}
	genericKeySuffixes = [][]byte{[]byte("-code"), []byte("_code"), []byte("-key"), []byte("_key"), []byte("-token"), []byte("_token")}
)

// genericValue reports whether the lower-cased head of a value, whose first
// '=' or ':' is at end (-1 for none), starts with a
// key of the form VENDOR[-_.]WORD[SUFFIX] followed by "=" or ":", where
// VENDOR is at least two characters of [a-z0-9._-] starting with a letter or
// digit, WORD one of genericKeyWords and SUFFIX one of genericKeySuffixes.
func genericValue(head []byte, end int) bool {
	if end < 0 {
		return false
	}
	key := bytes.TrimRight(head[:end], " \t")
	if len(key) == 0 || !isAlnum(key[0]) {
		return false
	}
	for _, c := range key {
		if !isAlnum(c) && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	for _, s := range genericKeySuffixes {
		if bytes.HasSuffix(key, s) {
			key = key[:len(key)-len(s)]
			break
		}
	}
	for _, w := range genericKeyWords {
		if !bytes.HasSuffix(key, w) {
			continue
		}
		vendor := bytes.TrimRight(key[:len(key)-len(w)], "-_.")
		return len(vendor) >= 2
	}
	return false
}

// genericDotWords name a token written as WORD.TOKEN rather than
// WORD=TOKEN: "mandrill_verify.qFmG2YBGhKd446rthmMirQ",
// "verification.8f14e45fceea".
var genericDotWords = [][]byte{[]byte("verify"), []byte("verification")}

// genericDotValue reports whether the lower-cased head of a value is a
// token of the form [VENDOR[-_]]WORD.TOKEN, where VENDOR is [a-z0-9_-]
// starting with a letter or digit, WORD one of genericDotWords and TOKEN
// at least 8 bytes of [a-z0-9+/=_-] up to the end of the head: one opaque
// string, no further dot, no blank. A host name ("verify.example.com")
// has a further dot; free text has a blank.
func genericDotValue(head []byte) bool {
	dot := bytes.IndexByte(head, '.')
	if dot < 0 {
		return false
	}
	key, token := head[:dot], head[dot+1:]
	if len(token) < 8 {
		return false
	}
	for _, c := range token {
		if !isAlnum(c) && c != '+' && c != '/' && c != '=' && c != '_' && c != '-' {
			return false
		}
	}
	for _, w := range genericDotWords {
		if !bytes.HasSuffix(key, w) {
			continue
		}
		vendor := key[:len(key)-len(w)]
		if len(vendor) == 0 {
			return true
		}
		if c := vendor[len(vendor)-1]; c != '-' && c != '_' || !isAlnum(vendor[0]) {
			return false
		}
		for _, c := range vendor {
			if !isAlnum(c) && c != '-' && c != '_' {
				return false
			}
		}
		return true
	}
	return false
}

// genericOwnerWords are what a dedicated owner label names.
var genericOwnerWords = [][]byte{[]byte("challenge"), []byte("verification"), []byte("verify"), []byte("validation")}

// genericPlainOwnerSuffixes end plain (no underscore) owner labels that are
// dedicated to a token: nobody names a host "foo-domain-verification", and
// "<vendor>-verify" / "<vendor>_verify" is how vendors name the label they
// ask for (cloudflare-verify, railway-verify).
var genericPlainOwnerSuffixes = [][]byte{[]byte("-domain-verification"), []byte("-verification-code"), []byte("-site-verification"), []byte("-verify"), []byte("_verify"), []byte("_verification")}

// genericOwner reports whether a lower-cased first label is dedicated to a
// token: it starts with an underscore, consists of [a-z0-9_-] and contains
// one of genericOwnerWords (_vendor-challenge-org, _vendor-verification), or
// it is a plain label ending in one of genericPlainOwnerSuffixes.
func genericOwner(label []byte) bool {
	if len(label) < 2 {
		return false
	}
	for _, c := range label {
		if !isAlnum(c) && c != '-' && c != '_' {
			return false
		}
	}
	if label[0] == '_' {
		for _, w := range genericOwnerWords {
			if bytes.Contains(label, w) {
				return true
			}
		}
		return false
	}
	for _, s := range genericPlainOwnerSuffixes {
		if bytes.HasSuffix(label, s) && len(label) > len(s) {
			return true
		}
	}
	return false
}

func isAlnum(c byte) bool { return 'a' <= c && c <= 'z' || '0' <= c && c <= '9' }
