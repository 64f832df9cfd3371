package veil

// The transfer and ANY policy: what an external AXFR, IXFR or ANY query
// gets (refused, dropped, or, for ANY, RFC 8482's HINFO or the referral
// an A query gets at a zone cut), and the Corefile's transfer and any
// options.

import (
	"context"
	"net/netip"
	"strings"

	"github.com/coredns/caddy"

	"github.com/miekg/dns"
)

// policyAction returns what the policy does with an external request, and
// why: the transfer action for AXFR and IXFR (whatever the opcode or
// transport), the transport's ANY action for a standard ANY query, and
// actPass for everything else.
func (v *Veil) policyAction(r *dns.Msg, stream bool) (action, reason) {
	switch r.Question[0].Qtype {
	case dns.TypeAXFR:
		return v.transfer, reasonAXFR
	case dns.TypeIXFR:
		return v.transfer, reasonIXFR
	case dns.TypeANY:
		switch {
		case r.Opcode != dns.OpcodeQuery:
			return actPass, reasonANY
		case stream:
			return v.anyTCP, reasonANY
		}
		return v.anyUDP, reasonANY
	}
	return actPass, 0
}

// policy counts and logs a transfer or ANY policy action; in log-only mode
// the request then passes on unchanged.
func (v *Veil) policy(vd verdict, rs reason, client netip.Addr, qname string) verdict {
	PolicyCount.WithLabelValues(vd.counters.server, vd.zone.name, vd.counters.view, reasonNames[rs], actionNames[vd.act], modeLabel(v.logOnly)).Inc()
	v.logs.policyEvent(rs, vd.act, v.logOnly, client, qname, vd.zone.name)
	if v.logOnly {
		return verdict{}
	}
	return vd
}

// hinfoTTL is the TTL of the synthesized RFC 8482 HINFO record. RFC 8482
// section 4.2 leaves it to the operator; an hour keeps resolvers from asking
// again soon without pinning a fake record for long.
const hinfoTTL = 3600

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

const allowedAny = "hinfo, refuse, drop or pass"

// parseTransfer parses "transfer refuse|drop".
func parseTransfer(c *caddy.Controller, args []string) (action, error) {
	if len(args) != 1 || (args[0] != "refuse" && args[0] != "drop") {
		return 0, c.Errf("transfer: got %q; allowed: transfer refuse|drop", strings.Join(args, " "))
	}
	if args[0] == "drop" {
		return actDrop, nil
	}
	return actRefuse, nil
}

// parseAny parses "any MODE [tcp MODE]".
func parseAny(c *caddy.Controller, args []string) (udp, tcp action, err error) {
	if len(args) != 1 && (len(args) != 3 || args[1] != "tcp") {
		return 0, 0, c.Errf("any: got %q; allowed: any MODE [tcp MODE], MODE one of %s", strings.Join(args, " "), allowedAny)
	}
	udp, ok := anyModes[args[0]]
	if !ok {
		return 0, 0, c.Errf("any: unknown mode %q; allowed: %s", args[0], allowedAny)
	}
	tcp = udp
	if len(args) == 3 {
		if tcp, ok = anyModes[args[2]]; !ok {
			return 0, 0, c.Errf("any: unknown tcp mode %q; allowed: %s", args[2], allowedAny)
		}
	}
	return udp, tcp, nil
}

var anyModes = map[string]action{"hinfo": actHINFO, "refuse": actRefuse, "drop": actDrop, "pass": actPass}
