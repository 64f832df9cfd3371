package veil

import (
	"context"
	"strings"

	"github.com/miekg/dns"

	"github.com/veildns/veil/tokens"
)

// hiddenToken is one TXT record the filter takes out of a response: the
// record at position pos of section sec (0 answer, 1 authority, 2
// additional).
type hiddenToken struct {
	rr        dns.RR
	sec, pos  int
	rule      int
	dedicated bool
}

// filterTokens returns the response an external client gets for r: m with
// the verification tokens the zone's policy hides taken out of every
// section. When that leaves the question without an answer, the response
// takes the shape the backend gives a name without the record: NODATA (the
// name holds other data, or the token shared an RRset with records that
// stay) or NXDOMAIN (the name held nothing but dedicated tokens: a label
// that names its vendor, such as _github-challenge-org, or any underscore
// label), with the zone's SOA in the authority section. m is never
// modified: a changed response is a new message.
//
// TXT RRsets that carry an RRSIG in the response are left whole, since
// removing a record would make the signature fail validation; they are
// counted in TokensSignedCount.
func (ew *externalWriter) filterTokens(m *dns.Msg) *dns.Msg {
	if !hasTXT(m) {
		return m
	}
	// Room for a few hidden records on the stack; more move to the heap.
	// Finding and hiding are functions of their own, so the stack this
	// needs at its deepest (inside the backend's write) is the larger of
	// the two, not their sum: every byte of it is stack a query goroutine
	// may have to grow by copying.
	var buf [4]hiddenToken
	hidden := ew.findTokens(m, buf[:0])
	if len(hidden) == 0 {
		return m
	}
	return ew.hideTokens(m, hidden)
}

// findTokens appends to hidden the TXT records of m the zone's policy hides.
//
//go:noinline
func (ew *externalWriter) findTokens(m *dns.Msg, hidden []hiddenToken) []hiddenToken {
	v, pol := ew.v, ew.v.tokens[ew.zi]
	now := v.wallClock()
	var owner tokens.Owner // records of one RRset share it
	signed := false
	for si, sec := range [3][]dns.RR{m.Answer, m.Ns, m.Extra} {
		sigs := hasRRSIG(sec)
		for pos, rr := range sec {
			txt, ok := rr.(*dns.TXT)
			if !ok {
				continue
			}
			owner.Set(txt.Hdr.Name)
			mt := pol.matcher.ClassifyAt(&owner, txt.Txt)
			if mt.Kind != tokens.Token || !pol.hidden(mt.Rule, txt.Txt, now) {
				continue
			}
			if sigs && isSignedTXT(sec, txt.Hdr.Name) {
				signed = true
				continue
			}
			// A token at an underscore label (RFC 8552) is as dedicated as
			// one recognised by its label: nobody names a host that way.
			dedicated := mt.Dedicated || strings.HasPrefix(txt.Hdr.Name, "_")
			hidden = append(hidden, hiddenToken{rr: rr, sec: si, pos: pos, rule: mt.Rule, dedicated: dedicated})
		}
	}
	if signed {
		ew.counters.tokensSigned[ew.zi].Inc()
		v.logs.signedTokensEvent(v.zones[ew.zi])
	}
	return hidden
}

