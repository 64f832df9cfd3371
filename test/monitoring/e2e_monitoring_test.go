//go:build e2e

// End-to-end test of veil's monitoring: the Prometheus rules in
// deploy/prometheus and the Grafana dashboard in deploy/grafana against the
// metrics of the built binary, checked with the real tools, promtool and
// Prometheus (Debian package prometheus).
//
//   - promtool check rules and promtool test rules must pass, every alert
//     must carry severity, summary, description and a runbook_url naming its
//     anchor in docs/operations.md, and the unit tests must cover every
//     alert (firing and quiet) and every recording rule;
//
//   - one CoreDNS process serves mon.test on two listeners with every veil
//     feature (trusted, transfer, any, a limiter with a small burst, tokens),
//     the second one in log-only mode:
//
//     enforce   127.0.89.1  veil trusts 127.0.0.1; metrics on 127.0.89.1:9153
//     log-only  127.0.89.2  the same, with log-only
//
//     where the enforcing listener's limiter shares its state through a
//     redis-server on a loopback port (the cluster series),
//
//     and clients from 127.0.0.1 (trusted) and 127.0.0.2 to 127.0.0.5
//     (external) send positive queries, TXT queries with hidden tokens, AXFR,
//     IXFR, ANY over UDP and TCP, and NXDOMAIN bursts over UDP and TCP that
//     trip the limiter, so every veil series appears, with mode log_only and
//     the limiter actions slip, drop, refuse and log_only;
//
//   - promtool check metrics must find nothing wrong in the scrape;
//
//   - every metric and label name the rules and the dashboard use (through
//     the recording rules) must exist in the scrape;
//
//   - a Prometheus (127.0.89.1:19090) scraping the process every second with
//     the rules loaded must evaluate every rule without error, answer every
//     dashboard query with data, fire VeilExternalZoneTransfers and hold
//     VeilEnumerationInProgress pending for both listeners.
//
// Run it with:
//
//	go test -tags e2e -count=1 -run TestE2EMonitoring -v ./test/monitoring/
//
// promtool and prometheus are required (never skipped); on Debian:
// apt-get install --no-install-recommends prometheus
package monitoring

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/veildns/veil/test/harness"
)

const (
	zoneName    = "mon.test"
	enforceAddr = "127.0.89.1" // veil enforces
	logOnlyAddr = "127.0.89.2" // veil in log-only mode
	metricsAddr = "127.0.89.1:9153"
	promAddr    = "127.0.89.1:19090" // Prometheus; not 9090, where a system Prometheus may listen on every address

	trustedSrc  = "127.0.0.1" // trusted by both listeners
	extSrc      = "127.0.0.2" // external: positive queries, TXT, AXFR, IXFR, ANY
	udpBurstSrc = "127.0.0.4" // external: NXDOMAIN burst over UDP
	tcpBurstSrc = "127.0.0.5" // external: NXDOMAIN burst over TCP
	canarySrc   = "127.0.0.6" // external: asks for the canary name

	rulesFile     = "../../deploy/prometheus/veil-rules.yml"
	ruleTestsFile = "../../deploy/prometheus/veil-rules_test.yml"
	dashboardFile = "../../deploy/grafana/veil-dashboard.json"
	// runbookPrefix is every alert's runbook_url up to the anchor, which
	// is the alert's name in lower case.
	runbookPrefix = "https://github.com/veildns/veil/blob/main/docs/operations.md#"

	// readyTimeout bounds CoreDNS's start-up. The wait ends as soon as
	// both listeners answer; the bound is generous because CI runs on a
	// small shared machine.
	readyTimeout = 20 * time.Second

	// defaultExposed is the regular expression VeilTokensRevealed uses
	// for the vendors the default token policy shows; the test checks it
	// against what the enforcing listener (default policy plus a pattern)
	// reports.
	defaultExposed = `atlassian|azure_asuid|github_pages|gitlab_pages|google`
)

