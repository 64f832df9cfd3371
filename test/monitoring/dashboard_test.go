//go:build e2e

package monitoring

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
)

type dashQuery struct{ where, expr string }

// dashboardQueries returns the expressions of every panel target and
// every query variable of the dashboard, after checking its datasource
// wiring and template variables.
func dashboardQueries(t *testing.T) []dashQuery {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
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
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if d.SchemaVersion < 36 || d.UID == "" {
		t.Errorf("%s: schemaVersion %d, uid %q; want 36 or later and a uid", dashboardFile, d.SchemaVersion, d.UID)
	}
	qs := variableQueries(t, d.Templating.List)
	qs = append(qs, panelQueries(t, d.Panels)...)
	if len(qs) < 10 {
		t.Fatalf("%s: only %d queries found", dashboardFile, len(qs))
	}
	return qs
}

// variableQueries returns the queries of the dashboard's query variables
// and checks that the datasource, server and zone variables exist.
func variableQueries(t *testing.T, list []map[string]any) []dashQuery {
	t.Helper()
	var qs []dashQuery
	vars := map[string]string{}
	for _, v := range list {
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
			t.Errorf("%s: variable %s has no query", dashboardFile, name)
		}
		qs = append(qs, dashQuery{"dashboard variable " + name, s})
		checkDatasource(t, "variable "+name, v["datasource"])
	}
	for name, typ := range map[string]string{"datasource": "datasource", "server": "query", "zone": "query"} {
		if vars[name] != typ {
			t.Errorf("%s: template variable %s is %q, want type %s", dashboardFile, name, vars[name], typ)
		}
	}
	return qs
}

// panelQueries returns the expressions of the targets of panels and of the
// panels in their rows, checking that panel ids are unique, every panel has
// targets and every target an expression and the datasource variable.
func panelQueries(t *testing.T, panels []map[string]any) []dashQuery {
	t.Helper()
	var qs []dashQuery
	ids := map[float64]bool{}
	var walk func([]map[string]any)
	walk = func(panels []map[string]any) {
		for _, p := range panels {
			title, _ := p["title"].(string)
			id, _ := p["id"].(float64)
			if ids[id] {
				t.Errorf("%s: panel id %v used twice", dashboardFile, id)
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
				t.Errorf("%s: panel %q has no targets", dashboardFile, title)
			}
			checkDatasource(t, "panel "+title, p["datasource"])
			for _, x := range targets {
				tg, _ := x.(map[string]any)
				expr, _ := tg["expr"].(string)
				if expr == "" {
					t.Errorf("%s: panel %q has a target without expr", dashboardFile, title)
					continue
				}
				checkDatasource(t, "panel "+title, tg["datasource"])
				qs = append(qs, dashQuery{fmt.Sprintf("dashboard panel %q target %v", title, tg["refId"]), expr})
			}
		}
	}
	walk(panels)
	return qs
}

// checkDatasource wants the datasource template variable, so the
// dashboard works imported by hand and provisioned from a file alike.
func checkDatasource(t *testing.T, where string, ds any) {
	t.Helper()
	m, _ := ds.(map[string]any)
	if m["uid"] != "${datasource}" || m["type"] != "prometheus" {
		t.Errorf("%s: %s has datasource %v, want the prometheus ${datasource} variable", dashboardFile, where, ds)
	}
}