// hideTokens counts and logs the hidden records and, unless veil only logs,
// returns m without them, in the shape filterTokens describes.
//
//go:noinline
func (ew *externalWriter) hideTokens(m *dns.Msg, hidden []hiddenToken) *dns.Msg {
	v, pol := ew.v, ew.v.tokens[ew.zi]
	for _, h := range hidden {
		ew.counters.tokenCounter(ew.zi, h.rule, v.zones[ew.zi], pol.matcher.Rules()[h.rule].ID, v.logOnly).Inc()
	}
	v.logs.tokenEvent(v.logOnly, ew.client, ew.req.Question[0].Name, v.zones[ew.zi], len(hidden))
	if v.logOnly {
		return m
	}

	// A shallow copy with new sections: records are shared with m but
	// never modified, so m (which the cache may hold) stays as it was.
	out := new(dns.Msg)
	*out = *m
	out.Answer = withoutHidden(m.Answer, 0, hidden)
	out.Ns = withoutHidden(m.Ns, 1, hidden)
	out.Extra = withoutHidden(m.Extra, 2, hidden)
	if len(ew.req.Question) != 1 {
		return out
	}
	q := ew.req.Question[0]
	target := finalTarget(m.Answer, q.Name)
	if !answers(m.Answer, target, q.Qtype) || answers(out.Answer, target, q.Qtype) {
		return out
	}
	// The question has lost its answer: shape the response as the backend
	// shapes one for a name without the record.
	if dedicatedOnly(m.Answer, target, hidden) {
		out.Rcode = dns.RcodeNameError
	}
	// New slices: a section of out may still share its array with m.
	out.Ns = nil
	if soa := ew.zoneSOA(m); soa != nil {
		out.Ns = []dns.RR{soa}
	}
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
	for _, sec := range [][]dns.RR{m.Answer, m.Ns, m.Extra} {
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
// not hidden. hidden is in section and position order.
func withoutHidden(rrs []dns.RR, sec int, hidden []hiddenToken) []dns.RR {
	if len(rrs) == 0 {
		return rrs
	}
	out := make([]dns.RR, 0, len(rrs))
	h := 0
	for h < len(hidden) && hidden[h].sec < sec {
		h++
	}
	for pos, rr := range rrs {
		if h < len(hidden) && hidden[h].sec == sec && hidden[h].pos == pos {
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

// dedicatedOnly reports whether every record the answer held at target was
// a hidden token recognised by its owner label alone: the name exists for
// nothing but the token, so without it the name does not exist.
func dedicatedOnly(answer []dns.RR, target string, hidden []hiddenToken) bool {
	found := false
	for _, rr := range answer {
		if !strings.EqualFold(rr.Header().Name, target) || rr.Header().Rrtype == dns.TypeCNAME {
			continue
		}
		ok := false
		for _, h := range hidden {
			if h.rr == rr {
				ok = h.dedicated
				break
			}
		}
		if !ok {
			return false
		}
		found = true
	}
	return found
}

// zoneSOA asks the next plugin for the SOA of the zone m's answer comes
// from, the record the backend puts in the authority section of its own
// negative answers. The zone apex is the owner of the NS records of m's
// authority section (the file plugin adds them to positive answers), or
// veil's zone.
func (ew *externalWriter) zoneSOA(m *dns.Msg) dns.RR {
	apex := ew.v.zones[ew.zi]
	for _, rr := range m.Ns {
		if rr.Header().Rrtype == dns.TypeNS || rr.Header().Rrtype == dns.TypeSOA {
			apex = rr.Header().Name
			break
		}
	}
	req := new(dns.Msg)
	req.SetQuestion(apex, dns.TypeSOA)
	cw := &captureWriter{ResponseWriter: ew.ResponseWriter}
	ctx := ew.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	if _, err := ew.v.next(ctx, cw, req); err != nil || cw.msg == nil {
		return nil
	}
	for _, rr := range cw.msg.Answer {
		if rr.Header().Rrtype == dns.TypeSOA {
			return rr
		}
	}
	return nil
}

// captureWriter keeps the response of an internal query instead of sending
// it.
type captureWriter struct {
	dns.ResponseWriter
	msg *dns.Msg
}

// WriteMsg implements dns.ResponseWriter.
func (cw *captureWriter) WriteMsg(m *dns.Msg) error {
	cw.msg = m
	return nil
}

// Write implements dns.ResponseWriter.
func (cw *captureWriter) Write(b []byte) (int, error) {
	m := new(dns.Msg)
	if err := m.Unpack(b); err != nil {
		return 0, err
	}
	cw.msg = m
	return len(b), nil
}
