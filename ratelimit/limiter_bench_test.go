package ratelimit

import (
	"net/netip"
	"testing"
)

// benchKeys is how many clients the benchmark cycles through.
const benchKeys = 4096

// BenchmarkLimiter measures the per-query operations with the default table
// (262,144 slots, 4 MiB): Blocked before the query, Observe after it.
//
//	go test -run '^$' -bench . -benchmem ./ratelimit/
func BenchmarkLimiter(b *testing.B) {
	l := newLimiter(b, DefaultConfig())
	// Many clients, so the table is touched all over as in production.
	keys := make([]Key, benchKeys)
	for i := range keys {
		keys[i] = Key{Addr: netip.AddrFrom4([4]byte{10, byte(i >> 8), byte(i), 1})}
		if i%2 == 1 {
			keys[i] = Key{Addr: netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 4: byte(i >> 8), 5: byte(i), 15: 1})}
		}
	}
	ops := []struct {
		name string
		op   func(k Key, now int64)
	}{
		{"Blocked", func(k Key, now int64) { l.Blocked(k, now) }},
		{"ObservePositive", func(k Key, now int64) { l.Observe(k, false, now) }},
		{"ObserveDenial", func(k Key, now int64) { l.Observe(k, true, now) }},
		{"PositiveQuery", func(k Key, now int64) {
			var p Probe
			l.Probe(k, &p)
			l.BlockedProbe(&p, now)
			l.ObserveProbe(&p, false, now)
		}},
	}
	for _, op := range ops {
		b.Run(op.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				op.op(keys[i%benchKeys], int64(i>>10))
				i++
			}
		})
		b.Run(op.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					op.op(keys[i%benchKeys], int64(i>>10))
					i++
				}
			})
		})
	}
}
