package veil

import (
	"context"
	"fmt"
	"testing"

	"github.com/miekg/dns"
)

// askID sends the UDP query for name with message ID id from addr and
// reports whether veil answered it with an empty TC=1 answer (a slip).
func askID(t *testing.T, v *Veil, addr string, id uint16, name string) bool {
	t.Helper()
	w := newTestWriter(t, addr, false)
	r := query(name, dns.TypeA, true)
	r.Id = id
	if _, err := v.ServeDNS(context.Background(), w, r); err != nil {
		t.Fatal(err)
	}
	if len(w.msgs) == 0 {
		return false
	}
	m := w.msgs[0]
	if len(w.msgs) != 1 || !m.Truncated || len(m.Answer)+len(m.Ns) != 0 || m.Id != id {
		t.Fatalf("query %d for %s from %s: unexpected answers %v", id, name, addr, w.msgs)
	}
	return true
}

// Whether a victim's blocked query slips depends on that query alone: the
// same sequence of the victim's queries slips query by query the same,
// whether it is sent alone or interleaved with a scanner's flood from
// another address of the same blocked /24 (ratelimit/slip_test.go tests
// the share and the hash itself).
func TestLimitSlipPerQuery(t *testing.T) {
	const victim, scanner = "198.51.100.10:5353", "198.51.100.9:5353"
	v := limitVeil(t, " limit {\n respond block\n rate 1\n burst 1\n ratio off\n slip 2\n }")
	newFakeClock(t)    // stands still: the block lasts for the whole test
	for i := range 8 { // denials from 8 neighbours trip the /24
		ask(t, v, fmt.Sprintf("198.51.100.%d:53", 20+i), false, fmt.Sprintf("trip%d.example.org.", i))
	}
	run := func(scans int) []bool {
		var got []bool
		for i := range 24 {
			for j := range scans {
				askID(t, v, scanner, uint16(1000+i*scans+j), fmt.Sprintf("scan%d-%d.example.org.", i, j))
			}
			got = append(got, askID(t, v, victim, uint16(100+i), fmt.Sprintf("host%d.example.org.", i%5)))
		}
		return got
	}
	alone := run(0)
	slipped := 0
	for _, s := range alone {
		if s {
			slipped++
		}
	}
	if slipped < 4 || slipped > 20 {
		t.Errorf("victim alone: %d of 24 blocked queries slipped; want about 12", slipped)
	}
	for _, scans := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("%d scans between", scans), func(t *testing.T) {
			got := run(scans)
			for i := range alone {
				if got[i] != alone[i] {
					t.Errorf("victim query %d: slipped %v interleaved, %v alone", i, got[i], alone[i])
				}
			}
		})
	}
}
