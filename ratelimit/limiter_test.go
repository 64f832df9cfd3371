package ratelimit

import (
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"
)

func testConfig() Config {
	return Config{Rate: 10, Burst: 5, Ratio: 0, MinCount: 40, Window: 30 * time.Second, Block: 60 * time.Second, Slots: 1 << 16}
}

// newLimiter returns a limiter with a fixed hash seed, so which keys share
// slots (and so where collisions overestimate) is the same in every run.
func newLimiter(t testing.TB, cfg Config) *Limiter {
	t.Helper()
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l.seed = [2]uint64{0x5eed5eed, 0xfeedf00d}
	return l
}

func key(addr string) Key { return Key{Addr: netip.MustParseAddr(addr)} }

// deny charges n denials at time now and returns the first trip.
func deny(l *Limiter, k Key, n int, now int64) Result {
	res := Result{Tripped: NoTier}
	for range n {
		if r := l.Observe(k, true, now); r.Tripped != NoTier && res.Tripped == NoTier {
			res = r
		}
	}
	return res
}

func TestBurstThenTrip(t *testing.T) {
	l := newLimiter(t, testConfig())
	k := key("192.0.2.1")
	if r := deny(l, k, 5, 0); r.Tripped != NoTier {
		t.Fatalf("tripped within the burst: %+v", r)
	}
	if blocked, _ := l.Blocked(k, 0); blocked {
		t.Fatal("blocked within the burst")
	}
	r := l.Observe(k, true, 0)
	if r.Tripped != TierV4Host || r.Rule != RuleRate {
		t.Fatalf("denial burst+1: %+v, want a rate trip of v4_32", r)
	}
	if blocked, tier := l.Blocked(k, 0); !blocked || tier != TierV4Host {
		t.Fatalf("Blocked = %v %v after the trip", blocked, tier)
	}
}

func TestRefill(t *testing.T) {
	l := newLimiter(t, testConfig()) // 10/s: one denial drains every 100 ms
	k := key("192.0.2.1")
	deny(l, k, 5, 0)
	if r := l.Observe(k, true, 100); r.Tripped != NoTier {
		t.Fatalf("denial after 100 ms refill tripped: %+v", r)
	}
	if r := l.Observe(k, true, 100); r.Tripped == NoTier {
		t.Fatal("second denial at 100 ms did not trip")
	}
	// A slow client at the rate never trips.
	k2 := key("192.0.2.2")
	for i := range int64(1000) {
		if r := l.Observe(k2, true, i*100); r.Tripped != NoTier {
			t.Fatalf("client at exactly the rate tripped at denial %d", i)
		}
	}
}

func TestNeighboursUnaffected(t *testing.T) {
	l := newLimiter(t, testConfig())
	deny(l, key("192.0.2.1"), 6, 0)
	for _, a := range []string{"192.0.2.2", "198.51.100.1", "2001:db8::1"} {
		if blocked, _ := l.Blocked(key(a), 0); blocked {
			t.Errorf("%s blocked by its neighbour", a)
		}
	}
	// The other transport has its own budget.
	if blocked, _ := l.Blocked(Key{Addr: netip.MustParseAddr("192.0.2.1"), Stream: true}, 0); blocked {
		t.Error("TCP is blocked by UDP denials")
	}
}

