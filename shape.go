package veil

// Predicates about the shape of an answer, the one place veil reads what
// kind of answer the chain gave: a denial for the limiter, a black lie of
// online signing, a NODATA or a referral, and whether a request asked for
// DNSSEC.

import (
	"strings"

	"github.com/miekg/dns"
)

// isDenial reports whether m tells the client that a name does not exist,
// or shows it the zone's names: what a brute forcer's misses and a
// walker's steps get, and what a resolver gets only for a typo. That is
// NXDOMAIN; a NOERROR answer without data whose NSEC record says the name
// holds nothing (compact denial with NXNAME, RFC 9824); and any answer to
// a question for NSEC or NSEC3 records, which only walkers ask for. (The
// black lies of the dnssec plugin, whose NSEC looks the same for a name
// that exists, are the caller's: isBlackLie, onthefly.go.) NODATA is not a
// denial: it says the name exists, which a brute forcer learns only from a
// hit, while a resolver gets it for the AAAA of every host without IPv6.
// Nor is a referral (NS, no SOA).
func isDenial(m *dns.Msg) bool {
	switch m.Rcode {
	case dns.RcodeNameError:
		return true
	case dns.RcodeSuccess:
	default:
		return false
	}
	if len(m.Question) != 1 {
		return false
	}
	qtype := m.Question[0].Qtype
	if qtype == dns.TypeNSEC || qtype == dns.TypeNSEC3 {
		return true
	}
	for _, rr := range m.Answer {
		if t := rr.Header().Rrtype; t == qtype || qtype == dns.TypeANY {
			return false
		}
	}
	for _, rr := range m.Ns {
		if nsec, ok := rr.(*dns.NSEC); ok && holdsNothing(nsec) {
			return true
		}
	}
	return false
}

// holdsNothing reports whether an NSEC record says its owner holds no data:
// its type bitmap has nothing but NSEC, RRSIG and NXNAME.
func holdsNothing(nsec *dns.NSEC) bool {
	for _, t := range nsec.TypeBitMap {
		if t != dns.TypeNSEC && t != dns.TypeRRSIG && t != typeNXNAME {
			return false
		}
	}
	return true
}

// typeNXNAME is the NXNAME pseudo-type of compact denial (RFC 9824).
const typeNXNAME = 128

// isBlackLie reports whether m, a NOERROR answer without data for its
// question, carries an NSEC at the question name whose next name is the
// name's immediate successor ("\000.NAME"): a denial of online signing,
// which does not tell NXDOMAIN from NODATA.
func isBlackLie(m *dns.Msg) bool {
	if m.Rcode != dns.RcodeSuccess || len(m.Question) != 1 || len(m.Answer) != 0 {
		return false
	}
	qname := m.Question[0].Name
	for _, rr := range m.Ns {
		if nsec, ok := rr.(*dns.NSEC); ok && strings.EqualFold(nsec.Hdr.Name, qname) &&
			len(nsec.NextDomain) == len(qname)+5 && strings.HasPrefix(nsec.NextDomain, `\000.`) &&
			strings.EqualFold(nsec.NextDomain[5:], qname) {
			return true
		}
	}
	return false
}

// blackLieOwner returns the owner of the NSEC record at name in m's
// authority section, as m spells it, or "".
func blackLieOwner(m *dns.Msg, name string) string {
	for _, rr := range m.Ns {
		if nsec, ok := rr.(*dns.NSEC); ok && strings.EqualFold(nsec.Hdr.Name, name) {
			return nsec.Hdr.Name
		}
	}
	return ""
}

// isNODATA reports whether m has the shape of a NODATA answer: NOERROR,
// an answer of nothing but the CNAME chain to the name (and its
// signatures), and no TXT record in the other sections (the file plugin
// answers a chain that ends at a name without the type with the zone's
// NS records, not the SOA).
func isNODATA(m *dns.Msg) bool {
	if m.Rcode != dns.RcodeSuccess {
		return false
	}
	for _, rr := range m.Answer {
		if t := rr.Header().Rrtype; t != dns.TypeCNAME && t != dns.TypeRRSIG {
			return false
		}
	}
	for _, sec := range [2][]dns.RR{m.Ns, m.Extra} {
		for _, rr := range sec {
			if rr.Header().Rrtype == dns.TypeTXT {
				return false
			}
		}
	}
	return true
}

// dnssecOK reports whether r sets the DO bit.
func dnssecOK(r *dns.Msg) bool {
	opt := r.IsEdns0()
	return opt != nil && opt.Do()
}

// isReferral reports whether m is a referral: a NOERROR answer that is not
// authoritative, with no answer records and NS records in the authority
// section.
func isReferral(m *dns.Msg) bool {
	if m == nil || m.Rcode != dns.RcodeSuccess || m.Authoritative || len(m.Answer) != 0 {
		return false
	}
	for _, rr := range m.Ns {
		if rr.Header().Rrtype == dns.TypeNS {
			return true
		}
	}
	return false
}

// carriesDNSSEC reports whether m holds a DNSSEC record (RRSIG, NSEC or
// NSEC3) in any section: an answer a validator checks, which a decoy
// cannot imitate.
func carriesDNSSEC(m *dns.Msg) bool {
	for _, sec := range [3][]dns.RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range sec {
			switch rr.Header().Rrtype {
			case dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3:
				return true
			}
		}
	}
	return false
}
