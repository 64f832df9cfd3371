package ratelimit

import (
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
)

// tallyKeyOf is the key a Count reports for a charge: the client prefix.
type tallyKeyOf struct {
	Key    Key
	Charge Charge
}

// tallyAdd probes k with l and counts one charge of it in tl.
func tallyAdd(l *Limiter, tl *Tally, k Key, c Charge) bool {
	var p Probe
	l.Probe(k, &p)
	return tl.Add(&p, c)
}

// drainAll drains tl and sums the counts per key and charge.
func drainAll(t testing.TB, tl *Tally) map[tallyKeyOf]uint64 {
	t.Helper()
	got := map[tallyKeyOf]uint64{}
	tl.Drain(func(c Count) {
		if c.N == 0 {
			t.Errorf("drained a zero count for %v", c.Key)
		}
		got[tallyKeyOf{c.Key, c.Charge}] += uint64(c.N)
	})
	return got
}

func TestTallyCounts(t *testing.T) {
	l := newLimiter(t, testConfig())
	type add struct {
		addr   string
		stream bool
		charge Charge
		n      int
	}
	tests := []struct {
		name string
		adds []add
		want map[string]uint64 // "addr/stream/charge" -> count
	}{
		{"v4 one key", []add{{"192.0.2.1", false, ChargeDenial, 3}},
			map[string]uint64{"192.0.2.1/false/0": 3}},
		{"v4 classes apart", []add{
			{"192.0.2.1", false, ChargeDenial, 3},
			{"192.0.2.1", true, ChargeDenial, 2},
			{"192.0.2.1", false, ChargeStub, 5},
			{"192.0.2.1", true, ChargeStub, 1},
			{"192.0.2.2", false, ChargeDenial, 4},
		}, map[string]uint64{
			"192.0.2.1/false/0": 3, "192.0.2.1/true/0": 2,
			"192.0.2.1/false/1": 5, "192.0.2.1/true/1": 1, "192.0.2.2/false/0": 4,
		}},
		{"v4 zero and all-ones", []add{
			{"0.0.0.0", false, ChargeDenial, 2},
			{"255.255.255.255", false, ChargeDenial, 7},
		}, map[string]uint64{"0.0.0.0/false/0": 2, "255.255.255.255/false/0": 7}},
		{"v6 one /64", []add{
			{"2001:db8::1", false, ChargeDenial, 2},
			{"2001:db8::ffff:1", false, ChargeDenial, 3},
			{"2001:db8:0:1::1", false, ChargeDenial, 1},
		}, map[string]uint64{"2001:db8::/false/0": 5, "2001:db8:0:1::/false/0": 1}},
		{"v6 /64 zero and all-ones", []add{
			{"::1", false, ChargeDenial, 2},
			{"::1", true, ChargeStub, 3},
			{"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false, ChargeDenial, 4},
			{"ffff:ffff:ffff:ffff::", true, ChargeDenial, 1},
		}, map[string]uint64{
			"::/false/0": 2, "::/true/1": 3,
			"ffff:ffff:ffff:ffff::/false/0": 4, "ffff:ffff:ffff:ffff::/true/0": 1,
		}},
		{"v4 and v6 apart", []add{
			{"0.0.0.1", false, ChargeDenial, 1},
			{"::", false, ChargeDenial, 1},
		}, map[string]uint64{"0.0.0.1/false/0": 1, "::/false/0": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tl := NewTally(64)
			for _, a := range tc.adds {
				k := Key{Addr: netip.MustParseAddr(a.addr), Stream: a.stream}
				for range a.n {
					if !tallyAdd(l, tl, k, a.charge) {
						t.Fatalf("Add(%v) = false", k)
					}
				}
			}
			got := map[string]uint64{}
			for k, n := range drainAll(t, tl) {
				got[fmt.Sprintf("%v/%v/%d", k.Key.Addr, k.Key.Stream, k.Charge)] += n
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("drained %v, want %v", got, tc.want)
			}
			if again := drainAll(t, tl); len(again) != 0 {
				t.Errorf("second drain %v, want nothing: Drain resets", again)
			}
		})
	}
}

func TestTallyBadCharge(t *testing.T) {
	l := newLimiter(t, testConfig())
	tl := NewTally(1)
	if tallyAdd(l, tl, key("192.0.2.1"), NumCharges) {
		t.Error("Add of NumCharges = true")
	}
}

// fillTally adds distinct IPv4 denial keys until Add fails, and returns the
// keys that fit and the first that did not.
func fillTally(t *testing.T, l *Limiter, tl *Tally) (fit []Key, failed Key) {
	t.Helper()
	for i := range 1 << 16 {
		k := Key{Addr: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})}
		if !tallyAdd(l, tl, k, ChargeDenial) {
			return fit, k
		}
		fit = append(fit, k)
	}
	t.Fatal("a 64-slot tally took 65536 keys")
	return nil, Key{}
}

