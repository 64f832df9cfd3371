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
	// Make sure every vector has at least one series to gather.
	v := newTestVeil(t, "veil", &answerHandler{})
	v.ServeDNS(context.Background(), newTestWriter(t, externalV4, true), query("example.org.", dns.TypeAXFR, true))

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
	if found != 2 {
		t.Errorf("found %d coredns_veil_ metric families, want 2", found)
	}
}

var allowedLabels = map[string]bool{"server": true, "zone": true, "view": true, "class": true, "reason": true, "action": true, "mode": true}
