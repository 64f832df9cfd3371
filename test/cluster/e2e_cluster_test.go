//go:build e2e

package cluster

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/redis/go-redis/v9"

	"github.com/veildns/veil/test/harness"
)

// e2eReplica is a CoreDNS process of the built binary, sharing its
// limiter through Redis.
type e2eReplica struct {
	port    int
	metrics string // host:port of its /metrics
	proc    *os.Process
	log     string
}

// startE2EReplica starts the built binary with the limiter's defaults for
// respond block (a flagged prefix gets no answer, so a block's spreading
// shows as silence) and cluster, serving example.org on 127.0.0.1 and a
// free port. TestClusterFullSpeed covers decoys across replicas.
func startE2EReplica(t *testing.T, bin, redisAddr, prefix string) e2eReplica {
	t.Helper()
	dir := t.TempDir()
	port, metricsPort := harness.FreePort(t), harness.FreePort(t)
	corefile := filepath.Join(dir, "Corefile")
	harness.WriteFile(t, corefile, fmt.Sprintf(`example.org:%d {
    bind 127.0.0.1
    prometheus 127.0.0.1:%d
    veil {
        trusted 127.0.0.1
        limit {
            respond block
            cluster redis://%s prefix %s interval 100ms
        }
    }
    file %s example.org
}
`, port, metricsPort, redisAddr, prefix, filepath.Join(harness.ZonesDir(t), "db.example.org")))
	addr := net.JoinHostPort(harness.TrustedIP, strconv.Itoa(port))
	proc := harness.StartCoreDNS(t, bin, corefile, harness.ReadyTimeout, func() error {
		c := &dns.Client{Timeout: 300 * time.Millisecond}
		r, _, err := c.Exchange(harness.ResolverQuery("www.example.org."), addr)
		if err != nil {
			return fmt.Errorf("www.example.org from %s: %w", addr, err)
		}
		if len(r.Answer) == 0 {
			return fmt.Errorf("www.example.org from %s: no answer in %v", addr, r)
		}
		return nil
	}, "a free port")
	return e2eReplica{port: port, metrics: net.JoinHostPort(harness.TrustedIP, strconv.Itoa(metricsPort)), proc: proc, log: filepath.Join(dir, "coredns.log")}
}

// dnsperfNXDOMAIN runs dnsperf from src against replica port at qps
// queries a second for 5 s (names that do not exist, EDNS so it is judged
// by the rate rule) and returns the NXDOMAIN answers it got.
func dnsperfNXDOMAIN(t *testing.T, src string, port, qps int, names string) harness.Output {
	t.Helper()
	return harness.RunBounded(t, harness.Command{Budget: 30 * time.Second}, "dnsperf",
		"-s", harness.TrustedIP, "-p", strconv.Itoa(port), "-a", src, "-d", names, "-e",
		"-Q", strconv.Itoa(qps), "-l", "5", "-t", "1", "-c", "1")
}

var nxdomainCount = regexp.MustCompile(`NXDOMAIN (\d+)`)

