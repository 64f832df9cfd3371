package veil

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/coredns/caddy"
)

func TestParseValid(t *testing.T) {
	pfx := func(ss ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, s := range ss {
			out = append(out, netip.MustParsePrefix(s))
		}
		return out
	}
	tests := []struct {
		name     string
		corefile string
		zones    []string
		trusted  []netip.Prefix
		transfer action
		anyUDP   action
		anyTCP   action
		logOnly  bool
	}{
		{name: "defaults", corefile: "veil", zones: []string{"example.org."},
			transfer: actRefuse, anyUDP: actHINFO, anyTCP: actHINFO},
		{name: "empty block", corefile: "veil {\n}", zones: []string{"example.org."},
			transfer: actRefuse, anyUDP: actHINFO, anyTCP: actHINFO},
		{name: "zones from arguments", corefile: "veil example.org Sub.Example.org.", zones: []string{"example.org.", "sub.example.org."},
			transfer: actRefuse, anyUDP: actHINFO, anyTCP: actHINFO},
		{name: "a zone named twice counts once", corefile: "veil example.org EXAMPLE.ORG. sub.example.org example.org", zones: []string{"example.org.", "sub.example.org."},
			transfer: actRefuse, anyUDP: actHINFO, anyTCP: actHINFO},
		{name: "trusted on several lines", corefile: "veil {\n trusted 10.0.0.0/8 192.0.2.1\n trusted 2001:db8::/32 ::1\n}", zones: []string{"example.org."},
			trusted:  pfx("10.0.0.0/8", "192.0.2.1/32", "2001:db8::/32", "::1/128"),
			transfer: actRefuse, anyUDP: actHINFO, anyTCP: actHINFO},
		{name: "IPv4-mapped network becomes IPv4", corefile: "veil {\n trusted ::ffff:192.0.2.0/120 ::ffff:198.51.100.1 ::ffff:0:0/96\n}", zones: []string{"example.org."},
			trusted:  pfx("192.0.2.0/24", "198.51.100.1/32", "0.0.0.0/0"),
			transfer: actRefuse, anyUDP: actHINFO, anyTCP: actHINFO},
		{name: "transfer drop", corefile: "veil {\n transfer drop\n}", zones: []string{"example.org."},
			transfer: actDrop, anyUDP: actHINFO, anyTCP: actHINFO},
		{name: "transfer refuse", corefile: "veil {\n transfer refuse\n}", zones: []string{"example.org."},
			transfer: actRefuse, anyUDP: actHINFO, anyTCP: actHINFO},
		{name: "any refuse", corefile: "veil {\n any refuse\n}", zones: []string{"example.org."},
			transfer: actRefuse, anyUDP: actRefuse, anyTCP: actRefuse},
		{name: "any drop", corefile: "veil {\n any drop\n}", zones: []string{"example.org."},
			transfer: actRefuse, anyUDP: actDrop, anyTCP: actDrop},
		{name: "any pass", corefile: "veil {\n any pass\n}", zones: []string{"example.org."},
			transfer: actRefuse, anyUDP: actPass, anyTCP: actPass},
		{name: "any hinfo tcp pass", corefile: "veil {\n any hinfo tcp pass\n}", zones: []string{"example.org."},
			transfer: actRefuse, anyUDP: actHINFO, anyTCP: actPass},
		{name: "any drop tcp refuse", corefile: "veil {\n any drop tcp refuse\n}", zones: []string{"example.org."},
			transfer: actRefuse, anyUDP: actDrop, anyTCP: actRefuse},
		{name: "log-only", corefile: "veil {\n log-only\n}", zones: []string{"example.org."},
			transfer: actRefuse, anyUDP: actHINFO, anyTCP: actHINFO, logOnly: true},
		{name: "everything", corefile: "veil example.org {\n trusted 192.0.2.0/24\n transfer drop\n any refuse tcp hinfo\n log-only\n}", zones: []string{"example.org."},
			trusted: pfx("192.0.2.0/24"), transfer: actDrop, anyUDP: actRefuse, anyTCP: actHINFO, logOnly: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := parseExample(tc.corefile)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if !slices.Equal(zoneNames(v), tc.zones) {
				t.Errorf("zones = %v, want %v", v.zones, tc.zones)
			}
			if got := prefixesTagged(v.clients, tagTrusted); !slices.Equal(got, sortedPrefixes(tc.trusted)) {
				t.Errorf("trusted = %v, want %v", got, tc.trusted)
			}
			if v.transfer != tc.transfer || v.anyUDP != tc.anyUDP || v.anyTCP != tc.anyTCP || v.logOnly != tc.logOnly {
				t.Errorf("transfer=%s any=%s/%s log-only=%v, want %s %s/%s %v",
					actionNames[v.transfer], actionNames[v.anyUDP], actionNames[v.anyTCP], v.logOnly,
					actionNames[tc.transfer], actionNames[tc.anyUDP], actionNames[tc.anyTCP], tc.logOnly)
			}
			if v.zones[0].counters.build == nil || v.logs == nil {
				t.Error("counters or log sampler not set up")
			}
		})
	}
}

