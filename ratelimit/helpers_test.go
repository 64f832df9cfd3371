package ratelimit

// Shorthands the tests use: probe a key and charge or read it in one call.
// The query path probes once and keeps the Probe (ObservePositive,
// ObserveDenial), so these live with the tests.

// Observe probes k and charges a response to it at time now.
func (l *Limiter) Observe(k Key, denial bool, now int64) Result {
	var p Probe
	l.Probe(k, &p)
	return l.ObserveProbe(&p, denial, now)
}

// ObserveProbe charges a response to a probed key at time now.
func (l *Limiter) ObserveProbe(p *Probe, denial bool, now int64) Result {
	if !denial {
		l.ObservePositive(p, now)
		return Result{Tripped: NoTier}
	}
	return l.ObserveDenial(p, now)
}

// BlockedProbe is Blocked for a probed key.
func (l *Limiter) BlockedProbe(p *Probe, now int64) (bool, Tier) {
	if !l.AnyBlocked(now) {
		return false, NoTier
	}
	return l.blockedInTable(p, now)
}

// Config returns the limiter's configuration, with Slots as allocated.
func (l *Limiter) Config() Config { return l.cfg }
