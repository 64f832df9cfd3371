package veil

import (
	"context"
	"fmt"
	"net/netip"
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
// another address of the same blocked /24.
func TestLimitSlipPerQuery(t *testing.T) {
	const victim, scanner = "198.51.100.10:5353", "198.51.100.9:5353"
	run := func(scans int) []bool {
		v := limitVeil(t, " limit {\n rate 1\n burst 1\n ratio off\n slip 2\n }")
		v.limit.slipKey = [2]uint64{0x0123456789abcdef, 0xfedcba9876543210}
		newFakeClock(t)
		for i := range 8 { // denials from 8 neighbours trip the /24
			ask(t, v, fmt.Sprintf("198.51.100.%d:53", 20+i), false, fmt.Sprintf("trip%d.example.org.", i))
		}
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

// Over many distinct queries about 1 in slip slips; slip 0 never, slip 1
// always; the question name's case does not matter.
func TestLimitSlipShare(t *testing.T) {
	client := netip.MustParseAddr("198.51.100.10")
	for _, tc := range []struct {
		slip     uint64
		min, max int // of 1000 queries
	}{
		{slip: 0, min: 0, max: 0},
		{slip: 1, min: 1000, max: 1000},
		{slip: 2, min: 350, max: 650},
		{slip: 3, min: 200, max: 470},
		{slip: 10, min: 50, max: 150},
	} {
		t.Run(fmt.Sprint("slip ", tc.slip), func(t *testing.T) {
			ls := &limitSettings{slip: tc.slip, slipKey: newSlipKey()}
			n := 0
			for i := range 1000 {
				q := dns.Question{Name: fmt.Sprintf("Host%d.Example.ORG.", i%37), Qtype: dns.TypeA, Qclass: dns.ClassINET}
				s := ls.slips(client, uint16(i), &q)
				if s {
					n++
				}
				lower := dns.Question{Name: fmt.Sprintf("host%d.example.org.", i%37), Qtype: dns.TypeA, Qclass: dns.ClassINET}
				if ls.slips(client, uint16(i), &lower) != s {
					t.Fatalf("query %d: %s and %s slip differently", i, q.Name, lower.Name)
				}
			}
			if n < tc.min || n > tc.max {
				t.Errorf("%d of 1000 queries slipped; want %d to %d", n, tc.min, tc.max)
			}
		})
	}
}

// The slip decision allocates nothing.
func TestLimitSlipAllocs(t *testing.T) {
	ls := &limitSettings{slip: 2, slipKey: newSlipKey()}
	client := netip.MustParseAddr("2001:db8::1")
	q := dns.Question{Name: "a.rather.long.name.in.example.org.", Qtype: dns.TypeAAAA}
	if n := testing.AllocsPerRun(100, func() { ls.slips(client, 7, &q) }); n != 0 {
		t.Errorf("%v allocations per decision", n)
	}
}
