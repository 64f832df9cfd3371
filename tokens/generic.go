package tokens

import "bytes"

// Generic shapes catch the tokens of vendors the catalog does not list. They
// follow the conventions the IETF domain-verification draft describes and
// vendors use: a "<vendor>-<something>-verification=" key at the start of
// the value, or a dedicated "_<vendor>-challenge" style owner label. Records
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

// genericOwnerWords are what a dedicated owner label names.
var genericOwnerWords = [][]byte{[]byte("challenge"), []byte("verification"), []byte("verify"), []byte("validation")}

// genericPlainOwnerSuffixes end plain (no underscore) owner labels that are
// dedicated to a token: nobody names a host "foo-domain-verification".
var genericPlainOwnerSuffixes = [][]byte{[]byte("-domain-verification"), []byte("-verification-code"), []byte("-site-verification")}

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
