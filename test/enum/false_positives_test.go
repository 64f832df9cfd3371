//go:build e2e && enum

package enum

import (
	"fmt"
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

// The false-positive set: clients that are not enumerating and must never
// be limited. Each has its own source address; the /24s differ unless
// sharing one is the point (the resolver farm).
const (
	fpSignedAddr   = "127.0.87.31" // the same process, the signed zone
	fpOnTheFlyAddr = "127.0.87.32" // the same process, the zone the dnssec plugin signs on the fly
	fpExemptSrc    = "127.0.5.9"   // the monitoring probe, in the listener's exempt list
	fpCachedSrc    = "127.0.1.5"   // busy resolver with a cache
	fpUncachedSrc  = "127.0.2.5"   // busy resolver without a cache
	fpFarmNet      = "127.0.3."    // the resolver farm: fpFarmNet + 1..fpFarmSize
	fpFarmSize     = 16            // addresses of the resolver farm
	fpDigSrc       = "127.0.4.7"   // a person with dig
	fpQminSrc      = "127.0.6.9"   // QNAME-minimising resolver
	fpValidSrc     = "127.0.7.7"   // validating resolver, on the signed zone
	fpValidFlySrc  = "127.0.9.7"   // validating resolver, on the zone signed on the fly
	fpDuration     = 60 * time.Second
	fpBusyQPS      = 200 // each busy resolver, and the farm together
	fpQminLookups  = 10  // names a second the QNAME-minimising resolver resolves
	fpValidLookups = 10  // hosts a second the validating resolver looks up
	fpDigNames     = 30  // names the person looks up with dig in fpDuration
	fpDigTypos     = 5   // of them, typos
	fpProbeQPS     = 5   // missing names a second the monitoring probe asks
	fpTimeout      = 2 * time.Second
	fpMaxInFlight  = 512 // queries a client has outstanding at most
)

// noFalsePositives runs the false-positive set (fpClients) at the same time
// against a process with the limiter on (fpAddr, plain zone,
// fpSignedAddr, signed zone, and fpOnTheFlyAddr, the zone the dnssec
// plugin signs on the fly; 127.0.0.1 trusted, the monitoring probe
// exempt) and checks that every query was answered correctly and that the
// limiter's limited-requests and trips counters of both listeners did not
// move. It logs a table of queries sent, answered correctly and limited per
// client.
func noFalsePositives(t *testing.T, bin, dir string, z *zoneData, keyBase string) {
	veilLinesFP := "trusted " + trustedSrc + "\n        limit {\n            exempt " + fpExemptSrc + "\n        }"
	startServer(t, bin, filepath.Join(dir, "fp"), z, keyBase, []listener{
		{addr: fpAddr, veil: veilLinesFP, transfer: true},
		{addr: fpSignedAddr, signed: true, veil: veilLinesFP},
		{addr: fpOnTheFlyAddr, onTheFly: true, veil: veilLinesFP},
	})
	metricsAddr := net.JoinHostPort(fpAddr, "9153")
	var servers []string
	for _, a := range []string{fpAddr, fpSignedAddr, fpOnTheFlyAddr} {
		servers = append(servers, "dns://"+net.JoinHostPort(a, harness.DNSPort))
	}
	plain := newFPZone(z, z.expectations(t, fpAddr), net.JoinHostPort(fpAddr, harness.DNSPort), false)
	signed := newFPZone(z, z.expectations(t, fpSignedAddr), net.JoinHostPort(fpSignedAddr, harness.DNSPort), true)
	onTheFly := newFPZone(z, z.expectations(t, fpOnTheFlyAddr), net.JoinHostPort(fpOnTheFlyAddr, harness.DNSPort), true)
	onTheFly.onTheFly = true
	before := scrape(t, metricsAddr)

	begin := time.Now()
	clients := fpClients(t, plain, signed, onTheFly)
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() { c.run(c.stats) })
	}
	wg.Wait()
	took := time.Since(begin)

	after := scrape(t, metricsAddr)
	delta := func(name string, labels ...string) float64 {
		return after.Sum(name, labels...) - before.Sum(name, labels...)
	}
	// Flagging a client of the plain zone costs it only its misses, which
	// get decoys; nothing may be blocked, and no client of a signed zone,
	// whose DNSSEC answers would be, may be flagged at all.
	for i, server := range servers {
		for _, act := range []string{"refuse", "slip", "drop", "log_only"} {
			if got := delta(limitedMetric, "server", server, "action", act); got != 0 {
				t.Errorf("%s{server=%q,action=%q} moved by %v for the false-positive set, want 0", limitedMetric, server, act, got)
			}
		}
		if got := delta(tripMetric, "server", server); got != 0 && i > 0 {
			t.Errorf("%s{server=%q} moved by %v: the limiter flagged a client of a signed zone in the false-positive set", tripMetric, server, got)
		}
	}
	var trusted, external int
	for _, c := range clients {
		switch c.stats.class {
		case "trusted":
			trusted += c.stats.sentCount()
		case "external":
			external += c.stats.sentCount()
		}
	}
	if got := delta("coredns_veil_requests_total", "class", "external"); got < float64(external) {
		t.Errorf("requests class=external moved by %v, want at least the %d queries of the external clients", got, external)
	}
	if got := delta("coredns_veil_requests_total", "server", servers[0], "class", "trusted"); got < float64(trusted) {
		t.Errorf("requests class=trusted moved by %v, want at least the trusted client's %d", got, trusted)
	}
	t.Logf("false-positive set (%v):\n%s", took.Round(100*time.Millisecond), fpTable(clients))
	for _, c := range clients {
		c.stats.report(t)
	}
	t.Logf("veil counters after the false-positive set:\n%s%s", veilLines(after, servers[0]), veilLines(after, servers[1]))
}

