package veil

import (
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