// Spraying addresses inside a prefix trips the prefix's tier, and blocks
// addresses in it that never sent a denial.
func TestTiersTripOnTheirOwn(t *testing.T) {
	tests := []struct {
		name   string
		spray  func(i int) string
		count  int
		want   Tier
		inside string
		beside string
	}{
		{"v4 /24", func(i int) string { return netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}).String() }, 21, TierV4Net, "192.0.2.250", "192.0.3.1"},
		{"v6 /64", func(i int) string { return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)}).String() }, 6, TierV6Net, "2001:db8::ffff", "2001:db8:0:1::1"},
		{"v6 /56", func(i int) string {
			return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 7: byte(i), 15: 1}).String()
		}, 21, TierV6Site, "2001:db8:0:ff::1", "2001:db8:0:100::1"},
		{"v6 /48", func(i int) string {
			return netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 6: byte(i), 15: 1}).String()
		}, 81, TierV6Org, "2001:db8:0:ff00::1", "2001:db8:1::1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLimiter(t, testConfig())
			// One denial per address: no single address or narrower
			// prefix comes near its own burst.
			var trip Result
			for i := range tc.count {
				if r := l.Observe(key(tc.spray(i)), true, 0); r.Tripped != NoTier {
					trip = r
					if i != tc.count-1 {
						t.Fatalf("tripped after %d addresses, want %d", i+1, tc.count)
					}
				}
			}
			if trip.Tripped != tc.want {
				t.Fatalf("tripped %v, want %v", trip.Tripped, tc.want)
			}
			if blocked, tier := l.Blocked(key(tc.inside), 0); !blocked || tier != tc.want {
				t.Errorf("fresh address %s inside the prefix: blocked=%v tier=%v", tc.inside, blocked, tier)
			}
			if blocked, _ := l.Blocked(key(tc.beside), 0); blocked {
				t.Errorf("address %s outside the prefix is blocked", tc.beside)
			}
		})
	}
}

func TestRatioRule(t *testing.T) {
	cfg := testConfig()
	cfg.Burst = 1000 // keep the rate rule out of the way
	cfg.Ratio, cfg.MinCount = 0.8, 40

	l := newLimiter(t, cfg)
	k := key("192.0.2.1")
	if r := deny(l, k, 39, 0); r.Tripped != NoTier {
		t.Fatalf("tripped below the minimum count: %+v", r)
	}
	if r := l.Observe(k, true, 0); r.Tripped != TierV4Host || r.Rule != RuleRatio {
		t.Fatalf("40th denial of 40: %+v, want a ratio trip", r)
	}

	// A resolver: many positives and a few typos never trips.
	l = newLimiter(t, cfg)
	for i := range 2000 {
		if r := l.Observe(k, i%20 == 0, int64(i)); r.Tripped != NoTier {
			t.Fatalf("5%% denials tripped at response %d: %+v", i, r)
		}
	}

	// Just under the ratio: 31 denials of 40 responses is 77.5 %.
	l = newLimiter(t, cfg)
	for range 9 {
		l.Observe(k, false, 0)
	}
	if r := deny(l, k, 31, 0); r.Tripped != NoTier {
		t.Fatalf("77.5%% tripped: %+v", r)
	}
	if r := deny(l, k, 6, 0); r.Tripped == NoTier {
		t.Fatal("37 of 46 (80.4 %) did not trip")
	}

	// A new window starts from zero.
	l = newLimiter(t, cfg)
	deny(l, k, 39, 0)
	if r := l.Observe(k, true, cfg.Window.Milliseconds()); r.Tripped != NoTier {
		t.Fatalf("the count carried into the next window: %+v", r)
	}

	// Ratio 0 disables the rule.
	cfg.Ratio = 0
	l = newLimiter(t, cfg)
	if r := deny(l, k, 200, 0); r.Tripped != NoTier {
		t.Fatalf("ratio 0 tripped: %+v", r)
	}
}

// A padded scanner (many positives) still trips the rate.
func TestPaddedScannerTripsRate(t *testing.T) {
	cfg := testConfig()
	cfg.Ratio = 0.8
	l := newLimiter(t, cfg)
	k := key("192.0.2.1")
	for i := range 100 {
		l.Observe(k, false, 0)
		if r := l.Observe(k, i%10 == 0, 0); r.Tripped != NoTier {
			if r.Rule == RuleRatio {
				t.Fatal("padded scanner tripped the ratio rule")
			}
			return
		}
	}
	t.Fatal("padded scanner never tripped the rate")
}

func TestBlockExpiry(t *testing.T) {
	l := newLimiter(t, testConfig())
	k := key("2001:db8::1")
	deny(l, k, 6, 1000)
	block := testConfig().Block.Milliseconds()
	if blocked, _ := l.Blocked(k, 1000+block-50); !blocked {
		t.Error("unblocked 50 ms before the block ends")
	}
	if blocked, _ := l.Blocked(k, 1000+block+50); blocked {
		t.Error("still blocked 50 ms after the block ends")
	}
	// When the block ends the burst is used up: the budget refills at the
	// rate (10/s), so the burst of 5 is back 500 ms later.
	if r := deny(l, k, 5, 1000+block+550); r.Tripped != NoTier {
		t.Fatalf("tripped within the refilled burst after the block: %+v", r)
	}
}

