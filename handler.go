package veil

import (
	"context"
	"net/netip"

	"github.com/coredns/coredns/plugin"

	ot "github.com/opentracing/opentracing-go"

	"github.com/miekg/dns"
)

// action is what veil does with a request: the one value that says what
// happens to it.
type action uint8

const (
	actPass   action = iota // on to the next plugin with the original writer
	actWatch                // on to the next plugin through a watcher (watch.go)
	actRefuse               // REFUSED with an Extended DNS Error (RFC 8914)
	actDrop                 // no answer; a stream connection is closed
	actHINFO                // RFC 8482 section 4.2 HINFO answer
	actSlip                 // an empty answer with TC=1 (a blocked UDP query)
	numActions
)

// actionNames are the "action" labels of the policy actions.
var actionNames = [...]string{actPass: "pass", actRefuse: "refuse", actDrop: "drop", actHINFO: "hinfo"}

// verdict is what ServeDNS does with one request, and where. It has four
// fields and 24 bytes: the compiler keeps a struct of at most four fields
// and 32 bytes in registers, and copies a larger one through memory on
// every query (a paired VeilAdded measurement showed 8 to 15 ns for a
// verdict that also held the client and the time).
type verdict struct {
	act      action
	flags    verdictFlags
	zone     *zone
	counters *zoneCounters
}

// verdictFlags qualify a verdict.
type verdictFlags uint16

const (
	viaStream  verdictFlags = 1 << iota // the request came over a stream transport
	doLimit                             // act watch: charge the answer to the client's prefixes
	doFilter                            // act watch: hide verification tokens in the answer
	suspect                             // a TCP client whose UDP traffic is blocked (limit.go)
	limited                             // the limiter's answer: a refusal says EDE 15 (Blocked)
	doHide                              // act watch: the zone hides names: look the question up among them (tokens_hidden.go)
	stubLike                            // act watch: recursion desired, without EDNS or with DO: the limiter's stub budget applies
	flagged                             // act watch: the client's prefix is flagged: names that do not exist get decoys (decoy.go)
	blockedOwn                          // act watch, flagged: the client's own transport is blocked too, for answers a decoy cannot imitate
)

// has reports whether every flag of f is set.
func (vd verdict) has(f verdictFlags) bool { return vd.flags&f == f }

// ServeDNS implements plugin.Handler: read the client's address, decide one
// verdict, act on it.
//
// Requests outside veil's zones and requests from trusted clients go to the
// next plugin with the original writer, so their answers are exactly what
// CoreDNS without veil sends. External requests for zone transfers (AXFR,
// IXFR, whatever the opcode or transport) and ANY queries get the configured
// action; a query from a prefix the limiter blocks gets the limiter's; all
// other external requests pass on, through a watcher when the limiter must
// charge their answer or the token filter must read it.
func (v *Veil) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	// Each query runs on a goroutine whose stack starts small and grows by
	// copying; growStack grows it here, while it is shallow and cheap to
	// copy, so the plugins after veil run without growing it (growstack.go).
	growStack()
	client, known := clientAddr(w.RemoteAddr())
	vd := v.decide(ctx, w, r, client, known)
	var ww *watcher
	switch vd.act {
	case actPass:
	case actWatch:
		ww = v.watch(ctx, w, r, vd, client)
		w, r = ww, ww.sent
	default:
		return v.answer(ctx, w, r, vd)
	}
	// next, inlined by hand for a server block without a trace plugin
	// (the compiler will not inline an interface call): one frame less
	// on every query's stack.
	var (
		rcode int
		err   error
	)
	if v.untraced && v.Next != nil {
		rcode, err = v.Next.ServeDNS(ctx, w, r)
	} else {
		rcode, err = v.next(ctx, w, r)
	}
	if ww != nil {
		ww.release()
	}
	return rcode, err
}

