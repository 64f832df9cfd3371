package monitoring

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/veildns/veil/test/harness"
)

// reloadCorefile serves example.org with veil and a prometheus listener of
// its own; {extra} is replaced by more server blocks, or by nothing.
const reloadCorefile = `example.org:{port} {
	bind 127.0.0.1
	prometheus 127.0.0.1:{port2}
	veil {
		trusted 127.0.0.1
	}
	file {zones}/db.example.org example.org
}
{extra}`

// TestReloadKeepsMetrics: a reload that fails (its Corefile adds a server
// block on an address in use, so the new instance's veil starts and its
// servers do not) leaves /metrics answering 200, with each of veil's
// series once; so does a good reload after it, and veil reports the new
// configuration. Before, the failed instance's veil stayed among the
// reporting ones for good, its gauges clashed with the running veil's,
// and the whole /metrics answered 500.
func TestReloadKeepsMetrics(t *testing.T) {
	s := harness.StartServerShutdown(t, strings.Replace(reloadCorefile, "{extra}", "", 1))
	url := fmt.Sprintf("http://127.0.0.1:%d/metrics", s.Port2)
	check := func(when string, wantLogOnly float64) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: /metrics answered %s:\n%.600s", when, resp.Status, body)
		}
		seen := map[string]bool{}
		for line := range strings.Lines(string(body)) {
			if strings.HasPrefix(line, "coredns_veil_") && strings.Contains(line, s.Label) {
				series, _, _ := strings.Cut(line, "} ")
				if seen[series] {
					t.Errorf("%s: series %s} reported twice", when, series)
				}
				seen[series] = true
			}
		}
		mfs := harness.Scrape(t, url)
		labels := map[string]string{"server": s.Label, "zone": "example.org."}
		if harness.FindSeries(mfs, "coredns_veil_log_only", labels) == nil {
			t.Fatalf("%s: no coredns_veil_log_only series for %s", when, s.Label)
		}
		if got := harness.MetricValue(mfs, "coredns_veil_log_only", labels); got != wantLogOnly {
			t.Errorf("%s: coredns_veil_log_only = %v, want %v", when, got, wantLogOnly)
		}
	}
	check("after start", 0)

	busy := holdPort(t)
	failing := strings.Replace(reloadCorefile, "{extra}", fmt.Sprintf(`example.org:%d {
	bind 127.0.0.1
	veil {
		trusted 127.0.0.1
		log-only
	}
	file {zones}/db.example.org example.org
}`, busy), 1)
	if err := s.Reload(t, failing); err == nil {
		t.Fatalf("the reload onto port %d, which is in use, took", busy)
	}
	check("after a failed reload", 0)

	good := strings.Replace(strings.Replace(reloadCorefile, "{extra}", "", 1), "trusted 127.0.0.1", "trusted 127.0.0.1\n\t\tlog-only", 1)
	if err := s.Reload(t, good); err != nil {
		t.Fatalf("good reload: %v", err)
	}
	check("after a good reload", 1)
	if err := s.Reload(t, failing); err == nil {
		t.Fatal("the second failing reload took")
	}
	check("after a second failed reload", 1)
}

// holdPort binds a free port on 127.0.0.1 for UDP and TCP, without
// SO_REUSEPORT, until the test ends, and returns it: CoreDNS cannot listen
// there.
func holdPort(t *testing.T) int {
	t.Helper()
	port := harness.FreePort(t)
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(); u.Close() })
	return port
}
