package veil

import (
	"slices"
	"strings"
	"time"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin/dnssec"
	"github.com/coredns/coredns/plugin/metrics"
	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"
)

// This file is veil on zones that CoreDNS's dnssec plugin signs on the fly
// (it sits below veil in the chain). That plugin answers a DNSSEC-OK query
// for a name that does not exist with NOERROR and an NSEC "black lie" at
// the name itself, the shape of its NODATA, so the answer alone does not
// say whether the name exists; and it signs whatever the chain below it
// answers, so a hidden name's twin comes back signed for the twin. veil
// finds the signer at start-up and:
//
//   - learns the real outcome of a black lie by asking the chain again
//     without DNSSEC OK, which the dnssec plugin passes through unsigned
//     (the cache plugin below veil keeps that answer, so a repeat costs a
//     cache hit): an NXDOMAIN there is a denial for the limiter;
//   - signs a hidden name's answer anew with the signer, for the client's
//     question, as the plugin signs the answer for a name that does not
//     exist, so it validates, and looks, like one.

// onTheFlySigner returns the server block's dnssec plugin, or nil.
func onTheFlySigner(cfg *dnsserver.Config) *dnssec.Dnssec {
	if d, ok := cfg.Handler("dnssec").(dnssec.Dnssec); ok {
		return &d
	}
	return nil
}

// hiddenOutcome asks the chain the question veil sent on, without DNSSEC
// OK, and reports whether the name does not exist: the outcome a black
// lie hides.
//
//go:noinline
func (ww *watcher) hiddenOutcome() bool {
	m := ww.unsignedAnswer()
	return m != nil && m.Rcode == dns.RcodeNameError
}

// unsignedAnswer returns the chain's answer to the question veil sent on,
// asked without DNSSEC OK, which the dnssec plugin passes through
// unsigned; nil if there is none.
func (ww *watcher) unsignedAnswer() *dns.Msg {
	// A shallow copy but for the OPT record, whose DO bit it clears.
	req := new(dns.Msg)
	*req = *ww.sent
	req.Extra = make([]dns.RR, len(ww.sent.Extra))
	for i, rr := range ww.sent.Extra {
		if opt, ok := rr.(*dns.OPT); ok {
			o := *opt
			o.SetDo(false)
			rr = &o
		}
		req.Extra[i] = rr
	}
	return ww.ask(req)
}

// resigning is what signing an answer veil changed anew needs: the
// signer's zone, the TTL it signed each RRset with (each RRSIG keeps it)
// and the TTL each record carried, learnt as the DNSSEC records are taken
// out, and the client's name as the answer veil imitates spells it.
type resigning struct {
	zone    string
	signed  map[rrKey]uint32
	sent    map[rrKey]uint32
	spelled string
}

// resigning returns what signAnew needs, made on first use, for a
// DNSSEC-OK query of a server block that signs on the fly; nil for any
// other query, whose answers veil leaves unsigned (or signed whole).
func (ww *watcher) resigning() *resigning {
	if ww.resign == nil && ww.v.signer != nil && dnssecOK(ww.req) {
		ww.resign = &resigning{signed: map[rrKey]uint32{}, sent: map[rrKey]uint32{}}
	}
	return ww.resign
}

// strip takes the RRSIG and NSEC records out of m's sections (m's own
// slices: the caller owns m) and notes their TTLs.
func (r *resigning) strip(m *dns.Msg) {
	for _, sec := range []*[]dns.RR{&m.Answer, &m.Ns, &m.Extra} {
		out := (*sec)[:0]
		for _, rr := range *sec {
			k := keyOf(rr)
			if sig, ok := rr.(*dns.RRSIG); ok {
				r.signed[rrKey{name: k.name, rtype: sig.TypeCovered}], r.zone = sig.OrigTtl, sig.SignerName
			}
			if k.rtype != dns.TypeOPT {
				r.sent[k] = rr.Header().Ttl
			}
			if k.rtype != dns.TypeRRSIG && k.rtype != dns.TypeNSEC {
				out = append(out, rr)
			}
		}
		*sec = out
	}
}