// veil takes its zones from the server block's keys: a reverse network
// becomes its in-addr.arpa zone, and a zone the block names in several keys
// (served on two ports or transports) is guarded once, or its gauges would
// be reported twice over and fail the whole scrape.
func TestParseZonesFromServerBlock(t *testing.T) {
	for _, tc := range []struct {
		keys, want []string
	}{
		{[]string{"10.0.0.0/24:53", "example.org:53"}, []string{"0.0.10.in-addr.arpa.", "example.org."}},
		{[]string{"dns://example.org.:53", "tls://example.org.:853", "example.net.:5353", "Example.ORG.:5353"}, []string{"example.org.", "example.net."}},
	} {
		c := caddy.NewTestController("dns", "veil")
		c.ServerBlockKeys = tc.keys
		v, err := parse(c)
		if err != nil {
			t.Fatalf("%v: %v", tc.keys, err)
		}
		if !slices.Equal(zoneNames(v), tc.want) {
			t.Errorf("%v: zones = %v, want %v", tc.keys, v.zones, tc.want)
		}
	}
}

// Every error names the Corefile line, the option and what is allowed.
func TestParseErrors(t *testing.T) {
	tests := []struct {
		corefile string
		line     int
		want     string
	}{
		{"veil {\n foo\n}", 2, `unknown option "foo"; allowed: trusted, transfer, any, limit, tokens, log-only`},
		{"veil {\n trusted\n}", 2, "trusted: missing network; allowed: one or more addresses or CIDR networks"},
		{"veil {\n trusted 10.0.0.0/33\n}", 2, `trusted: "10.0.0.0/33" is not an IP address or CIDR network; allowed: an address or CIDR network`},
		{"veil {\n trusted not-an-ip\n}", 2, `trusted: "not-an-ip" is not an IP address or CIDR network`},
		{"veil {\n trusted 10.0.0.1/8\n}", 2, `trusted: "10.0.0.1/8" has host bits set (did you mean 10.0.0.0/8?)`},
		{"veil {\n trusted fe80::1%eth0\n}", 2, `trusted: "fe80::1%eth0" is not an IP address or CIDR network`},
		{"veil {\n trusted 10.0.0.0/8\n\n trusted 300.1.1.1\n}", 4, `trusted: "300.1.1.1" is not an IP address`},
		{"veil {\n transfer\n}", 2, `transfer: got ""; allowed: transfer refuse|drop`},
		{"veil {\n transfer allow\n}", 2, `transfer: got "allow"; allowed: transfer refuse|drop`},
		{"veil {\n transfer drop refuse\n}", 2, `transfer: got "drop refuse"; allowed: transfer refuse|drop`},
		{"veil {\n any\n}", 2, `any: got ""; allowed: any MODE [tcp MODE], MODE one of hinfo, refuse, drop or pass`},
		{"veil {\n any nxdomain\n}", 2, `any: unknown mode "nxdomain"; allowed: hinfo, refuse, drop or pass`},
		{"veil {\n any hinfo tcp allow\n}", 2, `any: unknown tcp mode "allow"; allowed: hinfo, refuse, drop or pass`},
		{"veil {\n any hinfo udp pass\n}", 2, `any: got "hinfo udp pass"; allowed: any MODE [tcp MODE]`},
		{"veil {\n any hinfo tcp\n}", 2, `any: got "hinfo tcp"; allowed: any MODE [tcp MODE]`},
		{"veil {\n log-only yes\n}", 2, `log-only: takes no arguments, got "yes"`},
		{"veil {\n transfer drop\n transfer refuse\n}", 3, `option "transfer" given twice; give it once`},
		{"veil {\n any drop\n any hinfo\n}", 3, `option "any" given twice; give it once`},
		{"veil {\n log-only\n log-only\n}", 3, `option "log-only" given twice; give it once`},
		{"veil\nveil", 2, "veil appears more than once in this server block; merge the two into one veil block"},
		{"veil example.net", 1, `zone "example.net." is not served by this server block (example.org.); veil would never see its queries`},
		{"veil a..b", 1, `zone "a..b" is not a domain name`},
		{"veil {\n tokens example.net off\n}", 2, `tokens: "example.net" is not one of veil's zones (example.org.)`},
		{"veil {\n tokens off {\n hide all\n }\n}", 2, `tokens: off takes no block`},
		{"veil {\n tokens {\n hide\n }\n}", 3, `tokens: hide: missing vendor; allowed: one or more vendor ids`},
		{"veil {\n tokens {\n hide nosuchvendor\n }\n}", 3, `tokens: hide: unknown vendor "nosuchvendor"; allowed: a vendor id from tokens/catalog.json`},
		{"veil {\n tokens {\n reveal google until tomorrow\n }\n}", 3, `tokens: reveal: until "tomorrow" is not a date; allowed: YYYY-MM-DD`},
		{"veil {\n tokens {\n hide google until 2026-12-31\n }\n}", 3, `tokens: hide: got "google until 2026-12-31"; allowed: reveal VENDOR...|all until DATE`},
		{"veil {\n tokens {\n reveal google until\n }\n}", 3, `tokens: reveal: got "google until"`},
		{"veil {\n tokens {\n hide github_pages\n }\n}", 3, `tokens: hide: "github_pages" records are pre-claim or ACME records that must stay public`},
		{"veil {\n tokens {\n pattern (\n }\n}", 3, `tokens: pattern: "(": error parsing regexp`},
		{"veil {\n tokens {\n pattern\n }\n}", 3, `tokens: pattern: missing regular expression`},
		{"veil {\n tokens {\n show google\n }\n}", 3, `tokens: unknown option "show"; allowed: hide, reveal, pattern`},
		{"veil {\n tokens {\n hide all }\n}", 3, `tokens: put each option of the tokens block on a line of its own`},
		{"veil {\n tokens off\n tokens {\n hide all\n }\n}", 3, `tokens: zone example.org. is turned off at line 2 and given a policy at line 3; use one of them`},
		{"veil {\n tokens off\n tokens example.org {\n hide all\n }\n}", 3, `tokens: zone example.org. is turned off at line 2 and given a policy at line 3; use one of them`},
		{"veil {\n tokens example.org {\n hide all\n }\n tokens example.org off\n}", 5, `tokens: zone example.org. is turned off at line 5 and given a policy at line 2; use one of them`},
		{"veil {\n tokens example.org. off\n\n tokens Example.ORG\n}", 4, `tokens: zone example.org. is turned off at line 2 and given a policy at line 4`},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) { checkParseError(t, tc.corefile, tc.line, tc.want) })
	}
}

// checkParseError asserts that parsing corefile in a server block for
// example.org fails with an error naming the line and containing want.
func checkParseError(t *testing.T, corefile string, line int, want string) {
	t.Helper()
	_, err := parseExample(corefile)
	if err == nil {
		t.Fatalf("parse(%q) succeeded, want error %q", corefile, want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not contain %q", err, want)
	}
	if l := fmt.Sprintf("Testfile:%d ", line); !strings.Contains(err.Error(), l) {
		t.Errorf("error %q does not name line %d", err, line)
	}
}

// setup wraps parse errors with plugin.Error, which names the plugin.
func TestSetupError(t *testing.T) {
	c := caddy.NewTestController("dns", "veil {\n bogus\n}")
	c.ServerBlockKeys = []string{"example.org.:53"}
	err := setup(c)
	if err == nil || !strings.HasPrefix(err.Error(), "plugin/veil: ") {
		t.Fatalf("setup error = %v, want one starting with plugin/veil:", err)
	}
}

func TestSetupRegistersHandler(t *testing.T) {
	c := caddy.NewTestController("dns", "veil")
	c.ServerBlockKeys = []string{"example.org.:53"}
	if err := setup(c); err != nil {
		t.Fatal(err)
	}
}
