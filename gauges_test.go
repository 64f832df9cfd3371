package veil

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	clog "github.com/coredns/coredns/plugin/pkg/log"

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

// A trusted or exempt list that holds 0.0.0.0/0 or ::/0 takes in every
// client of the family: legal, but warned about at start-up and reported by
// coredns_veil_all_clients.
func TestAllClients(t *testing.T) {
	for _, tc := range []struct {
		block string
		want  everyone // [trusted, exempt][ipv4, ipv6]
		warns []string
	}{
		{block: "trusted 10.0.0.0/8 2001:db8::/32", want: everyone{}},
		{block: "trusted 0.0.0.0/0", want: everyone{{true, false}},
			warns: []string{"trusted 0.0.0.0/0: every IPv4 client is trusted: it sees verification tokens, may transfer the zone"}},
		{block: "trusted 192.0.2.0/24\n trusted ::/0", want: everyone{{false, true}},
			warns: []string{"trusted ::/0: every IPv6 client is trusted"}},
		{block: "trusted ::ffff:0:0/96", want: everyone{{true, false}}, warns: []string{"every IPv4 client is trusted"}},
		{block: "limit {\n exempt 0.0.0.0/0 ::/0\n }", want: everyone{{}, {true, true}},
			warns: []string{"limit: exempt 0.0.0.0/0: every IPv4 client is exempt from the enumeration limiter in zone(s) example.org.", "limit: exempt ::/0: every IPv6 client is exempt"}},
		{block: "trusted ::/0\n limit {\n exempt 0.0.0.0/0\n }", want: everyone{{false, true}, {true, false}}, warns: []string{"trusted ::/0", "exempt 0.0.0.0/0"}},
	} {
		t.Run(tc.block, func(t *testing.T) {
			v := newTestVeil(t, "veil {\n "+tc.block+"\n}", &answerHandler{})
			if v.everyone != tc.want {
				t.Errorf("everyone %v, want %v", v.everyone, tc.want)
			}
			var logs bytes.Buffer
			clog.SetOutput(&logs)
			v.everyone.warn(v.zones)
			clog.SetOutput(os.Stderr)
			if n, want := strings.Count(logs.String(), "[WARNING]"), len(tc.warns); n != want {
				t.Errorf("%d warnings, want %d:\n%s", n, want, &logs)
			}
			for _, w := range tc.warns {
				if !strings.Contains(logs.String(), w) {
					t.Errorf("no warning %q in\n%s", w, &logs)
				}
			}

			gauges.add(v)
			defer gauges.remove(v)
			ctx := context.WithValue(context.Background(), dnsserver.Key{}, &dnsserver.Server{Addr: "dns://:53"})
			v.ServeDNS(ctx, newTestWriter(t, externalV4, false), query("www.example.org.", dns.TypeA, true))
			var want strings.Builder
			want.WriteString("# HELP coredns_veil_all_clients Whether a client list (trusted, or exempt from the limiter) holds every client of an address family, a /0 network (1), or not (0).\n# TYPE coredns_veil_all_clients gauge\n")
			for li, list := range listNames {
				for fi, family := range familyNames {
					val := 0
					if tc.want[li][fi] {
						val = 1
					}
					fmt.Fprintf(&want, "coredns_veil_all_clients{family=%q,list=%q,server=\"dns://:53\",view=\"\",zone=\"example.org.\"} %d\n", family, list, val)
				}
			}
			if err := testutil.CollectAndCompare(gauges, strings.NewReader(want.String()), "coredns_veil_all_clients"); err != nil {
				t.Error(err)
			}
		})
	}
}