// zoneTemplate: verb 1 is the run's nonce. The apex TXT RRset holds SPF,
// Google's and Microsoft's tokens, a DocuSign token and an operator pattern.
const zoneTemplate = `$ORIGIN mon.test.
$TTL 300
@       IN SOA   ns1.mon.test. hostmaster.mon.test. 2026112601 7200 3600 1209600 300
@       IN NS    ns1.mon.test.
ns1     IN A     127.0.89.1
www     IN A     192.0.2.80
run-id  IN TXT   "%s"
@       IN TXT   "v=spf1 -all"
@       IN TXT   "google-site-verification=mon-e2e-google-token"
@       IN TXT   "MS=ms48151623"
@       IN TXT   "docusign=4c2ee1a8-0b4e-4f7a-9a53-0c1b2a3d4e5f"
@       IN TXT   "internal-audit-id=mon-e2e-42"
`

// corefileTemplate: verb 1 is the zone file, verb 2 the address of the
// Redis the first listener's limiter shares its state through. Both
// listeners run every feature; the first blocks flagged prefixes (respond
// block) and has a canary name, the second answers them with decoys (the
// default) in log-only mode, drops instead of refusing, and changes
// the token policy (Google hidden, DocuSign revealed).
const corefileTemplate = `mon.test:53 {
    bind 127.0.89.1
    prometheus 127.0.89.1:9153
    errors
    veil {
        trusted 127.0.0.1
        transfer refuse
        any hinfo tcp refuse
        limit {
            respond block
            canary vault-admin.mon.test
            rate 1
            burst 4
            block 5m
            slip 2
            table 4096
            cluster redis://%[2]s prefix veil:mon:
        }
        tokens {
            pattern ^internal-audit-id=
        }
    }
    transfer {
        to *
    }
    file %[1]s
}

mon.test:53 {
    bind 127.0.89.2
    prometheus 127.0.89.1:9153
    errors
    veil {
        trusted 127.0.0.1
        transfer drop
        any drop
        limit {
            rate 1
            burst 4
            block 5m
            table 4096
        }
        tokens {
            hide google
            reveal docusign
            pattern ^internal-audit-id=
        }
        log-only
    }
    transfer {
        to *
    }
    file %[1]s
}
`

// TestE2EMonitoring checks the rules and the dashboard as described above.
func TestE2EMonitoring(t *testing.T) {
	start := time.Now()
	for _, tool := range []string{"promtool", "prometheus"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found in PATH (%v): install the Debian package prometheus (apt-get install --no-install-recommends prometheus)", tool, err)
		}
	}
	rules := loadRules(t)

	t.Run("promtool_rules", func(t *testing.T) {
		out := harness.Run(t, "promtool", "check", "rules", rulesFile)
		harness.ExitZero(t, out)
		harness.Want(t, out, "SUCCESS: "+strconv.Itoa(len(rules.records)+len(rules.alerts))+" rules found")
		out = harness.Run(t, "promtool", "test", "rules", ruleTestsFile)
		harness.ExitZero(t, out)
		harness.Want(t, out, "SUCCESS")
		harness.DontWant(t, out, "FAILED")
	})
	t.Run("rule_conventions", func(t *testing.T) { checkRuleConventions(t, rules) })

	bin := harness.BuildCoreDNS(t)
	dir := t.TempDir()
	startCoreDNS(t, bin, dir)
	prom := startPrometheus(t, dir)

	// The first request of a kind creates its counter at 1, and rate()
	// cannot see a series' first increment, so the traffic runs twice with
	// a scrape in between: the second round moves every counter.
	sendTraffic(t)
	prom.waitScrapeAfter(t, time.Now())
	sendTraffic(t)

	scrape := harness.FetchMetrics(t, metricsAddr)
	t.Run("promtool_check_metrics", func(t *testing.T) {
		out := harness.RunStdin(t, scrape, "promtool", "check", "metrics")
		harness.ExitZero(t, out)
		if strings.TrimSpace(out.Text) != "" {
			t.Errorf("promtool check metrics reports problems in the scrape:\n%s", out)
		}
	})
	m := harness.ParseMetrics(t, scrape)
	t.Run("series", func(t *testing.T) { checkSeries(t, m) })
	t.Run("rules_use_scraped_names", func(t *testing.T) {
		for _, r := range rules.all {
			checkExpr(t, rules, m, r.name, r.expr)
		}
	})
	t.Run("dashboard", func(t *testing.T) {
		for _, q := range dashboardQueries(t) {
			checkExpr(t, rules, m, q.where, q.expr)
		}
	})
	t.Run("prometheus", func(t *testing.T) { prom.check(t, dashboardQueries(t)) })
	t.Logf("TestE2EMonitoring took %v", time.Since(start).Round(100*time.Millisecond))
}
