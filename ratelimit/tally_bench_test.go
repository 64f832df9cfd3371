package ratelimit

import (
	"net/netip"
	"sync/atomic"
	"testing"
)

// The Tally's costs: Add on the query path, Drain every ~100 ms in the
// background.
//
//	go test -run '^$' -bench Tally -benchmem ./ratelimit/

// BenchmarkTallyAdd counts a denial of one key, already in the table.
func BenchmarkTallyAdd(b *testing.B) {
	l := newLimiter(b, DefaultConfig())
	tl := NewTally(1 << 14)
	var p Probe
	l.Probe(key("192.0.2.1"), &p)
	tl.Add(&p, ChargeDenial)
	b.ReportAllocs()
	for b.Loop() {
		tl.Add(&p, ChargeDenial)
	}
}

// BenchmarkTallyAddParallel counts denials of keys of each goroutine's
// own, 64 each, as different clients' queries land on different cores.
func BenchmarkTallyAddParallel(b *testing.B) {
	l := newLimiter(b, DefaultConfig())
	tl := NewTally(1 << 14)
	var next atomic.Uint32
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		g := next.Add(1)
		var probes [64]Probe
		for i := range probes {
			l.Probe(Key{Addr: netip.AddrFrom4([4]byte{10, byte(g), 0, byte(i)})}, &probes[i])
		}
		i := 0
		for pb.Next() {
			tl.Add(&probes[i&63], ChargeDenial)
			i++
		}
	})
}

// BenchmarkTallyDrain drains a table of 16384 slots a class (2 MiB) holding
// 4096 live keys, each counted once since the previous drain; the Adds
// that refill it are not timed.
func BenchmarkTallyDrain(b *testing.B) {
	l := newLimiter(b, DefaultConfig())
	tl := NewTally(1 << 14)
	probes := make([]Probe, benchKeys)
	for i, k := range clientKeys(0)[:benchKeys] {
		l.Probe(k, &probes[i])
	}
	var sum uint64
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for i := range probes {
			tl.Add(&probes[i], ChargeDenial)
		}
		b.StartTimer()
		tl.Drain(func(c Count) { sum += uint64(c.N) })
	}
	if sum == 0 {
		b.Fatal("nothing drained")
	}
}