// decide classifies a request from client (known: an address veil could
// read), counts it, and returns its verdict. It is kept out of line so
// ServeDNS's own frame, on every query's stack while the next plugins run,
// stays small.
//
//go:noinline
func (v *Veil) decide(ctx context.Context, w dns.ResponseWriter, r *dns.Msg, client netip.Addr, known bool) verdict {
	if len(r.Question) != 1 {
		// The server rejects these before any plugin runs; never guess here.
		return verdict{}
	}
	q := &r.Question[0]
	z := v.zones.match(q.Name)
	if z == nil {
		return verdict{}
	}
	zc := z.counters.get(ctx)
	tags := v.clients.tags(client)
	if tags&tagTrusted != 0 {
		zc.requests[classTrusted].Inc()
		return verdict{}
	}
	vd := verdict{zone: z, counters: zc}
	if isStream(w.RemoteAddr()) {
		vd.flags = viaStream
	}
	if (q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR) && tsigVerified(w, r) {
		zc.requests[classTSIG].Inc()
		return verdict{}
	}
	zc.requests[classExternal].Inc()
	var rs reason
	if vd.act, rs = v.policyAction(r, vd.has(viaStream)); vd.act != actPass {
		return v.policy(vd, rs, client, q.Name)
	}
	if z.limiter != nil && known && tags&tagExempt == 0 {
		vd.flags |= doLimit
		if asksLikeStub(r) {
			vd.flags |= stubLike
		}
	}
	if z.tokens != nil {
		if q.Qtype == dns.TypeTXT || q.Qtype == dns.TypeANY {
			vd.flags |= doFilter
		}
		// A watched query is looked up among the hidden names by the watcher.
		if !v.logOnly {
			if vd.has(doLimit) {
				if z.hides() {
					vd.flags |= doHide
				}
			} else {
				vd.flags |= z.hideFlags(q)
			}
		}
	}
	if vd.flags&(doLimit|doFilter) == 0 {
		return verdict{}
	}
	vd.act = actWatch
	// While no prefix of the zone is blocked, the usual case, one load
	// says so; else admit reads the client's prefixes (limit.go).
	if vd.has(doLimit) && (z.limiter.AnyBlocked(coarseMillis()) || len(z.canaries) != 0 || vd.has(stubLike)) {
		return v.admit(vd, client, r)
	}
	return vd
}

// asksLikeStub reports whether r asks as stubs and scanning tools do:
// recursion desired, and without EDNS or with DO (the limiter's stub
// budget applies).
func asksLikeStub(r *dns.Msg) bool {
	if !r.RecursionDesired {
		return false
	}
	opt := r.IsEdns0()
	return opt == nil || opt.Do()
}

// answer carries out a verdict veil answers itself.
//
//go:noinline
func (v *Veil) answer(ctx context.Context, w dns.ResponseWriter, r *dns.Msg, vd verdict) (int, error) {
	switch vd.act {
	case actRefuse:
		ede := dns.ExtendedErrorCodeProhibited
		if vd.has(limited) {
			ede = dns.ExtendedErrorCodeBlocked
		}
		w.WriteMsg(refusal(r, ede))
	case actHINFO:
		w.WriteMsg(v.anyAnswer(ctx, w, r))
	case actSlip:
		w.WriteMsg(truncated(r))
	case actDrop:
		if vd.has(viaStream) {
			// Close the connection rather than leave the client waiting
			// for an answer that will not come.
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
	if v.Next != nil && (v.untraced || ot.SpanFromContext(ctx) == nil) {
		return v.Next.ServeDNS(ctx, w, r)
	}
	return plugin.NextOrFailure(v.Name(), v.Next, ctx, w, r)
}

// tsigVerified reports whether r carries a TSIG record that the server
// verified with one of its configured keys. miekg/dns reports a nil
// TsigStatus for requests without TSIG, so the record must be checked too.
func tsigVerified(w dns.ResponseWriter, r *dns.Msg) bool {
	return r.IsTsig() != nil && w.TsigStatus() == nil
}

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
