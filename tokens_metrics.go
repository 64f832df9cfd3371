package veil

import (
	"strings"

	"github.com/coredns/coredns/plugin"

	"github.com/prometheus/client_golang/prometheus"
)

var (
	// TokensHiddenCount counts verification-token TXT records taken out of
	// answers to external clients, by vendor: a catalog id, "custom" for the
	// operator's patterns or "generic" for the generic shapes. mode is
	// "log_only" when veil only counted what it would have hidden.
	TokensHiddenCount = newCounterVec("tokens_hidden_total",
		"Counter of verification-token TXT records hidden from external clients, by vendor.",
		"server", "zone", "view", "vendor", "mode")

	// TokensSignedCount counts answers to external clients that kept a
	// token the policy hides because its TXT RRset was signed (an RRSIG in
	// the answer): removing a record would fail DNSSEC validation.
	TokensSignedCount = newCounterVec("tokens_signed_unfiltered_total",
		"Counter of answers whose signed TXT RRsets kept tokens the policy hides, so DNSSEC validation still succeeds.",
		"server", "zone", "view")

	// TokensAbsentCount counts queries from external clients for a name
	// that exists only for hidden tokens (or below one), answered as the
	// zone without those tokens answers (tokens_hidden.go).
	TokensAbsentCount = newCounterVec("tokens_absent_answers_total",
		"Counter of queries from external clients for names that exist only for hidden verification tokens, answered as if the names did not exist.",
		"server", "zone", "view")
)

// exposedDesc is the token filter's gauge, computed at scrape time
// (gauges.go), so a reveal-until window that ends shows without a restart.
var exposedDesc = prometheus.NewDesc(
	prometheus.BuildFQName(plugin.Namespace, pluginName, "tokens_exposed"),
	"Vendors whose verification tokens the policy lets external clients see (1 per vendor): re-checked and pre-claim vendors by default, and those the operator reveals.",
	[]string{"server", "zone", "view", "vendor"}, nil)

// tokenCounter returns the TokensHiddenCount series of a rule of z's
// policy, made on first use.
func (zc *zoneCounters) tokenCounter(z *zone, rule int, logOnly bool) prometheus.Counter {
	i := rule * 2
	if logOnly {
		i++
	}
	slot := &zc.tokensHidden[i]
	if c := slot.Load(); c != nil {
		return *c
	}
	// Racing first uses get the same series: WithLabelValues is idempotent.
	vendor := z.tokens.Matcher().Rules()[rule].ID
	c := TokensHiddenCount.WithLabelValues(zc.server, z.name, zc.view, vendor, modeLabel(logOnly))
	slot.Store(&c)
	return c
}

// collectTokens reports, for each pair, the vendors whose tokens z's policy
// lets external clients see now.
func (v *Veil) collectTokens(ch chan<- prometheus.Metric, z *zone, pairs []*zoneCounters) {
	for _, id := range z.tokens.Exposed(v.wallClock()) {
		for _, zc := range pairs {
			ch <- prometheus.MustNewConstMetric(exposedDesc, prometheus.GaugeValue, 1, zc.server, z.name, zc.view, id)
		}
	}
}

// logExposedTokens writes one line per zone naming the vendors whose tokens
// external clients see, so the operator knows the exposure from the start.
func (v *Veil) logExposedTokens() {
	now := v.wallClock()
	for _, z := range v.zones {
		if z.tokens == nil {
			log.Infof("zone %s: verification tokens are not filtered (tokens off)", z.name)
			continue
		}
		log.Infof("zone %s: verification tokens of these vendors stay visible to external clients: %s (re-checked or pre-claim by default, or revealed; metric coredns_veil_tokens_exposed)",
			z.name, strings.Join(z.tokens.Exposed(now), ", "))
	}
}
