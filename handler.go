package veil

import (
	"context"

	"github.com/coredns/coredns/plugin"

	"github.com/miekg/dns"
	ot "github.com/opentracing/opentracing-go"

	"github.com/veildns/veil/ratelimit"
)

// action is what veil does with an external request it has a policy for.
type action uint8

const (
	actionPass   action = iota // hand it to the next plugin unchanged
	actionRefuse               // REFUSED with Extended DNS Error 18 (Prohibited)
	actionDrop                 // no answer; a stream connection is closed
	actionHINFO                // RFC 8482 section 4.2 HINFO answer
)

var actionNames = [...]string{actionPass: "pass", actionRefuse: "refuse", actionDrop: "drop", actionHINFO: "hinfo"}

// ServeDNS implements plugin.Handler.
//
// Requests outside veil's zones and requests from trusted clients go to the
// next plugin with the original writer, so their answers are exactly what
// CoreDNS without veil sends. External requests for zone transfers (AXFR,
// IXFR, whatever the opcode or transport) and ANY queries get the configured
// action; all other external requests pass on, through the enumeration
// limiter (limit.go) when it is configured and, for TXT and ANY queries, the
// verification-token filter (tokens_filter.go), both on one wrapping writer
// (writer.go).
func (v *Veil) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	// Each query runs on a goroutine whose stack starts small and grows by
	// copying. growStack grows it here, while it is shallow and cheap to
	// copy, so that the plugins after veil run without growing it (see
	// growstack.go and README, Throughput). ServeDNS also keeps its own
	// frame small and calls the next plugin itself, with no helper frame
	// in between.
	growStack()
	rt, ew := v.decide(ctx, w, r)
	switch rt {
	case routeWatch:
		var (
			rcode int
			err   error
		)
		if v.Next != nil && (v.untraced || ot.SpanFromContext(ctx) == nil) {
			rcode, err = v.Next.ServeDNS(ctx, ew, r)
		} else {
			rcode, err = v.nextTraced(ctx, ew, r)
		}
		ew.release()
		return rcode, err
	case routeEnforce:
		return v.enforce(ctx, w, r, ew)
	case routeAnswered:
		return dns.RcodeSuccess, nil
	}
	if v.Next != nil && (v.untraced || ot.SpanFromContext(ctx) == nil) {
		return v.Next.ServeDNS(ctx, w, r)
	}
	return v.nextTraced(ctx, w, r)
}

// route is what ServeDNS does with a request.
type route uint8

const (
	routePass     route = iota // on to the next plugin with the original writer
	routeWatch                 // on to the next plugin through the externalWriter
	routeEnforce               // a policy action, described by the externalWriter
	routeAnswered              // the limiter answered (or dropped) it already
)

