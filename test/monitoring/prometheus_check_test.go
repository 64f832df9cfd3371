//go:build e2e

package monitoring

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/veildns/veil/test/harness"
)

// check waits (at most 60 s) until Prometheus, with the rules loaded and
// the traffic scraped, evaluates every rule without error, answers every
// dashboard query with at least one series, fires VeilExternalZoneTransfers
// and holds VeilEnumerationInProgress pending for both listeners.
func (p *promServer) check(t *testing.T, queries []dashQuery) {
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

// problems returns what is wrong with Prometheus's view of the rules, the
// dashboard queries and the alerts; nil when all is as check wants it.
func (p *promServer) problems(queries []dashQuery, subst *strings.Replacer) []string {
	out, err := p.ruleProblems()
	if err != nil {
		return []string{err.Error()}
	}
	out = append(out, p.queryProblems(queries, subst)...)
	alerts, err := p.alertProblems()
	if err != nil {
		return append(out, err.Error())
	}
	return append(out, alerts...)
}

// ruleProblems lists the rules Prometheus could not evaluate, or says it
// loaded none.
func (p *promServer) ruleProblems() ([]string, error) {
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
		return nil, err
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
	return out, nil
}

// queryProblems lists the dashboard queries (variables replaced by .*)
// that fail or return no data.
func (p *promServer) queryProblems(queries []dashQuery, subst *strings.Replacer) []string {
	var out []string
	for _, q := range queries {
		expr := harness.LabelValuesQuery(q.expr)
		res, err := p.query(subst.Replace(expr))
		switch {
		case err != nil:
			out = append(out, fmt.Sprintf("Prometheus: %s: %v", q.where, err))
		case len(res) == 0:
			out = append(out, fmt.Sprintf("Prometheus: %s: no data for %s", q.where, expr))
		}
	}
	return out
}

// alertProblems lists the alerts that are not as the traffic must leave
// them: VeilExternalZoneTransfers firing and VeilEnumerationInProgress
// pending for both listeners, VeilCanaryQueried firing for the first, and
// nothing else.
func (p *promServer) alertProblems() ([]string, error) {
	var out []string
	var alerts struct {
		Alerts []struct {
			Labels map[string]string `json:"labels"`
			State  string            `json:"state"`
		} `json:"alerts"`
	}
	if err := p.get("/api/v1/alerts", nil, &alerts); err != nil {
		return nil, err
	}
	both := []string{enforceAddr, logOnlyAddr}
	for _, w := range []struct {
		alert, state string
		addrs        []string
	}{
		{"VeilExternalZoneTransfers", "firing", both},
		{"VeilEnumerationInProgress", "pending", both},
		{"VeilCanaryQueried", "firing", []string{enforceAddr}},
	} {
		for _, addr := range w.addrs {
			server := "dns://" + net.JoinHostPort(addr, harness.DNSPort)
			found := false
			for _, a := range alerts.Alerts {
				l := a.Labels
				if l["alertname"] == w.alert && l["server"] == server && l["zone"] == zoneName+"." && l["job"] == "coredns" &&
					l["instance"] == metricsAddr && l["severity"] != "" && a.State == w.state {
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
		if n := a.Labels["alertname"]; n != "VeilExternalZoneTransfers" && n != "VeilEnumerationInProgress" && n != "VeilCanaryQueried" {
			out = append(out, fmt.Sprintf("Prometheus: unexpected alert %v (%s)", a.Labels, a.State))
		}
	}
	return out, nil
}
