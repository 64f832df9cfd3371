package ratelimit

import "sync/atomic"

// Adopt returns a limiter with cfg's limits over prev's table: its counts,
// its blocks in force and its hash seed, so that a server that loads a new
// configuration keeps what each client of the zone did. It reports false,
// and the caller keeps a new, empty table, when cfg's table has another
// size: the keys would hash to other slots.
//
// With the same configuration it returns prev itself. Otherwise the new
// limits apply to the levels as they stand: a level is kept in denials
// (1/256 units), so a lower burst blocks a key whose level is already over
// it, a higher one frees a key sooner, and a changed rate drains the
// levels at the new rate from now on. Both limiters may charge the table
// at once while the old configuration's servers wind down; a table shared
// so is as safe as one limiter's table under concurrent queries.
func Adopt(prev *Limiter, cfg Config, now int64) (*Limiter, bool) {
	if prev == nil || tableLines(cfg.Slots) != prev.lines {
		return nil, false
	}
	l, err := withLimits(cfg)
	if err != nil {
		return nil, false
	}
	if l.cfg == prev.cfg {
		return prev, true
	}
	l.words, l.seed = prev.words, prev.seed
	// The horizon is a time from which no key is over its burst. Under
	// the new limits that is not prev's: take the time the fullest slot
	// of the table drains to the lowest burst at the slowest drain (the
	// client tier's), an overestimate, which only costs table reads.
	l.horizon.Store(prev.horizon.Load())
	if b := l.bursts.Load(); l.highestLevel(now) > b.rate[TierV4Host] {
		l.extendHorizon(l.drainedAt(now, l.highestLevel(now)-b.rate[TierV4Host], TierV4Host))
	}
	return l, true
}

// highestLevel returns the highest rate level of any slot at now, drained
// at the client tier's rate.
func (l *Limiter) highestLevel(now int64) uint64 {
	n := uint64(now) & timeMask
	var high uint64
	for i := 0; i < len(l.words); i += 2 {
		high = max(high, l.level(atomic.LoadUint64(&l.words[i]), TierV4Host, n))
	}
	return high
}
