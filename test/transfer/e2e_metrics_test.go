//go:build e2e

package transfer

import (
	"net"
	"testing"

	"github.com/veildns/veil/test/harness"
)

// e2eCheckMetrics checks that veil's counters moved between the scrapes
// before and after the tool runs by what the tools attempted (n), and only
// on the listeners with veil.
func e2eCheckMetrics(t *testing.T, before, after harness.Metrics, n e2eAttempts) {
	ext := "dns://" + net.JoinHostPort(e2eExternalAddr, harness.DNSPort)
	tru := "dns://" + net.JoinHostPort(e2eTrustedAddr, harness.DNSPort)
	base := "dns://" + net.JoinHostPort(e2eBaselineAddr, harness.DNSPort)
	const policy, requests = "coredns_veil_policy_actions_total", "coredns_veil_requests_total"
	delta := func(name string, labels ...string) float64 {
		return after.Sum(name, labels...) - before.Sum(name, labels...)
	}
	atLeast := func(what string, got float64, want int) {
		t.Helper()
		if got < float64(want) {
			t.Errorf("%s: increased by %v, want at least %d", what, got, want)
		}
	}
	exactly := func(what string, got float64, want int) {
		t.Helper()
		if got != float64(want) {
			t.Errorf("%s: increased by %v, want exactly %d", what, got, want)
		}
	}
	// External listener: every attempt counted with the right reason and
	// action, and nothing in log-only mode or dropped.
	atLeast("external axfr refuse", delta(policy, "server", ext, "zone", e2eZone+".", "reason", "axfr", "action", "refuse", "mode", "enforce"), n.extAXFR)
	atLeast("external ixfr refuse", delta(policy, "server", ext, "zone", e2eZone+".", "reason", "ixfr", "action", "refuse", "mode", "enforce"), n.extIXFR)
	atLeast("external any hinfo", delta(policy, "server", ext, "zone", e2eZone+".", "reason", "any", "action", "hinfo", "mode", "enforce"), n.extANY)
	exactly("external drop actions", delta(policy, "server", ext, "action", "drop"), 0)
	exactly("external log_only actions", delta(policy, "server", ext, "mode", "log_only"), 0)
	atLeast("external requests class=external", delta(requests, "server", ext, "class", "external"), n.extAXFR+n.extIXFR+n.extANY)
	exactly("external requests class=trusted", delta(requests, "server", ext, "class", "trusted"), 0)
	exactly("external requests class=tsig (bogus TSIG must not count)", delta(requests, "server", ext, "class", "tsig"), 0)

	// Trusted listener: no policy action except the dig -b 127.0.0.2 AXFR.
	exactly("trusted-listener axfr refuse", delta(policy, "server", tru, "reason", "axfr", "action", "refuse", "mode", "enforce"), n.trustedListenerAXFR)
	exactly("trusted-listener all policy actions", delta(policy, "server", tru), n.trustedListenerAXFR)
	exactly("trusted-listener requests class=external", delta(requests, "server", tru, "class", "external"), n.trustedListenerAXFR)
	if got := delta(requests, "server", tru, "class", "trusted"); got <= 0 {
		t.Errorf("trusted-listener requests class=trusted: increased by %v, want > 0", got)
	}

	// The baseline server block has no veil.
	if got := after.Sum(policy, "server", base) + after.Sum(requests, "server", base); got != 0 {
		t.Errorf("baseline listener (no veil) has veil counters summing to %v", got)
	}
	if t.Failed() {
		t.Logf("veil metrics after the runs:\n%s", after.Text)
	}
}

// e2eScrape fetches /metrics and keeps the coredns_veil_ samples.
func e2eScrape(t *testing.T) harness.Metrics {
	t.Helper()
	return harness.ScrapeText(t, e2eMetricsAddr, "coredns_veil_")
}
