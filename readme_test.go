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
// README.md, the anchor its runbook_url points to.
func TestAlertRunbooks(t *testing.T) {
	rules, err := os.ReadFile("deploy/prometheus/veil-rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	alerts := regexp.MustCompile(`(?m)^\s*- alert:\s*(\S+)`).FindAllStringSubmatch(string(rules), -1)
	if len(alerts) < 6 {
		t.Fatalf("found %d alerts in the rules file, want at least 6", len(alerts))
	}
	for _, a := range alerts {
		name := a[1]
		if !strings.Contains(string(readme), "\n### "+name+"\n") {
			t.Errorf("alert %s has no \"### %s\" runbook section in README.md", name, name)
		}
		if !strings.Contains(string(rules), "https://github.com/veildns/veil#"+strings.ToLower(name)) {
			t.Errorf("alert %s: runbook_url does not point to #%s", name, strings.ToLower(name))
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
