package enum

import (
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

// decoyTimingSamples is how many answers of each kind BenchmarkDecoyTell
// times: enough for the Mann-Whitney test to see a difference of a
// microsecond or two in loopback round trips.
const decoyTimingSamples = 3000

// decoyTimingWarmUp is how many of each kind it asks first, untimed.
const decoyTimingWarmUp = 200

// decoyTimingAgain is how many hosts, and names that do not exist,
// BenchmarkDecoyTell asks over and over in its second way.
const decoyTimingAgain = 8

// decoyTimingSrc is the flagged client of BenchmarkDecoyTell.
const decoyTimingSrc = "127.0.46.9"

// decoyTimingCorefile serves timing.test, a zone of plain hosts, with
// veil's limiter at its defaults (decoys) and a canary, and {cache}.
const decoyTimingCorefile = `timing.test:{port} {
	bind 127.0.0.1
	veil {
		trusted 127.0.0.1
		limit {
			canary canary-trap.timing.test
			decoy key decoy-timing-secret-0123456789
		}
	}
	{cache}
	file {dir}/db.timing.test timing.test
}`

// BenchmarkDecoyTell times the latency observable of the distinguisher
// (distinguisher_test.go) where no other load blurs it: from a client
// flagged by a canary, over UDP, true answers for hosts against decoys
// for names that do not exist, decoyTimingSamples of each in random
// order, with and without cache below veil, two ways: each name asked
// once (a scanner's new guesses; a cache holds neither) and a few of each
// asked again and again (a cache holds both). It reports the medians'
// difference and the Mann-Whitney z of the two samples (|z| under 3:
// latency does not tell hits from decoys at this many samples); it does
// not judge, since timings are not pass/fail. Every answer is checked to
// be a hit or a decoy, so a client that is not flagged fails the run.
//
// Each run has a zone and a server of its own: a cache that answered an
// earlier run would hold its hosts.
//
//	go test -run '^$' -bench DecoyTell -benchtime 1x -count 3 ./test/enum/
func BenchmarkDecoyTell(b *testing.B) {
	for _, cache := range []bool{false, true} {
		for _, again := range []bool{false, true} {
			b.Run(fmt.Sprintf("cache=%v/hosts-asked-again=%v", cache, again), func(b *testing.B) {
				for b.Loop() {
					addr, hosts := decoyTimingServer(b, cache)
					hits, decoys := timeDecoys(b, addr, hosts, again)
					b.ReportMetric(float64(harness.Median(decoys)-harness.Median(hits))/1e3, "µs-median-diff")
					b.ReportMetric(harness.MannWhitneyZ(decoys, hits), "z")
					b.ReportMetric(float64(harness.Median(hits))/1e3, "µs-hit")
				}
			})
		}
	}
}

// decoyTimingServer starts a server of decoyTimingCorefile, with or
// without cache, on a zone of its own, and returns its address and the
// zone's hosts.
func decoyTimingServer(b *testing.B, cache bool) (string, []string) {
	b.Helper()
	dir := b.TempDir()
	hosts := decoyTimingZone(b, dir)
	c := strings.NewReplacer("{dir}", dir, "{cache}", map[bool]string{true: "cache"}[cache]).Replace(decoyTimingCorefile)
	return harness.StartServer(b, c).Addr, hosts
}

// decoyTimingZone writes dir/db.timing.test, enough plain hosts for every
// timed and warm-up hit to ask a new one, and returns their names.
func decoyTimingZone(b *testing.B, dir string) []string {
	b.Helper()
	var z strings.Builder
	z.WriteString("$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 10.20.0.1\n")
	var hosts []string
	for i := range decoyTimingSamples + decoyTimingWarmUp {
		h := timingLabel(uint64(i), 0) + ".timing.test."
		hosts = append(hosts, h)
		fmt.Fprintf(&z, "%s A 10.20.%d.%d\n", h, 1+i/250, 1+i%250)
	}
	if err := os.WriteFile(filepath.Join(dir, "db.timing.test"), []byte(z.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return hosts
}

// timeDecoys flags decoyTimingSrc with the canary, then asks, on one UDP
// socket from it, decoyTimingSamples hits and as many misses in random
// order, a new name each time, or, if again, decoyTimingAgain of each over
// and over, and returns the round trips in nanoseconds.
func timeDecoys(b *testing.B, addr string, hosts []string, again bool) (hits, decoys []int64) {
	b.Helper()
	c := harness.Client("udp", decoyTimingSrc)
	conn, err := c.Dial(addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	rng := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 2))
	ask := func(name string) int64 {
		start := time.Now()
		r, _, err := c.ExchangeWithConn(queryAs(name, dns.TypeA, true), conn)
		took := time.Since(start).Nanoseconds()
		if err != nil {
			b.Fatal(err)
		}
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
			b.Fatalf("%s from a flagged client: want a true answer or a decoy, got %s", name, dns.RcodeToString[r.Rcode])
		}
		return took
	}
	order, salt := rng.Perm(len(hosts)), 1+rng.Uint64()
	nh, nm := 0, 0
	hit := func() int64 {
		i := order[nh%len(order)]
		if again {
			i = order[nh%decoyTimingAgain]
		}
		nh++
		return ask(hosts[i])
	}
	miss := func() int64 {
		i := nm
		if again {
			i %= decoyTimingAgain
		}
		nm++
		return ask(timingLabel(uint64(i), salt) + ".timing.test.")
	}
	if _, _, err := c.ExchangeWithConn(harness.ResolverQuery("canary-trap.timing.test."), conn); err != nil {
		b.Fatal(err)
	}
	for range decoyTimingWarmUp { // caches and pools full
		hit()
		miss()
	}
	for range decoyTimingSamples {
		if rng.IntN(2) == 0 {
			hits = append(hits, hit())
			decoys = append(decoys, miss())
		} else {
			decoys = append(decoys, miss())
			hits = append(hits, hit())
		}
	}
	return hits, decoys
}

// timingLabel returns the i-th label of a set, 10 letters from a hash of
// i and set: the zone's hosts are set 0, names that do not exist
// another, both spread over the zone's sorted names as a scanner's guesses
// are (names that sort together share the backend's cached lookups).
func timingLabel(i, set uint64) string {
	var b [10]byte
	h := mrand.NewPCG(i, set)
	for j := range b {
		b[j] = byte('a' + h.Uint64()%26)
	}
	return string(b[:])
}
