package veil

import (
	"context"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/miekg/dns"
)

// coredns_veil_log_only is 1 for a veil in log-only mode and 0 for one that
// enforces, for each of its zones and each (server, view) the zone has
// counters for (in a server, every listener from start-up; here, each that
// sent the zone a query); there is no series before or after shutdown.
func TestLogOnlyGauge(t *testing.T) {
	logOnly := newTestVeil(t, "veil {\n log-only\n}", &answerHandler{})
	c := caddy.NewTestController("dns", "veil {\n trusted 192.0.2.0/24\n}")
	c.ServerBlockKeys = []string{"example.org.:53", "example.net.:53"}
	enforcing, err := parse(c)
	if err != nil {
		t.Fatal(err)
	}
	enforcing.Next = &answerHandler{}

	gauges.add(logOnly)
	gauges.add(enforcing)
	defer gauges.remove(logOnly)
	defer gauges.remove(enforcing)
	if n := testutil.CollectAndCount(gauges); n != 0 {
		t.Errorf("before any query the collector emitted %d series, want 0", n)
	}

	serve := func(v *Veil, server, view, name string) {
		ctx := context.WithValue(context.Background(), dnsserver.Key{}, &dnsserver.Server{Addr: server})
		if view != "" {
			ctx = context.WithValue(ctx, dnsserver.ViewKey{}, view)
		}
		v.ServeDNS(ctx, newTestWriter(t, externalV4, false), query(name, dns.TypeA, true))
	}
	serve(logOnly, "dns://:1053", "", "www.example.org.")
	serve(enforcing, "dns://:53", "", "www.example.org.")
	serve(enforcing, "dns://:53", "internal", "www.example.net.")

	const want = `
# HELP coredns_veil_log_only Whether veil runs in log-only mode (1: it counts and logs but changes no answer) or enforces its policy (0).
# TYPE coredns_veil_log_only gauge
coredns_veil_log_only{server="dns://:1053",view="",zone="example.org."} 1
coredns_veil_log_only{server="dns://:53",view="",zone="example.org."} 0
coredns_veil_log_only{server="dns://:53",view="internal",zone="example.net."} 0
`
	if err := testutil.CollectAndCompare(gauges, strings.NewReader(want), "coredns_veil_log_only"); err != nil {
		t.Error(err)
	}

	// Shutdown takes a veil's series away.
	gauges.remove(logOnly)
	after := strings.Replace(want, "coredns_veil_log_only{server=\"dns://:1053\",view=\"\",zone=\"example.org.\"} 1\n", "", 1)
	if err := testutil.CollectAndCompare(gauges, strings.NewReader(after), "coredns_veil_log_only"); err != nil {
		t.Errorf("after the log-only veil shut down: %v", err)
	}
}
