package ratelimit

import (
	"net/netip"
	"testing"
)

// SetShare(n) gives a client 1/n of each burst (past n = burst, its
// first charge trips), and SetShare(1) gives the whole burst back, for denials and
// the stub budget alike.
func TestSetShareDividesBursts(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Burst, cfg.StubBurst = 6, 6
	for _, c := range []struct {
		n, denials, answers int // the share, then what a key gets before it trips
	}{
		{1, 6, 6}, {2, 3, 3}, {3, 2, 2}, {4, 1, 1}, {1000, 0, 0},
	} {
		l, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		l.SetShare(7) // the last share set counts
		l.SetShare(c.n)
		now := int64(1_000_000)
		if got := chargesBeforeTrip(func(i int) bool {
			return l.Observe(Key{Addr: netip.MustParseAddr("198.51.100.1")}, true, now).Tripped != NoTier
		}); got != c.denials {
			t.Errorf("share %d: %d denials before a trip, want %d", c.n, got, c.denials)
		}
		if got := chargesBeforeTrip(func(i int) bool {
			var p Probe
			l.Probe(Key{Addr: netip.MustParseAddr("198.51.100.2")}, &p)
			return l.ObserveStub(&p, now).Tripped != NoTier
		}); got != c.answers {
			t.Errorf("share %d: %d stub answers before a trip, want %d", c.n, got, c.answers)
		}
	}
}

// chargesBeforeTrip returns how many charges pass before charge reports a
// trip, at most 100.
func chargesBeforeTrip(charge func(i int) bool) int {
	for i := range 100 {
		if charge(i) {
			return i
		}
	}
	return 100
}
