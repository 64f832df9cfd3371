package cluster

import (
	"sync"
	"testing"
	"time"

	"github.com/veildns/veil/test/harness"
)

// prober asks the replicas for a name that exists, round-robin, every
// 10 ms from its own address, and records each answer's latency by phase.
type prober struct {
	mu      sync.Mutex
	phase   string
	samples map[string][]time.Duration
	lost    map[string]int
	stop    chan struct{}
	done    chan struct{}
}

func startProber(t *testing.T, targets []string) *prober {
	p := &prober{phase: "connected", samples: map[string][]time.Duration{}, lost: map[string]int{},
		stop: make(chan struct{}), done: make(chan struct{})}
	c := harness.Client("udp", "127.0.9.1")
	c.Timeout = time.Second
	go func() {
		defer close(p.done)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for i := 0; i < 100000; i++ {
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
			start := time.Now()
			r, _, err := c.Exchange(harness.ResolverQuery("www.example.org."), targets[i%len(targets)])
			took := time.Since(start)
			p.mu.Lock()
			if err != nil || r.Truncated || len(r.Answer) == 0 {
				p.lost[p.phase]++
			} else {
				p.samples[p.phase] = append(p.samples[p.phase], took)
			}
			p.mu.Unlock()
		}
	}()
	t.Cleanup(p.end)
	return p
}

func (p *prober) set(phase string) {
	p.mu.Lock()
	p.phase = phase
	p.mu.Unlock()
}

func (p *prober) end() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
}

// TestClusterRedisOutage: Redis killed, then frozen (a slow or partitioned
// Redis), delays no query; each replica goes on limiting alone and its
// metrics say so; once Redis is back the replicas reconnect, share again,
// and the blocks imposed meanwhile reach the others and a replica started
// afterwards.
func TestClusterRedisOutage(t *testing.T) {
	r := harness.StartRedis(t)
	rs := startReplicas(t, 3, r, "veil:outage:")
	p := startProber(t, addrs(rs))
	time.Sleep(2 * time.Second)

	p.set("killed")
	r.Kill()
	const scanner = "127.0.6.1"
	if got := scan(t, scanner, addrs(rs[:1]), 300, 2*time.Millisecond); got > 200 {
		t.Errorf("with Redis down, one replica answered %d of 300 guesses; it should limit alone (burst 100)", got)
	}
	if !blocked(t, scanner, rs[0].Addr) {
		t.Error("with Redis down, the scanned replica did not block the scanner")
	}
	for _, s := range rs {
		if up := metric(t, s, "coredns_veil_cluster_connected"); up != 0 {
			t.Errorf("%s: cluster_connected %v with Redis down, want 0", s.Label, up)
		}
		if errs := metric(t, s, "coredns_veil_cluster_sync_errors_total"); errs == 0 {
			t.Errorf("%s: no sync errors counted with Redis down", s.Label)
		}
	}

	p.set("restarted")
	r.Restart()
	for _, s := range rs {
		if _, ok := waitFor(10*time.Second, func() bool { return connected(t, s) }); !ok {
			t.Fatalf("%s did not reconnect within 10s of Redis's restart", s.Label)
		}
	}
	for _, s := range rs[1:] {
		if _, ok := waitFor(2*time.Second, func() bool { return blocked(t, scanner, s.Addr) }); !ok {
			t.Errorf("%s did not learn the block imposed while Redis was down", s.Label)
		}
	}
	// Counts are shared again: a few denials on one replica reach another.
	received := metric(t, rs[1], "coredns_veil_cluster_events_received_total", "kind", "denials")
	scan(t, "127.0.6.2", addrs(rs[:1]), 20, 5*time.Millisecond)
	if _, ok := waitFor(2*time.Second, func() bool {
		return metric(t, rs[1], "coredns_veil_cluster_events_received_total", "kind", "denials") > received
	}); !ok {
		t.Error("after Redis's restart, denial counts no longer reach the other replicas")
	}
	late := startReplicas(t, 1, r, "veil:outage:")[0]
	if _, ok := waitFor(2*time.Second, func() bool { return blocked(t, scanner, late.Addr) }); !ok {
		t.Error("a replica started after Redis's restart did not catch up on the block in force")
	}

	p.set("frozen")
	r.Pause()
	time.Sleep(3 * time.Second)
	r.Resume()
	p.set("resumed")
	time.Sleep(time.Second)
	p.end()
	checkLatency(t, p)
}

// checkLatency compares the latency of the prober's answers while Redis
// was away with while it was there. A query that waited on Redis would
// take a round trip's timeout (1 s); loopback answers take well under a
// millisecond, so the bounds leave room for this machine's noise.
func checkLatency(t *testing.T, p *prober) {
	p.mu.Lock()
	defer p.mu.Unlock()
	base := p.samples["connected"]
	if len(base) < 50 {
		t.Fatalf("only %d answers while connected", len(base))
	}
	p50, p99 := percentile(base, 50), percentile(base, 99)
	t.Logf("connected: %d answers, p50 %v, p99 %v, max %v", len(base), p50, p99, percentile(base, 100))
	for _, phase := range []string{"killed", "frozen"} {
		s := p.samples[phase]
		t.Logf("Redis %s: %d answers, %d lost, p50 %v, p99 %v, max %v", phase, len(s), p.lost[phase],
			percentile(s, 50), percentile(s, 99), percentile(s, 100))
		if len(s) < 50 || p.lost[phase] > 0 {
			t.Errorf("Redis %s: %d answers, %d queries unanswered; want every query answered", phase, len(s), p.lost[phase])
		}
		if got := percentile(s, 99); got > 3*p99+20*time.Millisecond {
			t.Errorf("Redis %s: p99 latency %v, over 3x the connected p99 (%v) + 20ms", phase, got, p99)
		}
		if got := percentile(s, 100); got >= 500*time.Millisecond {
			t.Errorf("Redis %s: a query took %v: it waited on Redis", phase, got)
		}
	}
}
