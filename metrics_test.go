package veil

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/miekg/dns"
)

// veil's metric names and help texts pass promlint, as CoreDNS checks for
// its own metrics in test/metric_naming_test.go.
func TestMetricNamesLint(t *testing.T) {
	// Make sure every metric has at least one series to gather: a policy
	// action, a trip, a limited query, a collision is not needed (a
	// counter vector with no series is not gathered), and the gauges.
	v := newTestVeil(t, "veil {\n limit {\n rate 1\n burst 1\n ratio off\n }\n}", &zoneBackend{})
	v.ServeDNS(context.Background(), newTestWriter(t, externalV4, true), query("example.org.", dns.TypeAXFR, true))
	for range 4 {
		v.ServeDNS(context.Background(), newTestWriter(t, externalV4, true), query("nope.example.org.", dns.TypeA, true))
	}
	limiterGauges.add(v)
	defer limiterGauges.remove(v)
	// A hidden token, and the exposed-vendors gauge.
	tv := newTokensVeil(t, "", tokensFile(t))
	tv.ServeDNS(context.Background(), newTestWriter(t, externalV6, true), query("tokens.test.", dns.TypeTXT, true))
	tokenGauges.add(tv)
	defer tokenGauges.remove(tv)

	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "coredns_veil_") {
			continue
		}
		found++
		ps, err := promlint.NewWithMetricFamilies([]*dto.MetricFamily{mf}).Lint()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range ps {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if !allowedLabels[l.GetName()] {
					t.Errorf("%s has label %q; labels must stay bounded", mf.GetName(), l.GetName())
				}
			}
		}
	}
	if found != len(wantFamilies) {
		t.Errorf("found %d coredns_veil_ metric families, want %d", found, len(wantFamilies))
	}
}

var wantFamilies = []string{
	"coredns_veil_requests_total", "coredns_veil_policy_actions_total", "coredns_veil_limited_requests_total",
	"coredns_veil_limiter_trips_total", "coredns_veil_limiter_collisions_total",
	"coredns_veil_limiter_blocked_prefixes", "coredns_veil_limiter_table_slots",
	"coredns_veil_tokens_hidden_total", "coredns_veil_tokens_signed_unfiltered_total", "coredns_veil_tokens_exposed",
}

var allowedLabels = map[string]bool{
	"server": true, "zone": true, "view": true, "class": true, "reason": true, "action": true, "mode": true,
	"tier": true, "rule": true, "state": true, "vendor": true,
}
