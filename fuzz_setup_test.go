package veil

import (
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/caddy/caddyfile"
	"github.com/coredns/coredns/plugin"

	"github.com/veildns/veil/tokens"
)

// fuzzParseKeys are the server blocks FuzzParse puts the directive in.
var fuzzParseKeys = [][]string{
	{"example.org.:53", "example.net.:53"},
	{".:53"},
	{"example.org.:53"},
	{"10.0.0.0/24:53", "example.org:53"},
}

// fuzzParseErr is the shape of every error parse returns: c.Errf's
// "FILE:LINE - Error during parsing: MESSAGE".
var fuzzParseErr = regexp.MustCompile(`(?s)^Testfile:(\d+) - Error during parsing: (.+)$`)

// fuzzParseLeads are how parse's error messages start: the option at fault
// or what is wrong with the directive.
var fuzzParseLeads = []string{
	"veil appears more than once in this server block", `option "`, `unknown option "`, `zone "`,
	"trusted: ", "transfer: ", "any: ", "limit: ", "tokens: ", "log-only: ",
}

// FuzzParse parses arbitrary text as the arguments and block of a veil
// directive ("veil TEXT") and as the inside of its block ("veil {\nTEXT\n}"),
// in one of fuzzParseKeys' server blocks, through caddy's test controller
// and parse. Properties: parse never panics; an error names the Corefile
// line (a line of the text) and starts with the option at fault or what is
// wrong (fuzzParseLeads); a configuration it accepts is consistent (zones
// lower-case, fully qualified and served by the server block, one token
// policy and, with limit, one limiter per zone, trusted networks masked and
// found by the compiled set) and the same when the text is parsed again.
//
//	go test -run '^$' -fuzz '^FuzzParse$' -fuzztime 30s -fuzzminimizetime 5s -parallel 1 .
func FuzzParse(f *testing.F) {
	for i, s := range fuzzParseSeeds(f) {
		f.Add(byte(i), s)
	}
	f.Fuzz(func(t *testing.T, keys byte, text string) {
		sbk := fuzzParseKeys[int(keys)%len(fuzzParseKeys)]
		for _, corefile := range []string{"veil " + text, "veil {\n" + text + "\n}"} {
			if fuzzParseTooBig(corefile) {
				continue
			}
			v, err := fuzzParseOnce(sbk, corefile)
			if err != nil {
				checkFuzzParseError(t, corefile, err)
				continue
			}
			if msg := checkParsed(v, sbk, fuzzZoneArgs(corefile)); msg != "" {
				t.Fatalf("parse(%q) in %v: %s", corefile, sbk, msg)
			}
			again, err := fuzzParseOnce(sbk, corefile)
			if err != nil {
				t.Fatalf("parse(%q) in %v: accepted once, then %v", corefile, sbk, err)
			}
			if msg := sameConfig(v, again); msg != "" {
				t.Fatalf("parse(%q) in %v twice: %s", corefile, sbk, msg)
			}
		}
	})
}

func fuzzParseOnce(keys []string, corefile string) (*Veil, error) {
	c := caddy.NewTestController("dns", corefile)
	c.ServerBlockKeys = slices.Clone(keys)
	return parse(c)
}

// fuzzZoneArgs returns the number of distinct zones the arguments on the
// veil line name, as CoreDNS normalises them: each must be guarded.
func fuzzZoneArgs(corefile string) int {
	c := caddy.NewTestController("dns", corefile)
	if !c.Next() {
		return 0
	}
	var args []string
	for c.NextArg() && c.Val() != "{" {
		args = append(args, c.Val())
	}
	// Arguments that name one zone twice ("example.org Example.ORG.")
	// guard it once.
	var zones []string
	for _, z := range plugin.OriginsFromArgsOrServerBlock(args, nil) {
		if z = strings.ToLower(z); !slices.Contains(zones, z) {
			zones = append(zones, z)
		}
	}
	return len(zones)
}

// fuzzParseTooBig reports whether the limiter tables a configuration asks
// for would take more than 64 MiB (the table size is the operator's to
// choose, up to 16 GiB per zone); such inputs are skipped, not failed.
func fuzzParseTooBig(corefile string) bool {
	c := caddy.NewTestController("dns", corefile)
	var toks []string
	zones, line := 0, -1
	for c.Next() {
		toks = append(toks, c.Val())
		if line < 0 {
			line = c.Line()
		} else if c.Line() == line && c.Val() != "{" {
			zones++ // an argument on the veil line: a zone
		}
	}
	slots := uint64(262144)
	for i, tok := range toks {
		if tok == "table" && i+1 < len(toks) {
			if n, err := strconv.ParseUint(toks[i+1], 10, 64); err == nil {
				slots = max(slots, n)
			}
		}
	}
	return uint64(max(zones, 2))*slots*16 > 64<<20
}

