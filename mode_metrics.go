package veil

import (
	"github.com/coredns/coredns/plugin"

	"github.com/prometheus/client_golang/prometheus"
)

// modeGauges reports, at scrape time, whether each running veil only logs
// and counts (1) or enforces its policy (0), so a roll-out left in log-only
// mode shows on a dashboard and can be alerted on, not only as the mode
// label of counters that move when something happens.
var modeGauges = &modeCollector{}

func init() { prometheus.MustRegister(modeGauges) }

var logOnlyDesc = prometheus.NewDesc(
	prometheus.BuildFQName(plugin.Namespace, pluginName, "log_only"),
	"Whether veil runs in log-only mode (1: it counts and logs but changes no answer) or enforces its policy (0).",
	[]string{"server", "zone", "view"}, nil)

type modeCollector struct{ runningVeils }

// Describe implements prometheus.Collector.
func (c *modeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- logOnlyDesc }

// Collect implements prometheus.Collector. Series appear for each
// (server, view) that has sent the zone a query.
func (c *modeCollector) Collect(ch chan<- prometheus.Metric) {
	c.each(func(v *Veil, pairs []*serverCounters) {
		value := 0.0
		if v.logOnly {
			value = 1
		}
		for _, zone := range v.zones {
			for _, sc := range pairs {
				ch <- prometheus.MustNewConstMetric(logOnlyDesc, prometheus.GaugeValue, value, sc.server, zone, sc.view)
			}
		}
	})
}
