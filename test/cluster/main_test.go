// Package cluster holds veil's integration tests of the limit block's
// cluster option: a real redis-server on a loopback port and several
// CoreDNS replicas with veil in this process, driven over UDP from
// different loopback addresses. They check that a scanner spread over the
// replicas gets one budget, that a block reaches every replica, that a
// Redis outage delays no query and is recovered from, and that bad data
// in the shared keys is rejected and counted.
package cluster

import (
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }

// replicaCorefile serves example.org with veil's limiter at the defaults
// of respond block, which startReplicasLine adds unless told otherwise
// (rate 15/s, burst 100, block 120s; stub 1/s, burst 4), and a small table,
// so scrapes stay quick under -race. {limits} holds more limit lines,
// {cluster} the cluster line.
const replicaCorefile = `example.org:{port} {
	bind 127.0.0.1
	prometheus 127.0.0.1:{port2}
	veil {
		trusted 127.0.0.1
		limit {
			{limits}
			table 4096
			{cluster}
		}
	}
	file {zones}/db.example.org example.org
}`

// startReplicas starts n replicas without the stub rule, which the
// resolver-like queries of most tests do not meet anyway; with a Redis
// they share it under prefix.
func startReplicas(t *testing.T, n int, r *harness.Redis, prefix string) []harness.Server {
	t.Helper()
	return startReplicasLimits(t, n, r, prefix, "stub off")
}

// startReplicasLimits is startReplicas with the given limit lines.
func startReplicasLimits(t *testing.T, n int, r *harness.Redis, prefix, limits string) []harness.Server {
	t.Helper()
	line := ""
	if r != nil {
		line = fmt.Sprintf("cluster redis://%s prefix %s interval 100ms", r.Addr, prefix)
	}
	return startReplicasLine(t, n, line, limits)
}

// startReplicasLine starts n replicas with the given cluster line (none
// if "") and limit lines, and waits until each with a cluster line has
// connected. Without a respond line in limits they block (respond
// block), as most tests here count what a block withholds.
func startReplicasLine(t *testing.T, n int, line, limits string) []harness.Server {
	t.Helper()
	if !strings.Contains(limits, "respond ") {
		limits = "respond block\n\t\t\t" + limits
	}
	out := make([]harness.Server, n)
	for i := range out {
		out[i] = harness.StartServerShutdown(t, strings.NewReplacer("{cluster}", line, "{limits}", limits).Replace(replicaCorefile))
	}
	if line != "" {
		for _, s := range out {
			if _, ok := waitFor(5*time.Second, func() bool { return connected(t, s) }); !ok {
				t.Fatalf("%s did not connect to Redis within 5s", s.Label)
			}
		}
	}
	return out
}

// connected reports whether replica s's last round trip to Redis
// succeeded.
func connected(t *testing.T, s harness.Server) bool {
	return metric(t, s, "coredns_veil_cluster_connected") == 1
}

func addrs(servers []harness.Server) []string {
	out := make([]string, len(servers))
	for i, s := range servers {
		out[i] = s.Addr
	}
	return out
}

// scan is an open-loop scanner: from src it sends n resolver-like queries
// for names that do not exist, round-robin over targets, one every pace,
// and returns how many got an answer (NXDOMAIN or NOERROR, not truncated):
// the guesses whose fate it learned. A blocked prefix's queries go
// unanswered, or get an empty truncated answer (slip), which tells
// nothing. It reads answers until a second after the last query.
func scan(t *testing.T, src string, targets []string, n int, pace time.Duration) int {
	t.Helper()
	return scanWith(t, src, targets, n, pace, harness.ResolverQuery, func(m *dns.Msg) bool {
		return m.Rcode == dns.RcodeNameError || m.Rcode == dns.RcodeSuccess
	})
}

// scanWith is scan with the query for a name and the answers that count.
func scanWith(t *testing.T, src string, targets []string, n int, pace time.Duration, query func(string) *dns.Msg, counts func(*dns.Msg) bool) int {
	t.Helper()
	if n > 65535 {
		t.Fatal("scan: at most 65535 queries (one ID each)")
	}
	conn, err := net.ListenPacket("udp", net.JoinHostPort(src, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	answered := make([]bool, n)
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for range 4 * n {
			k, _, err := conn.ReadFrom(buf)
			if err != nil {
				return // the deadline set after the last query
			}
			m := new(dns.Msg)
			if m.Unpack(buf[:k]) != nil || m.Truncated || int(m.Id) >= n {
				continue
			}
			if counts(m) {
				mu.Lock()
				answered[m.Id] = true
				mu.Unlock()
			}
		}
	}()
	nonce := rand.Uint64()
	tick := time.NewTicker(pace)
	for i := range n {
		q := query(fmt.Sprintf("g%d-%x.example.org.", i, nonce))
		q.Id = uint16(i)
		b, err := q.Pack()
		if err != nil {
			t.Fatal(err)
		}
		to, err := net.ResolveUDPAddr("udp", targets[i%len(targets)])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.WriteTo(b, to); err != nil {
			t.Fatal(err)
		}
		<-tick.C
	}
	tick.Stop()
	_ = conn.SetReadDeadline(time.Now().Add(time.Second))
	<-done
	mu.Lock()
	defer mu.Unlock()
	count := 0
	for _, a := range answered {
		if a {
			count++
		}
	}
	return count
}

// blocked reports whether a query for a name that exists, from src, goes
// unanswered or gets only a truncated answer (slip) from server addr.
func blocked(t *testing.T, src, addr string) bool {
	t.Helper()
	c := harness.Client("udp", src)
	c.Timeout = 150 * time.Millisecond
	r, _, err := c.Exchange(harness.ResolverQuery("www.example.org."), addr)
	return err != nil || r.Truncated
}

// waitFor polls cond every 50 ms for at most limit and returns how long
// it took to hold, or false.
func waitFor(limit time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for i := 0; i < 1000 && time.Since(start) <= limit; i++ {
		if cond() {
			return time.Since(start), true
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start), false
}

// metric returns the value of a veil series of server s, with more labels
// as name-value pairs.
func metric(t *testing.T, s harness.Server, name string, labels ...string) float64 {
	t.Helper()
	want := map[string]string{"server": s.Label}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	return harness.MetricValue(harness.Scrape(t, s.MetricsURL), name, want)
}

// percentile returns the p-th percentile (0-100) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p/100))]
}
