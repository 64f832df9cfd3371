package ratelimit

import (
	"sync/atomic"
)

// Charging the table: each watched answer is charged to its key with
// ObservePositive or ObserveDenial.

// Result is what ObserveDenial did.
type Result struct {
	// Tripped is the tier whose limit this response broke, or NoTier.
	Tripped Tier
	// Rule is the rule that tripped it, or RuleNone.
	Rule Rule
	// Collision is set when the key's two slots disagreed: another key has
	// been charged in one of them, so the estimate is the other.
	Collision bool
}

// ObservePositive charges a response that is not a denial to a probed key
// at time now. It cannot trip anything: it only counts in the client tier's
// ratio window. It is small enough to inline into the caller's per-answer
// path.
func (l *Limiter) ObservePositive(p *Probe, now int64) {
	if l.ratio1024 != 0 {
		l.addRatio(p.slots[0][0]+1, uint64(now)&timeMask, false)
	}
}

// ObserveDenial charges a denial to a probed key at time now: to every
// tier's rate bucket, and to the client tier's ratio window. A tier trips
// when this denial takes it over its burst, or when the ratio rule holds for
// the client tier; a tier that trips is blocked. A key that is already
// blocked (veil in log-only mode still answers it) does not trip again until
// its block has drained.
func (l *Limiter) ObserveDenial(p *Probe, now int64) Result {
	return l.observeDenial(p, now, levelScale)
}

// ObserveSignedDenial is ObserveDenial for a denial that counts
// Config.SignedWeight of one.
func (l *Limiter) ObserveSignedDenial(p *Probe, now int64) Result {
	return l.observeDenial(p, now, l.signedUnits)
}

// observeDenial charges a denial of units level units.
func (l *Limiter) observeDenial(p *Probe, now int64, units uint64) Result {
	n := uint64(now) & timeMask
	b := l.bursts.Load()
	res := Result{Tripped: NoTier}
	blocked := false // over a burst before this response: no new trip
	var levels [3]uint64
	l.hash(p, p.n)
	for i := range p.n {
		t, s := p.first+Tier(i), p.slots[i]
		la := l.addLevel(s[0], t, n, units)
		lb := l.addLevel(s[1], t, n, units)
		res.Collision = res.Collision || la != lb
		levels[i] = min(la, lb)
		blocked = blocked || levels[i]-units > b.rate[t]
	}
	var until int64
	for i := range p.n {
		t := p.first + Tier(i)
		if levels[i] <= tripLevel(b, p, t) {
			continue
		}
		if !blocked {
			until = max(until, now+l.blockMs+1)
			l.extendHorizon(until)
			l.block(p.slots[i][0], p.slots[i][1], t, n)
			res.Tripped, res.Rule = t, RuleRate
			blocked = true
			continue
		}
		if levels[i] <= b.rate[t] {
			continue
		}
		// Over its burst already (blocked, or charged on in log-only
		// mode): the horizon must cover the drain.
		until = max(until, l.drainedAt(now, levels[i]-b.rate[t], t))
	}
	if until != 0 {
		l.extendHorizon(until)
	}
	if l.ratio1024 == 0 {
		return res
	}
	// One ratio word per key, the first slot's: collisions add to both
	// counts, and one atomic add keeps positive answers cheap.
	client, a, c := p.first, p.slots[0][0], p.slots[0][1]
	total, denials := l.addRatio(a+1, n, true)
	if !blocked && total >= l.minCount && denials*1024 >= l.ratio1024*total {
		l.extendHorizon(now + l.blockMs + 1)
		l.block(a, c, client, n)
		res.Tripped, res.Rule = client, RuleRatio
	}
	return res
}

// tripLevel is the level over which a denial trips tier t of a probed
// key: the tier's burst in b, or SuspectBurst's share of it for a Suspect
// key.
func tripLevel(b *bursts, p *Probe, t Tier) uint64 {
	if p.Suspect {
		return min(b.rate[t], uint64(SuspectBurst*tierMultiplier[t]*levelScale))
	}
	return b.rate[t]
}

// addLevel drains the rate word at i to now, adds units and returns the new
// level.
func (l *Limiter) addLevel(i uint64, t Tier, now, units uint64) uint64 {
	for {
		old := atomic.LoadUint64(&l.words[i])
		lvl := min(l.level(old, t, now)+units, l.blockLevel[t])
		if atomic.CompareAndSwapUint64(&l.words[i], old, lvl<<timeBits|now) {
			return lvl
		}
	}
}

// drainedAt returns the time at which excess level units of tier t will
// have drained, counted from now.
func (l *Limiter) drainedAt(now int64, excess uint64, t Tier) int64 {
	d := l.drainQ32[t]
	return now + int64((excess<<32+d-1)/d) + 1
}

// extendHorizon moves the horizon to at least until, rounded up to
// horizonGrain. A query that races with the trip blocking its own prefix
// may pass, as it may when it reads the table just before the trip.
func (l *Limiter) extendHorizon(until int64) {
	until = (until + horizonGrain) &^ (horizonGrain - 1)
	for {
		cur := l.horizon.Load()
		if cur >= until || l.horizon.CompareAndSwap(cur, until) {
			return
		}
	}
}

// block raises both slots of a key to the tier's blocked level, so the key
// stays over its burst for the block time.
func (l *Limiter) block(a, b uint64, t Tier, now uint64) {
	l.raise(a, b, t, now, l.blockLevel[t])
}

// ratioAddMargin keeps the ratio word's 16-bit counts from carrying into the
// window field when concurrent atomic adds race past the saturation check:
// it bounds how many goroutines may add at once near saturation.
const ratioAddMargin = 4096

// addRatio counts a response in the ratio word at i for the current window
// and returns the window's responses and denials.
func (l *Limiter) addRatio(i, now uint64, denial bool) (total, denials uint64) {
	win := l.window(now)
	for {
		old := atomic.LoadUint64(&l.words[i])
		total, denials = old>>16&maxCount, old&maxCount
		if old>>32 == win && total < maxCount-ratioAddMargin {
			// The window is current and far from saturation: one atomic
			// add, which cannot fail, instead of a compare-and-swap loop
			// that contends when many queries of one client arrive at once.
			var inc uint64 = 1 << 16
			if denial {
				inc |= 1
			}
			w := atomic.AddUint64(&l.words[i], inc)
			return w >> 16 & maxCount, w & maxCount
		}
		if old>>32 != win {
			total, denials = 0, 0
		}
		nt, nd := min(total+1, maxCount), denials
		if denial {
			nd = min(denials+1, maxCount)
		}
		if old>>32 == win && nt == total && nd == denials {
			// Saturated: the counts cannot grow, so nothing is written and
			// a client this busy does not contend on its word.
			return total, denials
		}
		total, denials = nt, nd
		if atomic.CompareAndSwapUint64(&l.words[i], old, win<<32|total<<16|denials) {
			return total, denials
		}
	}
}

// Occupancy returns how many slots hold state that still matters at now: a
// rate level above zero or counts in the current ratio window.
func (l *Limiter) Occupancy(now int64) (used, total int) {
	n := uint64(now) & timeMask
	win := l.window(n)
	for i := 0; i < len(l.words); i += 2 {
		rw, qw := atomic.LoadUint64(&l.words[i]), atomic.LoadUint64(&l.words[i+1])
		// Tier does not matter for "above zero" except for the drain speed;
		// use the slowest (client) drain so a slot counts as long as any
		// tier could still need it.
		if l.level(rw, TierV4Host, n) > 0 || (qw != 0 && qw>>32 == win) {
			used++
		}
	}
	return used, len(l.words) / 2
}
