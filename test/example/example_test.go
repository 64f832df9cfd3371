// Package example tests the README's quick start: the example Corefile in
// example/ served in-process, queried by a trusted and an external client.
package example

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

// The README's quick start, against example/Corefile (ports and paths
// changed so it can run beside other tests): AXFR from 127.0.0.1 works,
// from 127.0.0.2 it is refused, ANY from 127.0.0.2 gets the HINFO, and the
// counters move.
func TestExampleCorefile(t *testing.T) {
	s := harness.StartServer(t, exampleCorefile(t))

	rrs, err := harness.Transfer(t, harness.TrustedIP, s.Addr, harness.XFRQuery("example.org.", dns.TypeAXFR, false))
	if err != nil || len(rrs) < 10 {
		t.Fatalf("trusted AXFR: %d records, %v", len(rrs), err)
	}
	harness.CheckRefused(t, "external AXFR", harness.Exchange(t, "tcp", harness.ExternalIP, s.Addr, harness.XFRQuery("example.org.", dns.TypeAXFR, true)))
	harness.CheckRefused(t, "external IXFR over UDP", harness.Exchange(t, "udp", harness.ExternalIP, s.Addr, harness.XFRQuery("example.org.", dns.TypeIXFR, true)))
	harness.CheckHINFO(t, "external ANY", "example.org.", harness.Exchange(t, "udp", harness.ExternalIP, s.Addr, harness.ANYQuery("example.org.")))

	// Verification tokens: the external client gets SPF and Google's
	// (re-checked) token but not Microsoft's or DocuSign's; the GitHub
	// challenge label does not exist for it.
	txt := func(ip, name string) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(name, dns.TypeTXT)
		return harness.Exchange(t, "udp", ip, s.Addr, m)
	}
	ext, tru := txt(harness.ExternalIP, "example.org.").String(), txt(harness.TrustedIP, "example.org.").String()
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
	if m := txt(harness.ExternalIP, "_github-challenge-example-org.example.org."); m.Rcode != dns.RcodeNameError {
		t.Errorf("external GitHub challenge: rcode %s, want NXDOMAIN", dns.RcodeToString[m.Rcode])
	}

	checkExampleMetrics(t, s)
}

// exampleCorefile returns example/Corefile with its port, metrics address
// and zone file path changed so it can run beside other tests, and without
// the log plugin.
func exampleCorefile(t *testing.T) string {
	t.Helper()
	root := harness.RepoRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "example", "Corefile"))
	if err != nil {
		t.Fatal(err)
	}
	zone := filepath.Join(root, "example", "db.example.org")
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
	return cf
}

// checkExampleMetrics checks the counters after TestExampleCorefile's
// queries: one refusal each of AXFR and IXFR, one HINFO, five external and
// two trusted requests, and one hidden token each of Microsoft, DocuSign
// and GitHub.
func checkExampleMetrics(t *testing.T, s harness.Server) {
	t.Helper()
	mfs := harness.Scrape(t, s.MetricsURL)
	for labels, want := range map[[2]string]float64{{"axfr", "refuse"}: 1, {"ixfr", "refuse"}: 1, {"any", "hinfo"}: 1} {
		got := harness.MetricValue(mfs, "coredns_veil_policy_actions_total", map[string]string{"server": s.Label, "reason": labels[0], "action": labels[1], "mode": "enforce"})
		if got != want {
			t.Errorf("policy_actions_total{reason=%q,action=%q} = %v, want %v", labels[0], labels[1], got, want)
		}
	}
	if got := harness.MetricValue(mfs, "coredns_veil_requests_total", map[string]string{"server": s.Label, "class": "external"}); got != 5 {
		t.Errorf("requests_total{class=external} = %v, want 5", got)
	}
	if got := harness.MetricValue(mfs, "coredns_veil_requests_total", map[string]string{"server": s.Label, "class": "trusted"}); got != 2 {
		t.Errorf("requests_total{class=trusted} = %v, want 2", got)
	}
	// The GitHub challenge's name holds nothing but the token: it is
	// answered as absent, no record is hidden from an answer.
	if got := harness.MetricValue(mfs, "coredns_veil_tokens_absent_answers_total", map[string]string{"server": s.Label}); got != 1 {
		t.Errorf("tokens_absent_answers_total = %v, want 1", got)
	}
	for vendor, want := range map[string]float64{"microsoft": 1, "docusign": 1} {
		if got := harness.MetricValue(mfs, "coredns_veil_tokens_hidden_total", map[string]string{"server": s.Label, "vendor": vendor}); got != want {
			t.Errorf("tokens_hidden_total{vendor=%q} = %v, want %v", vendor, got, want)
		}
	}
}
