package veil

import (
	"context"
	"net"
	"net/netip"
	"sync"

	"github.com/miekg/dns"

	"github.com/veildns/veil/ratelimit"
)

// limitAction is what happens to a query from a blocked prefix, the
// "action" label of LimitedCount.
type limitAction uint8

const (
	limitSlip    limitAction = iota // UDP: empty answer with TC=1, so a real client retries over TCP
	limitDrop                       // UDP: no answer
	limitRefuse                     // TCP: REFUSED with EDE 15 (Blocked)
	limitLogOnly                    // log-only: counted, answered as usual
	numLimitActions
)

var limitActionNames = [numLimitActions]string{"slip", "drop", "refuse", "log_only"}

// limitWriter wraps the writer of an external query the limiter watches. It
// classifies the answer the backend wrote and charges it to the client's
// prefixes. Writers are pooled, so a watched query allocates nothing.
type limitWriter struct {
	dns.ResponseWriter
	v        *Veil
	zi       int
	counters *serverCounters
	probe    ratelimit.Probe
	now      int64
	client   netip.Addr
	qname    string
}

var limitWriterPool = sync.Pool{New: func() any { return new(limitWriter) }}

// WriteMsg charges the answer and writes it unchanged.
func (lw *limitWriter) WriteMsg(m *dns.Msg) error {
	res := lw.v.limiters[lw.zi].ObserveProbe(&lw.probe, isDenial(m), lw.now)
	if res.Collision {
		lw.counters.collisions[lw.zi].Inc()
	}
	if res.Tripped != ratelimit.NoTier {
		lw.v.tripped(lw.counters, lw.zi, res, lw.client, lw.qname, lw.now)
	}
	return lw.ResponseWriter.WriteMsg(m)
}

// isDenial reports whether m denies existence: NXDOMAIN, or NOERROR without
// an answer to the question and with an SOA, NSEC or NSEC3 record in the
// authority section. That covers NODATA, NSEC/NSEC3 proofs, and denials
// that travel as NOERROR (online signing's "black lies", compact denial of
// existence with NXNAME, RFC 9824). A referral (NS, no SOA) is not a denial.
func isDenial(m *dns.Msg) bool {
	switch m.Rcode {
	case dns.RcodeNameError:
		return true
	case dns.RcodeSuccess:
	default:
		return false
	}
	if len(m.Question) == 1 {
		qtype := m.Question[0].Qtype
		for _, rr := range m.Answer {
			if t := rr.Header().Rrtype; t == qtype || qtype == dns.TypeANY {
				return false
			}
		}
	} else if len(m.Answer) > 0 {
		return false
	}
	for _, rr := range m.Ns {
		switch rr.Header().Rrtype {
		case dns.TypeSOA, dns.TypeNSEC, dns.TypeNSEC3:
			return true
		}
	}
	return false
}

// limited runs an external query through the limiter: a blocked prefix gets
// the block action, any other query goes on with a writer that charges its
// answer.
func (v *Veil) limited(ctx context.Context, w dns.ResponseWriter, r *dns.Msg, counters *serverCounters, zi int, client netip.Addr, remote net.Addr) (int, error) {
	stream := isStream(remote)
	lim := v.limiters[zi]
	lw := limitWriterPool.Get().(*limitWriter)
	lim.Probe(ratelimit.Key{Addr: client, Stream: stream}, &lw.probe)
	now := v.clock()
	if stream {
		// A TCP client whose UDP traffic is blocked is the scanner or the
		// victim of a spoofer; its own TCP answers tell which, sooner.
		var udp ratelimit.Probe
		lim.Probe(ratelimit.Key{Addr: client}, &udp)
		lw.probe.Suspect, _ = lim.BlockedProbe(&udp, now)
	}
	if blocked, _ := lim.BlockedProbe(&lw.probe, now); blocked {
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
		if !v.logOnly {
			limitWriterPool.Put(lw)
			switch act {
			case limitRefuse:
				w.WriteMsg(refusal(r, dns.ExtendedErrorCodeBlocked))
			case limitSlip:
				w.WriteMsg(truncated(r))
			}
			return dns.RcodeSuccess, nil
		}
	}
	lw.ResponseWriter, lw.v, lw.zi, lw.counters, lw.now = w, v, zi, counters, now
	lw.client, lw.qname = client, r.Question[0].Name
	rcode, err := v.next(ctx, lw, r)
	// Drop the references a pooled writer would keep alive; the rest is
	// overwritten by the next query.
	lw.ResponseWriter, lw.v, lw.counters, lw.qname = nil, nil, nil, ""
	limitWriterPool.Put(lw)
	return rcode, err
}

// tripped records that a prefix was blocked.
func (v *Veil) tripped(counters *serverCounters, zi int, res ratelimit.Result, client netip.Addr, qname string, now int64) {
	rule := "rate"
	if res.ByRatio {
		rule = "ratio"
	}
	TripCount.WithLabelValues(counters.server, v.zones[zi], counters.view, res.Tripped.String(), rule).Inc()
	v.trips[zi].add(now+v.limit.cfg.Block.Milliseconds(), counters)
	v.logs.tripEvent(res.Tripped, rule, client, qname, v.zones[zi], v.limit.cfg.Block, v.logOnly)
}

// tripRing remembers the expiry of the most recent blocks of one zone, so
// the blocked-prefixes gauge can count the blocks still in force. It holds
// tripRingSize entries; beyond that the gauge undercounts.
type tripRing struct {
	mu      sync.Mutex
	entries [tripRingSize]tripEntry
	next    int
}

const tripRingSize = 4096

type tripEntry struct {
	expiry   int64
	counters *serverCounters
}

func (tr *tripRing) add(expiry int64, sc *serverCounters) {
	tr.mu.Lock()
	tr.entries[tr.next] = tripEntry{expiry: expiry, counters: sc}
	tr.next = (tr.next + 1) % tripRingSize
	tr.mu.Unlock()
}

// active counts the blocks in force at now, per server/view.
func (tr *tripRing) active(now int64) map[*serverCounters]int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := map[*serverCounters]int{}
	for _, e := range tr.entries {
		if e.counters != nil && e.expiry > now {
			out[e.counters]++
		}
	}
	return out
}

// truncated returns an empty answer with TC=1: a real client retries over
// TCP, where its own counters judge it.
func truncated(r *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	m.SetReply(r)
	m.Truncated = true
	mirrorEDNS(r, m)
	return m
}
