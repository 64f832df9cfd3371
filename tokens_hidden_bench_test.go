package veil

import (
	"net"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/cache"
	"github.com/coredns/coredns/plugin/file"

	"github.com/miekg/dns"
)

// BenchmarkHiddenNames pairs each question at a name that holds hidden
// tokens with the same question where the zone holds nothing to hide
// (test/tokens/testdata/absent.zone, the file plugin, with and without
// the cache plugin, veil with the limiter watching every answer): the
// difference is what hiding costs, a time an attacker could measure
// (test/tokens' BenchmarkTimingTell measures it over the wire).
//
//	go test -run '^$' -bench BenchmarkHiddenNames -benchmem -count 6 .
func BenchmarkHiddenNames(b *testing.B) {
	z := parseZoneFile(b, "test/tokens/testdata/absent.zone", "absent.test.")
	backend := file.File{Zones: file.Zones{Z: map[string]*file.Zone{"absent.test.": z}, Names: []string{"absent.test."}}}
	cached := cache.New()
	cached.Next = backend
	pairs := []struct {
		name           string
		qtype          uint16
		hidden, public string
	}{
		{"txt-host-with-token", dns.TypeTXT, "mixa.absent.test.", "www.absent.test."},
		{"a-token-only", dns.TypeA, "h1.absent.test.", "nothing-here.absent.test."},
		{"txt-token-only", dns.TypeTXT, "h1.absent.test.", "nothing-here.absent.test."},
	}
	clients := make([]net.Addr, 1<<16)
	for i := range clients {
		clients[i] = &net.UDPAddr{IP: net.IPv4(10, byte(i>>8), byte(i), 1), Port: 40000}
	}
	for _, chain := range []struct {
		name string
		next plugin.Handler
	}{{"file", backend}, {"cache+file", cached}} {
		ctl := caddy.NewTestController("dns", "veil {\n trusted 192.0.2.0/24\n limit {\n rate 30000\n burst 30000\n block 1s\n }\n}")
		ctl.ServerBlockKeys = []string{"absent.test.:53"}
		c, err := parse(ctl)
		if err != nil {
			b.Fatal(err)
		}
		c.Next, c.untraced = chain.next, true
		for _, z := range c.zones {
			z.counters.start("", []string{benchServer})
		}
		c.startLoader([]plugin.Handler{backend})
		b.Cleanup(c.stopLoader)
		if !c.zones[0].hiddenName("h1.absent.test.") || !c.zones[0].bareName("mixa.absent.test.") {
			b.Fatal("the zone's hidden names are not loaded")
		}
		for _, p := range pairs {
			for _, side := range []struct{ label, name string }{{"hidden", p.hidden}, {"public", p.public}} {
				b.Run(chain.name+"/"+p.name+"/"+side.label, func(b *testing.B) {
					w := newTestWriter(b, externalV4, false)
					w.discard = true
					r := query(side.name, p.qtype, true)
					ctx := serverContext()
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						// Clients spread over 65,536 addresses in 256
						// /24s, so the denials never trip the limiter.
						w.remote = clients[i&0xffff]
						i++
						c.ServeDNS(ctx, w, r)
					}
				})
			}
		}
	}
}
