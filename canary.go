package veil

import (
	"net/netip"

	"github.com/veildns/veil/ratelimit"
)

// Canary names (the limit block's canary option) are names no one is told:
// not published, not linked, in the zone or not. Only someone guessing or
// walking the zone asks for one, so an external query for a canary, or for
// a name below one, flags the client's prefix at once, as a trip does, with
// no false positive by construction. The query itself is then answered as
// any query of a flagged prefix: a decoy if the name does not exist.

// isCanary reports whether qname is one of z's canary names or below one.
func (z *zone) isCanary(qname string) bool {
	for _, c := range z.canaries {
		if inZone(qname, c) {
			return true
		}
	}
	return false
}

// canaryHit flags client's prefix in the zone of vd for the block time: its
// UDP key, and its TCP key too when the query came over TCP (a TCP source
// cannot be spoofed; a spoofed UDP canary query flags the spoofed address
// over UDP only). It counts the query and records the trip (counted by
// rule "canary", logged, shared with the other replicas).
func (v *Veil) canaryHit(vd verdict, client netip.Addr, qname string) {
	z, now := vd.zone, coarseMillis()
	tier := ratelimit.ClientTier(client)
	key := ratelimit.Key{Addr: client}
	block := v.limit.cfg.Block.Milliseconds()
	z.limiter.Install(key, tier, block, now)
	if vd.has(viaStream) {
		key.Stream = true
		z.limiter.Install(key, tier, block, now)
	}
	vd.counters.canaryHits.Inc()
	v.tripped(z, vd.counters, ratelimit.Result{Tripped: tier, Rule: ratelimit.RuleCanary}, key, qname, now)
}
