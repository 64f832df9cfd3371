package monitoring

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

// veil learns its server block's view and whether the block has a trace
// plugin once the servers are made, rather than from every request's
// context. These tests check that both still come out right on a real
// server.

// TestViewLabel serves example.org twice on one port, once in a view that
// takes 127.0.0.3 and once for everyone else, and checks that veil counts
// each client's queries under its own view label.
func TestViewLabel(t *testing.T) {
	s := harness.StartServer(t, `example.org:{port} {
	bind 127.0.0.1
	view inside {
		expr incidr(client_ip(), '127.0.0.3/32')
	}
	prometheus 127.0.0.1:0
	veil {
		trusted 127.0.0.1
	}
	file {zones}/db.example.org example.org
}
example.org:{port} {
	bind 127.0.0.1
	prometheus 127.0.0.1:0
	veil {
		trusted 127.0.0.1
	}
	file {zones}/db.example.org example.org
}`)
	for range 3 {
		if r := harness.Exchange(t, "udp", harness.ThirdIP, s.Addr, harness.AQuery("www.example.org.")); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Fatalf("from %s: %v", harness.ThirdIP, r)
		}
	}
	for range 2 {
		if r := harness.Exchange(t, "udp", harness.ExternalIP, s.Addr, harness.AQuery("www.example.org.")); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			t.Fatalf("from %s: %v", harness.ExternalIP, r)
		}
	}
	mfs := harness.Scrape(t, s.MetricsURL)
	for view, want := range map[string]float64{"inside": 3, "": 2} {
		got := harness.MetricValue(mfs, "coredns_veil_requests_total", map[string]string{"server": s.Label, "zone": "example.org.", "view": view, "class": "external"})
		if got != want {
			t.Errorf("coredns_veil_requests_total{view=%q,class=external} = %v, want %v", view, got, want)
		}
	}
}

// TestTraceSpans runs the trace plugin in front of veil with a Zipkin
// collector on loopback, and checks that the plugin after veil still gets
// its own span: veil hands requests on through plugin.NextOrFailure when a
// span is active.
func TestTraceSpans(t *testing.T) {
	var (
		mu    sync.Mutex
		spans strings.Builder
	)
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		spans.Write(b)
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer collector.Close()
	s := harness.StartServer(t, `example.org:{port} {
	bind 127.0.0.1
	trace `+strings.TrimPrefix(collector.URL, "http://")+`
	veil {
		trusted 127.0.0.1
	}
	file {zones}/db.example.org example.org
}`)
	if r := harness.Exchange(t, "udp", harness.ExternalIP, s.Addr, harness.AQuery("www.example.org.")); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
		t.Fatalf("from %s: %v", harness.ExternalIP, r)
	}
	// The reporter sends its batch about once a second.
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		got := spans.String()
		mu.Unlock()
		if strings.Contains(got, `"name":"file"`) && strings.Contains(got, `"name":"veil"`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no spans for veil and file reached the collector within 5 s; got %q", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSeriesAtStartup checks that veil's counters exist, at 0, as soon as
// the server is up: an external AXFR as the very first query after a
// restart must show as an increase from 0, not as a series born at 1 that
// rate() and increase() cannot see.
func TestSeriesAtStartup(t *testing.T) {
	s := harness.StartServer(t, harness.Corefile(harness.LimitVeil))
	axfrSeries := map[string]string{"server": s.Label, "zone": "example.org.", "view": "", "reason": "axfr", "action": "refuse", "mode": "enforce"}
	external := map[string]string{"server": s.Label, "zone": "example.org.", "view": "", "class": "external"}
	mfs := harness.Scrape(t, s.MetricsURL)
	for name, labels := range map[string]map[string]string{
		"coredns_veil_policy_actions_total":     axfrSeries,
		"coredns_veil_requests_total":           external,
		"coredns_veil_limiter_trips_total":      {"server": s.Label, "zone": "example.org.", "tier": "v4_24", "rule": "rate"},
		"coredns_veil_limiter_table_slots":      {"server": s.Label, "zone": "example.org.", "state": "total"},
		"coredns_veil_limiter_blocked_prefixes": {"server": s.Label, "zone": "example.org."},
		"coredns_veil_tokens_exposed":           {"server": s.Label, "zone": "example.org.", "vendor": "google"},
		"coredns_veil_log_only":                 {"server": s.Label, "zone": "example.org."},
	} {
		if harness.FindSeries(mfs, name, labels) == nil {
			t.Errorf("before any query: no series %s %v", name, labels)
		}
	}
	r := harness.Exchange(t, "tcp", harness.ExternalIP, s.Addr, harness.XFRQuery("example.org.", dns.TypeAXFR, false))
	if r.Rcode != dns.RcodeRefused {
		t.Fatalf("external AXFR: %v", r)
	}
	mfs = harness.Scrape(t, s.MetricsURL)
	if got := harness.MetricValue(mfs, "coredns_veil_policy_actions_total", axfrSeries); got != 1 {
		t.Errorf("after one external AXFR: %v, want 1", got)
	}
}

// TestServerLabelPerListener serves one server block on four listeners (two
// keys on different ports, each bound to two addresses), so one veil sits
// behind four servers. Each listener's series exists from start-up and
// counts only the queries that arrived on it. (A block with one listener,
// which every other test uses, has veil skip the per-query server lookup.)
func TestServerLabelPerListener(t *testing.T) {
	s := harness.StartServer(t, `example.org:{port} example.org:{port2} {
	bind 127.0.0.1 127.0.0.4
	prometheus 127.0.0.1:0
	veil
	file {zones}/db.example.org example.org
}
`)
	_, port, err := net.SplitHostPort(s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	var listeners []string
	for _, host := range []string{"127.0.0.1", "127.0.0.4"} {
		for _, p := range []string{port, fmt.Sprint(s.Port2)} {
			listeners = append(listeners, net.JoinHostPort(host, p))
		}
	}
	series := func(addr string) map[string]string {
		return map[string]string{"server": "dns://" + addr, "zone": "example.org.", "view": "", "class": "external"}
	}
	mfs := harness.Scrape(t, s.MetricsURL)
	for _, addr := range listeners {
		if harness.FindSeries(mfs, "coredns_veil_requests_total", series(addr)) == nil {
			t.Errorf("before any query: no series for %s", addr)
		}
	}
	// Listener i gets i+1 queries, so a count under the wrong label shows.
	for i, addr := range listeners {
		for range i + 1 {
			// As a resolver asks: a stub-like client would spend the
			// limiter's stub budget within these 10 queries.
			if r := harness.Exchange(t, "udp", harness.ExternalIP, addr, harness.ResolverQuery("www.example.org.")); r.Rcode != dns.RcodeSuccess {
				t.Fatalf("query to %s: %v", addr, r)
			}
		}
	}
	mfs = harness.Scrape(t, s.MetricsURL)
	for i, addr := range listeners {
		if got := harness.MetricValue(mfs, "coredns_veil_requests_total", series(addr)); got != float64(i+1) {
			t.Errorf("%s: %v external requests counted, want %d", addr, got, i+1)
		}
	}
}