// checkFuzzParseError checks the shape of a parse error.
func checkFuzzParseError(t *testing.T, corefile string, err error) {
	t.Helper()
	msg := err.Error()
	m := fuzzParseErr.FindStringSubmatch(msg)
	if m == nil {
		t.Fatalf("parse(%q): error %q does not name the Corefile line", corefile, msg)
	}
	line, _ := strconv.Atoi(m[1])
	if lines := strings.Count(corefile, "\n") + 1; line < 1 || line > lines {
		t.Fatalf("parse(%q): error %q names line %d of %d", corefile, msg, line, lines)
	}
	if !slices.ContainsFunc(fuzzParseLeads, func(lead string) bool { return strings.HasPrefix(m[2], lead) }) {
		t.Fatalf("parse(%q): error %q names neither an option nor what is wrong", corefile, msg)
	}
}

// checkParsed checks the invariants of a configuration parse accepted in
// server block keys from a directive with zoneArgs zone arguments (each
// of which is at least one zone), returning "" or what is wrong.
func checkParsed(v *Veil, keys []string, zoneArgs int) string {
	if len(v.zones) == 0 || len(v.zones) < zoneArgs {
		return fmt.Sprintf("%d zones %v for %d zone arguments", len(v.zones), zoneNames(v), zoneArgs)
	}
	var served []string
	for _, k := range keys {
		served = append(served, strings.ToLower(strings.TrimSuffix(k, ":53")))
	}
	for _, z := range zoneNames(v) {
		if z != strings.ToLower(z) || !strings.HasSuffix(z, ".") {
			return fmt.Sprintf("zone %q is not lower-case and fully qualified", z)
		}
		if !slices.ContainsFunc(served, func(s string) bool {
			if strings.Contains(s, "/") {
				return true // a reverse zone; CoreDNS names it
			}
			return strings.HasSuffix("."+z, "."+strings.TrimSuffix(s, ".")+".") || s == "."
		}) {
			return fmt.Sprintf("zone %q is not served by %v", z, keys)
		}
	}
	for _, z := range v.zones {
		if (v.limit != nil) != (z.limiter != nil && z.trips != nil) {
			return fmt.Sprintf("limit %v but zone %s has limiter %v", v.limit != nil, z.name, z.limiter != nil)
		}
		if z.counters.build == nil {
			return fmt.Sprintf("zone %s: counters not set up", z.name)
		}
	}
	for _, tag := range []uint8{tagTrusted, tagExempt} {
		for _, p := range prefixesTagged(v.clients, tag) {
			if p != p.Masked() || p.Addr().Is4In6() || p.Addr().Zone() != "" {
				return fmt.Sprintf("network %v is not a plain masked prefix", p)
			}
		}
	}
	if v.limit == nil && len(prefixesTagged(v.clients, tagExempt)) != 0 {
		return "exempt networks without a limiter"
	}
	if v.logs == nil || v.wallClock == nil {
		return "log sampler or wall clock not set up"
	}
	return ""
}

// sameConfig compares two parsed configurations, returning "" or the first
// difference.
func sameConfig(a, b *Veil) string {
	switch {
	case !slices.Equal(zoneNames(a), zoneNames(b)):
		return fmt.Sprintf("zones %v and %v", zoneNames(a), zoneNames(b))
	case !reflect.DeepEqual(a.clients, b.clients):
		return fmt.Sprintf("trusted or exempt %v and %v", a.clients, b.clients)
	case a.transfer != b.transfer || a.anyUDP != b.anyUDP || a.anyTCP != b.anyTCP || a.logOnly != b.logOnly:
		return "transfer, any or log-only differ"
	case (a.limit == nil) != (b.limit == nil):
		return "limit on once, off once"
	case a.limit != nil && a.limit.cfg != b.limit.cfg:
		return fmt.Sprintf("limit %+v and %+v", a.limit.cfg, b.limit.cfg)
	}
	for i, za := range a.zones {
		zb := b.zones[i]
		if a.limit != nil {
			_, sa := za.limiter.Occupancy(0)
			_, sb := zb.limiter.Occupancy(0)
			if sa != sb {
				return fmt.Sprintf("zone %s: tables of %d and %d slots", za.name, sa, sb)
			}
		}
		if msg := samePolicy(za.tokens, zb.tokens); msg != "" {
			return fmt.Sprintf("zone %s: %s", za.name, msg)
		}
	}
	return ""
}

