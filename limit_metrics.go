package veil

import (
	"github.com/coredns/coredns/plugin"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/veildns/veil/ratelimit"
)

var (
	// LimitedCount counts queries from flagged prefixes by action: decoy
	// (a decoy for a name that does not exist), answered (the true answer
	// of a name that exists), slip (UDP, empty TC=1 answer), drop (UDP),
	// refuse (TCP, REFUSED with EDE 15) or log_only (counted and answered
	// as usual).
	LimitedCount = newCounterVec("limited_requests_total",
		"Counter of queries from prefixes the enumeration limiter flagged, by what they got.",
		"server", "zone", "view", "action")

	// DecoyCount counts decoys: answers shaped like one of the zone's hosts
	// that flagged prefixes got for names that do not exist (mode enforce),
	// or would have got (log_only).
	DecoyCount = newCounterVec("decoys_total",
		"Counter of decoy answers flagged prefixes got for names that do not exist (or would have got, mode log_only).",
		"server", "zone", "view", "mode")

	// CanaryCount counts external queries for a canary name or a name
	// below one, each of which flagged its client's prefix.
	CanaryCount = newCounterVec("canary_queries_total",
		"Counter of external queries for canary names (or names below them), each flagging its client's prefix.",
		"server", "zone", "view")

	// TripCount counts prefixes the limiter blocked, by tier (v4_32, v4_24,
	// v6_64, v6_56, v6_48) and rule (rate, ratio or stub).
	TripCount = newCounterVec("limiter_trips_total",
		"Counter of client prefixes the enumeration limiter blocked, by prefix tier and rule.",
		"server", "zone", "view", "tier", "rule")

	// CollisionCount counts denials whose two table slots disagreed because
	// another prefix shares one of them; many collisions mean the table is
	// too small for the traffic.
	CollisionCount = newCounterVec("limiter_collisions_total",
		"Counter of denials charged to limiter slots shared with another prefix.",
		"server", "zone", "view")

	// DenialCount counts the denials the limiter charged to external
	// clients, all prefixes together: the zone-wide signal of an
	// enumeration spread over many prefixes or public resolvers, which no
	// prefix's budget sees (alert VeilZoneDenialSurge).
	DenialCount = newCounterVec("limiter_denials_total",
		"Counter of denials (NXDOMAIN, NSEC walking steps) the enumeration limiter charged to external clients, all prefixes together.",
		"server", "zone", "view")
)

// The limiter's gauges, computed at scrape time (gauges.go) so the query
// path is free of gauge updates.
var (
	blockedDesc = prometheus.NewDesc(
		prometheus.BuildFQName(plugin.Namespace, pluginName, "limiter_blocked_prefixes"),
		"Client prefixes the enumeration limiter blocks now (counts up to 4096 per zone).",
		[]string{"server", "zone", "view"}, nil)
	slotsDesc = prometheus.NewDesc(
		prometheus.BuildFQName(plugin.Namespace, pluginName, "limiter_table_slots"),
		"Slots of the enumeration limiter's table, by state: used (holding live state) or total.",
		[]string{"server", "zone", "view", "state"}, nil)
)

// limitCounters fills in the limiter's counters of zc and creates at 0 the
// trip series the configuration can move: every tier by the rate rule, the
// client tiers by the ratio rule if it is on.
func (v *Veil) limitCounters(zc *zoneCounters, zone string) {
	for _, la := range limitedActions {
		zc.limited[la.act] = LimitedCount.WithLabelValues(zc.server, zone, zc.view, la.label)
	}
	zc.collisions = CollisionCount.WithLabelValues(zc.server, zone, zc.view)
	zc.denials = DenialCount.WithLabelValues(zc.server, zone, zc.view)
	zc.canaryHits = CanaryCount.WithLabelValues(zc.server, zone, zc.view)
	if v.limit.decoys.respond == respondDecoy {
		zc.flaggedAnswered = LimitedCount.WithLabelValues(zc.server, zone, zc.view, "answered")
		zc.flaggedDecoy = LimitedCount.WithLabelValues(zc.server, zone, zc.view, "decoy")
		for i, logOnly := range []bool{false, true} {
			zc.decoys[i] = DecoyCount.WithLabelValues(zc.server, zone, zc.view, modeLabel(logOnly))
		}
	}
	for t := range ratelimit.NumTiers {
		client := t == ratelimit.TierV4Host || t == ratelimit.TierV6Net
		for rule, on := range map[ratelimit.Rule]bool{
			ratelimit.RuleRate:   true,
			ratelimit.RuleRatio:  v.limit.cfg.Ratio > 0 && client,
			ratelimit.RuleStub:   v.limit.cfg.StubRate > 0,
			ratelimit.RuleCanary: client && len(v.limit.decoys.canaries) > 0,
		} {
			if on {
				TripCount.WithLabelValues(zc.server, zone, zc.view, t.String(), rule.String())
			}
		}
	}
}

// collectLimiter reports a zone's limiter gauges for each pair.
func (v *Veil) collectLimiter(ch chan<- prometheus.Metric, z *zone, pairs []*zoneCounters) {
	now := coarseMillis()
	active := z.trips.active(now)
	used, total := z.limiter.Occupancy(now)
	for _, zc := range pairs {
		ch <- prometheus.MustNewConstMetric(blockedDesc, prometheus.GaugeValue, float64(active[zc]), zc.server, z.name, zc.view)
		ch <- prometheus.MustNewConstMetric(slotsDesc, prometheus.GaugeValue, float64(used), zc.server, z.name, zc.view, "used")
		ch <- prometheus.MustNewConstMetric(slotsDesc, prometheus.GaugeValue, float64(total), zc.server, z.name, zc.view, "total")
	}
}
