package ratelimit

import (
	"net/netip"
	"testing"
	"time"
)

// A key charged on long after it tripped (a flagged prefix veil answers
// with decoys keeps getting charged; so does log-only) is free again at
// most Block after its last charge, and its buckets empty as after a
// single trip, by the rate rule, the stub rule and charges from other
// replicas alike: no bucket holds more than a trip sets. (Without the cap,
// 20,000 charges leave a bucket that takes hours to drain, and every
// charge meanwhile trips again.)
func TestChargedOnWhileBlockedFreeAfterBlock(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Block = 10 * time.Second
	denial := func(l *Limiter, k Key, now int64) { l.Observe(k, true, now) }
	stub := func(l *Limiter, k Key, now int64) {
		var p Probe
		l.Probe(k, &p)
		l.ObserveStub(&p, now)
	}
	for _, c := range []struct {
		name         string
		charge, once func(l *Limiter, k Key, now int64)
	}{
		{"denials", denial, denial},
		{"stub answers", stub, stub},
		{"remote denials", func(l *Limiter, k Key, now int64) { l.ChargeRemote(k, ChargeDenial, 50, now) }, denial},
		{"remote stub answers", func(l *Limiter, k Key, now int64) {
			l.ChargeRemote(k, ChargeStub, 50, now)
			stub(l, k, now) // a local answer trips what the remote ones filled
		}, stub},
	} {
		t.Run(c.name, func(t *testing.T) {
			l, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			k := Key{Addr: netip.MustParseAddr("198.51.100.7")}
			now := int64(1_000_000)
			// 20,000 charges over 100 s, far past every burst.
			for i := range 20000 {
				c.charge(l, k, now+int64(i)*5)
			}
			last := now + 20000*5
			if blocked, _ := l.Blocked(k, last+1); !blocked {
				t.Fatal("not blocked while charged on")
			}
			if blocked, _ := l.Blocked(k, last+cfg.Block.Milliseconds()+100); blocked {
				t.Errorf("still blocked %v after the last charge, Block is %v", cfg.Block+100*time.Millisecond, cfg.Block)
			}
			// Once a trip's level has drained (Block, then the burst at
			// the rule's rate), one more charge trips nothing.
			drained := last + cfg.Block.Milliseconds() + int64(1000*max(cfg.Burst/cfg.Rate, cfg.StubBurst/cfg.StubRate)) + 1000
			c.once(l, k, drained)
			if blocked, _ := l.Blocked(k, drained+1); blocked {
				t.Errorf("a single charge %v after the last one blocked the key again", time.Duration(drained-last)*time.Millisecond)
			}
		})
	}
}

// A denial charged with ObserveSignedDenial counts SignedWeight of one: a
// key trips after about Burst/SignedWeight of them, and after Burst of
// them with no weight set.
func TestSignedDenialWeight(t *testing.T) {
	for _, c := range []struct {
		weight float64
		want   int // the denial that trips
	}{{0, 6}, {1, 6}, {1.0 / 15, 76}, {0.5, 11}} {
		cfg := DefaultConfig() // rate 1, burst 5
		cfg.SignedWeight = c.weight
		l, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var p Probe
		l.Probe(Key{Addr: netip.MustParseAddr("198.51.100.9")}, &p)
		got := 0
		for i := 1; i <= 200 && got == 0; i++ {
			if res := l.ObserveSignedDenial(&p, 1000); res.Tripped != NoTier {
				got = i
			}
		}
		if got < c.want-1 || got > c.want+1 {
			t.Errorf("weight %v: tripped at signed denial %d, want about %d", c.weight, got, c.want)
		}
	}
}
