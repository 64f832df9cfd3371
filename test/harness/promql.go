package harness

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
)

var (
	// labelValuesRE and labelValuesOnlyRE match Grafana's
	// label_values(EXPR, LABEL) and label_values(LABEL).
	labelValuesRE     = regexp.MustCompile(`(?s)^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$`)
	labelValuesOnlyRE = regexp.MustCompile(`^label_values\(\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$`)

	// grafanaRangeVarRE is a Grafana variable where PromQL wants a
	// duration: right after "[" or a subquery's ":"; grafanaVarRE is any
	// other ($zone, ${zone}, ${zone:regex}).
	grafanaRangeVarRE = regexp.MustCompile(`([\[:]\s*)\$(?:\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)`)
	grafanaVarRE      = regexp.MustCompile(`\$(?:\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)`)
)

// LabelValuesQuery returns the PromQL query inside Grafana's
// label_values(EXPR, LABEL), or expr itself if it is not one.
func LabelValuesQuery(expr string) string {
	if m := labelValuesRE.FindStringSubmatch(expr); m != nil {
		return m[1]
	}
	return expr
}

// PromQLNames returns, sorted, the metric names (recording-rule names
// included) and the label names a PromQL expression of the rules or the
// dashboard uses: the names of its vector selectors, the label names of
// their matchers, and the labels of by, without, on, ignoring, group_left
// and group_right. It parses expr with Prometheus's own PromQL parser after
// taking care of two Grafana additions: label_values(EXPR, LABEL) and
// label_values(LABEL) are unwrapped (LABEL counts as a label), and
// variables ($zone, ${zone}, $__rate_interval) are replaced by a duration
// inside a range or subquery and by 1 elsewhere. An expression that does
// not parse is an error.
func PromQLNames(expr string) (metrics, labelNames []string, err error) {
	ms, ls := map[string]bool{}, map[string]bool{}
	expr = strings.TrimSpace(expr)
	if m := labelValuesRE.FindStringSubmatch(expr); m != nil {
		ls[m[2]] = true
		expr = m[1]
	} else if m := labelValuesOnlyRE.FindStringSubmatch(expr); m != nil {
		return nil, []string{m[1]}, nil
	}
	expr = grafanaRangeVarRE.ReplaceAllString(expr, "${1}5m")
	expr = grafanaVarRE.ReplaceAllString(expr, "1")
	node, err := parser.ParseExpr(expr)
	if err != nil {
		return nil, nil, fmt.Errorf("parsing %q: %w", expr, err)
	}
	parser.Inspect(node, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			if n.Name != "" {
				ms[n.Name] = true
			}
			for _, lm := range n.LabelMatchers {
				switch {
				case lm.Name != labels.MetricName:
					ls[lm.Name] = true
				case n.Name == "" && lm.Type == labels.MatchEqual:
					ms[lm.Value] = true
				}
			}
		case *parser.AggregateExpr:
			for _, l := range n.Grouping {
				ls[l] = true
			}
		case *parser.BinaryExpr:
			if vm := n.VectorMatching; vm != nil {
				for _, l := range slices.Concat(vm.MatchingLabels, vm.Include) {
					ls[l] = true
				}
			}
		}
		return nil
	})
	return slices.Sorted(maps.Keys(ms)), slices.Sorted(maps.Keys(ls)), nil
}
