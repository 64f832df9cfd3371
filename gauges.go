package veil

import (
	"sync"

	"github.com/coredns/coredns/plugin"

	"github.com/prometheus/client_golang/prometheus"
)

// gauges reports, at scrape time, the state of every running veil: its
// mode, whether it trusts or exempts whole address families, and per zone
// the vendors whose tokens stay visible and the limiter's blocked prefixes
// and table. Computing them on scrape keeps the query path free of gauge
// updates, and lets a reveal window that ends show without a restart.
var gauges = &gaugeCollector{}

func init() { prometheus.MustRegister(gauges) }

var logOnlyDesc = prometheus.NewDesc(
	prometheus.BuildFQName(plugin.Namespace, pluginName, "log_only"),
	"Whether veil runs in log-only mode (1: it counts and logs but changes no answer) or enforces its policy (0).",
	[]string{"server", "zone", "view"}, nil)

var allClientsDesc = prometheus.NewDesc(
	prometheus.BuildFQName(plugin.Namespace, pluginName, "all_clients"),
	"Whether a client list (trusted, or exempt from the limiter) holds every client of an address family, a /0 network (1), or not (0).",
	[]string{"server", "zone", "view", "list", "family"}, nil)

// gaugeCollector is the set of veil instances between their server's start
// and shutdown.
type gaugeCollector struct {
	mu    sync.Mutex
	veils map[*Veil]struct{}
}

func (g *gaugeCollector) add(v *Veil) {
	g.mu.Lock()
	if g.veils == nil {
		g.veils = map[*Veil]struct{}{}
	}
	g.veils[v] = struct{}{}
	g.mu.Unlock()
}

func (g *gaugeCollector) remove(v *Veil) {
	g.mu.Lock()
	delete(g.veils, v)
	g.mu.Unlock()
}

// running returns the veils whose instance runs.
func (g *gaugeCollector) running() []*Veil {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]*Veil, 0, len(g.veils))
	for v := range g.veils {
		out = append(out, v)
	}
	return out
}

// Describe implements prometheus.Collector.
func (g *gaugeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- logOnlyDesc
	ch <- allClientsDesc
	ch <- exposedDesc
	ch <- blockedDesc
	ch <- slotsDesc
}

// Collect implements prometheus.Collector. Series appear for each
// (server, view) pair a zone has counters for.
func (g *gaugeCollector) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for v := range g.veils {
		mode := 0.0
		if v.logOnly {
			mode = 1
		}
		for _, z := range v.zones {
			pairs := z.counters.all()
			for _, zc := range pairs {
				ch <- prometheus.MustNewConstMetric(logOnlyDesc, prometheus.GaugeValue, mode, zc.server, z.name, zc.view)
				v.everyone.collect(ch, z.name, zc)
			}
			if z.tokens != nil {
				v.collectTokens(ch, z, pairs)
			}
			if z.limiter != nil {
				v.collectLimiter(ch, z, pairs)
			}
		}
	}
}

// collect reports, for one zone and (server, view), whether each list takes
// in every client of each family.
func (e *everyone) collect(ch chan<- prometheus.Metric, zone string, zc *zoneCounters) {
	for li, list := range listNames {
		for fi, family := range familyNames {
			all := 0.0
			if e[li][fi] {
				all = 1
			}
			ch <- prometheus.MustNewConstMetric(allClientsDesc, prometheus.GaugeValue, all, zc.server, zone, zc.view, list, family)
		}
	}
}
