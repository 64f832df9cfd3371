//go:build e2e && enum

// End-to-end test of veil's enumeration limiter (the "limit" option) against
// the brute-force and zone-walking tools an attacker would point at an
// authoritative server: dnsrecon, fierce, dnsenum, nmap's dns-brute and
// ldns-walk.
//
// The test builds ./cmd/coredns, generates the zone example.com with
// nameCount owner names, 135 of them labels from the tools' default
// wordlists (testdata/words.txt: the labels common to dnsrecon's,
// fierce's and dnsenum's lists, of which nmap's list holds 36) and the rest
// random labels no list holds, and signs a copy with ldns-signzone (NSEC) at
// test time. The zone must hold at least minListWords labels from the
// lists in total and at least minGuessable from each tool's own list.
// Every tool runs twice:
//
//   - against a baseline process without veil (127.0.87.1 plain zone,
//     127.0.87.2 signed zone), where it must find at least
//     baselineMinFrac of the zone's names that are in its wordlist (all
//     names for ldns-walk): proof that the setup lets the tool work;
//   - against a fresh CoreDNS process of its own (the tools run in
//     parallel, each on its own listener address), with
//     "veil { trusted 127.0.0.250; limit }" (the limiter's defaults), where
//     it must find at most veilMaxFrac of them, and veil's
//     limited-requests counter must have moved. The process is new for each
//     tool because a tripped prefix stays blocked for two minutes.
//
// The tools cannot choose their source address: a query to any 127.x.y.z
// leaves from 127.0.0.1, which is therefore external to those listeners.
// Port 53 is needed because none of these tools can be told another port;
// binding it needs root (or CAP_NET_BIND_SERVICE).
//
// The same run checks for false positives on a further process (127.0.87.30,
// "veil { trusted 127.0.0.1; limit }"): a busy resolver at 127.0.0.5 sends
// 200 queries a second for 20 s, 95 % for existing names and 5 % typos, and
// every one must be answered correctly; meanwhile the trusted client
// 127.0.0.1 (in the same /24) transfers the zone and sends a burst of 500
// denials, and is never limited. The limited-requests counter of that
// listener must not move.
//
// Every tool run is bounded in time; runs against veil that the limiter
// slows to a crawl are killed at their budget and judged on what they
// printed until then (their output is unbuffered). All traffic stays on
// loopback: the tools get only loopback servers (dnsenum also through
// RES_NAMESERVERS, for the name server lookups Net::DNS does itself), and
// every address in the zone is in 127.0.0.0/8 or 2001:db8::/32.
//
// Run it with:
//
//	go test -tags e2e,enum -run TestEnumE2E -count=1 -v ./test/enum/
//
// It is the acceptance test of the enumeration limiter. Measured with the
// limiter's defaults (block 120 s): without veil every tool finds all its
// guessable names; with veil dnsrecon finds 1 of 135, fierce 1 to 11 of
// 135, dnsenum 0 of 135, nmap's dns-brute 3 of its 36 and ldns-walk 21 of
// the zone's 320 names, and the false-positive checks pass. nmap's first
// round of questions (the first name of each of its 13 threads) is answered
// before the ratio rule has its 20 responses, which gives it the same 3
// names every run; its other queries are dropped or answered TC=1, which it
// takes for no answer, and it gives up after about 85 s, while still
// blocked. With the former 60 s block its threads outlasted the block and
// their last queries, answered after it expired, added 1 to 4 names (11 to
// 19 %). nmap prints its findings only when it is done, so its budget is
// longer than the block: a run killed at its budget would show nothing.
//
// The tools are required (never skipped); on Debian:
// apt-get install dnsrecon fierce dnsenum nmap ldnsutils coreutils
package enum

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/veildns/veil/test/harness"
)

const (
	zoneName       = "example.com"
	nameCount      = 320           // owner names below the apex, specials included
	nsLabel        = "ns-enum-e2e" // NS and SOA MNAME: its A is the listener's own address
	mxLabel        = "mx-enum-e2e" // MX target
	runIDLabel     = "run-id-e2e"  // TXT with the run's nonce, for the readiness probe
	unusedTrusted  = "127.0.0.250" // the only trusted address of the tool listeners: nobody uses it
	trustedSrc     = "127.0.0.1"   // trusted on the false-positive listener; every tool's source
	busySrc        = "127.0.0.5"   // the busy resolver's source address
	basePlainAddr  = "127.0.87.1"  // baseline process, plain zone (no veil)
	baseSignedAddr = "127.0.87.2"  // baseline process, signed zone (no veil)
	fpAddr         = "127.0.87.30" // false-positive listener: veil with 127.0.0.1 trusted
	wordFile       = "testdata/words.txt"

	baselineMinFrac = 0.80 // without veil a tool finds at least this share of its guessable names
	veilMaxFrac     = 0.10 // with veil at most this share
	// The zone must be worth guessing at: at least minListWords of its
	// labels are in at least one of the tools' default lists, and each
	// tool's own list holds at least minGuessable of them. The floor is
	// per tool and lower than the total on purpose: nmap's list has only 128
	// names, and a realistic zone holds a fraction of it (36 with
	// testdata/words.txt), not 100.
	minListWords = 100
	minGuessable = 30

	baselineBudget = 120 * time.Second // a baseline run must finish within this

	busyQPS      = 200
	busyDuration = 20 * time.Second
	trustedBurst = 500

	limitedMetric = "coredns_veil_limited_requests_total"
	tripMetric    = "coredns_veil_limiter_trips_total"
)