// fpClient is one client of the false-positive set: run sends its queries
// and records them in stats.
type fpClient struct {
	stats *fpStats
	run   func(s *fpStats)
}

// fpClients returns the false-positive set, each client bounded to about
// fpDuration.
func fpClients(t *testing.T, plain, signed, onTheFly *fpZone) []fpClient {
	mk := func(name, src, class string, run func(s *fpStats)) fpClient {
		return fpClient{stats: newFPStats(name, src, class), run: run}
	}
	return []fpClient{
		mk("busy resolver, TTL cache", fpCachedSrc, "external", func(s *fpStats) { busyResolver(t, plain, s, []string{fpCachedSrc}, true) }),
		mk("busy resolver, no cache", fpUncachedSrc, "external", func(s *fpStats) { busyResolver(t, plain, s, []string{fpUncachedSrc}, false) }),
		mk("resolver farm, no cache", fpFarmNet+"1-16", "external", func(s *fpStats) { busyResolver(t, plain, s, farmSources(), false) }),
		mk("QNAME-minimising resolver", fpQminSrc, "external", func(s *fpStats) { qminResolver(t, plain, s) }),
		mk("validating resolver (signed)", fpValidSrc, "external", func(s *fpStats) { validatingResolver(t, signed, s) }),
		mk("validating resolver (on the fly)", fpValidFlySrc, "external", func(s *fpStats) { validatingResolver(t, onTheFly, s) }),
		mk("person with dig", fpDigSrc, "external", func(s *fpStats) { digPerson(t, plain, s) }),
		mk("monitoring probe (exempt)", fpExemptSrc, "exempt", func(s *fpStats) { monitoringProbe(t, plain, s) }),
		mk("trusted client", trustedSrc, "trusted", func(s *fpStats) {
			// Let the others get going first, so the trusted burst
			// lands in the middle of them.
			time.Sleep(3 * time.Second)
			trustedClient(t, plain, s)
		}),
	}
}

// farmSources returns the resolver farm's source addresses.
func farmSources() []string {
	srcs := make([]string, fpFarmSize)
	for i := range srcs {
		srcs[i] = fmt.Sprintf("%s%d", fpFarmNet, i+1)
	}
	return srcs
}

