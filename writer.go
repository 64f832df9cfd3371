package veil

import (
	"context"
	"net"
	"net/netip"
	"sync"

	"github.com/miekg/dns"

	"github.com/veildns/veil/ratelimit"
)

// externalWriter wraps the writer of an external query whose answer veil
// looks at: it hides verification tokens (tokens_filter.go), then classifies
// the answer and charges it to the client's prefixes (the enumeration
// limiter), in that order, so an answer that became NXDOMAIN counts as a
// denial. Writers are pooled, so a watched query allocates nothing unless
// its answer changes.
type externalWriter struct {
	dns.ResponseWriter
	v        *Veil
	ctx      context.Context
	req      *dns.Msg
	zi       int
	counters *serverCounters
	client   netip.Addr
	remote   net.Addr

	rs  reason // enforce: why
	act action // enforce: what

	limit  bool               // charge the limiter
	tokens bool               // filter tokens
	lim    *ratelimit.Limiter // the zone's limiter, if limit
	probe  ratelimit.Probe
	now    int64
}

var externalWriterPool = sync.Pool{New: func() any { return new(externalWriter) }}

// WriteMsg filters and charges the answer, then writes it.
func (ew *externalWriter) WriteMsg(m *dns.Msg) error {
	if ew.tokens {
		m = ew.filterTokens(m)
	}
	if ew.limit {
		if !isDenial(m) {
			ew.lim.ObservePositive(&ew.probe, ew.now)
			return ew.ResponseWriter.WriteMsg(m)
		}
		res := ew.lim.ObserveProbe(&ew.probe, true, ew.now)
		if res.Collision {
			ew.counters.collisions[ew.zi].Inc()
		}
		if res.Tripped != ratelimit.NoTier {
			ew.v.tripped(ew.counters, ew.zi, res, ew.client, ew.req.Question[0].Name, ew.now)
		}
	}
	return ew.ResponseWriter.WriteMsg(m)
}

// Write handles a backend that writes a packed message rather than calling
// WriteMsg: the message is unpacked so it is filtered and charged like any
// other. Bytes that do not unpack go out unchanged (there is nothing to
// filter in them, and the client deserves whatever the backend meant).
func (ew *externalWriter) Write(b []byte) (int, error) {
	m := new(dns.Msg)
	if err := m.Unpack(b); err != nil {
		return ew.ResponseWriter.Write(b)
	}
	if err := ew.WriteMsg(m); err != nil {
		return 0, err
	}
	return len(b), nil
}

// release drops the request's objects, which a pooled writer would keep
// alive, and returns it to the pool; the rest is overwritten by the next
// query. The veil, its limiter and counters it still points to live as long
// as the server; after a reload the pool lets go of them within two garbage
// collections. release is small enough to inline.
func (ew *externalWriter) release() {
	ew.ResponseWriter, ew.ctx, ew.req, ew.remote = nil, nil, nil, nil
	externalWriterPool.Put(ew)
}

// gate runs while some prefix of the zone is blocked (decide has probed the
// client into ew): it reads the client's prefixes from the table and
// answers the query itself if they are blocked, reporting whether it did.
func (v *Veil) gate(w dns.ResponseWriter, r *dns.Msg, counters *serverCounters, zi int, client netip.Addr, remote net.Addr, ew *externalWriter) bool {
	lim := ew.lim
	stream := isStream(remote)
	if stream {
		// A TCP client whose UDP traffic is blocked is the scanner or the
		// victim of a spoofer; its own TCP answers tell which, sooner.
		var udp ratelimit.Probe
		lim.Probe(ratelimit.Key{Addr: client}, &udp)
		ew.probe.Suspect, _ = lim.BlockedProbe(&udp, ew.now)
	}
	blocked, _ := lim.BlockedProbe(&ew.probe, ew.now)
	if !blocked {
		return false
	}
	act := limitRefuse
	if !stream {
		act = limitDrop
		if v.limit.slip > 0 && v.slips.Add(1)%v.limit.slip == 0 {
			act = limitSlip
		}
	}
	if v.logOnly {
		act = limitLogOnly
	}
	counters.limited[zi][act].Inc()
	v.logs.limitedEvent(act, client, r.Question[0].Name, v.zones[zi])
	switch act {
	case limitLogOnly:
		return false
	case limitRefuse:
		w.WriteMsg(refusal(r, dns.ExtendedErrorCodeBlocked))
	case limitSlip:
		w.WriteMsg(truncated(r))
	}
	return true
}
