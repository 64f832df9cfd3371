package veil

import (
	"net/netip"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/veildns/veil/cluster"
	"github.com/veildns/veil/ratelimit"
)

// This file is the glue of the limit block's cluster option: the zones'
// tallies that count what the query path charges, the cluster.Syncer that
// exchanges those counts and the trips with the other replicas, and its
// start and stop. Its parsing is cluster_setup.go, its metrics
// cluster_metrics.go; package cluster holds the exchange itself.

// clusterTallySlots sizes each zone's tally: the client keys a replica can
// report per sync interval (cluster's README section has the cost).
const clusterTallySlots = 4096

// clusterState is a running veil's link to the other replicas, set at
// start-up.
type clusterState struct {
	sync    *cluster.Syncer
	dropped prometheus.Counter // charges a full tally could not hold
}

// startCluster starts sharing the zones' limiter state, if the limit block
// has a cluster option. The first of the block's listeners labels its
// metrics.
func (v *Veil) startCluster(listeners []string) error {
	if v.limit == nil || v.limit.cluster == nil || len(listeners) == 0 {
		return nil
	}
	server := listeners[0]
	cs := v.limit.cluster
	zones := make([]cluster.Zone, len(v.zones))
	for i, z := range v.zones {
		z.clusterIndex = i
		zones[i] = cluster.Zone{Name: z.name, Limiter: z.limiter, Tally: z.tally, Blocks: clusterBlocks.WithLabelValues(server, z.name)}
	}
	m := newClusterMetrics(server)
	s, err := cluster.New(cluster.Options{
		Redis: cs.redis, Prefix: cs.prefix, Interval: cs.interval, Block: v.limit.cfg.Block,
		Now: coarseMillis, Exempt: cs.shields, Metrics: m, Log: log,
	}, zones)
	if err != nil {
		return err
	}
	v.cluster = &clusterState{sync: s, dropped: m.Dropped}
	s.Start()
	return nil
}

// stopCluster stops the exchange and closes the connection.
func (v *Veil) stopCluster() {
	if v.cluster != nil {
		v.cluster.sync.Stop()
	}
}

// tally counts a charge of the probed client for the other replicas. It
// runs on the query path: one lookup in a fixed table, no allocation.
func (ww *watcher) tally(p *ratelimit.Probe, c ratelimit.Charge) {
	if t := ww.zone.tally; t != nil && !t.Add(p, c) {
		ww.v.cluster.dropped.Inc()
	}
}

// publishTrip hands a trip to the other replicas.
func (v *Veil) publishTrip(z *zone, res ratelimit.Result, key ratelimit.Key, until int64) {
	if v.cluster == nil {
		return
	}
	rule := cluster.RuleRate
	switch {
	case res.ByRatio:
		rule = cluster.RuleRatio
	case res.ByStub:
		rule = cluster.RuleStub
	}
	v.cluster.sync.Trip(cluster.Trip{Zone: z.clusterIndex, Key: key, Tier: res.Tripped, Rule: rule, Until: until})
}

// shields reports whether prefix p lies inside a trusted or exempt
// network: a block of it from another replica is rejected.
func (cs *clusterSettings) shields(p netip.Prefix) bool {
	for _, n := range cs.shield {
		if n.Bits() <= p.Bits() && n.Contains(p.Addr()) {
			return true
		}
	}
	return false
}
