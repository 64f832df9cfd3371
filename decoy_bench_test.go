package veil

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/cache"

	"github.com/miekg/dns"

	"github.com/veildns/veil/ratelimit"
)

// BenchmarkDecoys times, in alternating batches from one flagged client,
// the decoy a name that does not exist gets against the true answer of a
// name that exists (what a scanner could compare), and against the
// NXDOMAIN the same question gets from a client that is not flagged (what
// a decoy costs the server); veil with the limiter at its defaults in
// front of the file plugin serving example/db.example.org, with and
// without cache.
//
//	go test -run '^$' -bench BenchmarkDecoys -benchmem -count 6 .
func BenchmarkDecoys(b *testing.B) {
	backend := exampleFile(b)
	cached := cache.New()
	cached.Next = backend
	for _, chain := range []struct {
		name string
		next plugin.Handler
	}{{"file", backend}, {"cache+file", cached}} {
		// The flagged client is flagged by hand; the others, 64 in as
		// many /24s taking turns, each stay far below the rate (the
		// benchmark's 10^5 denials a second spread over them).
		v := newTestVeil(b, "veil {\n trusted 192.0.2.0/24\n limit {\n rate 30000\n burst 30000\n block 1s\n decoy key benchmark-secret-0123456789\n }\n}", chain.next)
		for _, z := range v.zones {
			z.counters.start("", []string{benchServer})
		}
		v.untraced = true
		startClock()
		b.Cleanup(stopClock)
		v.startLoader([]plugin.Handler{backend})
		b.Cleanup(v.stopLoader)
		flagged := newTestWriter(b, "198.51.100.7:40000", false)
		flagged.discard = true
		others := make([]*testWriter, 64)
		for i := range others {
			others[i] = newTestWriter(b, fmt.Sprintf("10.%d.0.8:40000", i), false)
			others[i].discard = true
		}
		block := func() {
			v.zones[0].limiter.Install(ratelimit.Key{Addr: netip.MustParseAddr("198.51.100.7")}, ratelimit.TierV4Host, int64(time.Hour/time.Millisecond), coarseMillis())
		}
		block()
		miss, hit := query("no-such-host.example.org.", dns.TypeA, false), query("www.example.org.", dns.TypeA, false)
		for _, q := range []*dns.Msg{miss, hit} {
			q.RecursionDesired = false
			q.SetEdns0(1232, false)
		}
		for _, pair := range []struct {
			name       string
			baseW      []*testWriter // taking turns
			testW      *testWriter
			base, test *dns.Msg
		}{
			{"decoy-vs-true-answer", []*testWriter{flagged}, flagged, hit, miss},
			{"decoy-vs-nxdomain", others, flagged, miss, miss},
		} {
			b.Run(chain.name+"/"+pair.name, func(b *testing.B) {
				ctx := serverContext()
				b.ReportAllocs()
				var tBase, tTest time.Duration
				n := 0
				for b.Loop() {
					block() // the client stays flagged, whatever the table drains
					t0 := time.Now()
					for i := range addedBatch {
						v.ServeDNS(ctx, pair.baseW[i%len(pair.baseW)], pair.base)
					}
					t1 := time.Now()
					for range addedBatch {
						v.ServeDNS(ctx, pair.testW, pair.test)
					}
					tTest += time.Since(t1)
					tBase += t1.Sub(t0)
					n += addedBatch
				}
				b.ReportMetric(float64(tTest)/float64(n), "ns/op")
				b.ReportMetric(float64(tBase)/float64(n), "base-ns/op")
				b.ReportMetric(float64(tTest-tBase)/float64(n), "added-ns/op")
			})
		}
	}
}