// A blocked key that is still answered (log-only) does not trip again and
// again.
func TestNoRepeatTrips(t *testing.T) {
	cfg := testConfig()
	cfg.Ratio = 0.8
	l := newLimiter(t, cfg)
	k := key("192.0.2.1")
	trips := 0
	for i := range 500 {
		if l.Observe(k, true, int64(i)).Tripped != NoTier {
			trips++
		}
	}
	if trips != 1 {
		t.Fatalf("%d trips in 500 ms of denials, want 1", trips)
	}
}

// Collisions only overestimate: in a one-line table shared with many keys,
// a heavy hitter is limited no later than after its own burst.
func TestCollisionsNeverUnderestimate(t *testing.T) {
	cfg := testConfig()
	cfg.Slots = 4
	l := newLimiter(t, cfg)
	heavy := key("203.0.113.7")
	collided := false
	for i := range 6 {
		for j := range 50 {
			l.Observe(key(netip.AddrFrom4([4]byte{10, byte(i), byte(j), 1}).String()), false, 0)
		}
		r := l.Observe(heavy, true, 0)
		collided = collided || r.Collision
		if r.Tripped != NoTier {
			return
		}
	}
	if blocked, _ := l.Blocked(heavy, 0); !blocked {
		t.Fatal("heavy hitter not blocked after burst+1 denials in a crowded table")
	}
}

// A million distinct sources leave the heap as it was (the table is
// preallocated) and a heavy hitter among them is still limited.
func TestMillionSources(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Ratio = 0.8 // the rule this test holds the heavy hitter to
	l := newLimiter(t, cfg)
	heavy := key("198.51.100.77")
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	// The heavy hitter sends a denial every 5,000 sources, 200 in all. As in
	// veil, a query of a blocked key is not answered and not observed. It
	// must get at most MinCount denials answered (the ratio rule; fewer if
	// collisions overestimate it), never more.
	answered := 0
	for i := range 1_000_000 {
		now := int64(i / 100) // 10 s in all
		a := netip.AddrFrom4([4]byte{byte(1 + i>>24), byte(i >> 16), byte(i >> 8), byte(i)})
		l.Observe(Key{Addr: a}, i%2 == 0, now)
		if i%5000 == 0 {
			if blocked, _ := l.Blocked(heavy, now); !blocked {
				l.Observe(heavy, true, now)
				answered++
			}
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > 256<<10 {
		t.Errorf("heap grew by %d bytes over 1,000,000 sources; the table is %d bytes", grown, cfg.Slots*SlotBytes)
	}
	if answered > cfg.MinCount {
		t.Errorf("heavy hitter among 1,000,000 sources got %d denials answered, want at most %d", answered, cfg.MinCount)
	}
	if blocked, _ := l.Blocked(heavy, 10_000); !blocked {
		t.Error("heavy hitter not blocked at the end")
	}
	used, total := l.Occupancy(10_000)
	t.Logf("occupancy after 1,000,000 sources: %d of %d slots", used, total)
	if used == 0 || used > total {
		t.Errorf("occupancy %d of %d", used, total)
	}
}

func TestConcurrentUse(t *testing.T) {
	l := newLimiter(t, testConfig())
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 5000 {
				k := Key{Addr: netip.AddrFrom4([4]byte{192, 0, byte(g), byte(i)}), Stream: i%2 == 0}
				l.Observe(k, i%3 == 0, int64(i))
				l.Blocked(k, int64(i))
			}
		})
	}
	wg.Wait()
}

