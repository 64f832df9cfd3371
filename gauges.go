package veil

import (
	"sync"

	"github.com/coredns/coredns/plugin"

	"github.com/prometheus/client_golang/prometheus"
)

// gauges reports, at scrape time, the state of every running veil: its
// mode, and per zone the vendors whose tokens stay visible and the
// limiter's blocked prefixes and table. Computing them on scrape keeps the
// query path free of gauge updates, and lets a reveal window that ends show
// without a restart.
var gauges = &gaugeCollector{}

func init() { prometheus.MustRegister(gauges) }

var logOnlyDesc = prometheus.NewDesc(
	prometheus.BuildFQName(plugin.Namespace, pluginName, "log_only"),
	"Whether veil runs in log-only mode (1: it counts and logs but changes no answer) or enforces its policy (0).",
	[]string{"server", "zone", "view"}, nil)

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

// Describe implements prometheus.Collector.
func (g *gaugeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- logOnlyDesc
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
