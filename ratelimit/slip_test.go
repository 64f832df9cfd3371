package ratelimit

import (
	"fmt"
	"net/netip"
	"testing"
)

// Over many distinct queries about 1 in Slip slips; Slip 0 never, Slip 1
// always; the question name's case does not matter.
func TestSlipShare(t *testing.T) {
	client := netip.MustParseAddr("198.51.100.10")
	for _, tc := range []struct {
		slip     int
		min, max int // of 1000 queries
	}{
		{slip: 0, min: 0, max: 0},
		{slip: 1, min: 1000, max: 1000},
		{slip: 2, min: 350, max: 650},
		{slip: 3, min: 200, max: 470},
		{slip: 10, min: 50, max: 150},
	} {
		t.Run(fmt.Sprint("slip ", tc.slip), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Slip, cfg.Slots = tc.slip, 64
			l, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for i := range 1000 {
				s := l.Slips(client, uint16(i), 1, fmt.Sprintf("Host%d.Example.ORG.", i%37))
				if s {
					n++
				}
				if l.Slips(client, uint16(i), 1, fmt.Sprintf("host%d.example.org.", i%37)) != s {
					t.Fatalf("query %d: the name's case changed the decision", i)
				}
			}
			if n < tc.min || n > tc.max {
				t.Errorf("%d of 1000 queries slipped; want %d to %d", n, tc.min, tc.max)
			}
		})
	}
}

// Two limiters (two zones, or two starts) draw their own keys, so which
// queries slip cannot be learned from another zone or an earlier run.
func TestSlipKeyed(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Slots, cfg.Slip = 64, 2
	a, _ := New(cfg)
	b, _ := New(cfg)
	client := netip.MustParseAddr("2001:db8::1")
	same := 0
	for i := range 200 {
		if a.Slips(client, uint16(i), 1, "www.example.org.") == b.Slips(client, uint16(i), 1, "www.example.org.") {
			same++
		}
	}
	if same > 160 {
		t.Errorf("two limiters agree on %d of 200 decisions; their keys look the same", same)
	}
}

// The slip decision allocates nothing.
func TestSlipAllocs(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Slots = 64
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	client := netip.MustParseAddr("2001:db8::1")
	if n := testing.AllocsPerRun(100, func() { l.Slips(client, 7, 28, "a.rather.long.name.in.example.org.") }); n != 0 {
		t.Errorf("%v allocations per decision", n)
	}
}