// fpTable formats the per-client figures.
func fpTable(clients []fpClient) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-32s %-14s %8s %8s %8s %8s %8s %8s %8s  %s\n", "client", "source", "sent", "denials", "correct", "decoys", "limited", "wrong", "cached", "first decoy / limited")
	since := func(d time.Duration) string {
		if d == 0 {
			return "never"
		}
		return "after " + d.Round(100*time.Millisecond).String()
	}
	for _, c := range clients {
		s := c.stats
		s.mu.Lock()
		fmt.Fprintf(&b, "%-32s %-14s %8d %8d %8d %8d %8d %8d %8d  %s / %s\n", s.name, s.src, s.sent, s.denials, s.correct, s.decoys, s.limited, s.wrong,
			s.cacheHits, since(s.firstDecoy), since(s.firstLimited))
		s.mu.Unlock()
	}
	return b.String()
}

// fpStats counts one client's queries and keeps a few examples of what
// went wrong.
type fpStats struct {
	name, src, class string
	mu               sync.Mutex
	sent             int // queries sent
	correct          int // answered exactly right
	limited          int // no answer, empty TC=1 or REFUSED with EDE 15 (Blocked): the limiter's answers
	wrong            int // answered, but not right
	cacheHits        int // questions the client's cache answered (not sent)
	denials          int // queries sent whose right answer is NXDOMAIN or NODATA
	decoys           int // queries for names that do not exist answered with a decoy (the client was flagged)
	begin            time.Time
	firstLimited     time.Duration // since begin; 0: never limited
	firstDecoy       time.Duration // since begin; 0: never a decoy
	examples         []string
}

// newFPStats returns the counters of a client.
func newFPStats(name, src, class string) *fpStats {
	return &fpStats{name: name, src: src, class: class, begin: time.Now()}
}

// sentCount returns the number of queries sent.
func (s *fpStats) sentCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sent
}

// record counts one exchange of q: r and err are what came back.
func (s *fpStats) record(q checkedQuery, r *dns.Msg, err error) {
	msg, limited := judge(q, r, err)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent++
	if q.kind != wantRecords {
		s.denials++
	}
	switch {
	case msg != "" && isDecoy(q, r):
		// A flagged client's miss: it loses only this, a name that does
		// not exist (docs/operations.md, what decoys change).
		s.decoys++
		if s.firstDecoy == 0 {
			s.firstDecoy = time.Since(s.begin)
		}
		return
	case msg == "":
		s.correct++
		return
	case limited:
		s.limited++
		if s.firstLimited == 0 {
			s.firstLimited = time.Since(s.begin)
		}
	default:
		s.wrong++
	}
	if len(s.examples) < 5 {
		s.examples = append(s.examples, fmt.Sprintf("%s %s: %s", q.name, dns.TypeToString[q.qtype], msg))
	}
}

// hit counts a question the client's cache answered.
func (s *fpStats) hit() {
	s.mu.Lock()
	s.cacheHits++
	s.mu.Unlock()
}

// report fails the test if any query of the client was not answered
// correctly.
func (s *fpStats) report(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sent == 0 {
		t.Errorf("%s (%s) sent no query", s.name, s.src)
	}
	if s.limited+s.wrong > 0 {
		t.Errorf("%s (%s): %d of %d queries not answered correctly (%d look limited), for example:\n  %s",
			s.name, s.src, s.limited+s.wrong, s.sent, s.limited, strings.Join(s.examples, "\n  "))
	}
}

// isDecoy reports whether r is a decoy as the answer to q: a name that
// does not exist, asked without DNSSEC OK, answered NOERROR and
// authoritative, as one of the zone's hosts would be.
func isDecoy(q checkedQuery, r *dns.Msg) bool {
	return r != nil && q.kind == wantNXDOMAIN && !q.dnssec && r.Rcode == dns.RcodeSuccess && r.Authoritative && !r.Truncated
}

