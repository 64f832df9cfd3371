package cluster

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/veildns/veil/test/harness"
)

// scanQueries and scanPace make the scanner of TestClusterOneBudget: 200
// queries a second for 5 seconds, every one for a name that does not
// exist, far over the limiter's 15 denials a second.
const (
	scanQueries = 1000
	scanPace    = 5 * time.Millisecond
)

// TestClusterOneBudget: a scanner that sends its guesses round-robin over
// three replicas sharing one Redis learns the fate of about as many as
// against one replica, and three times as many against three replicas
// that do not share (the test's own check that it can tell).
func TestClusterOneBudget(t *testing.T) {
	r := harness.StartRedis(t)
	one := startReplicas(t, 1, r, "veil:one:")
	apart := startReplicas(t, 3, nil, "")
	shared := startReplicas(t, 3, r, "veil:shared:")

	// Each scan from its own /24, so no wider tier carries over.
	single := scan(t, "127.0.1.1", addrs(one), scanQueries, scanPace)
	alone := scan(t, "127.0.2.1", addrs(apart), scanQueries, scanPace)
	ops := redisOps(t, r)
	start := time.Now()
	together := scan(t, "127.0.3.1", addrs(shared), scanQueries, scanPace)
	// Four replicas use this Redis: the three and the one above.
	t.Logf("Redis commands per second per replica during the shared scan: %.1f",
		float64(redisOps(t, r)-ops)/time.Since(start).Seconds()/4)
	t.Logf("guesses answered of %d at %v each: one replica %d, three apart %d, three sharing Redis %d",
		scanQueries, scanPace, single, alone, together)

	if single < 100 || single > 200 {
		t.Errorf("one replica answered %d guesses; the limiter's burst is 100 at 15/s, so 100 to 200", single)
	}
	if alone < 2*single {
		t.Errorf("three replicas apart answered %d guesses, not even twice one replica's %d: the test cannot tell sharing", alone, single)
	}
	// The slack: each replica learns the others' counts one sync interval
	// (100 ms) and a round trip late.
	if limit := single + single/4 + 10; together > limit {
		t.Errorf("three replicas sharing Redis answered %d guesses; want at most %d (one replica's %d + 25%% + 10)", together, limit, single)
	}
	for _, s := range shared {
		if got := metric(t, s, "coredns_veil_cluster_events_received_total", "kind", "denials"); got == 0 {
			t.Errorf("%s received no denial counts from the others", s.Label)
		}
	}
}

// TestClusterBlockReachesAllReplicas: a prefix that trips on one replica
// is blocked on the other two within a second, and stays blocked there
// after its shared counts alone would have drained: the block itself was
// installed.
func TestClusterBlockReachesAllReplicas(t *testing.T) {
	r := harness.StartRedis(t)
	rs := startReplicas(t, 3, r, "veil:block:")
	const src = "127.0.4.1"
	if blocked(t, src, rs[1].Addr) || blocked(t, src, rs[2].Addr) {
		t.Fatal("the client is blocked before it scanned")
	}
	scan(t, src, addrs(rs[:1]), 300, time.Millisecond)
	if !blocked(t, src, rs[0].Addr) {
		t.Fatal("the scanned replica did not block the scanner")
	}
	took, ok := waitFor(2*time.Second, func() bool { return blocked(t, src, rs[1].Addr) && blocked(t, src, rs[2].Addr) })
	t.Logf("block on the other two replicas %v after the scan ended", took.Round(time.Millisecond))
	if !ok || took > time.Second {
		t.Fatalf("the other replicas blocked the scanner after %v (held: %v); want within 1s", took, ok)
	}
	// The shared counts (about 110 denials, burst 100, 15/s) drain below
	// the burst within a second; a block installed lasts 120 s.
	time.Sleep(3 * time.Second)
	for _, s := range rs[1:] {
		if !blocked(t, src, s.Addr) {
			t.Errorf("%s stopped blocking the scanner after 3s", s.Label)
		}
		if got := metric(t, s, "coredns_veil_cluster_blocks_installed_total", "zone", "example.org."); got < 1 {
			t.Errorf("%s installed %v blocks from the others, want at least 1", s.Label, got)
		}
	}
	if blocked(t, "127.0.5.1", rs[1].Addr) {
		t.Error("a client of another /24 is blocked too")
	}
}

// redisOps returns the commands r has processed (INFO stats), less the
// INFO command itself.
func redisOps(t *testing.T, r *harness.Redis) int {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := rdb.Info(ctx, "stats").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "total_commands_processed:"); ok {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("INFO stats has no total_commands_processed")
	return 0
}
