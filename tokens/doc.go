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
// pattern, or not a token. Records that must stay public are recognised
// first and never classified as tokens: SPF, DMARC, DKIM, MTA-STS, TLS-RPT,
// BIMI, ACME challenges and AT Protocol handles.
//
// The package knows nothing of CoreDNS or of DNS messages; veil decides
// what to do with a token per client and zone.
package tokens
