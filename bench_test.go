package veil

import (
	"context"
	"os"
	"testing"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/file"

	"github.com/miekg/dns"
)

// exampleFile returns the real file plugin serving example/db.example.org,
// the backend veil sits in front of in a typical authoritative setup.
func exampleFile(b *testing.B) file.File {
	b.Helper()
	f, err := os.Open("example/db.example.org")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	z, err := file.Parse(f, "example.org.", "example/db.example.org", 0)
	if err != nil {
		b.Fatal(err)
	}
	return file.File{Zones: file.Zones{Z: map[string]*file.Zone{"example.org.": z}, Names: []string{"example.org."}}}
}

// benchVeils returns veil in front of next without and with the limiter,
// trusting 192.0.2.0/24 and 2001:db8:1::/48, with the limiter's clock
// running as the server's OnStartup runs it.
func benchVeils(b *testing.B, next plugin.Handler) (plain, limited *Veil) {
	b.Helper()
	plain = newTestVeil(b, "veil {\n trusted 192.0.2.0/24 2001:db8:1::/48\n}", next)
	limited = newTestVeil(b, "veil {\n trusted 192.0.2.0/24 2001:db8:1::/48\n limit\n}", next)
	startClock()
	b.Cleanup(stopClock)
	return plain, limited
}

// BenchmarkServeDNS compares an A query answered by the file plugin alone
// with the same query through veil first, from a trusted and an external
// client. The difference is what veil adds on the pass-through path.
//
//	go test -run '^$' -bench BenchmarkServeDNS -benchmem -count 6 .
func BenchmarkServeDNS(b *testing.B) {
	backend := exampleFile(b)
	v, vl := benchVeils(b, backend)
	cases := []struct {
		name    string
		handler plugin.Handler
		addr    string
	}{
		{"file", backend, externalV4},
		{"veil+file/trusted", v, trustedV4},
		{"veil+file/external", v, externalV4},
		{"veil+file/external-v6", v, externalV6},
		{"veil+limit+file/external", vl, externalV4},
		{"veil+limit+file/external-v6", vl, externalV6},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			w := newTestWriter(b, c.addr, false)
			w.discard = true
			r := query("www.example.org.", dns.TypeA, true)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				c.handler.ServeDNS(ctx, w, r)
			}
			if w.written.Load() == 0 {
				b.Fatal("no answer written")
			}
		})
	}
}

// BenchmarkVeilOnly measures veil's own pass-through work with a next
// handler that writes a prepared answer and allocates nothing, so the
// difference to "next" is veil alone. The parallel variants show how the
// shared counters scale across cores.
func BenchmarkVeilOnly(b *testing.B) {
	r := query("www.example.org.", dns.TypeA, true)
	reply := new(dns.Msg).SetReply(r)
	next := plugin.HandlerFunc(func(_ context.Context, w dns.ResponseWriter, _ *dns.Msg) (int, error) {
		w.WriteMsg(reply)
		return dns.RcodeSuccess, nil
	})
	v, vl := benchVeils(b, next)
	cases := []struct {
		name    string
		handler plugin.Handler
		addr    string
	}{
		{"next", next, externalV4},
		{"veil/trusted", v, trustedV4},
		{"veil/external", v, externalV4},
		{"veil/external-v6", v, externalV6},
		{"veil+limit/external", vl, externalV4},
		{"veil+limit/external-v6", vl, externalV6},
	}
	for _, c := range cases {
		w := newTestWriter(b, c.addr, false)
		w.discard = true
		ctx := context.Background()
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.handler.ServeDNS(ctx, w, r)
			}
		})
		b.Run(c.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c.handler.ServeDNS(ctx, w, r)
				}
			})
		})
	}
}
