package veil

import (
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin"

	"github.com/miekg/dns"
)

// TestClusterStopsCleanly: a veil whose Redis refuses connections, or
// accepts them and never answers (a frozen or partitioned Redis), goes on
// serving, and on shutdown its exchange ends, aborting a round trip in
// flight, without leaving a goroutine behind.
func TestClusterStopsCleanly(t *testing.T) {
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn // accepted, never read, never answered
	accepting := make(chan struct{})
	go func() {
		defer close(accepting)
		for range 64 {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	defer func() {
		silent.Close()
		<-accepting
		for _, c := range held {
			c.Close()
		}
	}()
	refused := "127.0.0.1:1"
	for _, addr := range []string{refused, silent.Addr().String()} {
		t.Run(addr, func(t *testing.T) {
			before := runtime.NumGoroutine()
			v, err := parseExample(clusterBlock("cluster " + addr + " interval 20ms"))
			if err != nil {
				t.Fatal(err)
			}
			startClock()
			if err := v.startCluster([]string{"dns://:53"}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(300 * time.Millisecond) // a few intervals, a round trip in flight
			v.stopCluster()
			v.stopCluster() // twice: a reload and a shutdown may both stop it
			stopClock()
			if _, ok := waitGoroutines(before); !ok {
				buf := make([]byte, 1<<16)
				t.Errorf("%d goroutines before, %d after stop:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
			}
		})
	}
}

// waitGoroutines waits up to 3 s for the goroutine count to fall to n.
func waitGoroutines(n int) (int, bool) {
	for range 60 {
		if got := runtime.NumGoroutine(); got <= n {
			return got, true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return runtime.NumGoroutine(), false
}

// TestClusterQueryPathAllocs: with cluster on, a denial and a stub-like
// client's answer, each tallied for the other replicas, allocate nothing
// on the query path (BenchmarkClusterAdded has the time).
func TestClusterQueryPathAllocs(t *testing.T) {
	denial := query("nope.example.org.", dns.TypeA, true)
	denial.RecursionDesired = false
	stub := query("www.example.org.", dns.TypeA, false)
	for _, c := range []struct {
		name string
		r    *dns.Msg
		next plugin.Handler
	}{
		{"denial", denial, preparedDenial(denial)},
		{"stub-like", stub, preparedNext(stub)},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := newTestVeil(t, "veil {\n limit {\n rate 50000\n burst 10000\n block 1s\n stub 100000 10000\n cluster 127.0.0.1:1\n }\n}", c.next)
			for _, z := range v.zones {
				z.counters.start("", []string{benchServer})
			}
			v.untraced = true
			startClock()
			defer stopClock()
			if err := v.startCluster([]string{benchServer}); err != nil {
				t.Fatal(err)
			}
			defer v.stopCluster()
			w, ctx := discardWriters(t, "10.1.2.3:53000")[0], serverContext()
			if n := testing.AllocsPerRun(1000, func() { v.ServeDNS(ctx, w, c.r) }); n != 0 {
				t.Errorf("%v allocations per query", n)
			}
			if w.written.Load() == 0 {
				t.Error("nothing answered")
			}
		})
	}
}
