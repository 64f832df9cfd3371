package harness

import (
	"strings"
	"testing"
)

// PromQLNames finds the metric and label names, and nothing else, in the
// shapes of PromQL the rules and the dashboard use, Grafana's additions
// included.
func TestPromQLNames(t *testing.T) {
	for _, c := range []struct{ expr, metrics, labels string }{
		{`sum by (job, zone) (rate(coredns_veil_requests_total{class="external", zone=~"$zone"}[$__rate_interval]))`,
			"coredns_veil_requests_total", "class job zone"},
		{"a:b:rate5m / on (job, instance) group_left(vendor) c:d:ratio{x!~\"}{y\"} > bool 0.25 AND d offset 1d # e f\n",
			"a:b:rate5m c:d:ratio d", "instance job vendor x"},
		{`min_over_time(coredns_veil_log_only[1d:5m]) == 1 unless count without (vendor) (m{ a = "1" }) > 1e3`,
			"coredns_veil_log_only m", "a vendor"},
		{`max(x) by (server) * on() group_right y or vector(1) or vector(time()) > ${threshold}`, "x y", "server"},
		{`{__name__="n", l="v"} + ignoring(i) rate(z[${__range}:$__interval])`, "n z", "i l"},
		{`label_values(coredns_veil_requests_total{instance=~"$instance", server=~"$server"}, zone)`,
			"coredns_veil_requests_total", "instance server zone"},
		{`label_values(zone)`, "", "zone"},
	} {
		ms, ls, err := PromQLNames(c.expr)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		if strings.Join(ms, " ") != c.metrics || strings.Join(ls, " ") != c.labels {
			t.Errorf("%s:\n got metrics %q labels %q\nwant metrics %q labels %q", c.expr, ms, ls, c.metrics, c.labels)
		}
	}
	for _, bad := range []string{`sum(`, `a{b="c"`, `rate(x[5m]`} {
		if ms, ls, err := PromQLNames(bad); err == nil {
			t.Errorf("%s: no error (metrics %q labels %q)", bad, ms, ls)
		}
	}
}

func TestLabelValuesQuery(t *testing.T) {
	for expr, want := range map[string]string{
		`label_values(m{a="1"}, zone)`: `m{a="1"}`,
		`sum(m)`:                       `sum(m)`,
	} {
		if got := LabelValuesQuery(expr); got != want {
			t.Errorf("LabelValuesQuery(%q) = %q, want %q", expr, got, want)
		}
	}
}
