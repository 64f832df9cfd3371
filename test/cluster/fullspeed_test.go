package cluster

import (
	"fmt"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

// Full speed: fullSpeedQueries queries, one every fullSpeedPace (about
// 3,300 a second), for names that do not exist. Every replica has them
// all before the first sync (100 ms) tells it of the others' counts.
const (
	fullSpeedQueries = 3000
	fullSpeedPace    = 300 * time.Microsecond
	// Each count sums this many scans, each from its own /24: a scan
	// learns a handful of misses, so one more answered in flight as a
	// replica trips would move a single scan's ratio by a sixth.
	fullSpeedScans = 3
)

// TestClusterFullSpeed: a scanner at full speed, spreading its guesses
// round-robin over three replicas sharing a Redis, learns at most 1.25
// times the misses it learns from one replica (an NXDOMAIN is a miss
// learned; a decoy or a block teaches nothing), resolver-like and
// stub-like, with decoys (the default) and with respond block. The
// replicas count each other through Redis and each allows a client a
// third of the bursts, so the burst is spent once across them, not once
// on each. Three replicas that do not share are the test's own check
// that it can tell: they must go over the bound. (Under -race a slow
// replica answers a few more queries in flight before the first denial
// is charged, on one replica as on three.)
func TestClusterFullSpeed(t *testing.T) {
	r := harness.StartRedis(t)
	nx := func(m *dns.Msg) bool { return m.Rcode == dns.RcodeNameError }
	for i, c := range []struct {
		name   string
		limits string
		query  func(string) *dns.Msg
	}{
		{"resolver-like, decoys", "respond decoy", harness.ResolverQuery},
		{"stub-like, decoys", "respond decoy", harness.AQuery},
		{"resolver-like, block", "respond block\n\t\t\tstub off", harness.ResolverQuery},
		{"stub-like, block", "respond block", harness.AQuery},
	} {
		t.Run(c.name, func(t *testing.T) {
			prefix := fmt.Sprintf("veil:full%d:", i)
			one := startReplicasLimits(t, 1, r, prefix+"one:", c.limits)
			apart := startReplicasLimits(t, 3, nil, "", c.limits)
			shared := startReplicasLimits(t, 3, r, prefix+"shared:", c.limits)
			for _, s := range shared {
				if _, ok := waitFor(3*time.Second, func() bool { return metric(t, s, "coredns_veil_cluster_replicas") == 3 }); !ok {
					t.Fatalf("%s counts %v replicas, want 3", s.Label, metric(t, s, "coredns_veil_cluster_replicas"))
				}
			}
			// Each scan from its own /24, so no wider tier carries over.
			base := 100 + 3*fullSpeedScans*i
			scans := func(set []harness.Server, first int) int {
				n := 0
				for k := range fullSpeedScans {
					n += scanWith(t, fmt.Sprintf("127.0.%d.1", first+k), addrs(set), fullSpeedQueries, fullSpeedPace, c.query, nx)
				}
				return n
			}
			single := scans(one, base)
			alone := scans(apart, base+fullSpeedScans)
			together := scans(shared, base+2*fullSpeedScans)
			t.Logf("misses learned (NXDOMAIN) in %d scans of %d guesses at %v each: one replica %d, three apart %d, three sharing Redis %d (%.2fx one)",
				fullSpeedScans, fullSpeedQueries, fullSpeedPace, single, alone, together, float64(together)/float64(max(single, 1)))
			if single == 0 {
				t.Fatal("one replica answered no miss: the scan measured nothing")
			}
			limit := float64(single) * 1.25
			if float64(alone) <= limit {
				t.Errorf("three replicas apart answered %d misses, within the bound of %.1f: the test cannot tell sharing", alone, limit)
			}
			if float64(together) > limit {
				t.Errorf("three replicas sharing Redis answered %d misses; want at most 1.25 x one replica's %d = %.1f", together, single, limit)
			}
		})
	}
}
