package veil

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/caddy/caddyfile"
)

// Every Corefile snippet in README.md (the ~~~ corefile blocks) and the
// example Corefile is valid: the whole snippet parses as a Corefile, and
// its veil directive parses with veil's own parser.
func TestCorefileSnippetsParse(t *testing.T) {
	t.Setenv("VEIL_REDIS_PASSWORD", "from-the-environment")        // the cluster example's {$VEIL_REDIS_PASSWORD}
	t.Setenv("VEIL_DECOY_KEY", "a-decoy-key-of-32-characters-xyz") // the roll-out example's {$VEIL_DECOY_KEY}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	snippets := regexp.MustCompile("(?s)~~~ corefile\n(.*?)~~~").FindAllStringSubmatch(string(readme), -1)
	if len(snippets) < 3 {
		t.Fatalf("found %d corefile snippets in README.md, want at least 3", len(snippets))
	}
	example, err := os.ReadFile("example/Corefile")
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{string(example)}
	for _, s := range snippets {
		texts = append(texts, s[1])
	}
	for i, text := range texts {
		blocks, err := caddyfile.Parse("snippet", strings.NewReader(text), nil)
		if err != nil {
			t.Errorf("snippet %d does not parse: %v\n%s", i, err, text)
			continue
		}
		veils := 0
		for _, b := range blocks {
			tokens := b.Tokens[pluginName]
			if len(tokens) == 0 {
				continue
			}
			veils++
			c := caddy.NewTestController("dns", directiveText(tokens))
			c.ServerBlockKeys = b.Keys
			if _, err := parse(c); err != nil {
				t.Errorf("snippet %d: veil directive does not parse: %v\n%s", i, err, text)
			}
		}
		if veils != 1 {
			t.Errorf("snippet %d has %d veil directives, want 1:\n%s", i, veils, text)
		}
	}
}

// Every alert in deploy/prometheus/veil-rules.yml has a runbook section in
// docs/operations.md ("### AlertName", whose GitHub anchor is the lower-cased
// name), and its runbook_url points to that anchor.
func TestAlertRunbooks(t *testing.T) {
	rules, err := os.ReadFile("deploy/prometheus/veil-rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	runbooks, err := os.ReadFile("docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	const runbookBase = "https://github.com/veildns/veil/blob/main/docs/operations.md#"
	alerts := regexp.MustCompile(`(?m)^\s*- alert:\s*(\S+)`).FindAllStringSubmatchIndex(string(rules), -1)
	if len(alerts) < 6 {
		t.Fatalf("found %d alerts in the rules file, want at least 6", len(alerts))
	}
	runbookURL := regexp.MustCompile(`(?m)^\s*runbook_url:\s*(\S+)`)
	for i, a := range alerts {
		name := string(rules[a[2]:a[3]])
		if !strings.Contains(string(runbooks), "\n### "+name+"\n") {
			t.Errorf("alert %s has no \"### %s\" runbook section in docs/operations.md", name, name)
		}
		// The alert's rule runs up to the next alert (or the end of the file).
		end := len(rules)
		if i+1 < len(alerts) {
			end = alerts[i+1][0]
		}
		want := runbookBase + strings.ToLower(name)
		if m := runbookURL.FindSubmatch(rules[a[0]:end]); m == nil {
			t.Errorf("alert %s has no runbook_url, want %s", name, want)
		} else if string(m[1]) != want {
			t.Errorf("alert %s: runbook_url %s, want %s", name, m[1], want)
		}
	}
}

// directiveText turns a parsed directive back into Corefile text, one line
// per source line, for caddy.NewTestController.
func directiveText(toks []caddyfile.Token) string {
	var sb strings.Builder
	line := toks[0].Line
	for _, tok := range toks {
		if tok.Line != line {
			sb.WriteString("\n")
			line = tok.Line
		}
		sb.WriteString(tok.Text + " ")
	}
	return sb.String()
}
