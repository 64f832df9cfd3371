package veil

import (
	"math/rand/v2"

	"github.com/coredns/caddy"

	"github.com/veildns/veil/cluster"
	"github.com/veildns/veil/decoy"
	"github.com/veildns/veil/ratelimit"
)

// This file is the glue of the limit block's cluster option (package
// cluster holds the exchange, its metrics and its option's parsing):
// start-up makes a cluster.Syncer and a handle per zone, which the zone
// holds; the limiter's glue (limit.go) hands each charge and trip to the
// zone's handle; and the option's Corefile errors get their line here.

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

// shareSigned reports, at random with the signed weight's odds, whether a
// signed denial is handed to the other replicas as a denial: on average
// they are charged what this replica is (chargeDenial), and the wire
// format needs no kind of its own.
func (v *Veil) shareSigned() bool {
	return rand.Float64() < v.limit.cfg.SignedWeight
}

// parseCluster parses the cluster option of the limit block (package
// cluster parses it; its errors, which never quote an argument, get the
// Corefile line here):
//
//	cluster URL|HOST:PORT [prefix PREFIX] [interval DURATION] [tls-ca FILE] [user NAME] [password SECRET]
func parseCluster(c *caddy.Controller, args []string) (*cluster.Settings, error) {
	s, err := cluster.ParseSettings(args)
	if err != nil {
		return nil, c.Errf("limit: cluster: %v; allowed: %s", err, cluster.Syntax)
	}
	return &s, nil
}

// clusterDecoyKey returns the decoy key the replicas share through Redis,
// once this replica has read it.
func (v *Veil) clusterDecoyKey() (decoy.Key, bool) {
	if v.cluster == nil {
		return decoy.Key{}, false
	}
	s, ok := v.cluster.Secret()
	return decoy.Key(s), ok
}
