package veil

import (
	"net"
	"testing"

	"github.com/coredns/coredns/plugin/cache"
	"github.com/coredns/coredns/plugin/dnssec"
	pcache "github.com/coredns/coredns/plugin/pkg/cache"

	"github.com/miekg/dns"
)

// BenchmarkOnTheFly measures what learning the outcome of a black lie
// costs (onthefly.go): a DNSSEC-OK query from an external client for a
// name that does not exist, and for the AAAA of a host without one (the
// same black lie), through veil with the limiter in front of the cache
// plugin, the dnssec plugin signing example.org on the fly, and the file
// plugin. "outcome" is veil as it runs (a second lookup, a cache hit,
// learns whether the name exists); "shape-only" is veil judging the answer
// by its shape alone, as before it knew the signer (and so charging no
// denial); the difference is the lookup's cost.
//
//	go test -run '^$' -bench BenchmarkOnTheFly -benchmem -count 6 .
func BenchmarkOnTheFly(b *testing.B) {
	key, _ := signedFuzzKey(b, b.TempDir())
	backend := exampleFile(b)
	d := dnssec.New([]string{"example.org."}, []*dnssec.DNSKEY{key}, false, backend, pcache.New[[]dns.RR](1024))
	cached := cache.New()
	cached.Next = d
	clients := make([]net.Addr, 1<<16)
	for i := range clients {
		clients[i] = &net.UDPAddr{IP: net.IPv4(10, byte(i>>8), byte(i), 1), Port: 40000}
	}
	for _, mode := range []string{"outcome", "shape-only"} {
		v := newTestVeil(b, "veil {\n trusted 192.0.2.0/24\n limit {\n rate 30000\n burst 30000\n block 1s\n }\n}", cached)
		v.untraced = true
		for _, z := range v.zones {
			z.counters.start("", []string{benchServer})
		}
		if mode == "outcome" {
			v.signer = &d
		}
		for _, q := range []struct {
			name  string
			qtype uint16
		}{{"missing.example.org.", dns.TypeA}, {"mail.example.org.", dns.TypeAAAA}} {
			b.Run(mode+"/"+dns.TypeToString[q.qtype]+"-"+q.name, func(b *testing.B) {
				w := newTestWriter(b, externalV4, false)
				w.discard = true
				// As a validating resolver asks: DO, recursion not desired.
				r := query(q.name, q.qtype, true)
				r.SetEdns0(1232, true)
				r.RecursionDesired = false
				ctx := serverContext()
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					w.remote = clients[i&0xffff]
					i++
					v.ServeDNS(ctx, w, r)
				}
			})
		}
	}
}
