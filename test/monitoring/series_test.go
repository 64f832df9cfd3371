//go:build e2e

package monitoring

import (
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/veildns/veil/test/harness"
)

// checkSeries checks the facts the traffic must have produced.
func checkSeries(t *testing.T, m harness.Metrics) {
	enf := "dns://" + net.JoinHostPort(enforceAddr, harness.DNSPort)
	lo := "dns://" + net.JoinHostPort(logOnlyAddr, harness.DNSPort)
	zone := zoneName + "."
	want := func(what, name string, ok func(float64) bool, pairs ...string) {
		t.Helper()
		vs := m.Values(name, append([]string{"zone", zone}, pairs...)...)
		if len(vs) == 0 {
			t.Errorf("%s: no series %s%v in the scrape", what, name, pairs)
			return
		}
		for _, v := range vs {
			if !ok(v) {
				t.Errorf("%s: %s%v = %v", what, name, pairs, v)
			}
		}
	}
	pos := func(v float64) bool { return v > 0 }
	is := func(x float64) func(float64) bool { return func(v float64) bool { return v == x } }

	want("log-only gauge, enforcing", "coredns_veil_log_only", is(0), "server", enf, "view", "")
	want("log-only gauge, log-only", "coredns_veil_log_only", is(1), "server", lo, "view", "")
	for _, s := range []string{enf, lo} {
		want("trusted requests", "coredns_veil_requests_total", pos, "server", s, "class", "trusted")
		want("external requests", "coredns_veil_requests_total", pos, "server", s, "class", "external")
		want("tsig requests", "coredns_veil_requests_total", is(0), "server", s, "class", "tsig")
		want("trips", "coredns_veil_limiter_trips_total", pos, "server", s, "tier", "v4_32", "rule", "rate")
		want("blocked prefixes", "coredns_veil_limiter_blocked_prefixes", pos, "server", s)
		want("table size", "coredns_veil_limiter_table_slots", is(4096), "server", s, "state", "total")
		want("table use", "coredns_veil_limiter_table_slots", pos, "server", s, "state", "used")
		want("collisions", "coredns_veil_limiter_collisions_total", func(v float64) bool { return v >= 0 }, "server", s)
		want("signed TXT answers", "coredns_veil_tokens_signed_unfiltered_total", is(0), "server", s)
		want("hidden custom tokens", "coredns_veil_tokens_hidden_total", pos, "server", s, "vendor", "custom")
		want("hidden Microsoft tokens", "coredns_veil_tokens_hidden_total", pos, "server", s, "vendor", "microsoft")
	}
	for _, reason := range []string{"axfr", "ixfr"} {
		want("refused transfers", "coredns_veil_policy_actions_total", pos, "server", enf, "reason", reason, "action", "refuse", "mode", "enforce")
		want("log-only transfers", "coredns_veil_policy_actions_total", pos, "server", lo, "reason", reason, "action", "drop", "mode", "log_only")
	}
	want("ANY over UDP", "coredns_veil_policy_actions_total", pos, "server", enf, "reason", "any", "action", "hinfo", "mode", "enforce")
	want("ANY over TCP", "coredns_veil_policy_actions_total", pos, "server", enf, "reason", "any", "action", "refuse", "mode", "enforce")
	want("ANY, log-only", "coredns_veil_policy_actions_total", pos, "server", lo, "reason", "any", "action", "drop", "mode", "log_only")
	for _, action := range []string{"slip", "drop", "refuse"} {
		want("limited "+action, "coredns_veil_limited_requests_total", pos, "server", enf, "action", action)
		want("log-only limiter, "+action, "coredns_veil_limited_requests_total", is(0), "server", lo, "action", action)
	}
	want("limited, log-only", "coredns_veil_limited_requests_total", pos, "server", lo, "action", "log_only")
	want("decoys, log-only", "coredns_veil_decoys_total", pos, "server", lo, "mode", "log_only")
	if vs := m.Values("coredns_veil_decoys_total", "server", enf); len(vs) != 0 {
		t.Errorf("respond block: decoy series %v, want none (no decoy can be served)", vs)
	}
	want("canary queries", "coredns_veil_canary_queries_total", pos, "server", enf)
	want("canary trips", "coredns_veil_limiter_trips_total", pos, "server", enf, "tier", "v4_32", "rule", "canary")
	want("no canary", "coredns_veil_canary_queries_total", is(0), "server", lo)
	if vs := m.Values("coredns_veil_cluster_replicas", "server", enf); len(vs) != 1 || vs[0] != 1 {
		t.Errorf("cluster replicas of the one replica: %v, want [1]", vs)
	}
	want("hidden DocuSign tokens", "coredns_veil_tokens_hidden_total", pos, "server", enf, "vendor", "docusign", "mode", "enforce")
	want("hidden Google tokens, log-only", "coredns_veil_tokens_hidden_total", pos, "server", lo, "vendor", "google", "mode", "log_only")

	checkExposedVendors(t, m, enf, lo)
	if t.Failed() {
		var b strings.Builder
		for _, s := range m.Samples {
			if strings.HasPrefix(s.Name, "coredns_veil_") {
				fmt.Fprintf(&b, "%s %v %v\n", s.Name, s.Labels, s.Value)
			}
		}
		t.Logf("veil series:\n%s", b.String())
	}
}

// checkExposedVendors checks the vendors whose tokens each listener
// reports as exposed against the default policy that VeilTokensRevealed in
// rulesFile assumes, and against the log-only listener's policy.
func checkExposedVendors(t *testing.T, m harness.Metrics, enf, lo string) {
	t.Helper()
	// The exposed vendors: the enforcing listener has the default policy
	// (plus a pattern, which hides), so its set is the one
	// VeilTokensRevealed leaves out.
	exposed := func(server string) []string {
		var ids []string
		for _, s := range m.Samples {
			if s.Name == "coredns_veil_tokens_exposed" && s.Labels["server"] == server && s.Value == 1 {
				ids = append(ids, s.Labels["vendor"])
			}
		}
		sort.Strings(ids)
		return ids
	}
	if got, want := strings.Join(exposed(enf), "|"), defaultExposed; got != want {
		t.Errorf("vendors exposed by the default policy: %s; VeilTokensRevealed assumes %s", got, want)
	}
	if got, want := strings.Join(exposed(lo), "|"), "atlassian|azure_asuid|docusign|github_pages|gitlab_pages"; got != want {
		t.Errorf("vendors exposed with hide google, reveal docusign: %s, want %s", got, want)
	}
	rules, err := os.ReadFile(rulesFile)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(rules), `vendor!~"`+defaultExposed+`"`); n != 2 {
		t.Errorf("%s: VeilTokensRevealed should exclude vendor!~%q twice, found %d", rulesFile, defaultExposed, n)
	}
}
