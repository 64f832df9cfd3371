package tokens

import (
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Found is a TXT record of a response that the policy hides.
type Found struct {
	// RR is the record itself, as the response holds it.
	RR dns.RR
	// Section is where the response holds it: 0 the answer, 1 the
	// authority and 2 the additional section; Pos is its index there.
	Section, Pos int
	// Rule is the matcher rule that recognised the token, an index into
	// the policy's Matcher().Rules().
	Rule int
}

// Find appends to found the TXT records of m, in every section, that the
// policy hides at now, in section and position order, and returns them.
// TXT RRsets that carry an RRSIG in their section are left whole, since
// removing a record would make the signature fail validation: signed is
// set when such an RRset held a token the policy would otherwise hide.
//
// Find does not allocate unless found must grow: a caller passes a small
// buffer of its own (var buf [4]Found; Find(m, now, buf[:0])), and a
// response without a TXT record costs one pass over its sections.
//
// Find and Hide are not inlined, so that the stack they need at their
// deepest (inside the backend's write, where a filter runs) is the larger
// of the two, not their sum: every byte of it is stack a query goroutine
// may have to grow by copying.
//
//go:noinline
func (p *Policy) Find(m *dns.Msg, now time.Time, found []Found) (out []Found, signed bool) {
	if !hasTXT(m) {
		return found, false
	}
	var owner Owner // records of one RRset share it
	for si, sec := range [3][]dns.RR{m.Answer, m.Ns, m.Extra} {
		sigs := hasRRSIG(sec)
		for pos, rr := range sec {
			txt, ok := rr.(*dns.TXT)
			if !ok {
				continue
			}
			owner.Set(txt.Hdr.Name)
			mt := p.matcher.ClassifyAt(&owner, txt.Txt)
			if mt.Kind != Token || !p.Hides(mt.Rule, txt.Txt, now) {
				continue
			}
			if sigs && isSignedTXT(sec, txt.Hdr.Name) {
				signed = true
				continue
			}
			found = append(found, Found{RR: rr, Section: si, Pos: pos, Rule: mt.Rule})
		}
	}
	return found, signed
}

// Hide returns m without the records Find found in it, the response an
// external client gets for question q. When that leaves q without an
// answer, the name still holds other records (a name that holds nothing
// but hidden records is an Absence's to answer), so the response is the
// zone's NODATA: the one negative returns, the answer the rest of the
// chain gives for a type the name does not hold, under q. If negative
// returns nil, Hide makes a NODATA of its own: m's answer without the
// records, no authority records, and only the OPT record of the
// additional section.
//
// m is never modified: the result is a new message that shares m's
// records (which it does not modify either), so m may be held in a cache.
// Hide is not inlined, for the reason Find gives.
//
//go:noinline
func (p *Policy) Hide(m *dns.Msg, q dns.Question, found []Found, negative func() *dns.Msg) *dns.Msg {
	out := new(dns.Msg)
	*out = *m
	out.Answer = withoutHidden(m.Answer, 0, found)
	out.Ns = withoutHidden(m.Ns, 1, found)
	out.Extra = withoutHidden(m.Extra, 2, found)
	target := finalTarget(m.Answer, q.Name)
	if !answers(m.Answer, target, q.Qtype) || answers(out.Answer, target, q.Qtype) {
		return out
	}
	if n := negative(); n != nil {
		return n
	}
	// New slices: a section of out may still share its array with m.
	out.Ns = nil
	var extra []dns.RR
	for _, rr := range out.Extra {
		if rr.Header().Rrtype == dns.TypeOPT {
			extra = append(extra, rr)
		}
	}
	out.Extra = extra
	return out
}

// hasTXT reports whether any section of m holds a TXT record.
func hasTXT(m *dns.Msg) bool {
	for _, sec := range [3][]dns.RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range sec {
			if rr.Header().Rrtype == dns.TypeTXT {
				return true
			}
		}
	}
	return false
}

// hasRRSIG reports whether the section holds any RRSIG, so unsigned
// answers skip the per-record signature search.
func hasRRSIG(sec []dns.RR) bool {
	for _, rr := range sec {
		if rr.Header().Rrtype == dns.TypeRRSIG {
			return true
		}
	}
	return false
}

// isSignedTXT reports whether the section holds an RRSIG over owner's TXT
// RRset.
func isSignedTXT(sec []dns.RR, owner string) bool {
	for _, rr := range sec {
		if sig, ok := rr.(*dns.RRSIG); ok && sig.TypeCovered == dns.TypeTXT && strings.EqualFold(sig.Hdr.Name, owner) {
			return true
		}
	}
	return false
}

// withoutHidden returns a new slice of the records of section sec that are
// not hidden. found is in section and position order.
func withoutHidden(rrs []dns.RR, sec int, found []Found) []dns.RR {
	if len(rrs) == 0 {
		return rrs
	}
	out := make([]dns.RR, 0, len(rrs))
	h := 0
	for h < len(found) && found[h].Section < sec {
		h++
	}
	for pos, rr := range rrs {
		if h < len(found) && found[h].Section == sec && found[h].Pos == pos {
			h++
			continue
		}
		out = append(out, rr)
	}
	return out
}

// finalTarget follows the CNAME chain from qname through the answer.
func finalTarget(answer []dns.RR, qname string) string {
	target := qname
	for range len(answer) {
		next := ""
		for _, rr := range answer {
			if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(c.Hdr.Name, target) {
				next = c.Target
				break
			}
		}
		if next == "" {
			break
		}
		target = next
	}
	return target
}

// answers reports whether answer holds a record of qtype (any type but
// CNAME, for ANY) at target.
func answers(answer []dns.RR, target string, qtype uint16) bool {
	for _, rr := range answer {
		h := rr.Header()
		if !strings.EqualFold(h.Name, target) {
			continue
		}
		if h.Rrtype == qtype || (qtype == dns.TypeANY && h.Rrtype != dns.TypeCNAME) {
			return true
		}
	}
	return false
}
