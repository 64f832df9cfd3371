package veil

import (
	"github.com/veildns/veil/cluster"
	"github.com/veildns/veil/ratelimit"
)

// This file is the glue of the limit block's cluster option (package
// cluster holds the exchange, its metrics and its option's parsing):
// start-up makes a cluster.Syncer and a handle per zone, which the zone
// holds; the limiter's glue (limit.go) hands each charge and trip to the
// zone's handle. Its Corefile errors are cluster_setup.go's.

// startCluster starts sharing the zones' limiter state with the other
// replicas, if the limit block has a cluster option. The first of the
// block's listeners labels its metrics.
func (v *Veil) startCluster(listeners []string) error {
	if v.limit == nil || v.limit.cluster == nil || len(listeners) == 0 {
		return nil
	}
	s, err := cluster.New(cluster.Options{
		Settings: *v.limit.cluster, Server: listeners[0], Block: v.limit.cfg.Block,
		Now: coarseMillis, Exempt: v.clients.covers, Log: log,
	})
	if err != nil {
		return err
	}
	for _, z := range v.zones {
		if z.limiter != nil {
			z.cluster = s.Zone(z.name, z.limiter)
		}
	}
	v.cluster = s
	s.Start()
	return nil
}

// stopCluster stops the exchange and closes the connection.
func (v *Veil) stopCluster() {
	if v.cluster != nil {
		v.cluster.Stop()
	}
}

// share hands a charge of the probed client to the other replicas. It
// runs on the query path: one lookup in a fixed table, no allocation.
func (ww *watcher) share(p *ratelimit.Probe, c ratelimit.Charge) {
	if z := ww.zone.cluster; z != nil {
		z.Charge(p, c)
	}
}