func TestNoAllocations(t *testing.T) {
	l := newLimiter(t, DefaultConfig())
	k4, k6 := key("192.0.2.1"), key("2001:db8::1")
	n := testing.AllocsPerRun(1000, func() {
		l.Observe(k4, true, 5)
		l.Observe(k6, false, 5)
		l.Blocked(k4, 5)
		l.Blocked(k6, 5)
	})
	if n != 0 {
		t.Errorf("%v allocations per run", n)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	for name, mod := range map[string]func(*Config){
		"zero rate":       func(c *Config) { c.Rate = 0 },
		"zero burst":      func(c *Config) { c.Burst = 0 },
		"ratio above 1":   func(c *Config) { c.Ratio = 1.5 },
		"zero min count":  func(c *Config) { c.Ratio, c.MinCount = 0.8, 0 },
		"short window":    func(c *Config) { c.Ratio, c.Window = 0.8, time.Millisecond },
		"negative stub":   func(c *Config) { c.StubRate = -1 },
		"zero stub burst": func(c *Config) { c.StubBurst = 0 },
		"short block":     func(c *Config) { c.Block = 0 },
		"tiny table":      func(c *Config) { c.Slots = 2 },
		"level overflow":  func(c *Config) { c.Rate, c.Block = 100000, 24*time.Hour },
	} {
		c := DefaultConfig()
		mod(&c)
		if err := c.Validate(); err == nil {
			t.Errorf("%s: Validate accepted %+v", name, c)
		}
	}
}

func TestSlotsRoundedUp(t *testing.T) {
	cfg := testConfig()
	cfg.Slots = 1000
	l := newLimiter(t, cfg)
	if got := l.Config().Slots; got != 1024 {
		t.Errorf("Slots = %d, want 1024", got)
	}
	if _, total := l.Occupancy(0); total != 1024 {
		t.Errorf("Occupancy total = %d", total)
	}
}

// A Suspect key (a TCP key whose address is blocked over UDP) trips at
// SuspectBurst+1 denials however large the burst is; one that gets mostly
// answers, its denials drained by the rate, never does; its stub budget
// is the stub budget.
func TestSuspectBurst(t *testing.T) {
	cfg := testConfig() // rate 10
	cfg.Burst, cfg.StubRate, cfg.StubBurst = 1000, 1, 50
	l := newLimiter(t, cfg)
	k := Key{Addr: netip.MustParseAddr("192.0.2.1"), Stream: true}
	var p Probe
	for i := range SuspectBurst + 1 {
		l.Probe(k, &p)
		p.Suspect = true
		r := l.ObserveProbe(&p, true, 0)
		if tripped := r.Tripped != NoTier; tripped != (i == SuspectBurst) {
			t.Fatalf("suspect denial %d: tripped=%v", i+1, tripped)
		}
	}
	if b, _ := l.Blocked(k, 59_000); !b {
		t.Fatal("a suspect key that tripped is free within the block time")
	}
	// Without the mark the same key would need the burst of 1000.
	k3 := Key{Addr: netip.MustParseAddr("192.0.2.3"), Stream: true}
	if r := deny(l, k3, SuspectBurst+1, 0); r.Tripped != NoTier {
		t.Fatalf("an unmarked key tripped at %d denials: %+v", SuspectBurst+1, r)
	}
	// A suspect that asks for names that exist, one denial in ten at ten
	// responses a second, is not blocked.
	k2 := Key{Addr: netip.MustParseAddr("192.0.2.2"), Stream: true}
	for i := range 600 {
		l.Probe(k2, &p)
		p.Suspect = true
		if r := l.ObserveProbe(&p, i%10 == 0, int64(i)*100); r.Tripped != NoTier {
			t.Fatalf("suspect with 10%% denials tripped at %d", i)
		}
	}
	// Its stub budget is the configured one.
	l.Probe(Key{Addr: netip.MustParseAddr("192.0.2.4"), Stream: true}, &p)
	p.Suspect = true
	for i := range 50 {
		if r := l.ObserveStub(&p, 0); r.Tripped != NoTier {
			t.Fatalf("suspect stub answer %d tripped below the stub burst of 50", i+1)
		}
	}
	// Probe clears the mark.
	l.Probe(k, &p)
	if p.Suspect {
		t.Fatal("Probe left Suspect set")
	}
}

// The ratio window's counts saturate at 65,535 instead of wrapping into the
// window field, and a saturated word is no longer written.
func TestRatioSaturates(t *testing.T) {
	cfg := testConfig()
	cfg.Ratio, cfg.MinCount = 0.8, 20
	l := newLimiter(t, cfg)
	k := Key{Addr: netip.MustParseAddr("192.0.2.1")}
	var p Probe
	l.Probe(k, &p)
	for range maxCount + 100 {
		l.ObserveProbe(&p, false, 1000)
	}
	i := p.slots[0][0] + 1
	w := l.words[i]
	if total, denials, win := w>>16&maxCount, w&maxCount, w>>32; total != maxCount || denials != 0 || win != l.window(1000) {
		t.Fatalf("after %d positives: total %d denials %d window %d", maxCount+100, total, denials, win)
	}
	l.ObserveProbe(&p, false, 1000)
	if l.words[i] != w {
		t.Fatal("a saturated word was rewritten")
	}
	// Denials still count, and a saturated total keeps the ratio low.
	if res := l.ObserveProbe(&p, true, 1000); res.Tripped != NoTier {
		t.Fatalf("one denial among 65,535 positives tripped: %+v", res)
	}
	if d := l.words[i] & maxCount; d != 1 {
		t.Fatalf("denials = %d, want 1", d)
	}
}

// The horizon lets Blocked skip the table while nothing is blocked, and
// covers every block: a trip for the block time, and a key charged on past
// its block (log-only mode) until its level has drained.
func TestHorizon(t *testing.T) {
	cfg := testConfig()
	l := newLimiter(t, cfg)
	k := key("192.0.2.1")
	if l.AnyBlocked(0) {
		t.Fatal("a fresh limiter reports a block")
	}
	deny(l, k, 6, 1000)
	block := cfg.Block.Milliseconds()
	if !l.AnyBlocked(1000+block-1) || l.AnyBlocked(1000+block+horizonGrain+1) {
		t.Fatalf("horizon %d after a trip at 1000 with a %d ms block", l.horizon.Load(), block)
	}

	// Log-only: the blocked key is answered and charged for three block
	// times, one denial every 50 ms (twice the rate), then stops.
	now := int64(1000)
	var p Probe
	l.Probe(k, &p)
	for ; now < 1000+3*block; now += 50 {
		l.Observe(k, true, now)
		if blocked, _ := l.Blocked(k, now); !blocked {
			t.Fatalf("unblocked at %d ms while charged over its burst", now)
		}
	}
	// From here the level drains; Blocked agrees with the table until it
	// has, and the horizon then lets it go.
	for end := now + 5*block; now < end; now += 100 {
		got, _ := l.Blocked(k, now)
		want, _ := l.blockedInTable(&p, now)
		if got != want {
			t.Fatalf("at %d ms Blocked = %v, table says %v", now, got, want)
		}
	}
	if l.AnyBlocked(now) {
		t.Fatalf("horizon %d still ahead of %d after the level drained", l.horizon.Load(), now)
	}
}

// In a crowded table with random traffic, the horizon never reports a key
// blocked that the table does not, and never lets a key the table blocks
// go while it is charged: a heavy hitter stays limited.
func TestHorizonAgreesWithTable(t *testing.T) {
	cfg := testConfig()
	cfg.Ratio, cfg.MinCount = 0.8, 20
	cfg.Slots = 64
	l := newLimiter(t, cfg)
	heavy := key("203.0.113.7")
	var hp Probe
	l.Probe(heavy, &hp)
	rng := uint64(1)
	next := func() uint64 { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng }
	for step := range 200_000 {
		now := int64(step) // one event a millisecond, 200 s
		r := next()
		k := Key{Addr: netip.AddrFrom4([4]byte{10, byte(r >> 8 & 3), byte(r >> 16), 1})}
		l.Observe(k, r&7 == 0, now)
		if step%10 == 0 {
			l.Observe(heavy, true, now) // 100 denials/s against a rate of 10
		}
		var p Probe
		l.Probe(k, &p)
		got, _ := l.BlockedProbe(&p, now)
		inTable, _ := l.blockedInTable(&p, now)
		if got && !inTable {
			t.Fatalf("step %d: %v blocked by the horizon alone", step, k.Addr)
		}
		if step > 100 {
			if got, _ := l.BlockedProbe(&hp, now); !got {
				t.Fatalf("step %d: heavy hitter not blocked", step)
			}
		}
	}
}
