// Package tokens recognises domain-verification tokens in TXT records: the
// records SaaS vendors and certificate authorities ask a domain's owner to
// publish ("google-site-verification=...", "MS=ms...", a TXT at
// "_github-challenge-ORG"), which tell anyone who reads them which services
// an organisation uses.
//
// A Matcher classifies one TXT record, given its owner name and its
// character-strings, as a token of a known vendor (from the embedded
// catalog), a token of an unknown vendor (generic shapes such as
// "...-domain-verification=..."), a token matching an operator's own
// pattern, or not a token. It reads the value as a vendor's checker does:
// escapes resolved, blanks and literal quotes around it and blanks around
// its key's '=' dropped, so " MS=ms1", "\"MS=ms1\"" and "MS = ms1" are
// tokens too. Records that must stay public are recognised
// first and never classified as tokens: SPF, DMARC, DKIM, MTA-STS, TLS-RPT,
// BIMI, ACME challenges and AT Protocol handles. A record is public by its
// value's shape, never by its owner label alone: the label only says where
// a shape (an ACME digest, a DKIM tag list, an AT Protocol DID) is
// expected, and a token at such a label is a token (public.go).
//
// A Policy is one zone's decision over a Matcher: which tokens external
// clients do not see (by vendor, by reveal window, by the token's own
// "expiry=" attribute). Policy.Find and Policy.Hide rewrite a response
// (a *dns.Msg) accordingly: the hidden records taken out of every section,
// and an answer left without data shaped as NODATA or NXDOMAIN with the
// zone's SOA. Signed TXT RRsets are left whole.
//
// The package knows nothing of CoreDNS: veil decides which clients get the
// rewritten response, asks the zone's backend for its SOA, and counts and
// logs what was hidden.
package tokens
