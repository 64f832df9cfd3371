//go:build e2e

package monitoring

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/veildns/veil/test/harness"
)

// targetLabels are added by Prometheus to every scraped series.
var targetLabels = []string{"job", "instance", "__name__"}

// checkExpr resolves the names expr uses through the recording rules to
// scraped metric names, and fails for any metric that is not in the scrape
// or label that none of the metrics it uses carries.
func checkExpr(t *testing.T, rules ruleSet, m harness.Metrics, where, expr string) {
	t.Helper()
	raw, labels, err := resolve(rules, expr, nil)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	if len(raw) == 0 {
		t.Errorf("%s: no metric name found in %q", where, expr)
	}
	have := map[string]bool{}
	for _, l := range targetLabels {
		have[l] = true
	}
	scraped := m.LabelNames()
	for _, name := range raw {
		ls, ok := scraped[name]
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

// resolve returns the scraped metric names expr uses, following
// recording rules, and the label names used on the way.
func resolve(rules ruleSet, expr string, seen []string) (raw, labels []string, err error) {
	ms, ls, err := harness.PromQLNames(expr)
	if err != nil {
		return nil, nil, err
	}
	labels = ls
	for _, name := range ms {
		if !strings.Contains(name, ":") {
			raw = append(raw, name)
			continue
		}
		rec, ok := rules.records[name]
		if !ok {
			return nil, nil, fmt.Errorf("uses %s, which no recording rule in %s defines", name, rulesFile)
		}
		if slices.Contains(seen, name) {
			return nil, nil, fmt.Errorf("recording rule %s refers to itself", name)
		}
		r, l, err := resolve(rules, rec, append(seen, name))
		if err != nil {
			return nil, nil, err
		}
		raw, labels = append(raw, r...), append(labels, l...)
	}
	slices.Sort(raw)
	slices.Sort(labels)
	return slices.Compact(raw), slices.Compact(labels), nil
}