// decide classifies a request and counts it. For routeWatch and
// routeEnforce it returns a pooled externalWriter that describes the
// request; a blocked prefix's query gets the limiter's action here.
//
//go:noinline
func (v *Veil) decide(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (route, *externalWriter) {
	if len(r.Question) != 1 {
		// The server rejects these before any plugin runs; never guess here.
		return routePass, nil
	}
	q := &r.Question[0]
	zi := v.zones.match(q.Name)
	if zi < 0 {
		return routePass, nil
	}
	counters := v.counters.get(ctx)
	remote := w.RemoteAddr()
	client, ok := clientAddr(remote)
	var tags uint8 // which of the trusted and exempt lists hold the client
	if ok {
		tags = v.clientsN.tags(client)
	}
	if tags&tagTrusted != 0 {
		counters.requests[zi][classTrusted].Inc()
		return routePass, nil
	}

	var (
		rs  reason
		act action
	)
	switch q.Qtype {
	case dns.TypeAXFR, dns.TypeIXFR:
		if tsigVerified(w, r) {
			counters.requests[zi][classTSIG].Inc()
			return routePass, nil
		}
		rs, act = reasonAXFR, v.transfer
		if q.Qtype == dns.TypeIXFR {
			rs = reasonIXFR
		}
	case dns.TypeANY:
		act = v.anyUDP
		if isStream(remote) {
			act = v.anyTCP
		}
		if r.Opcode != dns.OpcodeQuery {
			act = actionPass
		}
		rs = reasonANY
	default:
		act = actionPass
	}
	counters.requests[zi][classExternal].Inc()
	limit := act == actionPass && v.limit != nil && ok && tags&tagExempt == 0
	filter := act == actionPass && v.tokens[zi] != nil && (q.Qtype == dns.TypeTXT || q.Qtype == dns.TypeANY)
	if act == actionPass && !limit && !filter {
		return routePass, nil
	}
	ew := externalWriterPool.Get().(*externalWriter)
	ew.ResponseWriter, ew.v, ew.ctx, ew.req = w, v, ctx, r
	ew.zi, ew.counters, ew.client, ew.remote = zi, counters, client, remote
	ew.limit, ew.tokens = limit, filter
	if act != actionPass {
		ew.rs, ew.act = rs, act
		return routeEnforce, ew
	}
	if limit {
		// Probe the client for the limiter. While no prefix of the zone
		// is blocked, the usual case, one load says so; otherwise gate
		// reads the table.
		ew.lim = v.limiters[zi]
		ew.lim.Probe(ratelimit.Key{Addr: client, Stream: isStream(remote)}, &ew.probe)
		ew.now = v.millis()
		if ew.lim.AnyBlocked(ew.now) && v.gate(w, r, counters, zi, client, remote, ew) {
			ew.release()
			return routeAnswered, nil
		}
	}
	return routeWatch, ew
}

// enforce counts, logs and carries out the policy action ew describes, and
// releases ew.
//
//go:noinline
func (v *Veil) enforce(ctx context.Context, w dns.ResponseWriter, r *dns.Msg, ew *externalWriter) (int, error) {
	counters, zi, client, remote, rs, act := ew.counters, ew.zi, ew.client, ew.remote, ew.rs, ew.act
	ew.release()
	PolicyCount.WithLabelValues(counters.server, v.zones[zi], counters.view, reasonNames[rs], actionNames[act], modeLabel(v.logOnly)).Inc()
	v.logs.event(rs, act, v.logOnly, client, r.Question[0].Name, v.zones[zi])
	if v.logOnly {
		return v.next(ctx, w, r)
	}

	switch act {
	case actionRefuse:
		w.WriteMsg(refusal(r, dns.ExtendedErrorCodeProhibited))
	case actionHINFO:
		w.WriteMsg(hinfoAnswer(r))
	case actionDrop:
		if isStream(remote) {
			// Close the connection rather than leave the client waiting
			// for an answer that will not come. For UDP Close is a no-op.
			w.Close()
		}
	}
	// The answer is written (or deliberately not): tell the server not to
	// write an error response of its own.
	return dns.RcodeSuccess, nil
}

// next hands the request to the next plugin. plugin.NextOrFailure wraps the
// writer in a 32-byte plugin-tracking writer on every hop, an allocation per
// query; that writer only matters where it wraps the prometheus plugin's
// recorder, which is never veil's writer since veil runs after prometheus.
// So veil calls the next plugin directly, and goes through NextOrFailure
// only when a trace span is active, so traces keep their per-plugin spans.
func (v *Veil) next(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	if v.Next == nil || (!v.untraced && ot.SpanFromContext(ctx) != nil) {
		return v.nextTraced(ctx, w, r)
	}
	return v.Next.ServeDNS(ctx, w, r)
}

// nextTraced is next through plugin.NextOrFailure, kept out of line so that
// next stays small enough to inline and adds no stack frame of its own.
//
//go:noinline
func (v *Veil) nextTraced(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	return plugin.NextOrFailure(v.Name(), v.Next, ctx, w, r)
}

// tsigVerified reports whether r carries a TSIG record that the server
// verified with one of its configured keys. miekg/dns reports a nil
// TsigStatus for requests without TSIG, so the record must be checked too.
func tsigVerified(w dns.ResponseWriter, r *dns.Msg) bool {
	return r.IsTsig() != nil && w.TsigStatus() == nil
}