// judge returns what is wrong with r (or err) as the answer to q, or "",
// and whether it is what a blocked client gets: no answer, an empty TC=1
// answer, or REFUSED with EDE 15.
func judge(q checkedQuery, r *dns.Msg, err error) (string, bool) {
	if err != nil {
		return err.Error(), true
	}
	if r.Truncated && len(r.Answer) == 0 {
		return "empty TC=1 answer", true
	}
	if r.Rcode == dns.RcodeRefused && harness.EDE(r) == int(dns.ExtendedErrorCodeBlocked) {
		return "REFUSED with EDE 15 (Blocked)", true
	}
	return checkAnswer(r, q), false
}

// The kinds of answer a checkedQuery wants.
const (
	wantRecords  = iota // NOERROR with exactly want (or, for DNSKEY, any records of the type)
	wantNXDOMAIN        // NXDOMAIN with the SOA
	wantNODATA          // NOERROR, no answer, the SOA
)

// checkedQuery is one question and what must come back.
type checkedQuery struct {
	name   string
	qtype  uint16
	kind   int      // wantRecords, wantNXDOMAIN, wantNODATA
	want   []string // for wantRecords: the answer's records as rr.String(), sorted; nil: any of qtype
	dnssec bool     // asked with DO=1 of the signed zone: RRSIGs and NSECs must come too
	rd     bool     // RD=1
}

// checkAnswer returns what is wrong with r as the answer to q, or "".
// RRSIGs are checked for presence (q.dnssec) and otherwise ignored.
func checkAnswer(r *dns.Msg, q checkedQuery) string {
	if r.Truncated {
		return "truncated (TC=1)"
	}
	if len(r.Question) != 1 || !strings.EqualFold(r.Question[0].Name, q.name) || r.Question[0].Qtype != q.qtype {
		return fmt.Sprintf("answer to another question %v", r.Question)
	}
	var got []string
	sigs := 0
	for _, rr := range r.Answer {
		if rr.Header().Rrtype == dns.TypeRRSIG {
			sigs++
			continue
		}
		got = append(got, rr.String())
	}
	slices.Sort(got)
	hasSOA, hasNSEC := false, false
	for _, rr := range r.Ns {
		switch rr.Header().Rrtype {
		case dns.TypeSOA:
			hasSOA = true
		case dns.TypeNSEC, dns.TypeNSEC3:
			hasNSEC = true
		}
	}
	if !r.Authoritative {
		return fmt.Sprintf("not authoritative (rcode %s)", dns.RcodeToString[r.Rcode])
	}
	switch q.kind {
	case wantNXDOMAIN, wantNODATA:
		rcode := dns.RcodeNameError
		if q.kind == wantNODATA {
			rcode = dns.RcodeSuccess
		}
		if r.Rcode != rcode || len(got) != 0 {
			return fmt.Sprintf("want %s and no answer, got %s with %d answers", dns.RcodeToString[rcode], dns.RcodeToString[r.Rcode], len(got))
		}
		if !hasSOA {
			return "denial without the SOA in the authority section"
		}
		if q.dnssec && !hasNSEC {
			return "signed denial without NSEC"
		}
		return ""
	}
	if r.Rcode != dns.RcodeSuccess {
		return fmt.Sprintf("want NOERROR, got %s", dns.RcodeToString[r.Rcode])
	}
	if q.want == nil {
		if len(got) == 0 {
			return "no records"
		}
		for _, rr := range r.Answer {
			if t := rr.Header().Rrtype; t != q.qtype && t != dns.TypeRRSIG {
				return fmt.Sprintf("record of type %s", dns.TypeToString[t])
			}
		}
	} else if !slices.Equal(got, q.want) {
		return fmt.Sprintf("answer %q, want %q", got, q.want)
	}
	if q.dnssec && sigs == 0 {
		return "signed answer without RRSIG"
	}
	return ""
}
