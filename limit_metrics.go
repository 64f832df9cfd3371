package veil

import (
	"github.com/coredns/coredns/plugin"

	"github.com/prometheus/client_golang/prometheus"
)

// limiterGauges reports, at scrape time, the prefixes each running veil's
// limiter currently blocks and how full its tables are. Computing them on
// scrape keeps the query path free of gauge updates.
var limiterGauges = &limiterCollector{}

// Registered in init, after the descriptors below exist.
func init() { prometheus.MustRegister(limiterGauges) }

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

type limiterCollector struct{ runningVeils }

// Describe implements prometheus.Collector.
func (c *limiterCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- blockedDesc
	ch <- slotsDesc
}

// Collect implements prometheus.Collector. Series appear for each
// (server, view) that has sent the zone a query.
func (c *limiterCollector) Collect(ch chan<- prometheus.Metric) {
	c.each(func(v *Veil, pairs []*serverCounters) {
		for zi, zone := range v.zones {
			now := v.millis()
			active := v.trips[zi].active(now)
			used, total := v.limiters[zi].Occupancy(now)
			for _, sc := range pairs {
				ch <- prometheus.MustNewConstMetric(blockedDesc, prometheus.GaugeValue, float64(active[sc]), sc.server, zone, sc.view)
				ch <- prometheus.MustNewConstMetric(slotsDesc, prometheus.GaugeValue, float64(used), sc.server, zone, sc.view, "used")
				ch <- prometheus.MustNewConstMetric(slotsDesc, prometheus.GaugeValue, float64(total), sc.server, zone, sc.view, "total")
			}
		}
	})
}
