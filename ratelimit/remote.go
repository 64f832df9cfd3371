package ratelimit

import (
	"math/bits"
	"net/netip"
	"sync/atomic"
)

// Cluster mode: what other replicas counted (a Tally's drains) and tripped
// (block events) is applied to this replica's table, so a client spread
// over replicas meets the same limits as one that asks a single replica.

// ChargeRemote charges n charges that other replicas counted for key k
// (k.Addr as Tally reports it) to this table at time now: n denials to every
// tier's rate bucket (as ObserveDenial would, n times, at once), or n answers
// to every tier's stub bucket (as ObserveStub). It never trips a block (the
// replica that saw the query trips and publishes it); a key it takes over a
// burst is blocked until that level drains, so it extends the horizon to
// cover that. Returns whether any tier of k is over its burst afterwards
// (the stub burst, for ChargeStub). Safe for concurrent use with queries; no
// allocation.
func (l *Limiter) ChargeRemote(k Key, c Charge, n uint32, now int64) bool {
	if !k.Addr.IsValid() {
		return false // a decoder's zero Addr: no key to charge
	}
	var p Probe
	l.Probe(k, &p)
	units := min(uint64(n)*levelScale, maxLevel)
	t0 := uint64(now) & timeMask
	b := l.bursts.Load()
	switch c {
	case ChargeDenial:
		l.hash(&p, p.n)
		over := false
		var until int64
		for i := range p.n {
			t, s := p.first+Tier(i), p.slots[i]
			d, c := l.drainQ32[t], l.blockLevel[t]
			lvl := min(l.addUnits(s[0], d, c, t0, units), l.addUnits(s[1], d, c, t0, units))
			if lvl > b.rate[t] {
				over = true
				until = max(until, l.drainedAt(now, lvl-b.rate[t], t))
			}
		}
		if until != 0 {
			l.extendHorizon(until)
		}
		return over
	case ChargeStub:
		if l.stubDrainQ32[p.first] == 0 {
			return false // the stub budget is off
		}
		// The stub buckets live under a hash of their own (ObserveStub).
		p.meta |= stubMeta
		p.hashed = 0
		l.hash(&p, p.n)
		over := false
		for i := range p.n {
			t, s := p.first+Tier(i), p.slots[i]
			d, c := l.stubDrainQ32[t], l.stubCap[t]
			lvl := min(l.addUnits(s[0], d, c, t0, units), l.addUnits(s[1], d, c, t0, units))
			over = over || lvl > b.stub[t]
		}
		return over
	}
	return false
}

// addUnits drains the bucket at i (drainQ32 a millisecond) to now, adds
// units, at most up to capLevel, and returns the new level.
func (l *Limiter) addUnits(i, drainQ32, capLevel, now, units uint64) uint64 {
	for {
		old := atomic.LoadUint64(&l.words[i])
		lvl := min(levelAt(old, drainQ32, now)+units, capLevel)
		if atomic.CompareAndSwapUint64(&l.words[i], old, lvl<<timeBits|now) {
			return lvl
		}
	}
}

// Install blocks tier t of key k (k.Addr any address inside the prefix;
// only t's prefix bits count) for remaining milliseconds from now, as a trip
// on another replica did: both slots are raised so the level stays over the
// burst for remaining ms (capped at the configured Block), never lowered.
// Returns false, doing nothing, when t is not a tier of k's family, k.Addr
// is the zero Addr or remaining <= 0.
func (l *Limiter) Install(k Key, t Tier, remaining int64, now int64) bool {
	if !k.Addr.IsValid() || t >= NumTiers || t.Is4() != k.Addr.Is4() || remaining <= 0 {
		return false
	}
	remaining = min(remaining, l.blockMs)
	var p Probe
	l.Probe(k, &p)
	l.hash(&p, p.n)
	s := p.slots[t-p.first]
	// The level drains by floor(elapsed x drainQ32 / 2^32): burst plus
	// the drain of remaining ms is over the burst at now+remaining-1 and
	// at the burst at now+remaining (a drain of at least one level unit a
	// millisecond, which a rate of 4 a second gives).
	hi, lo := mulQ32(uint64(remaining), l.drainQ32[t])
	lvl := uint64(maxLevel)
	if hi == 0 {
		lvl = min(l.bursts.Load().rate[t]+lo, maxLevel)
	}
	// The horizon first, so a query that sees the raised level sees it.
	l.extendHorizon(now + remaining + 1)
	l.raise(s[0], s[1], t, uint64(now)&timeMask, lvl)
	return true
}

// mulQ32 returns x times the 32.32 fixed-point q, truncated: the high word
// is non-zero when the product does not fit 64 bits.
func mulQ32(x, q uint64) (hi, lo uint64) {
	h, l := bits.Mul64(x, q)
	return h >> 32, h<<32 | l>>32
}

// raise raises both slots of a key to at least level lvl of tier t at now.
func (l *Limiter) raise(a, b uint64, t Tier, now, lvl uint64) {
	for _, i := range [2]uint64{a, b} {
		for {
			old := atomic.LoadUint64(&l.words[i])
			if l.level(old, t, now) >= lvl {
				break
			}
			if atomic.CompareAndSwapUint64(&l.words[i], old, lvl<<timeBits|now) {
				break
			}
		}
	}
}

// TierPrefix returns the prefix of tier t that addr falls in, and false if t
// is not a tier of addr's family. Block events carry it.
func TierPrefix(addr netip.Addr, t Tier) (netip.Prefix, bool) {
	if !addr.IsValid() || t >= NumTiers || t.Is4() != addr.Is4() {
		return netip.Prefix{}, false
	}
	pfx, err := addr.WithZone("").Prefix(tierBits[t])
	return pfx, err == nil
}

// ClientTier returns the client tier of addr's family: TierV4Host or
// TierV6Net.
func ClientTier(addr netip.Addr) Tier {
	if addr.Is4() {
		return TierV4Host
	}
	return TierV6Net
}

// Is4 reports whether t is an IPv4 tier (TierV4Host, TierV4Net).
func (t Tier) Is4() bool { return t == TierV4Host || t == TierV4Net }
