package veil

import (
	"slices"
	"sync"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"

	"github.com/veildns/veil/ratelimit"
)

// A veil runs from its server's start to its shutdown, and CoreDNS may
// load a new Corefile meanwhile (SIGUSR1, the reload plugin). Caddy then
// makes the new instance's servers and runs their start-up beside the old
// ones, and either shuts the old instance down (the reload took) or drops
// the new one without shutting it down (it failed: say a new listener's
// address is in use). This file follows a veil through that:
//
//   - start, at the server's start-up, starts what runs beside the servers
//     (the limiter's clock, the zone readers, the Redis exchange) and takes
//     over the limiter tables of the running veil that guarded the same
//     zone on the same listeners, so blocks in force and counts survive a
//     reload;
//   - a veil reports its gauges only once its instance has started
//     (caddy's InstanceStartupEvent, sent after the old instance shut
//     down), so the old and the new veil never report the same series;
//   - a veil whose instance failed is stopped when the old instance hears
//     of the failure (OnRestartFailed) or, if the old instance had no
//     veil, when the next instance starts;
//   - stop, at shutdown, ends it; it may run more than once.

// generation is the veils of one caddy instance, kept in its storage.
type generation struct{ veils []*Veil }

// generationKey is the instance storage key of its generation.
type generationKey struct{}

// pending holds the generations whose veils started and whose instance has
// not reported its start yet: one while a reload runs, none otherwise.
var pending struct {
	mu   sync.Mutex
	gens []*generation
}

func init() { caddy.RegisterEventHook(pluginName, instanceStarted) }

// generationOf returns the generation of c's instance, made on first use.
func generationOf(c *caddy.Controller) *generation {
	if g, ok := c.Get(generationKey{}).(*generation); ok {
		return g
	}
	g := &generation{}
	c.Set(generationKey{}, g)
	return g
}

// hook registers v's start and stop with the server block of c.
func (v *Veil) hook(c *caddy.Controller) {
	gen := generationOf(c)
	c.OnStartup(func() error {
		cfg := dnsserver.GetConfig(c)
		if err := v.start(gen, cfg, listenerLabels(c)); err != nil {
			return plugin.Error(pluginName, err)
		}
		return nil
	})
	c.OnRestartFailed(func() error {
		stopFailed(nil)
		return nil
	})
	c.OnShutdown(func() error {
		gauges.remove(v)
		v.stop()
		return nil
	})
}

// join adds v to gen, pending, and stops the veils of every other pending
// generation: an instance that failed to start while no veil ran to hear
// of it.
func join(gen *generation, v *Veil) {
	stopFailed(gen)
	pending.mu.Lock()
	defer pending.mu.Unlock()
	if !slices.Contains(pending.gens, gen) {
		pending.gens = append(pending.gens, gen)
	}
	gen.veils = append(gen.veils, v)
}

// stopFailed stops the veils of the pending generations but keep, whose
// instances failed to start.
func stopFailed(keep *generation) {
	pending.mu.Lock()
	var failed []*generation
	pending.gens = slices.DeleteFunc(pending.gens, func(g *generation) bool {
		if g == keep {
			return false
		}
		failed = append(failed, g)
		return true
	})
	pending.mu.Unlock()
	for _, g := range failed {
		for _, v := range g.veils {
			v.stop()
		}
	}
}

// instanceStarted is caddy's event hook: when an instance has started, its
// veils begin to report their gauges.
func instanceStarted(event caddy.EventName, info any) error {
	inst, ok := info.(*caddy.Instance)
	if event != caddy.InstanceStartupEvent || !ok {
		return nil
	}
	inst.StorageMu.RLock()
	gen, _ := inst.Storage[generationKey{}].(*generation)
	inst.StorageMu.RUnlock()
	if gen == nil {
		return nil
	}
	pending.mu.Lock()
	pending.gens = slices.DeleteFunc(pending.gens, func(g *generation) bool { return g == gen })
	pending.mu.Unlock()
	for _, v := range gen.veils {
		gauges.add(v)
	}
	return nil
}

// start starts v once its server block's servers are made, before they
// serve: the view, the plugin chain and the listeners are known.
func (v *Veil) start(gen *generation, cfg *dnsserver.Config, listeners []string) error {
	join(gen, v)
	v.untraced = cfg.Handler("trace") == nil
	v.view, v.listeners, v.signer = cfg.ViewName, listeners, onTheFlySigner(cfg)
	for _, z := range v.zones {
		z.counters.start(cfg.ViewName, listeners)
	}
	if v.limit != nil {
		v.adoptTables(gauges.running())
		startClock()
		v.clockOn = true
	}
	if err := v.startCluster(listeners); err != nil {
		return err
	}
	v.startLoader(cfg.Handlers())
	if v.signer != nil {
		log.Infof("the dnssec plugin signs this server block's zones on the fly: veil asks again without DNSSEC OK to learn whether a black lie denies a name, and signs the answers it changes anew")
	}
	v.logExposedTokens()
	v.everyone.warn(v.zones)
	return nil
}

// stop stops what start started. It may run more than once: for a veil
// whose instance failed, and again if that instance is shut down.
func (v *Veil) stop() {
	v.stopOnce.Do(func() {
		v.stopCluster()
		v.stopLoader()
		if v.clockOn {
			stopClock()
		}
	})
}

// adoptTables takes over, for each of v's zones, the limiter table of the
// running veil that guarded the zone on the same listeners and view, if
// the table has the same size (ratelimit.Adopt): a reload keeps the
// blocks in force, the counts and the blocked-prefixes gauge. A zone that
// is new, or whose table size changed, starts with an empty table.
func (v *Veil) adoptTables(running []*Veil) {
	now := coarseMillis()
	for _, prev := range running {
		if prev == v || prev.view != v.view || !slices.Equal(prev.listeners, v.listeners) {
			continue
		}
		for _, z := range v.zones {
			for _, pz := range prev.zones {
				if pz.name != z.name || pz.limiter == nil {
					continue
				}
				if l, ok := ratelimit.Adopt(pz.limiter, v.limit.cfg, now); ok {
					z.limiter, z.trips = l, pz.trips
				}
			}
		}
	}
}