// signAnew returns m, an answer the signer signed and veil changed (a
// twin's, renamed to the client's name, or one without hidden tokens),
// signed anew for the client's question as the dnssec plugin signs it:
// its DNSSEC records are dropped, the rest signed again with the TTLs the
// signer saw, which its signature cache knows, and every record then
// carries the TTL the answer had, so a cache's count-down shows as
// before. A negative answer gets the black lie of the client's name,
// spelled as the answer it imitates spells it. m is not modified: it may
// share records with a cache.
func (ww *watcher) signAnew(m *dns.Msg) *dns.Msg {
	r := ww.resign
	m = m.Copy()
	r.strip(m)
	var opt []dns.RR
	m.Extra = slices.DeleteFunc(m.Extra, func(rr dns.RR) bool {
		if rr.Header().Rrtype == dns.TypeOPT {
			opt = append(opt, rr)
			return true
		}
		return false
	})
	if r.zone == "" {
		m.Extra = append(m.Extra, opt...)
		return m // nothing was signed
	}
	if len(m.Answer)+len(m.Ns) == 0 {
		// The black lie of an NSEC question: the plugin moved it to the
		// answer and dropped the SOA, which signing it anew needs.
		ww.restoreSOA(m, r)
	}
	for _, sec := range [3][]dns.RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range sec {
			if ttl, ok := r.signed[keyOf(rr)]; ok {
				rr.Header().Ttl = ttl
			}
		}
	}
	if r.spelled != "" {
		m.Question = []dns.Question{{Name: r.spelled, Qtype: m.Question[0].Qtype, Qclass: m.Question[0].Qclass}}
	}
	out := ww.v.signer.Sign(request.Request{Req: m, Zone: r.zone}, time.Now().UTC(), metrics.WithServer(ww.ctx))
	out.Question = ww.req.Question
	for _, sec := range [3][]dns.RR{out.Answer, out.Ns, out.Extra} {
		for i, rr := range sec {
			ttl, ok := r.sent[keyOf(rr)]
			if !ok {
				continue
			}
			if rr.Header().Rrtype == dns.TypeRRSIG {
				// The signer's signature cache holds this record: a copy
				// gets the TTL.
				rr = dns.Copy(rr)
				sec[i] = rr
			}
			rr.Header().Ttl = ttl
		}
	}
	out.Extra = append(out.Extra, opt...)
	return out
}

// restoreSOA gives m, the black lie of an NSEC question without its
// DNSSEC records, the SOA the signer had, from the chain's unsigned answer,
// with the TTL of the NSEC it signed.
func (ww *watcher) restoreSOA(m *dns.Msg, r *resigning) {
	plain := ww.unsignedAnswer()
	if plain == nil {
		return
	}
	for _, rr := range plain.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			soa = dns.Copy(soa).(*dns.SOA)
			if ttl, ok := r.signed[rrKey{rtype: dns.TypeNSEC}]; ok {
				soa.Hdr.Ttl = ttl
			}
			m.Ns, m.Rcode = []dns.RR{soa}, plain.Rcode
			return
		}
	}
}

// rrKey names a record's TTL in signAnew: its owner in lower case, its type
// and, for an RRSIG, the type it covers. A black lie's NSEC and its RRSIG
// go by type alone, since their owner changes.
type rrKey struct {
	name           string
	rtype, covered uint16
}

func keyOf(rr dns.RR) rrKey {
	h := rr.Header()
	k := rrKey{name: strings.ToLower(h.Name), rtype: h.Rrtype}
	if sig, ok := rr.(*dns.RRSIG); ok {
		k.covered = sig.TypeCovered
	}
	if h.Rrtype == dns.TypeNSEC || k.covered == dns.TypeNSEC {
		k.name = ""
	}
	return k
}
