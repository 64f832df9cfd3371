package ratelimit

import (
	"net/netip"
	"testing"
)

// stubConfig is the default configuration with a table small enough to
// make quickly and large enough that a key's tiers seldom share a slot
// (which trips a wider tier by collision).
func stubConfig() Config {
	c := DefaultConfig()
	c.Slots = 1 << 16
	return c
}

// A stub-like key gets StubBurst answers, whatever they are; the next
// trips its client tier, which Blocked then reports. Another
// key, and the same address over the other transport, are not affected.
func TestStubBudgetTrips(t *testing.T) {
	for _, addr := range []string{"198.51.100.7", "2001:db8::7"} {
		l, err := New(stubConfig())
		if err != nil {
			t.Fatal(err)
		}
		k := Key{Addr: netip.MustParseAddr(addr)}
		var p Probe
		l.Probe(k, &p)
		now := int64(1000)
		for i := range int(stubConfig().StubBurst) {
			if res := l.ObserveStub(&p, now); res.Tripped != NoTier {
				t.Fatalf("%s: answer %d tripped %v", addr, i+1, res.Tripped)
			}
		}
		res := l.ObserveStub(&p, now)
		if res.Tripped != p.first || res.Rule != RuleStub {
			t.Fatalf("%s: the answer past the burst: %+v, want a trip of the client tier by the stub budget", addr, res)
		}
		if blocked, tier := l.Blocked(k, now+1); !blocked || tier != p.first {
			t.Errorf("%s: not blocked after the stub budget tripped (%v %v)", addr, blocked, tier)
		}
		if again := l.ObserveStub(&p, now+2); again.Tripped != NoTier {
			t.Errorf("%s: a blocked key tripped again: %+v", addr, again)
		}
		for _, other := range []Key{{Addr: netip.MustParseAddr("203.0.113.9")}, {Addr: k.Addr, Stream: true}} {
			if blocked, _ := l.Blocked(other, now+1); blocked {
				t.Errorf("%s: %+v blocked by another key's stub budget", addr, other)
			}
		}
	}
}

// The bucket drains at StubRate: a client that asks one name a second
// never trips, however long it asks.
func TestStubBudgetRefills(t *testing.T) {
	l, err := New(stubConfig())
	if err != nil {
		t.Fatal(err)
	}
	var p Probe
	l.Probe(Key{Addr: netip.MustParseAddr("198.51.100.8")}, &p)
	for i := range 600 {
		if res := l.ObserveStub(&p, 1000+int64(i)*1000); res.Tripped != NoTier {
			t.Fatalf("answer %d at one a second tripped", i+1)
		}
	}
}

// StubRate 0 turns the budget off.
func TestStubBudgetOff(t *testing.T) {
	c := stubConfig()
	c.StubRate = 0
	l, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	var p Probe
	l.Probe(Key{Addr: netip.MustParseAddr("198.51.100.9")}, &p)
	for i := range 1000 {
		if res := l.ObserveStub(&p, 1000); res.Tripped != NoTier {
			t.Fatalf("answer %d tripped with the stub budget off", i+1)
		}
	}
}