func nxdomains(t *testing.T, o harness.Output) int {
	t.Helper()
	m := nxdomainCount.FindStringSubmatch(o.Text)
	if m == nil {
		if strings.Contains(o.Text, "Queries completed:    0") {
			return 0
		}
		t.Fatalf("no NXDOMAIN count in dnsperf's output:\n%s", o.Tail(30))
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// TestE2ECluster: three replicas of the built binary share their limiter
// through a real redis-server, and count each other. dnsperf spreading a
// scan over the three gets about what it gets from a replica alone; a block tripped on one replica stops
// dig's queries on the others within a second; a replica stopped with
// SIGTERM closes its Redis connection.
func TestE2ECluster(t *testing.T) {
	for _, tool := range []string{"dnsperf", "dig", "redis-server"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: install Debian's dnsperf, bind9-dnsutils and redis-server", tool)
		}
	}
	bin := harness.BuildCoreDNS(t)
	r := harness.StartRedis(t)
	// One replica alone under its own prefix, and three sharing one.
	alone := startE2EReplica(t, bin, r.Addr, "veil:alone:")
	rs := make([]e2eReplica, 3)
	for i := range rs {
		rs[i] = startE2EReplica(t, bin, r.Addr, "veil:")
	}
	names := filepath.Join(t.TempDir(), "names")
	var b strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&b, "e2e-guess-%d.example.org A\n", i)
	}
	harness.WriteFile(t, names, b.String())
	// Every replica connected and counting the others (once a second).
	for _, rep := range append([]e2eReplica{alone}, rs...) {
		want := map[bool]float64{true: 1, false: 3}[rep.port == alone.port]
		if _, ok := waitFor(3*time.Second, func() bool {
			return harness.ScrapeText(t, rep.metrics, "coredns_veil_cluster_replicas").Sum("coredns_veil_cluster_replicas") == want
		}); !ok {
			t.Fatalf("replica on port %d does not count %v replicas", rep.port, want)
		}
	}

	single := nxdomains(t, dnsperfNXDOMAIN(t, "127.0.93.1", alone.port, 210, names))
	outs := make(chan harness.Output, len(rs))
	for _, rep := range rs {
		go func() { outs <- dnsperfNXDOMAIN(t, "127.0.92.1", rep.port, 70, names) }()
	}
	spread := 0
	for range rs {
		spread += nxdomains(t, <-outs)
	}
	t.Logf("dnsperf, 210 queries a second for 5 s: NXDOMAIN answers from one replica %d, spread over three sharing Redis %d", single, spread)
	if single < 100 || spread > single+single/4+10 {
		t.Errorf("spread over three replicas dnsperf got %d NXDOMAIN answers; want at most one replica's %d + 25%% + 10", spread, single)
	}

	checkE2EBlockSpreads(t, rs, names)
	checkE2ECleanShutdown(t, r, rs[2])
}

// checkE2EBlockSpreads trips the limiter on the first replica and asks
// the others with dig from the same address until they stop answering.
func checkE2EBlockSpreads(t *testing.T, rs []e2eReplica, names string) {
	const src = "127.0.94.1"
	dnsperfNXDOMAIN(t, src, rs[0].port, 300, names)
	for _, rep := range rs[1:] {
		took, ok := waitFor(3*time.Second, func() bool {
			o := harness.RunBounded(t, harness.Command{Budget: 5 * time.Second}, "dig", "-p", strconv.Itoa(rep.port),
				"@"+harness.TrustedIP, "-b", src, "+tries=1", "+time=1", "+ignore", "www.example.org")
			return strings.Contains(o.Text, "timed out") || strings.Contains(o.Text, " tc")
		})
		t.Logf("replica on port %d stopped answering %s %v after the scan", rep.port, src, took.Round(time.Millisecond))
		if !ok || took > time.Second+500*time.Millisecond {
			t.Errorf("replica on port %d: block not enforced within 1s (+ dig's own 1s timeout) of the scan: %v, %v", rep.port, took, ok)
		}
	}
}

// checkE2ECleanShutdown stops rep with SIGTERM and checks that Redis sees
// one client fewer and the replica exited without a panic.
func checkE2ECleanShutdown(t *testing.T, r *harness.Redis, rep e2eReplica) {
	rdb := redis.NewClient(&redis.Options{Addr: r.Addr})
	defer rdb.Close()
	clients := func() int {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		list, err := rdb.ClientList(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(list, "\n")
	}
	before := clients()
	if err := rep.proc.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if _, ok := waitFor(10*time.Second, func() bool { return rep.proc.Signal(syscall.Signal(0)) != nil }); !ok {
		t.Fatal("a replica did not exit within 10s of SIGTERM")
	}
	if _, ok := waitFor(2*time.Second, func() bool { return clients() < before }); !ok {
		t.Errorf("Redis still has %d clients after a replica exited (%d before)", clients(), before)
	}
	if log, _ := os.ReadFile(rep.log); strings.Contains(string(log), "panic") {
		t.Errorf("the replica's log shows a panic:\n%s", log)
	}
}
