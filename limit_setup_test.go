package veil

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/veildns/veil/ratelimit"
)

func TestParseLimit(t *testing.T) {
	def := ratelimit.DefaultConfig()
	def.SignedWeight = 1.0 / 15 // rate 1 of respond block's 15
	tests := []struct {
		name     string
		corefile string
		want     ratelimit.Config
		exempt   []netip.Prefix
	}{
		{"no limit directive: on, with the defaults", "veil", def, nil},
		{"bare limit", "veil {\n limit\n}", def, nil},
		{"empty block", "veil {\n limit {\n }\n}", def, nil},
		{"every option", "veil {\n trusted 192.0.2.1\n limit {\n rate 5.5\n burst 50\n ratio 0.9 100 1m\n stub 2 30\n block 5m\n slip 0\n table 1000\n exempt 198.51.100.0/24\n exempt 2001:db8::/32\n }\n log-only\n}",
			ratelimit.Config{Rate: 5.5, Burst: 50, Ratio: 0.9, MinCount: 100, Window: time.Minute, Block: 5 * time.Minute, Slots: 1024, StubRate: 2, StubBurst: 30, SignedWeight: 5.5 / 15},
			[]netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8::/32")}},
		{"respond block: its own rate and burst, no signed weight", "veil {\n limit {\n respond block\n }\n}",
			func() ratelimit.Config {
				c := def
				c.Rate, c.Burst, c.StubBurst, c.SignedWeight = 15, 100, 4, 0
				return c
			}(), nil},
		{"respond block with a rate", "veil {\n limit {\n respond block\n rate 3\n }\n}",
			func() ratelimit.Config {
				c := def
				c.Rate, c.Burst, c.StubBurst, c.SignedWeight = 3, 100, 4, 0
				return c
			}(), nil},
		{"ratio off", "veil {\n limit {\n ratio off\n }\n}", func() ratelimit.Config { c := def; c.Ratio = 0; return c }(), nil},
		{"stub off", "veil {\n limit {\n stub off\n }\n}", func() ratelimit.Config { c := def; c.StubRate = 0; return c }(), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, err := parseExample(tc.corefile)
			if err != nil {
				t.Fatal(err)
			}
			if v.limit == nil || len(v.zones) != 1 || v.zones[0].limiter == nil || v.zones[0].trips == nil {
				t.Fatalf("limiter not set up: %+v", v.limit)
			}
			// As parsed, with the table's slots as allocated (rounded up to
			// a power of two).
			got := v.limit.cfg
			_, got.Slots = v.zones[0].limiter.Occupancy(0)
			if got != tc.want {
				t.Errorf("config = %+v, want %+v", got, tc.want)
			}
			if exempt := prefixesTagged(v.clients, tagExempt); !slices.Equal(exempt, sortedPrefixes(tc.exempt)) {
				t.Errorf("exempt %v, want %v", exempt, tc.exempt)
			}
		})
	}
	if v, err := parseExample("veil {\n limit off\n}"); err != nil || v.limit != nil || v.zones[0].limiter != nil {
		t.Errorf("limit off must turn the limiter off: %v %v", v.limit, err)
	}
}

func TestParseLimitErrors(t *testing.T) {
	tests := []struct {
		corefile string
		line     int
		want     string
	}{
		{"veil {\n limit 20\n}", 2, `limit: got "20"; allowed: limit off, or limit with its settings in a block`},
		{"veil {\n limit off {\n rate 2\n }\n}", 2, `limit: off takes no block`},
		{"veil {\n limit {\n speed 3\n }\n}", 3, `limit: unknown option "speed"; allowed: rate, burst, ratio, stub, block, slip, table, exempt, respond, decoy, canary, cluster`},
		{"veil {\n limit {\n stub 1\n }\n}", 3, `limit: stub: got "1"; allowed: stub ANSWERS_PER_SECOND BURST`},
		{"veil {\n limit {\n stub 0 10\n }\n}", 3, `limit: stub: got "0 10"`},
		{"veil {\n limit {\n rate\n }\n}", 3, `limit: rate: got ""; allowed: a number of denials per second above 0`},
		{"veil {\n limit {\n rate -1\n }\n}", 3, `limit: rate: got "-1"`},
		{"veil {\n limit {\n burst 0\n }\n}", 3, `limit: burst: got "0"; allowed: a number of denials of at least 1`},
		{"veil {\n limit {\n burst 0.5\n }\n}", 3, `limit: burst 0.5 must be at least 1`},
		{"veil {\n limit {\n rate 100000\n block 24h\n slip 2\n }\n}", 4, `limit: burst + rate x block is too large`},
		{"veil {\n limit {\n ratio 0.8 40\n }\n}", 3, `limit: ratio: got "0.8 40"; allowed: ratio FRACTION MIN_RESPONSES WINDOW`},
		{"veil {\n limit {\n ratio 1.5 40 30s\n }\n}", 3, `limit: ratio: got "1.5 40 30s"`},
		{"veil {\n limit {\n ratio 0.8 40 100ms\n }\n}", 3, `limit: ratio: got "0.8 40 100ms"`},
		{"veil {\n limit {\n block forever\n }\n}", 3, `limit: block: got "forever"; allowed: a duration from 1s to 24h`},
		{"veil {\n limit {\n block 48h\n }\n}", 3, `limit: block: got "48h"`},
		{"veil {\n limit {\n slip 300\n }\n}", 3, `limit: slip: got "300"; allowed: a whole number from 0 (never) to 255`},
		{"veil {\n limit {\n table 2\n }\n}", 3, `limit: table: got "2"; allowed: a number of slots (16 bytes each)`},
		{"veil {\n limit {\n table lots\n }\n}", 3, `limit: table: got "lots"`},
		{"veil {\n limit {\n exempt\n }\n}", 3, `limit: exempt: missing network`},
		{"veil {\n limit {\n exempt 10.0.0.1/8\n }\n}", 3, `limit: exempt: "10.0.0.1/8" has host bits set`},
		{"veil {\n limit {\n rate 1\n rate 2\n }\n}", 4, `limit: option "rate" given twice; give it once`},
		{"veil {\n limit\n limit\n}", 3, `option "limit" given twice; give it once`},
		{"veil {\n limit {\n rate 100000\n block 24h\n }\n}", 4, `limit: burst + rate x block is too large`},
	}
	for _, tc := range tests {
		t.Run(tc.want, func(t *testing.T) { checkParseError(t, tc.corefile, tc.line, tc.want) })
	}
}
