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
// after leading blanks or followed by a tab, the public labels at any depth
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
