package veil

import (
	"fmt"
	"testing"

	"github.com/coredns/coredns/plugin"

	"github.com/miekg/dns"
)

// BenchmarkClusterAdded measures what the cluster option adds to the
// query path: the limiter with and without cluster, timed in alternating
// batches as BenchmarkVeilAdded does (next-ns/op is the limiter without
// cluster, added-ns/op the difference), for the three kinds of answer the
// limiter charges: a resolver's positive answer (no tally), a denial
// (tallied) and a stub-like client's answer (tallied), from 4096 clients. The cluster's Redis is unreachable
// (127.0.0.1:1): its exchange runs, fails and backs off, and drains the
// tallies every interval as it would when connected.
//
//	go test -run '^$' -bench BenchmarkClusterAdded -benchmem -count 6 .
func BenchmarkClusterAdded(b *testing.B) {
	// Limits high enough that none of 4096 clients, each in a /24 of its
	// own, trips at the benchmark's pace.
	const limits = "rate 50000\n burst 10000\n block 1s\n stub 100000 10000"
	clients := make([]string, 4096)
	for i := range clients {
		clients[i] = fmt.Sprintf("10.%d.%d.1:53000", i>>8, i&255)
	}
	positive := query("www.example.org.", dns.TypeA, true)
	positive.RecursionDesired = false
	stub := query("www.example.org.", dns.TypeA, false)
	denial := query("nope.example.org.", dns.TypeA, true)
	denial.RecursionDesired = false
	for _, c := range []struct {
		name string
		r    *dns.Msg
		next plugin.Handler
	}{
		{"positive", positive, preparedNext(positive)},
		{"denial", denial, preparedDenial(denial)},
		{"stub-like", stub, preparedNext(stub)},
	} {
		b.Run(c.name, func(b *testing.B) {
			local := newTestVeil(b, "veil {\n limit {\n "+limits+"\n }\n}", c.next)
			shared := newTestVeil(b, "veil {\n limit {\n "+limits+"\n cluster 127.0.0.1:1 interval 100ms\n }\n}", c.next)
			for _, v := range []*Veil{local, shared} {
				for _, z := range v.zones {
					z.counters.start("", []string{benchServer})
				}
				v.untraced = true
			}
			startClock()
			b.Cleanup(stopClock)
			if err := shared.startCluster([]string{benchServer}); err != nil {
				b.Fatal(err)
			}
			b.Cleanup(shared.stopCluster)
			pairedBatches(b, discardWriters(b, clients...), c.r, local, shared)
		})
	}
}
