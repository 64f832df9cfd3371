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

	// Verification tokens: the external client gets SPF and Google's
	// (re-checked) token but not Microsoft's or DocuSign's; the GitHub
	// challenge label does not exist for it.
	txt := func(ip, name string) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeTXT)
		return exchange(t, "udp", ip, s.addr, m)
	}
	ext, tru := txt(externalIP, "example.org.").String(), txt(trustedIP, "example.org.").String()
	for _, want := range []string{"v=spf1 mx -all", "google-site-verification="} {
		if !strings.Contains(ext, want) {
			t.Errorf("external TXT lacks %q:\n%s", want, ext)
		}
	}
	for _, hidden := range []string{"MS=ms73019746", "docusign="} {
		if strings.Contains(ext, hidden) || !strings.Contains(tru, hidden) {
			t.Errorf("%q: want it hidden from the external client and shown to the trusted one", hidden)
		}
	}
	if m := txt(externalIP, "_github-challenge-example-org.example.org."); m.Rcode != dns.RcodeNameError {
		t.Errorf("external GitHub challenge: rcode %s, want NXDOMAIN", dns.RcodeToString[m.Rcode])
	}

	mfs := scrape(t, s.metricsURL)
	for labels, want := range map[[2]string]float64{{"axfr", "refuse"}: 1, {"ixfr", "refuse"}: 1, {"any", "hinfo"}: 1} {
		got := metricValue(mfs, "coredns_veil_policy_actions_total", map[string]string{"server": s.label, "reason": labels[0], "action": labels[1], "mode": "enforce"})
		if got != want {
			t.Errorf("policy_actions_total{reason=%q,action=%q} = %v, want %v", labels[0], labels[1], got, want)
		}
	}
	if got := metricValue(mfs, "coredns_veil_requests_total", map[string]string{"server": s.label, "class": "external"}); got != 5 {
		t.Errorf("requests_total{class=external} = %v, want 5", got)
	}
	if got := metricValue(mfs, "coredns_veil_requests_total", map[string]string{"server": s.label, "class": "trusted"}); got != 2 {
		t.Errorf("requests_total{class=trusted} = %v, want 2", got)
	}
	for vendor, want := range map[string]float64{"microsoft": 1, "docusign": 1, "github": 1} {
		if got := metricValue(mfs, "coredns_veil_tokens_hidden_total", map[string]string{"server": s.label, "vendor": vendor}); got != want {
			t.Errorf("tokens_hidden_total{vendor=%q} = %v, want %v", vendor, got, want)
		}
	}
}
