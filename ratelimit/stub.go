package ratelimit

import "sync/atomic"

// The stub budget: a client that asks like a stub resolver or a scanning
// tool (recursion desired, and no EDNS or DNSSEC OK: brute forcers ask
// without EDNS, NSEC walkers with DO) is held to a leaky bucket of every
// answer it gets, as BIND's responses-per-second limit holds every client,
// on top of the denial rules. A recursive resolver asks an authoritative
// server without recursion desired, and does not meet it.

// ObserveStub charges an answer, whatever it is, to a stub-like key at time
// now: to each tier's stub bucket, kept in the key's own slots of the table
// under a hash of their own. A tier whose stub bucket goes over its burst
// trips: the key's ordinary slots of that tier are blocked, so Blocked
// sees it like any other trip. A key already blocked does not trip again.
// With a StubRate of 0 it does nothing.
func (l *Limiter) ObserveStub(p *Probe, now int64) Result {
	res := Result{Tripped: NoTier}
	if l.stubDrainQ32[p.first] == 0 {
		return res
	}
	n := uint64(now) & timeMask
	b := l.bursts.Load()
	l.hash(p, p.n)
	stub := *p
	stub.meta |= stubMeta
	stub.hashed = 0
	l.hash(&stub, p.n)
	for i := range p.n {
		t, s := p.first+Tier(i), stub.slots[i]
		la := l.addStubLevel(s[0], t, n)
		lb := l.addStubLevel(s[1], t, n)
		res.Collision = res.Collision || la != lb
		if min(la, lb) <= b.stub[t] || res.Tripped != NoTier {
			continue
		}
		a, c := p.slots[i][0], p.slots[i][1]
		if l.level(atomic.LoadUint64(&l.words[a]), t, n) > b.rate[t] {
			continue // blocked already
		}
		l.extendHorizon(now + l.blockMs + 1)
		l.block(a, c, t, n)
		res.Tripped, res.Rule = t, RuleStub
	}
	return res
}

// stubMeta marks the stub buckets' hash input, apart from the transport.
const stubMeta = 2

// addStubLevel drains the stub bucket at i to now, adds one answer and
// returns the new level.
func (l *Limiter) addStubLevel(i uint64, t Tier, now uint64) uint64 {
	for {
		old := atomic.LoadUint64(&l.words[i])
		lvl := min(levelAt(old, l.stubDrainQ32[t], now)+levelScale, l.stubCap[t])
		if atomic.CompareAndSwapUint64(&l.words[i], old, lvl<<timeBits|now) {
			return lvl
		}
	}
}
