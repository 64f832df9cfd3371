package veil

import (
	"context"

	"github.com/miekg/dns"
)

// hinfoTTL is the TTL of the synthesized RFC 8482 HINFO record. RFC 8482
// section 4.2 leaves it to the operator; an hour keeps resolvers from asking
// again soon without pinning a fake record for long.
const hinfoTTL = 3600

// refusal returns REFUSED for r with Extended DNS Error code ede (RFC 8914).
// The EDE rides in an OPT record, which RFC 6891 allows only if the request
// carried one, so a request without EDNS gets a plain REFUSED.
func refusal(r *dns.Msg, ede uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetRcode(r, dns.RcodeRefused)
	if o := mirrorEDNS(r, m); o != nil {
		o.Option = append(o.Option, &dns.EDNS0_EDE{InfoCode: ede})
	}
	return m
}

// hinfoAnswer returns the RFC 8482 section 4.2 answer to an ANY query: one
// authoritative HINFO record with CPU "RFC8482" and an empty OS, at the
// question name. It is the same for every name, existing or not, so it tells
// an enumerator nothing.
func hinfoAnswer(r *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	q := r.Question[0]
	qclass := q.Qclass
	if qclass == dns.ClassANY || qclass == dns.ClassNONE {
		qclass = dns.ClassINET
	}
	m.Answer = []dns.RR{&dns.HINFO{
		Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeHINFO, Class: qclass, Ttl: hinfoTTL},
		Cpu: "RFC8482",
		Os:  "",
	}}
	mirrorEDNS(r, m)
	return m
}

// anyAnswer returns what an external ANY query gets under the hinfo
// action: at or below a zone cut, the backend's referral, which an A query
// for the name gets too and so tells nothing more; elsewhere hinfoAnswer,
// as an authoritative HINFO below a cut would claim data the zone does not
// hold. The backend is asked for type A, not ANY: the any plugin, which
// follows veil in the usual chain, answers every ANY itself, referral or
// not.
func (v *Veil) anyAnswer(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) *dns.Msg {
	req := r.Copy()
	req.Question[0].Qtype = dns.TypeA
	cw := &captureWriter{ResponseWriter: w}
	if _, err := v.next(ctx, cw, req); err != nil || !isReferral(cw.msg) {
		return hinfoAnswer(r)
	}
	// A copy: the backend, or a plugin between it and veil, may hold on
	// to the message it wrote.
	m := cw.msg.Copy()
	m.Id, m.Question = r.Id, []dns.Question{r.Question[0]}
	return m
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

// mirrorEDNS adds an OPT record to m if r has one, with r's UDP size and DO
// bit (RFC 3225), and returns it; otherwise it returns nil.
func mirrorEDNS(r, m *dns.Msg) *dns.OPT {
	ro := r.IsEdns0()
	if ro == nil {
		return nil
	}
	m.SetEdns0(ro.UDPSize(), ro.Do())
	return m.IsEdns0()
}

// truncated returns an empty answer with TC=1, which a blocked UDP query
// gets now and then (the limiter's slip): a real client retries over TCP,
// where its own counters judge it.
func truncated(r *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Truncated = true
	mirrorEDNS(r, m)
	return m
}
