//go:build e2e

package monitoring

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/veildns/veil/test/harness"
)

type promRule struct {
	name, expr  string
	labels      map[string]string
	annotations map[string]string
}

type ruleSet struct {
	all     []promRule
	alerts  map[string]promRule
	records map[string]string // recording rule name -> expression
}

// loadRules reads rulesFile: every rule, the alerts by name and the
// recording rules by name.
func loadRules(t *testing.T) ruleSet {
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
	readYAML(t, rulesFile, &f)
	r := ruleSet{alerts: map[string]promRule{}, records: map[string]string{}}
	for _, g := range f.Groups {
		for _, x := range g.Rules {
			rule := promRule{name: x.Record, expr: x.Expr, labels: x.Labels, annotations: x.Annotations}
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
		t.Fatalf("%s: %d alerts and %d recording rules; want some of each", rulesFile, len(r.alerts), len(r.records))
	}
	return r
}

// readYAML decodes the YAML file at path into v.
func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// recordNameRE is level:metric:operations.
var recordNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z][a-z0-9_]*$`)

// checkRuleConventions checks what promtool does not: every alert has a
// severity and the three annotations, its runbook_url is the anchor in
// docs/operations.md named after it (runbookPrefix), recording rules are
// named level:metric:operations, and the unit tests cover every alert,
// firing and quiet, and every recording rule.
func checkRuleConventions(t *testing.T, rules ruleSet) {
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
		if want := runbookPrefix + strings.ToLower(name); a.annotations["runbook_url"] != want {
			t.Errorf("alert %s: runbook_url %q, want %q", name, a.annotations["runbook_url"], want)
		}
	}
	for name := range rules.records {
		if !recordNameRE.MatchString(name) {
			t.Errorf("recording rule %s is not named level:metric:operations", name)
		}
	}

	checkRuleTests(t, rules)
}

// checkRuleTests checks that the unit tests of ruleTestsFile test the
// rules file alone and cover every alert, firing (with its severity and
// annotations) and quiet, and every recording rule.
func checkRuleTests(t *testing.T, rules ruleSet) {
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
	readYAML(t, ruleTestsFile, &f)
	if !slices.Equal(f.RuleFiles, []string{filepath.Base(rulesFile)}) {
		t.Errorf("%s tests rule files %q, want only %s", ruleTestsFile, f.RuleFiles, filepath.Base(rulesFile))
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
			names, _, err := harness.PromQLNames(pt.Expr)
			if err != nil {
				t.Errorf("%s: test %q: %v", ruleTestsFile, tc.Name, err)
			}
			for _, n := range names {
				recorded[n] = true
			}
		}
	}
	for name := range rules.alerts {
		if !fires[name] {
			t.Errorf("%s has no test where %s fires", ruleTestsFile, name)
		}
		if !quiet[name] {
			t.Errorf("%s has no test where %s stays quiet", ruleTestsFile, name)
		}
	}
	for name := range rules.records {
		if !recorded[name] {
			t.Errorf("%s has no promql_expr_test of the recording rule %s", ruleTestsFile, name)
		}
	}
}