// toolResult is one tool run, for the summary.
type toolResult struct {
	tool                 string
	guessable            int
	baseFound, veilFound int
	baseTook, veilTook   time.Duration
	veilKilled           bool
	udp, tcp             float64 // queries the tool sent to veil, by transport
	limited              float64 // of them, the ones veil limited
	trips                float64 // times the limiter blocked the tool's prefix
}

// TestEnumE2E is the limiter's acceptance test described above.
func TestEnumE2E(t *testing.T) {
	start := time.Now()
	for _, p := range requiredPackages {
		if _, err := exec.LookPath(p.bin); err != nil {
			t.Fatalf("%s not found in PATH (%v): install the Debian package %s", p.bin, err, p.pkg)
		}
	}
	for _, tool := range tools {
		if tool.list != "" {
			if _, err := os.Stat(tool.list); err != nil {
				t.Fatalf("%s's default wordlist: %v (install the Debian package %s)", tool.name, err, tool.pkg)
			}
		}
	}

	bin := harness.BuildCoreDNS(t)
	dir := t.TempDir()
	z := newZone(t)
	keyBase := keygen(t, dir)

	// Baseline process: no veil, the plain and the signed zone. The tools
	// share it: without veil nothing remembers a client.
	startServer(t, bin, filepath.Join(dir, "baseline"), z, keyBase, []listener{
		{addr: basePlainAddr},
		{addr: baseSignedAddr, signed: true},
	})

	// The tools and the false-positive check run at the same time, each
	// against its own veil process, so the test takes about as long as the
	// slowest tool's budget rather than the sum. (t.Run from several
	// goroutines rather than t.Parallel, which -parallel, by default the
	// number of CPUs, would throttle.)
	var (
		mu      sync.Mutex
		results []toolResult
		wg      sync.WaitGroup
	)
	for _, tool := range tools {
		wg.Go(func() {
			t.Run(tool.name, func(t *testing.T) {
				r := runTool(t, bin, dir, z, keyBase, tool)
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			})
		})
	}
	wg.Go(func() {
		t.Run("no_false_positives", func(t *testing.T) { noFalsePositives(t, bin, dir, z, keyBase) })
	})
	wg.Wait()

	logSummary(t, start, results)
}

// logSummary logs a table of the tool runs, in the order of tools.
func logSummary(t *testing.T, start time.Time, results []toolResult) {
	slices.SortFunc(results, func(a, b toolResult) int {
		return slices.IndexFunc(tools, func(x toolSpec) bool { return x.name == a.tool }) -
			slices.IndexFunc(tools, func(x toolSpec) bool { return x.name == b.tool })
	})
	pct := func(n, of int) float64 { return 100 * float64(n) / float64(max(of, 1)) }
	var b strings.Builder
	fmt.Fprintf(&b, "%-10s %9s %16s %16s %9s %9s %8s %6s  %s\n",
		"tool", "guessable", "found w/o veil", "found w/ veil", "udp qry", "tcp qry", "limited", "trips", "veil run")
	for _, r := range results {
		killed := ""
		if r.veilKilled {
			killed = " (killed at budget)"
		}
		fmt.Fprintf(&b, "%-10s %9d %6d (%5.1f%%) %6d (%5.1f%%) %9.0f %9.0f %8.0f %6.0f  %v%s\n", r.tool, r.guessable,
			r.baseFound, pct(r.baseFound, r.guessable), r.veilFound, pct(r.veilFound, r.guessable),
			r.udp, r.tcp, r.limited, r.trips, r.veilTook.Round(100*time.Millisecond), killed)
	}
	t.Logf("summary (whole test %v; guessable: names of the zone in the tool's default list, all names for ldns-walk):\n%s",
		time.Since(start).Round(time.Second), b.String())
}
