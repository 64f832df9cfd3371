//go:build e2e

// End-to-end test of veil's monitoring: the Prometheus rules in
// deploy/prometheus and the Grafana dashboard in deploy/grafana against the
// metrics of the built binary, checked with the real tools, promtool and
// Prometheus (Debian package prometheus).
//
//   - promtool check rules and promtool test rules must pass, every alert
//     must carry severity, summary, description and a runbook_url naming its
//     docs/operations.md anchor, and the unit tests must cover every alert (firing and
//     quiet) and every recording rule;
//
//   - one CoreDNS process serves mon.test on two listeners with every veil
//     feature (trusted, transfer, any, a limiter with a small burst, tokens),
//     the second one in log-only mode:
//
//     enforce   127.0.89.1  veil trusts 127.0.0.1; metrics on 127.0.89.1:9153
//     log-only  127.0.89.2  the same, with log-only
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
//	go test -tags e2e -count=1 -run TestE2EMonitoring -v ./test/
//
// promtool and prometheus are required (never skipped); on Debian:
// apt-get install --no-install-recommends prometheus
package test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"go.yaml.in/yaml/v3"
)

const (
	monZone        = "mon.test"
	monEnforceAddr = "127.0.89.1" // veil enforces
	monLogOnlyAddr = "127.0.89.2" // veil in log-only mode
	monMetricsAddr = "127.0.89.1:9153"
	monPromAddr    = "127.0.89.1:19090" // Prometheus; not 9090, where a system Prometheus may listen on every address

	monTrustedSrc = "127.0.0.1" // trusted by both listeners
	monExtSrc     = "127.0.0.2" // external: positive queries, TXT, AXFR, IXFR, ANY
	monUDPBurst   = "127.0.0.4" // external: NXDOMAIN burst over UDP
	monTCPBurst   = "127.0.0.5" // external: NXDOMAIN burst over TCP

	monRulesFile     = "../deploy/prometheus/veil-rules.yml"
	monRuleTestsFile = "../deploy/prometheus/veil-rules_test.yml"
	monDashboardFile = "../deploy/grafana/veil-dashboard.json"
	monRunbook       = "https://github.com/veildns/veil/blob/main/docs/operations.md#"

	// monReadyTimeout bounds CoreDNS's start-up. The wait ends as soon as
	// both listeners answer; the bound is generous because CI runs on a
	// small shared machine.
	monReadyTimeout = 20 * time.Second

	// monDefaultExposed is the regular expression VeilTokensRevealed uses
	// for the vendors the default token policy shows; the test checks it
	// against what the enforcing listener (default policy plus a pattern)
	// reports.
	monDefaultExposed = `atlassian|azure_asuid|github_pages|gitlab_pages|google`
)

