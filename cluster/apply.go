package cluster

import (
	"github.com/veildns/veil/ratelimit"
)

// receive decodes a payload another replica wrote and applies its records
// to the zones' limiters; what it rejects it counts by reason. A payload
// of this replica's own is skipped: its limiter charged it already.
func (s *Syncer) receive(payload string, wallNow int64) {
	if len(payload) >= headerLen && payload[4:12] == string(s.id[:]) {
		return
	}
	now := s.o.Now()
	_, err := Decode([]byte(payload),
		func(r Record) { s.apply(r, now, wallNow) },
		func(r Reason) { s.m.rejected[r].Inc() })
	if err != nil {
		s.m.rejected[reasonOf(err)].Inc()
	}
}

// apply applies one well-formed record: a count is charged to the key as
// if the query had come here, a block is installed for the time it has
// left. A zone this replica does not guard, a block too far in the future
// and a block of a trusted or exempt network are rejected.
func (s *Syncer) apply(r Record, now, wallNow int64) {
	z, ok := s.byName[r.Zone]
	if !ok {
		s.m.rejected[ReasonZone].Inc()
		return
	}
	switch r.Kind {
	case KindDenials, KindAnswers:
		c := ratelimit.ChargeDenial
		if r.Kind == KindAnswers {
			c = ratelimit.ChargeStub
		}
		z.limiter.ChargeRemote(r.Key, c, r.N, now)
	case KindBlock:
		remaining := r.Until - wallNow
		if remaining > (s.o.Block + MaxSkew).Milliseconds() {
			s.m.rejected[ReasonFuture].Inc()
			return
		}
		if p, _ := ratelimit.TierPrefix(r.Key.Addr, r.Tier); s.o.Exempt(p) {
			s.m.rejected[ReasonExempt].Inc()
			return
		}
		if !r.Rule.Known() {
			// A newer replica's rule: a block all the same.
			s.m.unknownRules.Inc()
		}
		if remaining > 0 && z.limiter.Install(r.Key, r.Tier, remaining, now) {
			z.blocks.Inc()
		}
	}
	s.m.received[r.Kind].Inc()
}
