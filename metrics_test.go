package veil

import (
	"context"
	"strings"
	"testing"

	"github.com/coredns/coredns/core/dnsserver"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"

	"github.com/miekg/dns"

	"github.com/veildns/veil/cluster"
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
	gauges.add(v)
	defer gauges.remove(v)
	// A hidden token, and the exposed-vendors gauge.
	tv := newTokensVeil(t, "", tokensFile(t))
	tv.ServeDNS(context.Background(), newTestWriter(t, externalV6, true), query("tokens.test.", dns.TypeTXT, true))
	gauges.add(tv)
	defer gauges.remove(tv)
	// The cluster option's series, as startCluster creates them.
	settings, err := cluster.ParseSettings([]string{"127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := cluster.New(cluster.Options{Settings: settings, Server: "dns://:53", Log: log})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	s.Zone("example.org.", v.zones[0].limiter)

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
	"coredns_veil_tokens_absent_answers_total", "coredns_veil_limiter_denials_total",
	"coredns_veil_log_only", "coredns_veil_all_clients",
	"coredns_veil_cluster_connected", "coredns_veil_cluster_sync_duration_seconds", "coredns_veil_cluster_sync_errors_total",
	"coredns_veil_cluster_events_sent_total", "coredns_veil_cluster_events_received_total",
	"coredns_veil_cluster_events_rejected_total", "coredns_veil_cluster_batches_dropped_total",
	"coredns_veil_cluster_counts_dropped_total", "coredns_veil_cluster_blocks_installed_total",
	"coredns_veil_cluster_unknown_rules_total", "coredns_veil_decoys_total", "coredns_veil_canary_queries_total", "coredns_veil_cluster_replicas",
}

var allowedLabels = map[string]bool{
	"server": true, "zone": true, "view": true, "class": true, "reason": true, "action": true, "mode": true,
	"tier": true, "rule": true, "state": true, "vendor": true, "list": true, "family": true, "kind": true,
}

// A (server, view) starts with the policy-action and trip counters its
// configuration can move at 0, so rate() sees the first event; actions the
// configuration cannot take get no series.
func TestZeroSeries(t *testing.T) {
	v := newTestVeil(t, "veil {\n trusted 192.0.2.0/24\n transfer drop\n any hinfo tcp pass\n limit {\n ratio off\n }\n}", &answerHandler{})
	ctx := context.WithValue(context.Background(), dnsserver.ViewKey{}, "zero-series")
	v.ServeDNS(ctx, newTestWriter(t, trustedV4, false), query("www.example.org.", dns.TypeA, false))

	series := map[string]float64{}
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			if labels["view"] != "zero-series" {
				continue
			}
			key := f.GetName()
			for _, l := range []string{"reason", "action", "mode", "tier", "rule"} {
				if val, ok := labels[l]; ok {
					key += " " + l + "=" + val
				}
			}
			series[key] = m.GetCounter().GetValue()
		}
	}
	want := []string{
		"coredns_veil_policy_actions_total reason=axfr action=drop mode=enforce",
		"coredns_veil_policy_actions_total reason=ixfr action=drop mode=enforce",
		"coredns_veil_policy_actions_total reason=any action=hinfo mode=enforce",
		"coredns_veil_limiter_trips_total tier=v4_32 rule=rate",
		"coredns_veil_limiter_trips_total tier=v6_48 rule=rate",
	}
	for _, k := range want {
		if val, ok := series[k]; !ok || val != 0 {
			t.Errorf("%s: present %v, value %v; want a series at 0", k, ok, val)
		}
	}
	for _, k := range []string{
		"coredns_veil_policy_actions_total reason=any action=pass mode=enforce",
		"coredns_veil_policy_actions_total reason=axfr action=refuse mode=enforce",
		"coredns_veil_limiter_trips_total tier=v4_32 rule=ratio",
	} {
		if _, ok := series[k]; ok {
			t.Errorf("%s: a series for what the configuration cannot do", k)
		}
	}
}
