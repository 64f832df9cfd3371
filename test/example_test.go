package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// The README's quick start, against example/Corefile (ports and paths
// changed so it can run beside other tests): AXFR from 127.0.0.1 works,
// from 127.0.0.2 it is refused, ANY from 127.0.0.2 gets the HINFO, and the
// counters move.
func TestExampleCorefile(t *testing.T) {
	b, err := os.ReadFile("../example/Corefile")
	if err != nil {
		t.Fatal(err)
	}
	zone, err := filepath.Abs("../example/db.example.org")
	if err != nil {
		t.Fatal(err)
	}
	cf := string(b)
	for old, new := range map[string]string{
		"example.org:1053":            "example.org:{port}",
		"prometheus 127.0.0.1:9153":   "prometheus 127.0.0.1:0",
		"file example/db.example.org": "file " + zone,
		"\n    log\n":                 "\n",
	} {
		if !strings.Contains(cf, old) {
			t.Fatalf("example/Corefile no longer contains %q; update this test and README", old)
		}
		cf = strings.Replace(cf, old, new, 1)
	}
	s := startServer(t, cf)

	rrs, err := transfer(t, trustedIP, s.addr, axfr("example.org.", dns.TypeAXFR, false))
	if err != nil || len(rrs) < 10 {
		t.Fatalf("trusted AXFR: %d records, %v", len(rrs), err)
	}
	checkRefused(t, "external AXFR", exchange(t, "tcp", externalIP, s.addr, axfr("example.org.", dns.TypeAXFR, true)))
	checkRefused(t, "external IXFR over UDP", exchange(t, "udp", externalIP, s.addr, axfr("example.org.", dns.TypeIXFR, true)))
	checkHINFO(t, "external ANY", "example.org.", exchange(t, "udp", externalIP, s.addr, anyQuery("example.org.")))

	mfs := scrape(t, s.metricsURL)
	for labels, want := range map[[2]string]float64{{"axfr", "refuse"}: 1, {"ixfr", "refuse"}: 1, {"any", "hinfo"}: 1} {
		got := metricValue(mfs, "coredns_veil_policy_actions_total", map[string]string{"server": s.label, "reason": labels[0], "action": labels[1], "mode": "enforce"})
		if got != want {
			t.Errorf("policy_actions_total{reason=%q,action=%q} = %v, want %v", labels[0], labels[1], got, want)
		}
	}
	if got := metricValue(mfs, "coredns_veil_requests_total", map[string]string{"server": s.label, "class": "external"}); got != 3 {
		t.Errorf("requests_total{class=external} = %v, want 3", got)
	}
	if got := metricValue(mfs, "coredns_veil_requests_total", map[string]string{"server": s.label, "class": "trusted"}); got != 1 {
		t.Errorf("requests_total{class=trusted} = %v, want 1", got)
	}
}
