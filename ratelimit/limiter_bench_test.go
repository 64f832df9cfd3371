package ratelimit

import (
	"net/netip"
	"sync/atomic"
	"testing"
)

// benchKeys is how many clients the benchmark cycles through.
const benchKeys = 4096

// BenchmarkLimiter measures the per-query operations with the default table
// (262,144 slots, 4 MiB): Blocked before the query, Observe after it. Each
// operation starts on a fresh table. While no prefix is blocked, Blocked is
// one load; the one-blocked variants, run with another prefix blocked, show
// the cost while an enumeration is being held off, when Blocked reads the
// table. In the parallel variants each goroutine asks for its own clients,
// as different clients' queries land on different cores;
// PositiveQuery/parallel-same-clients has every goroutine ask for the same
// ones, the case where a client's table line moves between cores.
//
//	go test -run '^$' -bench . -benchmem ./ratelimit/
func BenchmarkLimiter(b *testing.B) {
	keys := clientKeys(0)
	ops := []struct {
		name string
		op   func(l *Limiter, k Key, now int64)
	}{
		{"Blocked", func(l *Limiter, k Key, now int64) { l.Blocked(k, now) }},
		{"ObservePositive", func(l *Limiter, k Key, now int64) { l.Observe(k, false, now) }},
		{"ObserveDenial", func(l *Limiter, k Key, now int64) { l.Observe(k, true, now) }},
		{"PositiveQuery", func(l *Limiter, k Key, now int64) {
			var p Probe
			l.Probe(k, &p)
			l.BlockedProbe(&p, now)
			l.ObserveProbe(&p, false, now)
		}},
	}
	fresh := func(b *testing.B, oneBlocked bool) *Limiter {
		l := newLimiter(b, DefaultConfig())
		if oneBlocked {
			// Blocked for 120 s of the benchmark's clock, which advances
			// 1 ms every 1,024 operations: longer than any run.
			for range 1000 {
				l.Observe(Key{Addr: netip.MustParseAddr("203.0.113.9")}, true, 0)
			}
		}
		return l
	}
	for _, op := range ops {
		for _, oneBlocked := range []bool{false, true} {
			name := op.name
			if oneBlocked {
				if op.name == "ObservePositive" || op.name == "ObserveDenial" {
					continue // Observe does not look at the horizon
				}
				name += "/one-blocked"
			}
			b.Run(name, func(b *testing.B) {
				l := fresh(b, oneBlocked)
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					op.op(l, keys[i%benchKeys], int64(i>>10))
					i++
				}
			})
			b.Run(name+"/parallel", func(b *testing.B) {
				l := fresh(b, oneBlocked)
				b.ReportAllocs()
				var next atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					// Each goroutine asks for its own clients, as
					// different clients reach different cores.
					mine := clientKeys(byte(next.Add(1)))
					i := 0
					for pb.Next() {
						op.op(l, mine[i%benchKeys], int64(i>>10))
						i++
					}
				})
			})
			if op.name != "PositiveQuery" || oneBlocked {
				continue
			}
			b.Run(name+"/parallel-same-clients", func(b *testing.B) {
				// The worst case for sharing: every goroutine asks for
				// the same clients, so each charge moves the client's
				// table line from the other core's cache.
				l := fresh(b, false)
				b.ReportAllocs()
				var start atomic.Int64
				b.RunParallel(func(pb *testing.PB) {
					i := int(start.Add(benchKeys / 7))
					for pb.Next() {
						op.op(l, keys[i%benchKeys], int64(i>>10))
						i++
					}
				})
			})
		}
	}
}

// clientKeys returns benchKeys clients, half IPv4 and half IPv6, each in
// its own /24 or /48, in a block numbered by set (below 16): many clients,
// so the table is touched all over as in production, and a different set
// for each goroutine of a parallel run.
func clientKeys(set byte) []Key {
	keys := make([]Key, benchKeys)
	for i := range keys {
		keys[i] = Key{Addr: netip.AddrFrom4([4]byte{10, byte(i>>8) | set<<4, byte(i), 1})}
		if i%2 == 1 {
			keys[i] = Key{Addr: netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 4: byte(i>>8) | set<<4, 5: byte(i), 15: 1})}
		}
	}
	return keys
}