func TestTallyFullAndFreed(t *testing.T) {
	l := newLimiter(t, testConfig())
	tl := NewTally(64)
	fit, failed := fillTally(t, l, tl)
	if len(fit) == 0 || len(fit) > 64 {
		t.Fatalf("%d keys fit a 64-slot class", len(fit))
	}
	// The others' counts go on; other classes are not full.
	for _, k := range fit {
		if !tallyAdd(l, tl, k, ChargeDenial) {
			t.Fatalf("Add(%v) of a counted key = false on a full table", k)
		}
	}
	if !tallyAdd(l, tl, failed, ChargeStub) || !tallyAdd(l, tl, Key{Addr: failed.Addr, Stream: true}, ChargeDenial) {
		t.Error("a full class turned another class's Add down")
	}
	got := drainAll(t, tl)
	for _, k := range fit {
		if n := got[tallyKeyOf{k, ChargeDenial}]; n != 2 {
			t.Errorf("%v drained %d, want 2", k.Addr, n)
		}
	}
	if n := got[tallyKeyOf{failed, ChargeDenial}]; n != 0 {
		t.Errorf("the key that did not fit drained %d", n)
	}
	// Reset but not idle for a whole interval yet: the keys keep their
	// slots.
	if tallyAdd(l, tl, failed, ChargeDenial) {
		t.Error("a key found a slot right after a drain: counted keys were freed too early")
	}
	// A drain interval with no charges frees them; the slot is reused.
	drainAll(t, tl)
	if !tallyAdd(l, tl, failed, ChargeDenial) {
		t.Fatal("no slot after an idle drain: stale keys not freed")
	}
	got = drainAll(t, tl)
	if len(got) != 1 || got[tallyKeyOf{failed, ChargeDenial}] != 1 {
		t.Errorf("drained %v, want only %v: 1", got, failed.Addr)
	}
}

func TestTallyConcurrent(t *testing.T) {
	l := newLimiter(t, testConfig())
	// A small table and more keys than slots: claims race, slots are
	// freed and claimed again for other keys while Adds run.
	tl := NewTally(64)
	var keys []Key
	for i := range 96 {
		keys = append(keys,
			Key{Addr: netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), Stream: i%3 == 0},
			Key{Addr: netip.AddrFrom16([16]byte{0x20, 0x01, 15: 1, 7: byte(i)})})
	}
	const workers, adds = 8, 20000
	added := make([]map[tallyKeyOf]uint64, workers)
	var done atomic.Bool
	drained := map[tallyKeyOf]uint64{}
	var drainer sync.WaitGroup
	drains := 0
	drainer.Go(func() {
		for ; !done.Load(); drains++ {
			for k, n := range drainAll(t, tl) {
				drained[k] += n
			}
		}
	})
	var wg sync.WaitGroup
	for w := range workers {
		added[w] = map[tallyKeyOf]uint64{}
		wg.Go(func() {
			var p Probe
			for i := range adds {
				// Runs of one key, then another: keys go idle and are
				// freed. Every fourth Add is of a key all workers share.
				k := keys[(i/64*7+w*13)%len(keys)]
				if i%4 == 0 {
					k = keys[(i/256)%len(keys)]
				}
				c := Charge(i % 2)
				l.Probe(k, &p)
				if tl.Add(&p, c) {
					k.Addr = netip.PrefixFrom(k.Addr, tierBits[ClientTier(k.Addr)]).Masked().Addr()
					added[w][tallyKeyOf{k, c}]++
				}
			}
		})
	}
	wg.Wait()
	done.Store(true)
	drainer.Wait()
	for k, n := range drainAll(t, tl) {
		drained[k] += n
	}
	want := map[tallyKeyOf]uint64{}
	var total uint64
	for _, m := range added {
		for k, n := range m {
			want[k] += n
			total += n
		}
	}
	if total == 0 {
		t.Fatal("no Add succeeded")
	}
	t.Logf("%d of %d Adds counted, %d drains", total, workers*adds, drains)
	if fmt.Sprint(drained) != fmt.Sprint(want) {
		t.Errorf("drained %v\nwant    %v", drained, want)
	}
}

func TestTallyAddAllocs(t *testing.T) {
	l := newLimiter(t, testConfig())
	tl := NewTally(64)
	var p Probe
	l.Probe(key("2001:db8::1"), &p)
	if n := testing.AllocsPerRun(100, func() { tl.Add(&p, ChargeStub) }); n != 0 {
		t.Errorf("Add allocates %v times", n)
	}
}
