package tokens

import "strings"

// publicOwnerLabels are owner labels under which every TXT record stays
// public: DKIM keys (selector._domainkey), DMARC policies and external report
// authorisations (_dmarc, x._report._dmarc), MTA-STS (_mta-sts), BIMI
// (selector._bimi), ACME DNS-01 challenges and AT Protocol handles. TLS-RPT
// lives at _smtp._tls, a pair of labels; isPublicOwner checks it apart.
var publicOwnerLabels = []string{"_domainkey", "_dmarc", "_mta-sts", "_bimi", "_acme-challenge", "_atproto"}

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

// isPublicOwner reports whether owner (a domain name in presentation form)
// has a label under which TXT records must stay public. Only labels that
// start with an underscore are looked at.
func isPublicOwner(owner string) bool {
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
				if len(label) == len(l) && strings.EqualFold(label, l) {
					return true
				}
			}
			if strings.EqualFold(prev, "_smtp") && strings.EqualFold(label, "_tls") {
				return true
			}
		}
		prev = label
	}
	return false
}

// isPublicValue reports whether the lower-cased head of a TXT value starts
// with a tag of a record that must stay public.
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