// samePolicy compares two token policies by what they decide: the same
// rules, each hidden or not at the same times.
func samePolicy(pa, pb *tokens.Policy) string {
	if (pa == nil) != (pb == nil) {
		return "tokens off once, on once"
	}
	if pa == nil {
		return ""
	}
	ra, rb := pa.Matcher().Rules(), pb.Matcher().Rules()
	if len(ra) != len(rb) {
		return fmt.Sprintf("%d and %d rules", len(ra), len(rb))
	}
	for _, at := range []time.Time{{}, fuzzWallClock, fuzzWallClock.AddDate(10, 0, 0), fuzzWallClock.AddDate(1000, 0, 0)} {
		for j := range ra {
			if ra[j].ID != rb[j].ID || pa.Hides(j, nil, at) != pb.Hides(j, nil, at) {
				return fmt.Sprintf("rule %d (%s) at %v: hidden %v and %v", j, ra[j].ID, at, pa.Hides(j, nil, at), pb.Hides(j, nil, at))
			}
		}
	}
	return ""
}

// fuzzParseSeeds returns the veil directives of README.md's Corefile
// examples and of example/Corefile, README's syntax summary, and the inputs
// of the setup tests, each as the text after "veil " and, for a directive
// with a block, as the inside of the block.
func fuzzParseSeeds(tb testing.TB) []string {
	tb.Helper()
	directives := slices.Clone(fuzzSetupTestCorefiles)
	readme, err := os.ReadFile("README.md")
	if err != nil {
		tb.Fatal(err)
	}
	example, err := os.ReadFile("example/Corefile")
	if err != nil {
		tb.Fatal(err)
	}
	texts := []string{string(example)}
	for _, s := range regexp.MustCompile("(?s)~~~ corefile\n(.*?)~~~").FindAllStringSubmatch(string(readme), -1) {
		texts = append(texts, s[1])
	}
	for _, text := range texts {
		blocks, err := caddyfile.Parse("seed", strings.NewReader(text), nil)
		if err != nil {
			tb.Fatalf("README or example Corefile does not parse: %v", err)
		}
		for _, b := range blocks {
			toks := b.Tokens[pluginName]
			if len(toks) == 0 {
				continue
			}
			directives = append(directives, directiveText(toks))
		}
	}
	if syntax := regexp.MustCompile(`(?s)~~~\n(veil \[ZONES\.\.\.\] \{.*?)~~~`).FindStringSubmatch(string(readme)); syntax != nil {
		directives = append(directives, syntax[1])
	}
	var seeds []string
	for _, d := range directives {
		rest := strings.TrimPrefix(d, "veil")
		seeds = append(seeds, strings.TrimPrefix(rest, " "))
		if open, end := strings.Index(rest, "{"), strings.LastIndex(rest, "}"); open >= 0 && end > open {
			seeds = append(seeds, rest[open+1:end])
		}
	}
	return seeds
}

