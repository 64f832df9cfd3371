//go:build e2e && enum

package enum

import (
	"fmt"
	mrand "math/rand/v2"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

// noFalsePositives runs the busy resolver and the trusted client
// against a listener with the limiter on and checks that nothing was
// limited.
func noFalsePositives(t *testing.T, bin, dir string, z *zoneData, keyBase string) {
	startServer(t, bin, filepath.Join(dir, "fp"), z, keyBase, []listener{
		{addr: fpAddr, veil: "trusted " + trustedSrc + "\n        limit", transfer: true},
	})
	metricsAddr := net.JoinHostPort(fpAddr, "9153")
	server := "dns://" + net.JoinHostPort(fpAddr, harness.DNSPort)
	addr := net.JoinHostPort(fpAddr, harness.DNSPort)
	expect := z.expectations(t, fpAddr)
	before := scrape(t, metricsAddr)

	var wg sync.WaitGroup
	var trustedQueries int
	wg.Go(func() {
		// Let the busy resolver get going first, so the trusted burst
		// lands in the middle of it.
		time.Sleep(3 * time.Second)
		trustedQueries = trustedClient(t, addr, expect)
	})
	busy := busyResolver(t, addr, z, expect)
	wg.Wait()

	after := scrape(t, metricsAddr)
	delta := func(name string, labels ...string) float64 {
		return after.Sum(name, labels...) - before.Sum(name, labels...)
	}
	if got := delta(limitedMetric, "server", server); got != 0 {
		t.Errorf("%s{server=%q} moved by %v for the busy resolver and the trusted client, want 0", limitedMetric, server, got)
	}
	if got := delta(tripMetric, "server", server); got != 0 {
		t.Errorf("%s{server=%q} moved by %v: the limiter blocked the busy resolver or the trusted client", tripMetric, server, got)
	}
	if got := delta("coredns_veil_requests_total", "server", server, "class", "external"); got < float64(busy) {
		t.Errorf("requests class=external moved by %v, want at least the busy resolver's %d", got, busy)
	}
	if got := delta("coredns_veil_requests_total", "server", server, "class", "trusted"); got < float64(trustedQueries) {
		t.Errorf("requests class=trusted moved by %v, want at least the trusted client's %d", got, trustedQueries)
	}
	t.Logf("veil counters of %s after the busy resolver and the trusted client:\n%s", server, veilLines(after, server))
}

// checkedQuery is one question of the busy resolver and what must come back.
type checkedQuery struct {
	name  string
	qtype uint16
	want  []string // the answer's records as rr.String(), sorted; nil for NXDOMAIN
}

// busyResolver sends busyQPS queries a second for busyDuration
// from busySrc, 95 % for existing records and 5 % for typos, each from a
// new UDP socket (a random source port, as a resolver uses), and fails the
// test for every query that is not answered exactly right. It returns the
// number of queries sent.
func busyResolver(t *testing.T, addr string, z *zoneData, expect map[rrsetKey][]string) int {
	seed := uint64(time.Now().UnixNano())
	rng := mrand.New(mrand.NewPCG(seed, 0x5eed))
	total := int(busyDuration.Seconds()) * busyQPS
	qs, typos := busyQueries(rng, z, expect, total)

	client := &dns.Client{
		Net:     "udp",
		Timeout: 2 * time.Second,
		Dialer:  &net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.UDPAddr{IP: net.ParseIP(busySrc)}},
	}
	var (
		mu       sync.Mutex
		failures []string
		nfail    int
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		nfail++
		if len(failures) < 10 {
			failures = append(failures, fmt.Sprintf(format, args...))
		}
	}
	jobs := make(chan checkedQuery, total)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for q := range jobs {
				m := new(dns.Msg)
				m.SetQuestion(q.name, q.qtype)
				m.RecursionDesired = false
				r, _, err := client.Exchange(m, addr)
				if err != nil {
					fail("%s %s: %v", q.name, dns.TypeToString[q.qtype], err)
					continue
				}
				if msg := checkAnswer(r, q); msg != "" {
					fail("%s %s: %s\n%v", q.name, dns.TypeToString[q.qtype], msg, r)
				}
			}
		})
	}
	begin := time.Now()
	tick := time.NewTicker(time.Second / busyQPS)
	for i := range qs {
		<-tick.C
		jobs <- qs[i]
	}
	tick.Stop()
	close(jobs)
	wg.Wait()
	t.Logf("busy resolver %s: %d queries (%d typos) in %v (seed %d), %d not answered correctly",
		busySrc, total, typos, time.Since(begin).Round(time.Millisecond), seed, nfail)
	if nfail > 0 {
		t.Errorf("busy resolver: %d of %d queries were not answered correctly, for example:\n%s",
			nfail, total, strings.Join(failures, "\n"))
	}
	return total
}

// busyQueries returns total questions for the busy resolver, drawn with
// rng: 95 % for existing RRsets (60 % A, 20 % AAAA, 10 % MX, 10 % TXT) and
// 5 % typos, and the number of typos.
func busyQueries(rng *mrand.Rand, z *zoneData, expect map[rrsetKey][]string, total int) ([]checkedQuery, int) {
	qs := make([]checkedQuery, total)
	byType := map[uint16][]rrsetKey{}
	for k := range expect {
		byType[k.qtype] = append(byType[k.qtype], k)
	}
	for _, keys := range byType {
		slices.SortFunc(keys, func(a, b rrsetKey) int { return strings.Compare(a.name, b.name) })
	}
	typos := 0
	for i := range qs {
		if rng.IntN(100) < 5 {
			qs[i] = checkedQuery{name: z.typo(rng) + "." + zoneName + ".", qtype: dns.TypeA}
			typos++
			continue
		}
		var qt uint16
		switch p := rng.IntN(100); {
		case p < 60:
			qt = dns.TypeA
		case p < 80:
			qt = dns.TypeAAAA
		case p < 90:
			qt = dns.TypeMX
		default:
			qt = dns.TypeTXT
		}
		keys := byType[qt]
		k := keys[rng.IntN(len(keys))]
		qs[i] = checkedQuery{name: k.name, qtype: qt, want: expect[k]}
	}
	return qs, typos
}

// checkAnswer returns what is wrong with r as the answer to q, or "".
func checkAnswer(r *dns.Msg, q checkedQuery) string {
	if r.Truncated {
		return "truncated (TC=1)"
	}
	if q.want == nil {
		if r.Rcode != dns.RcodeNameError || len(r.Answer) != 0 {
			return fmt.Sprintf("want NXDOMAIN and no answer, got %s with %d answers", dns.RcodeToString[r.Rcode], len(r.Answer))
		}
		if len(r.Ns) == 0 || r.Ns[0].Header().Rrtype != dns.TypeSOA {
			return "NXDOMAIN without the SOA in the authority section"
		}
		return ""
	}
	if r.Rcode != dns.RcodeSuccess || !r.Authoritative {
		return fmt.Sprintf("want an authoritative NOERROR, got %s (aa=%v)", dns.RcodeToString[r.Rcode], r.Authoritative)
	}
	got := make([]string, 0, len(r.Answer))
	for _, rr := range r.Answer {
		got = append(got, rr.String())
	}
	slices.Sort(got)
	if !slices.Equal(got, q.want) {
		return fmt.Sprintf("answer %q, want %q", got, q.want)
	}
	return ""
}
