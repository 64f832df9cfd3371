package ratelimit

import "testing"

// TestAdopt: a limiter adopted for a reload keeps the table's blocks and
// counts under the same limits (it is the same limiter) and under new
// ones of the same table size, where the new limits judge the levels as
// they stand; a table of another size is not adopted.
func TestAdopt(t *testing.T) {
	cfg := testConfig() // rate 10/s, burst 5, block 60 s
	prev := newLimiter(t, cfg)
	blocked, counted, other := key("192.0.2.1"), key("192.0.2.77"), key("198.51.100.1")
	if r := deny(prev, blocked, 6, 0); r.Tripped != TierV4Host {
		t.Fatalf("no trip: %+v", r)
	}
	deny(prev, counted, 4, 0)

	if l, ok := Adopt(prev, cfg, 10); !ok || l != prev {
		t.Fatalf("same configuration: Adopt = %p %v, want prev itself", l, ok)
	}

	lower := cfg
	lower.Burst, lower.Rate = 3, 5
	l, ok := Adopt(prev, lower, 10)
	if !ok || l == prev {
		t.Fatalf("new limits: Adopt = %v %v, want a new limiter on the same table", l, ok)
	}
	if b, _ := l.Blocked(blocked, 30_000); !b {
		t.Error("the blocked key is free under the new limits within the old block time")
	}
	if b, _ := l.Blocked(counted, 10); !b {
		t.Error("a key with 4 denials is not over the new burst of 3: its count was lost")
	}
	if b, _ := l.Blocked(other, 10); b {
		t.Error("an untouched key is blocked")
	}
	// The level drains at the new rate: 4 denials at 5 a second are gone
	// in 800 ms.
	if b, _ := l.Blocked(counted, 1_000); b {
		t.Error("the counted key is still over the burst after its level drained at the new rate")
	}
	// Both limiters read and charge one table: a trip of the new one
	// blocks the key for the old one too.
	if r := deny(l, other, 4, 2_000); r.Tripped != TierV4Host {
		t.Fatalf("4 denials over the new burst of 3: %+v, want a trip", r)
	}
	if b, _ := prev.Blocked(other, 2_000); !b {
		t.Error("a key the new limiter blocked is free for the old one")
	}

	bigger := cfg
	bigger.Slots *= 4
	if l, ok := Adopt(prev, bigger, 10); ok || l != nil {
		t.Errorf("another table size: Adopt = %v %v, want nothing", l, ok)
	}
	if l, ok := Adopt(nil, cfg, 10); ok || l != nil {
		t.Errorf("no previous limiter: Adopt = %v %v, want nothing", l, ok)
	}
}