// fuzzSetupTestCorefiles are the veil directives of the setup tests
// (setup_test.go, limit_setup_test.go, tokens_test.go, handler_test.go).
var fuzzSetupTestCorefiles = []string{
	"veil", "veil {\n}", "veil example.org Sub.Example.org.",
	"veil {\n trusted 10.0.0.0/8 192.0.2.1\n trusted 2001:db8::/32 ::1\n}",
	"veil {\n trusted ::ffff:192.0.2.0/120 ::ffff:198.51.100.1 ::ffff:0:0/96\n}",
	"veil {\n transfer drop\n}", "veil {\n transfer refuse\n}", "veil {\n any refuse\n}", "veil {\n any drop\n}",
	"veil {\n any pass\n}", "veil {\n any hinfo tcp pass\n}", "veil {\n any drop tcp refuse\n}", "veil {\n log-only\n}",
	"veil example.org {\n trusted 192.0.2.0/24\n transfer drop\n any refuse tcp hinfo\n log-only\n}",
	"veil {\n foo\n}", "veil {\n trusted\n}", "veil {\n trusted 10.0.0.0/33\n}", "veil {\n trusted not-an-ip\n}",
	"veil {\n trusted 10.0.0.1/8\n}", "veil {\n trusted fe80::1%eth0\n}", "veil {\n trusted 10.0.0.0/8\n\n trusted 300.1.1.1\n}",
	"veil {\n transfer\n}", "veil {\n transfer allow\n}", "veil {\n transfer drop refuse\n}", "veil {\n any\n}",
	"veil {\n any nxdomain\n}", "veil {\n any hinfo tcp allow\n}", "veil {\n any hinfo udp pass\n}", "veil {\n any hinfo tcp\n}",
	"veil {\n log-only yes\n}", "veil {\n transfer drop\n transfer refuse\n}", "veil {\n any drop\n any hinfo\n}",
	"veil {\n log-only\n log-only\n}", "veil\nveil", "veil example.net", "veil a..b",
	"veil {\n tokens example.net off\n}", "veil {\n tokens off {\n hide all\n }\n}", "veil {\n tokens {\n hide\n }\n}",
	"veil {\n tokens {\n hide nosuchvendor\n }\n}", "veil {\n tokens {\n reveal google until tomorrow\n }\n}",
	"veil {\n tokens {\n hide google until 2026-12-31\n }\n}", "veil {\n tokens {\n reveal google until\n }\n}",
	"veil {\n tokens {\n hide github_pages\n }\n}", "veil {\n tokens {\n pattern (\n }\n}", "veil {\n tokens {\n pattern\n }\n}",
	"veil {\n tokens {\n show google\n }\n}", "veil {\n tokens {\n hide all }\n}",
	"veil {\n limit\n}", "veil {\n limit {\n }\n}", "veil {\n limit {\n ratio off\n }\n}",
	"veil {\n trusted 192.0.2.1\n limit {\n rate 5.5\n burst 50\n ratio 0.9 100 1m\n block 5m\n slip 0\n table 1000\n exempt 198.51.100.0/24\n exempt 2001:db8::/32\n }\n log-only\n}",
	"veil {\n limit 20\n}", "veil {\n limit {\n speed 3\n }\n}", "veil {\n limit {\n rate\n }\n}", "veil {\n limit {\n rate -1\n }\n}",
	"veil {\n limit {\n burst 0\n }\n}", "veil {\n limit {\n burst 0.5\n }\n}", "veil {\n limit {\n ratio 0.8 40\n }\n}",
	"veil {\n limit {\n ratio 1.5 40 30s\n }\n}", "veil {\n limit {\n ratio 0.8 40 100ms\n }\n}", "veil {\n limit {\n block forever\n }\n}",
	"veil {\n limit {\n block 48h\n }\n}", "veil {\n limit {\n slip 300\n }\n}", "veil {\n limit {\n table 2\n }\n}",
	"veil {\n limit {\n table lots\n }\n}", "veil {\n limit {\n exempt\n }\n}", "veil {\n limit {\n exempt 10.0.0.1/8\n }\n}",
	"veil {\n limit {\n rate 1\n rate 2\n }\n}", "veil {\n limit\n limit\n}", "veil {\n limit {\n rate 100000\n block 24h\n }\n}",
	"veil a.test b.test c.test {\n tokens b.test off\n tokens c.test {\n hide all\n reveal google until 2026-12-31\n pattern ^internal-id=\n }\n tokens {\n reveal docusign\n }\n}",
	"veil {\n tokens off\n tokens {\n hide all\n }\n}", "veil {\n tokens {\n hide all\n }\n tokens example.org off\n}",
	"veil {\n tokens example.org. off\n\n tokens Example.ORG\n}",
	"veil {\n trusted 192.0.2.0/24\n tokens {\n hide all\n pattern .* ^v=\n }\n}",
	"veil {\n trusted 192.0.2.0/24\n tokens {\n reveal docusign until 2026-12-31\n hide google\n }\n}",
	"veil {\n trusted 192.0.2.0/24\n tokens {\n reveal generic\n }\n}",
	"veil {\n trusted 192.0.2.0/24\n limit {\n rate 1\n burst 2\n ratio off\n }\n}",
	"veil {\n trusted fe80::/10\n}", "veil {\n trusted 192.0.2.0/24\n trusted 2001:db8:1::/48\n}",
}

// A zone argument CoreDNS cannot normalise (such as one with a trailing
// colon) was dropped silently, so "veil :" guarded nothing and
// "veil example.org example.net:" only example.org. Found by FuzzParse.
func TestParseZoneArgumentDropped(t *testing.T) {
	for _, corefile := range []string{"veil :", "veil example.org:", "veil example.org example.net:"} {
		c := caddy.NewTestController("dns", corefile)
		c.ServerBlockKeys = []string{"example.org.:53", "example.net.:53", "10.0.0.0/8:53"}
		v, err := parse(c)
		if err == nil {
			t.Errorf("parse(%q) accepted, zones %v", corefile, v.zones)
			continue
		}
		if want := "is not a domain name"; !strings.Contains(err.Error(), want) {
			t.Errorf("parse(%q): error %q does not contain %q", corefile, err, want)
		}
	}
}
