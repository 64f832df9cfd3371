package veil

import (
	"strings"

	"github.com/coredns/coredns/plugin"

	"github.com/prometheus/client_golang/prometheus"
)

// tokenGauges reports, at scrape time, the vendors whose verification
// tokens each running veil's policy lets external clients see. Computed on
// scrape, so a reveal-until window that ends shows without a restart.
var tokenGauges = &tokenCollector{}

func init() { prometheus.MustRegister(tokenGauges) }

var exposedDesc = prometheus.NewDesc(
	prometheus.BuildFQName(plugin.Namespace, pluginName, "tokens_exposed"),
	"Vendors whose verification tokens the policy lets external clients see (1 per vendor): re-checked and pre-claim vendors by default, and those the operator reveals.",
	[]string{"server", "zone", "view", "vendor"}, nil)

type tokenCollector struct{ runningVeils }

// Describe implements prometheus.Collector.
func (c *tokenCollector) Describe(ch chan<- *prometheus.Desc) { ch <- exposedDesc }

// Collect implements prometheus.Collector. Series appear for each
// (server, view) that has sent the zone a query.
func (c *tokenCollector) Collect(ch chan<- prometheus.Metric) {
	c.each(func(v *Veil, pairs []*serverCounters) {
		now := v.wallClock()
		for zi, zone := range v.zones {
			if v.tokens[zi] == nil {
				continue
			}
			for _, id := range v.tokens[zi].exposed(now) {
				for _, sc := range pairs {
					ch <- prometheus.MustNewConstMetric(exposedDesc, prometheus.GaugeValue, 1, sc.server, zone, sc.view, id)
				}
			}
		}
	})
}

// logExposedTokens writes one line per zone naming the vendors whose tokens
// external clients see, so the operator knows the exposure from the start.
func (v *Veil) logExposedTokens() {
	now := v.wallClock()
	for zi, zone := range v.zones {
		p := v.tokens[zi]
		if p == nil {
			log.Infof("zone %s: verification tokens are not filtered (tokens off)", zone)
			continue
		}
		log.Infof("zone %s: verification tokens of these vendors stay visible to external clients: %s (re-checked or pre-claim by default, or revealed; metric coredns_veil_tokens_exposed)",
			zone, strings.Join(p.exposed(now), ", "))
	}
}