// monZoneTemplate: verb 1 is the run's nonce. The apex TXT RRset holds SPF,
// Google's and Microsoft's tokens, a DocuSign token and an operator pattern.
const monZoneTemplate = `$ORIGIN mon.test.
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

// monCorefileTemplate: verb 1 is the zone file. Both listeners run every
// feature; the second adds log-only, drops instead of refusing, and changes
// the token policy (Google hidden, DocuSign revealed).
const monCorefileTemplate = `mon.test:53 {
    bind 127.0.89.1
    prometheus 127.0.89.1:9153
    errors
    veil {
        trusted 127.0.0.1
        transfer refuse
        any hinfo tcp refuse
        limit {
            rate 1
            burst 4
            block 5m
            slip 2
            table 4096
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

func TestE2EMonitoring(t *testing.T) {
	start := time.Now()
	for _, tool := range []string{"promtool", "prometheus"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found in PATH (%v): install the Debian package prometheus (apt-get install --no-install-recommends prometheus)", tool, err)
		}
	}
	rules := monLoadRules(t)

	t.Run("promtool_rules", func(t *testing.T) {
		out := e2eRun(t, "promtool", "check", "rules", monRulesFile)
		e2eExitZero(t, out)
		e2eWant(t, out, "SUCCESS: "+strconv.Itoa(len(rules.records)+len(rules.alerts))+" rules found")
		out = e2eRun(t, "promtool", "test", "rules", monRuleTestsFile)
		e2eExitZero(t, out)
		e2eWant(t, out, "SUCCESS")
		e2eDontWant(t, out, "FAILED")
	})
	t.Run("rule_conventions", func(t *testing.T) { monCheckRuleConventions(t, rules) })

	bin := e2eBuildBinary(t)
	dir := t.TempDir()
	monStartCoreDNS(t, bin, dir)
	prom := monStartPrometheus(t, dir)

	// The first request of a kind creates its counter at 1, and rate()
	// cannot see a series' first increment, so the traffic runs twice with
	// a scrape in between: the second round moves every counter.
	monTraffic(t)
	prom.waitScrapeAfter(t, time.Now())
	monTraffic(t)

	scrape := monScrapeRaw(t)
	t.Run("promtool_check_metrics", func(t *testing.T) {
		out := monRunStdin(t, scrape, "promtool", "check", "metrics")
		e2eExitZero(t, out)
		if strings.TrimSpace(out.text) != "" {
			t.Errorf("promtool check metrics reports problems in the scrape:\n%s", out)
		}
	})
	m := monParseScrape(t, scrape)
	t.Run("series", func(t *testing.T) { monCheckSeries(t, m) })
	t.Run("rules_use_scraped_names", func(t *testing.T) {
		for _, r := range rules.all {
			monCheckExpr(t, rules, m, r.name, r.expr)
		}
	})
	t.Run("dashboard", func(t *testing.T) {
		for _, q := range monDashboardQueries(t) {
			monCheckExpr(t, rules, m, q.where, q.expr)
		}
	})
	t.Run("prometheus", func(t *testing.T) { prom.check(t, monDashboardQueries(t)) })
	t.Logf("TestE2EMonitoring took %v", time.Since(start).Round(100*time.Millisecond))
}

// --- the rules file ---

type monRule struct {
	name, expr  string
	labels      map[string]string
	annotations map[string]string
}

type monRules struct {
	all     []monRule
	alerts  map[string]monRule
	records map[string]string // recording rule name -> expression
}

func monLoadRules(t *testing.T) monRules {
	t.Helper()
	var f struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Record      string            `yaml:"record"`
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	monReadYAML(t, monRulesFile, &f)
	r := monRules{alerts: map[string]monRule{}, records: map[string]string{}}
	for _, g := range f.Groups {
		for _, x := range g.Rules {
			rule := monRule{name: x.Record, expr: x.Expr, labels: x.Labels, annotations: x.Annotations}
			if x.Alert != "" {
				rule.name = x.Alert
				if _, dup := r.alerts[x.Alert]; dup {
					t.Errorf("alert %s defined twice", x.Alert)
				}
				r.alerts[x.Alert] = rule
			} else {
				if _, dup := r.records[x.Record]; dup {
					t.Errorf("recording rule %s defined twice", x.Record)
				}
				r.records[x.Record] = x.Expr
			}
			r.all = append(r.all, rule)
		}
	}
	if len(r.alerts) == 0 || len(r.records) == 0 {
		t.Fatalf("%s: %d alerts and %d recording rules; want some of each", monRulesFile, len(r.alerts), len(r.records))
	}
	return r
}

func monReadYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// monRecordName is level:metric:operations.
var monRecordName = regexp.MustCompile(`^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$`)

// monCheckRuleConventions checks what promtool does not: every alert has a
// severity and the three annotations, its runbook_url is the docs/operations.md anchor
// named after it, recording rules are named level:metric:operations, and
// the unit tests cover every alert, firing and quiet, and every recording
// rule.
func monCheckRuleConventions(t *testing.T, rules monRules) {
	for name, a := range rules.alerts {
		switch a.labels["severity"] {
		case "critical", "warning", "info":
		default:
			t.Errorf("alert %s: severity %q, want critical, warning or info", name, a.labels["severity"])
		}
		for _, k := range []string{"summary", "description", "runbook_url"} {
			if strings.TrimSpace(a.annotations[k]) == "" {
				t.Errorf("alert %s has no %s annotation", name, k)
			}
		}
		if want := monRunbook + strings.ToLower(name); a.annotations["runbook_url"] != want {
			t.Errorf("alert %s: runbook_url %q, want %q", name, a.annotations["runbook_url"], want)
		}
	}
	for name := range rules.records {
		if !monRecordName.MatchString(name) {
			t.Errorf("recording rule %s is not named level:metric:operations", name)
		}
	}

	var f struct {
		RuleFiles []string `yaml:"rule_files"`
		Tests     []struct {
			Name          string `yaml:"name"`
			AlertRuleTest []struct {
				Alertname string `yaml:"alertname"`
				ExpAlerts []struct {
					ExpLabels      map[string]string `yaml:"exp_labels"`
					ExpAnnotations map[string]string `yaml:"exp_annotations"`
				} `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
			PromqlExprTest []struct {
				Expr string `yaml:"expr"`
			} `yaml:"promql_expr_test"`
		} `yaml:"tests"`
	}
	monReadYAML(t, monRuleTestsFile, &f)
	if !slices.Equal(f.RuleFiles, []string{filepath.Base(monRulesFile)}) {
		t.Errorf("%s tests rule files %q, want only %s", monRuleTestsFile, f.RuleFiles, filepath.Base(monRulesFile))
	}
	fires, quiet, recorded := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, tc := range f.Tests {
		for _, at := range tc.AlertRuleTest {
			if _, ok := rules.alerts[at.Alertname]; !ok {
				t.Errorf("test %q checks unknown alert %q", tc.Name, at.Alertname)
			}
			if len(at.ExpAlerts) == 0 {
				quiet[at.Alertname] = true
			}
			for _, ea := range at.ExpAlerts {
				if ea.ExpLabels["severity"] == "" || ea.ExpAnnotations["runbook_url"] == "" {
					t.Errorf("test %q: an expected %s alert lacks its severity or annotations", tc.Name, at.Alertname)
				}
				fires[at.Alertname] = true
			}
		}
		for _, pt := range tc.PromqlExprTest {
			names, _ := monPromQLNames(pt.Expr)
			for _, n := range names {
				recorded[n] = true
			}
		}
	}
	for name := range rules.alerts {
		if !fires[name] {
			t.Errorf("%s has no test where %s fires", monRuleTestsFile, name)
		}
		if !quiet[name] {
			t.Errorf("%s has no test where %s stays quiet", monRuleTestsFile, name)
		}
	}
	for name := range rules.records {
		if !recorded[name] {
			t.Errorf("%s has no promql_expr_test of the recording rule %s", monRuleTestsFile, name)
		}
	}
}

// --- PromQL names ---

var (
	monAggregations = map[string]bool{"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true,
		"stdvar": true, "count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
		"limitk": true, "limit_ratio": true}
	monKeywords = map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true,
		"inf": true, "nan": true, "start": true, "end": true}
	monGrouping = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}
)

// monPromQLNames returns the metric names (including recording-rule names)
// and the label names a PromQL expression uses. It tokenizes rather than
// parses: strings, ranges and Grafana variables are skipped; identifiers in
// {} before a matcher operator and in by/without/on/ignoring/group_left/
// group_right lists are labels; identifiers followed by "(" are functions;
// aggregation operators and keywords are neither; everything else is a
// metric name. Grafana's label_values(EXPR, LABEL) is unwrapped first.
func monPromQLNames(expr string) (metrics, labels []string) {
	ms, ls := map[string]bool{}, map[string]bool{}
	if m := monLabelValues.FindStringSubmatch(strings.TrimSpace(expr)); m != nil {
		ls[m[2]] = true
		expr = m[1]
	} else if m := monLabelValuesOnly.FindStringSubmatch(strings.TrimSpace(expr)); m != nil {
		return nil, []string{m[1]}
	}
	s := expr
	n := len(s)
	isIdentStart := func(c byte) bool { return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	isIdent := func(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }
	skipSpace := func(i int) int {
		for i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
			i++
		}
		return i
	}
	skipString := func(i int) int { // s[i] is the opening quote
		q := s[i]
		for i++; i < n && s[i] != q; i++ {
			if s[i] == '\\' && q != '`' {
				i++
			}
		}
		return i + 1
	}
	ident := func(i int) (string, int) {
		j := i
		for j < n && isIdent(s[j]) {
			j++
		}
		return s[i:j], j
	}
	for i := 0; i < n; {
		c := s[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			i = skipString(i)
		case c == '#':
			for i < n && s[i] != '\n' {
				i++
			}
		case c == '$':
			i++
			if i < n && s[i] == '{' {
				for i < n && s[i] != '}' {
					i++
				}
				i++
			} else {
				for i < n && isIdent(s[i]) && s[i] != ':' {
					i++
				}
			}
		case c == '[':
			for i < n && s[i] != ']' {
				i++
			}
			i++
		case c == '{':
			for i++; i < n && s[i] != '}'; {
				switch {
				case s[i] == '"' || s[i] == '\'' || s[i] == '`':
					i = skipString(i)
				case isIdentStart(s[i]):
					var id string
					id, i = ident(i)
					if j := skipSpace(i); j < n && (s[j] == '=' || s[j] == '!') {
						ls[id] = true
					}
				default:
					i++
				}
			}
			i++
		case c >= '0' && c <= '9' || c == '.':
			for i < n && (isIdent(s[i]) || s[i] == '.') && s[i] != ':' {
				i++
			}
		case isIdentStart(c):
			var id string
			id, i = ident(i)
			low := strings.ToLower(id)
			j := skipSpace(i)
			switch {
			case monGrouping[low]:
				if j < n && s[j] == '(' {
					k := strings.IndexByte(s[j:], ')')
					if k < 0 {
						k = n - j
					}
					for _, l := range strings.Split(s[j+1:j+k], ",") {
						if l = strings.TrimSpace(l); l != "" {
							ls[l] = true
						}
					}
					i = j + k + 1
				}
			case monAggregations[low] || monKeywords[low]:
			case j < n && s[j] == '(':
				// a function
			default:
				ms[id] = true
			}
		default:
			i++
		}
	}
	return slices.Sorted(maps.Keys(ms)), slices.Sorted(maps.Keys(ls))
}

// The tokenizer finds metric and label names, and nothing else, in the
// shapes of PromQL the rules and the dashboard use.
func TestE2EMonitoringPromQLNames(t *testing.T) {
	for _, c := range []struct{ expr, metrics, labels string }{
		{`sum by (job, zone) (rate(coredns_veil_requests_total{class="external", zone=~"$zone"}[$__rate_interval]))`,
			"coredns_veil_requests_total", "class job zone"},
		{"a:b:rate5m / on (job, instance) group_left(vendor) c:d:ratio{x!~\"}{y\"} > bool 0.25 AND d offset 1d # e f\n",
			"a:b:rate5m c:d:ratio d", "instance job vendor x"},
		{`min_over_time(coredns_veil_log_only[1d:5m]) == 1 unless count without (vendor) (m{ a = "1" }) > 1e3`,
			"coredns_veil_log_only m", "a vendor"},
		{`max(x) by (server) * on() group_right y{"quoted"} or vector(1) or time() > ${threshold}`, "x y", "server"},
		{`label_values(coredns_veil_requests_total{instance=~"$instance", server=~"$server"}, zone)`,
			"coredns_veil_requests_total", "instance server zone"},
		{`label_values(zone)`, "", "zone"},
	} {
		ms, ls := monPromQLNames(c.expr)
		if strings.Join(ms, " ") != c.metrics || strings.Join(ls, " ") != c.labels {
			t.Errorf("%s:\n got metrics %q labels %q\nwant metrics %q labels %q", c.expr, ms, ls, c.metrics, c.labels)
		}
	}
}

var (
	monLabelValues     = regexp.MustCompile(`(?s)^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$`)
	monLabelValuesOnly = regexp.MustCompile(`^label_values\(\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$`)
)

// monTargetLabels are added by Prometheus to every scraped series.
var monTargetLabels = []string{"job", "instance", "__name__"}

// monCheckExpr resolves the names expr uses through the recording rules to
// scraped metric names, and fails for any metric that is not in the scrape
// or label that none of the metrics it uses carries.
func monCheckExpr(t *testing.T, rules monRules, m monScrapeData, where, expr string) {
	t.Helper()
	raw, labels, err := monResolve(rules, expr, nil)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	if len(raw) == 0 {
		t.Errorf("%s: no metric name found in %q", where, expr)
	}
	have := map[string]bool{}
	for _, l := range monTargetLabels {
		have[l] = true
	}
	for _, name := range raw {
		ls, ok := m.labels[name]
		if !ok {
			t.Errorf("%s uses metric %s, which is not in the scrape of the built binary", where, name)
			continue
		}
		for l := range ls {
			have[l] = true
		}
	}
	for _, l := range labels {
		if !have[l] {
			t.Errorf("%s uses label %q, which none of %v carries in the scrape", where, l, raw)
		}
	}
}

// monResolve returns the scraped metric names expr uses, following
// recording rules, and the label names used on the way.
func monResolve(rules monRules, expr string, seen []string) (raw, labels []string, err error) {
	ms, ls := monPromQLNames(expr)
	labels = ls
	for _, name := range ms {
		if !strings.Contains(name, ":") {
			raw = append(raw, name)
			continue
		}
		rec, ok := rules.records[name]
		if !ok {
			return nil, nil, fmt.Errorf("uses %s, which no recording rule in %s defines", name, monRulesFile)
		}
		if slices.Contains(seen, name) {
			return nil, nil, fmt.Errorf("recording rule %s refers to itself", name)
		}
		r, l, err := monResolve(rules, rec, append(seen, name))
		if err != nil {
			return nil, nil, err
		}
		raw, labels = append(raw, r...), append(labels, l...)
	}
	slices.Sort(raw)
	slices.Sort(labels)
	return slices.Compact(raw), slices.Compact(labels), nil
}

// --- the dashboard ---

type monQuery struct{ where, expr string }

// monDashboardQueries returns the expressions of every panel target and
// every query variable of the dashboard, after checking its datasource
// wiring and template variables.
func monDashboardQueries(t *testing.T) []monQuery {
	t.Helper()
	b, err := os.ReadFile(monDashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		SchemaVersion int              `json:"schemaVersion"`
		UID           string           `json:"uid"`
		Panels        []map[string]any `json:"panels"`
		Templating    struct {
			List []map[string]any `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", monDashboardFile, err)
	}
	if d.SchemaVersion < 36 || d.UID == "" {
		t.Errorf("%s: schemaVersion %d, uid %q; want 36 or later and a uid", monDashboardFile, d.SchemaVersion, d.UID)
	}
	var qs []monQuery
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		name, _ := v["name"].(string)
		typ, _ := v["type"].(string)
		vars[name] = typ
		if typ != "query" {
			continue
		}
		q := v["query"]
		if o, ok := q.(map[string]any); ok {
			q = o["query"]
		}
		s, _ := q.(string)
		if s == "" {
			t.Errorf("%s: variable %s has no query", monDashboardFile, name)
		}
		qs = append(qs, monQuery{"dashboard variable " + name, s})
		monCheckDatasource(t, "variable "+name, v["datasource"])
	}
	for name, typ := range map[string]string{"datasource": "datasource", "server": "query", "zone": "query"} {
		if vars[name] != typ {
			t.Errorf("%s: template variable %s is %q, want type %s", monDashboardFile, name, vars[name], typ)
		}
	}
	ids := map[float64]bool{}
	var walk func([]map[string]any)
	walk = func(panels []map[string]any) {
		for _, p := range panels {
			title, _ := p["title"].(string)
			id, _ := p["id"].(float64)
			if ids[id] {
				t.Errorf("%s: panel id %v used twice", monDashboardFile, id)
			}
			ids[id] = true
			if p["type"] == "row" {
				var sub []map[string]any
				if list, ok := p["panels"].([]any); ok {
					for _, x := range list {
						if m, ok := x.(map[string]any); ok {
							sub = append(sub, m)
						}
					}
				}
				walk(sub)
				continue
			}
			targets, _ := p["targets"].([]any)
			if len(targets) == 0 {
				t.Errorf("%s: panel %q has no targets", monDashboardFile, title)
			}
			monCheckDatasource(t, "panel "+title, p["datasource"])
			for _, x := range targets {
				tg, _ := x.(map[string]any)
				expr, _ := tg["expr"].(string)
				if expr == "" {
					t.Errorf("%s: panel %q has a target without expr", monDashboardFile, title)
					continue
				}
				monCheckDatasource(t, "panel "+title, tg["datasource"])
				qs = append(qs, monQuery{fmt.Sprintf("dashboard panel %q target %v", title, tg["refId"]), expr})
			}
		}
	}
	walk(d.Panels)
	if len(qs) < 10 {
		t.Fatalf("%s: only %d queries found", monDashboardFile, len(qs))
	}
	return qs
}

// monCheckDatasource wants the datasource template variable, so the
// dashboard works imported by hand and provisioned from a file alike.
func monCheckDatasource(t *testing.T, where string, ds any) {
	t.Helper()
	m, _ := ds.(map[string]any)
	if m["uid"] != "${datasource}" || m["type"] != "prometheus" {
		t.Errorf("%s: %s has datasource %v, want the prometheus ${datasource} variable", monDashboardFile, where, ds)
	}
}

// --- CoreDNS and the traffic ---

func monStartCoreDNS(t *testing.T, bin, dir string) {
	t.Helper()
	nb := make([]byte, 8)
	if _, err := rand.Read(nb); err != nil {
		t.Fatal(err)
	}
	nonce := hex.EncodeToString(nb)
	zone := filepath.Join(dir, "db.mon.test")
	e2eWrite(t, zone, fmt.Sprintf(monZoneTemplate, nonce))
	corefile := filepath.Join(dir, "Corefile")
	e2eWrite(t, corefile, fmt.Sprintf(monCorefileTemplate, zone))
	e2eRunCoreDNS(t, bin, corefile, monReadyTimeout, func() error {
		for _, a := range []string{monEnforceAddr, monLogOnlyAddr} {
			if err := e2eProbeNonce(net.JoinHostPort(a, e2ePort), "run-id."+monZone+".", nonce); err != nil {
				return err
			}
		}
		return nil
	}, "free addresses "+monEnforceAddr+", "+monLogOnlyAddr+" and "+monMetricsAddr)
}

// monExchange sends one query from src over network ("udp" or "tcp") to
// the listener at addr. A timeout returns a nil message: a dropped query.
func monExchange(t *testing.T, network, src, addr, name string, qtype uint16, timeout time.Duration) *dns.Msg {
	t.Helper()
	var local net.Addr = &net.UDPAddr{IP: net.ParseIP(src)}
	if network == "tcp" {
		local = &net.TCPAddr{IP: net.ParseIP(src)}
	}
	c := &dns.Client{Net: network, Timeout: timeout, Dialer: &net.Dialer{LocalAddr: local, Timeout: timeout}}
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), qtype)
	q.SetEdns0(1232, false)
	r, _, err := c.Exchange(q, net.JoinHostPort(addr, e2ePort))
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		if network == "tcp" && (errors.Is(err, io.EOF) || strings.Contains(err.Error(), "connection reset")) {
			return nil // dropped over TCP: veil closes the connection
		}
		t.Fatalf("%s %s %s from %s to %s: %v", network, name, dns.TypeToString[qtype], src, addr, err)
	}
	return r
}

// monTraffic sends each listener every kind of request veil counts.
func monTraffic(t *testing.T) {
	t.Helper()
	const short = 300 * time.Millisecond
	for _, addr := range []string{monEnforceAddr, monLogOnlyAddr} {
		logOnly := addr == monLogOnlyAddr
		ask := func(network, src, name string, qtype uint16) *dns.Msg {
			return monExchange(t, network, src, addr, name, qtype, time.Second)
		}
		// Trusted: a positive answer and the whole zone.
		if r := ask("udp", monTrustedSrc, "www."+monZone, dns.TypeA); r == nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Errorf("%s: trusted A query: %v", addr, r)
		}
		if r := ask("tcp", monTrustedSrc, monZone, dns.TypeAXFR); r == nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) < 5 {
			t.Errorf("%s: trusted AXFR: %v", addr, r)
		}
		// External: a positive answer, the apex TXT with tokens hidden.
		if r := ask("udp", monExtSrc, "www."+monZone, dns.TypeA); r == nil || r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Errorf("%s: external A query: %v", addr, r)
		}
		txt := ask("udp", monExtSrc, monZone, dns.TypeTXT)
		if txt == nil {
			t.Fatalf("%s: external TXT query unanswered", addr)
		}
		if got, want := len(txt.Answer), map[bool]int{false: 2, true: 5}[logOnly]; got != want {
			t.Errorf("%s: external TXT: %d records, want %d (SPF and Google's token; all in log-only mode):\n%v", addr, got, want, txt)
		}
		// External transfers and ANY, over UDP and TCP.
		for _, network := range []string{"udp", "tcp"} {
			for _, qtype := range []uint16{dns.TypeAXFR, dns.TypeIXFR, dns.TypeANY} {
				r := monExchange(t, network, monExtSrc, addr, monZone, qtype, short)
				switch {
				case logOnly:
				case qtype == dns.TypeANY && network == "udp":
					if r == nil || len(r.Answer) != 1 || r.Answer[0].Header().Rrtype != dns.TypeHINFO {
						t.Errorf("%s: external ANY over UDP: want the RFC 8482 HINFO, got %v", addr, r)
					}
				default:
					if r == nil || r.Rcode != dns.RcodeRefused {
						t.Errorf("%s: external %s over %s: want REFUSED, got %v", addr, dns.TypeToString[qtype], network, r)
					}
				}
			}
		}
		// NXDOMAIN bursts over UDP and TCP: the limiter trips after burst
		// 4 and then slips, drops and refuses (log-only: answers).
		var answered, unanswered, truncated, refused int
		for i := range 14 {
			for _, b := range []struct{ network, src string }{{"udp", monUDPBurst}, {"tcp", monTCPBurst}} {
				r := monExchange(t, b.network, b.src, addr, fmt.Sprintf("guess-%d.%s", i, monZone), dns.TypeA, short)
				switch {
				case r == nil:
					unanswered++
				case r.Truncated:
					truncated++
				case r.Rcode == dns.RcodeRefused:
					refused++
				default:
					answered++
				}
			}
		}
		if logOnly && answered != 28 {
			t.Errorf("%s (log-only): %d of 28 NXDOMAIN guesses answered, want all", addr, answered)
		}
		if !logOnly && (unanswered == 0 || truncated == 0 || refused == 0) {
			t.Errorf("%s: NXDOMAIN burst: %d answered, %d dropped, %d truncated, %d refused; want some of each limiter action",
				addr, answered, unanswered, truncated, refused)
		}
	}
}

// --- the scrape ---

type monScrapeData struct {
	labels  map[string]map[string]bool // metric name -> label names
	samples []e2eSample
}

func monScrapeRaw(t *testing.T) []byte {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + monMetricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s, %v", resp.Status, err)
	}
	return b
}

func monParseScrape(t *testing.T, b []byte) monScrapeData {
	t.Helper()
	m := monScrapeData{labels: map[string]map[string]bool{}}
	for line := range strings.Lines(string(b)) {
		if line = strings.TrimSpace(line); line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sm := e2eSampleRE.FindStringSubmatch(line)
		if sm == nil {
			t.Fatalf("cannot parse metrics line %q", line)
		}
		v, err := strconv.ParseFloat(sm[3], 64)
		if err != nil {
			t.Fatalf("cannot parse value in %q: %v", line, err)
		}
		s := e2eSample{name: sm[1], labels: map[string]string{}, value: v}
		if m.labels[s.name] == nil {
			m.labels[s.name] = map[string]bool{}
		}
		for _, lm := range e2eLabelRE.FindAllStringSubmatch(sm[2], -1) {
			s.labels[lm[1]] = lm[2]
			m.labels[s.name][lm[1]] = true
		}
		m.samples = append(m.samples, s)
	}
	return m
}

// find returns the values of the samples of name whose labels include the
// pairs.
func (m monScrapeData) find(name string, pairs ...string) []float64 {
	var out []float64
next:
	for _, s := range m.samples {
		if s.name != name {
			continue
		}
		for i := 0; i+1 < len(pairs); i += 2 {
			if s.labels[pairs[i]] != pairs[i+1] {
				continue next
			}
		}
		out = append(out, s.value)
	}
	return out
}

// monCheckSeries checks the facts the traffic must have produced.
func monCheckSeries(t *testing.T, m monScrapeData) {
	enf := "dns://" + net.JoinHostPort(monEnforceAddr, e2ePort)
	lo := "dns://" + net.JoinHostPort(monLogOnlyAddr, e2ePort)
	zone := monZone + "."
	want := func(what, name string, ok func(float64) bool, pairs ...string) {
		t.Helper()
		vs := m.find(name, append([]string{"zone", zone}, pairs...)...)
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
	want("hidden DocuSign tokens", "coredns_veil_tokens_hidden_total", pos, "server", enf, "vendor", "docusign", "mode", "enforce")
	want("hidden Google tokens, log-only", "coredns_veil_tokens_hidden_total", pos, "server", lo, "vendor", "google", "mode", "log_only")

	// The exposed vendors: the enforcing listener has the default policy
	// (plus a pattern, which hides), so its set is the one
	// VeilTokensRevealed leaves out.
	exposed := func(server string) []string {
		var ids []string
		for _, s := range m.samples {
			if s.name == "coredns_veil_tokens_exposed" && s.labels["server"] == server && s.value == 1 {
				ids = append(ids, s.labels["vendor"])
			}
		}
		sort.Strings(ids)
		return ids
	}
	if got, want := strings.Join(exposed(enf), "|"), monDefaultExposed; got != want {
		t.Errorf("vendors exposed by the default policy: %s; VeilTokensRevealed assumes %s", got, want)
	}
	if got, want := strings.Join(exposed(lo), "|"), "atlassian|azure_asuid|docusign|github_pages|gitlab_pages"; got != want {
		t.Errorf("vendors exposed with hide google, reveal docusign: %s, want %s", got, want)
	}
	rules, err := os.ReadFile(monRulesFile)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(rules), `vendor!~"`+monDefaultExposed+`"`); n != 2 {
		t.Errorf("%s: VeilTokensRevealed should exclude vendor!~%q twice, found %d", monRulesFile, monDefaultExposed, n)
	}
	if t.Failed() {
		var b strings.Builder
		for _, s := range m.samples {
			if strings.HasPrefix(s.name, "coredns_veil_") {
				fmt.Fprintf(&b, "%s %v %v\n", s.name, s.labels, s.value)
			}
		}
		t.Logf("veil series:\n%s", b.String())
	}
}

// monRunStdin runs a tool with input on stdin.
func monRunStdin(t *testing.T, input []byte, name string, args ...string) e2eOutput {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), e2eToolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = bytes.NewReader(input)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	err := cmd.Run()
	o := e2eOutput{cmd: name + " " + strings.Join(args, " ") + " < scrape", text: buf.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("timed out:\n%s", o)
	case err == nil:
	case errors.As(err, &ee):
		o.code = ee.ExitCode()
	default:
		t.Fatalf("%s: %v", o.cmd, err)
	}
	t.Logf("$ %s   (exit %d)", o.cmd, o.code)
	return o
}

// --- Prometheus ---

type monProm struct {
	base    string
	dataDir string
	rules   string
}

// monStartPrometheus starts Prometheus scraping CoreDNS every second with
// the rules loaded, and waits until it is ready and has scraped once.
func monStartPrometheus(t *testing.T, dir string) *monProm {
	t.Helper()
	rules, err := filepath.Abs(monRulesFile)
	if err != nil {
		t.Fatal(err)
	}
	p := &monProm{base: "http://" + monPromAddr, dataDir: filepath.Join(dir, "prometheus-data"), rules: rules}
	config := filepath.Join(dir, "prometheus.yml")
	e2eWrite(t, config, fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - %s
scrape_configs:
  - job_name: coredns
    static_configs:
      - targets: ['%s']
`, rules, monMetricsAddr))
	e2eRunProcess(t, "prometheus", dir, filepath.Join(dir, "prometheus.log"),
		[]string{"prometheus", "--config.file=" + config, "--storage.tsdb.path=" + p.dataDir,
			"--web.listen-address=" + monPromAddr, "--log.level=warn"},
		30*time.Second, p.ready, "is "+monPromAddr+" free?")
	return p
}

// ready checks that the Prometheus on monPromAddr is ours (its storage
// path) and has scraped CoreDNS successfully.
func (p *monProm) ready() error {
	var flags map[string]string
	if err := p.get("/api/v1/status/flags", nil, &flags); err != nil {
		return err
	}
	if flags["storage.tsdb.path"] != p.dataDir {
		return fmt.Errorf("the Prometheus on %s stores in %q, not this run's %s", monPromAddr, flags["storage.tsdb.path"], p.dataDir)
	}
	res, err := p.query(`up{job="coredns"} == 1`)
	if err != nil {
		return err
	}
	if len(res) != 1 {
		return fmt.Errorf("CoreDNS target not up yet: %v", res)
	}
	return nil
}

// get fetches a Prometheus API path and decodes its data field into v.
func (p *monProm) get(path string, params url.Values, v any) error {
	u := p.base + path
	if params != nil {
		u += "?" + params.Encode()
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var env struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return fmt.Errorf("%s: %s: %w", path, resp.Status, err)
	}
	if env.Status != "success" {
		return fmt.Errorf("%s: %s", path, env.Error)
	}
	return json.Unmarshal(env.Data, v)
}

type monPromSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func (p *monProm) query(q string) ([]monPromSample, error) {
	var data struct {
		ResultType string          `json:"resultType"`
		Result     []monPromSample `json:"result"`
	}
	if err := p.get("/api/v1/query", url.Values{"query": {q}}, &data); err != nil {
		return nil, err
	}
	if data.ResultType != "vector" {
		return nil, fmt.Errorf("query %q: result type %s", q, data.ResultType)
	}
	return data.Result, nil
}

// waitScrapeAfter waits until Prometheus has scraped CoreDNS after t0.
func (p *monProm) waitScrapeAfter(t *testing.T, t0 time.Time) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var data struct {
			ActiveTargets []struct {
				LastScrape time.Time `json:"lastScrape"`
				Health     string    `json:"health"`
			} `json:"activeTargets"`
		}
		if err := p.get("/api/v1/targets", url.Values{"state": {"active"}}, &data); err == nil &&
			len(data.ActiveTargets) == 1 && data.ActiveTargets[0].Health == "up" && data.ActiveTargets[0].LastScrape.After(t0) {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("Prometheus did not scrape CoreDNS within 20s after %v", t0)
}

// check waits (at most 60 s) until Prometheus, with the rules loaded and
// the traffic scraped, evaluates every rule without error, answers every
// dashboard query with at least one series, fires VeilExternalZoneTransfers
// and holds VeilEnumerationInProgress pending for both listeners.
func (p *monProm) check(t *testing.T, queries []monQuery) {
	subst := strings.NewReplacer("$instance", ".*", "$server", ".*", "$zone", ".*")
	var problems []string
	deadline := time.Now().Add(60 * time.Second)
	for {
		problems = p.problems(queries, subst)
		if len(problems) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	for _, pr := range problems {
		t.Error(pr)
	}
}

func (p *monProm) problems(queries []monQuery, subst *strings.Replacer) []string {
	var out []string
	var rules struct {
		Groups []struct {
			Name  string `json:"name"`
			File  string `json:"file"`
			Rules []struct {
				Name      string `json:"name"`
				Health    string `json:"health"`
				LastError string `json:"lastError"`
			} `json:"rules"`
		} `json:"groups"`
	}
	if err := p.get("/api/v1/rules", nil, &rules); err != nil {
		return []string{err.Error()}
	}
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			n++
			if r.Health != "ok" {
				out = append(out, fmt.Sprintf("Prometheus: rule %s in group %s: health %q %s", r.Name, g.Name, r.Health, r.LastError))
			}
		}
	}
	if n == 0 {
		out = append(out, "Prometheus has loaded no rules from "+p.rules)
	}
	for _, q := range queries {
		expr := q.expr
		if m := monLabelValues.FindStringSubmatch(expr); m != nil {
			expr = m[1]
		}
		res, err := p.query(subst.Replace(expr))
		switch {
		case err != nil:
			out = append(out, fmt.Sprintf("Prometheus: %s: %v", q.where, err))
		case len(res) == 0:
			out = append(out, fmt.Sprintf("Prometheus: %s: no data for %s", q.where, expr))
		}
	}
	var alerts struct {
		Alerts []struct {
			Labels map[string]string `json:"labels"`
			State  string            `json:"state"`
		} `json:"alerts"`
	}
	if err := p.get("/api/v1/alerts", nil, &alerts); err != nil {
		return append(out, err.Error())
	}
	for _, w := range []struct{ alert, state string }{
		{"VeilExternalZoneTransfers", "firing"},
		{"VeilEnumerationInProgress", "pending"},
	} {
		for _, addr := range []string{monEnforceAddr, monLogOnlyAddr} {
			server := "dns://" + net.JoinHostPort(addr, e2ePort)
			found := false
			for _, a := range alerts.Alerts {
				l := a.Labels
				if l["alertname"] == w.alert && l["server"] == server && l["zone"] == monZone+"." && l["job"] == "coredns" &&
					l["instance"] == monMetricsAddr && l["severity"] != "" && a.State == w.state {
					found = true
				}
			}
			if !found {
				out = append(out, fmt.Sprintf("Prometheus: %s is not %s for server %s; alerts: %v", w.alert, w.state, server, alerts.Alerts))
			}
		}
	}
	// Nothing else may fire on this traffic.
	for _, a := range alerts.Alerts {
		if a.Labels["alertname"] != "VeilExternalZoneTransfers" && a.Labels["alertname"] != "VeilEnumerationInProgress" {
			out = append(out, fmt.Sprintf("Prometheus: unexpected alert %v (%s)", a.Labels, a.State))
		}
	}
	return out
}
