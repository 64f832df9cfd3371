//go:build e2e && enum

// End-to-end test of veil's enumeration limiter (the "limit" option) against
// the tools an attacker would point at an authoritative server: the brute
// forcers dnsrecon (-t brt), fierce, dnsenum, nmap's dns-brute and dnsmap,
// and the NSEC walkers ldns-walk, nmap's dns-nsec-enum and dnsrecon
// (-t zonewalk).
//
// The test builds ./cmd/coredns, generates the zone example.com with
// nameCount (401) owner names below the apex, an organisation's zone: the
// 339 labels of testdata/words.txt (www, mail, vpn, ftp, ns1, smtp,
// webmail, remote, ...), picked from the tools' default lists so that the
// zone holds at least half of nmap's list (74 of its 128 names) and at least
// 15 % of each other list (dnsrecon 291 of 1910, fierce 240 of 1594, dnsenum
// 226 of 1505, dnsmap 212 of its 989 built-in names); 35 random labels no
// list holds; nestedCount (24) random names two labels deep, below one
// empty non-terminal (see newZone for why there); and the NS, MX and probe
// names. A copy is signed with ldns-signzone (NSEC) at test time. The
// floors are checked against the installed lists at run time. dnsmap's list
// is compiled into the binary: testdata/dnsmap-builtin.txt is that list,
// extracted from it (its header says how), and the test checks the binary
// still holds every word.
//
// Every tool runs twice:
//
//   - against a baseline process without veil (127.0.87.1 plain zone,
//     127.0.87.2 signed zone), where it must find at least
//     baselineMinFrac of its guessable names: the zone's names in its
//     default list, all 401 names for a walker. Proof that the setup lets
//     the tool work;
//   - against a fresh CoreDNS process of its own (the tools run in
//     parallel, each on its own listener address), with
//     "veil { trusted 127.0.0.250; limit }" (the limiter's defaults), for
//     veilBudget (60 s): a tool still running then is stopped and judged on
//     what it printed. veil's limited-requests counter must have moved.
//     The process is new for each tool because a tripped prefix stays
//     blocked for two minutes.
//
// A name counts as learned when the tool prints it. Every tool prints its
// finds as it makes them, with output unbuffered (stdbuf, PYTHONUNBUFFERED,
// Perl autoflush), except where noted in tools: dnsrecon -t brt prints only
// at the end, so it runs through a wrapper that prints each answer of its
// lookup function as it arrives; nmap prints its script output only at the
// end, so dns-brute runs with -dd and dns-nsec-enum with -d, whose debug
// lines name each find the moment the script makes it. nmap 7.93's
// dns-nsec-enum cannot walk at all (it drops the dots between labels): the
// test runs a copy with that line fixed.
//
// The test fails when, through veil, the brute forcers together learn more
// than veilMaxShare (5 %) of the zone's guessable names (the union over
// the tools of the names in each tool's list: 339), or the walkers together
// more than walkMaxShare (2 %) of its 401 names. It logs a summary table
// (per tool: guessable names, found without and through veil, queries,
// limited, trips) and both shares.
//
// The tools cannot choose their source address: a query to any 127.x.y.z
// leaves from 127.0.0.1, which is therefore external to those listeners.
// Port 53 is needed because none of these tools can be told another port;
// binding it needs root (or CAP_NET_BIND_SERVICE). dnsmap has no server
// option: it runs in a mount namespace whose /etc/resolv.conf names its
// listener (unshare, root), as TestE2ETokens does for dnsrecon.
//
// The same run checks for false positives on a further process (127.0.87.30
// plain, 127.0.87.31 signed; the limiter's defaults, an exempt monitoring
// address), all at once for about 60 s (false_positives_test.go,
// fp_clients_test.go): busy resolvers (recursion not desired, EDNS 1232,
// 200 queries a second, names drawn Zipf-like, A and AAAA of every host
// (NODATA for most AAAA), MX and TXT, 5 % typos) with a cache that honours
// TTLs and without one; a resolver farm of 16 addresses in one /24 sharing
// that load; a QNAME-minimising resolver (RFC 9156); a validating resolver
// on the signed zone (DO, DNSKEY and DS); a person with dig (30 names in a
// minute, 5 typos); an exempt probe asking for missing names on purpose;
// and the trusted client 127.0.0.1 with its AXFR and a burst of 500
// denials. Every query must be answered correctly and the limiter's
// counters of those listeners must not move.
//
// All traffic stays on loopback: the tools get only loopback servers
// (dnsenum also through RES_NAMESERVERS, for the name server lookups
// Net::DNS does itself), and every address in the zone is in 127.0.0.0/8
// or 2001:db8::/32. The whole test takes about 1.5 minutes (the tools'
// runs overlap; the slowest baseline run is about 10 s).
//
// Run it with:
//
//	go test -tags e2e,enum -count=1 -run TestEnumE2E -v ./test/enum/
//
// It is the acceptance test of the enumeration limiter. Measured with the
// limiter's defaults at commit ba97289 (docs/performance.md has the table):
// without veil every tool finds all its guessable names. Through veil the
// brute forcers learn together 3 of 339 names (0.9 %): nmap's dns-brute 3
// of its 74, the others 0; the walkers together 5 of 401 (1.2 %):
// dns-nsec-enum 5, ldns-walk 2, dnsrecon's walk 1 (they all start at the
// zone's first name, so their union is the longest walk). Every tool trips
// the stub rule within its first answers. The false-positive checks pass.
// Before round 2 of the limiter (6136a76) the shares were 13.0 to 14.7 %
// and 7.0 %.
//
// The tools are required (never skipped); on Debian:
// apt-get install dnsrecon fierce dnsenum nmap dnsmap ldnsutils coreutils util-linux mount
package enum

import (
	"fmt"
	"maps"
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
	nameCount      = 401           // owner names below the apex, specials and nested names included
	nestedCount    = 24            // of them, names two labels below the apex
	nsLabel        = "ns-enum-e2e" // NS and SOA MNAME: its A is the listener's own address
	mxLabel        = "mx-enum-e2e" // MX target
	runIDLabel     = "run-id-e2e"  // TXT with the run's nonce, for the readiness probe
	unusedTrusted  = "127.0.0.250" // the only trusted address of the tool listeners: nobody uses it
	trustedSrc     = "127.0.0.1"   // trusted on the false-positive listener; every tool's source
	basePlainAddr  = "127.0.87.1"  // baseline process, plain zone (no veil)
	baseSignedAddr = "127.0.87.2"  // baseline process, signed zone (no veil)
	fpAddr         = "127.0.87.30" // false-positive listener: veil with 127.0.0.1 trusted
	wordFile       = "testdata/words.txt"
	dnsmapList     = "testdata/dnsmap-builtin.txt"

	baselineMinFrac = 0.80 // without veil a tool finds at least this share of its guessable names
	// Through veil the brute-force tools together may learn at most
	// veilMaxShare of the zone's guessable names (the union of the tools'
	// guessable names; learned as the distinguisher counts, since the
	// tools print decoys as names), and the NSEC walkers together at most
	// walkMaxShare of its names.
	veilMaxShare = 0.02
	walkMaxShare = 0.02

	baselineBudget = 120 * time.Second // a baseline run must finish within this
	veilBudget     = 60 * time.Second  // a run against veil is stopped after this

	trustedBurst = 500

	limitedMetric = "coredns_veil_limited_requests_total"
	tripMetric    = "coredns_veil_limiter_trips_total"
)

// toolResult is one tool run, for the summary.
type toolResult struct {
	tool               string
	walker             bool
	guess              map[string]bool // the names the tool can learn
	baseFound          int
	veilFound          map[string]bool // the names of guess it learned through veil
	reported           int             // of guess, the names it printed through veil (decoys make real names print too)
	baseTook, veilTook time.Duration
	veilKilled         bool
	udp, tcp           float64 // queries the tool sent to veil, by transport
	limited            float64 // of them, the ones veil limited
	trips              float64 // times the limiter blocked the tool's prefix
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
	logZone(t, z)
	keyBase := keygen(t, dir)

	// Baseline process: no veil, the plain and the signed zone. The tools
	// share it: without veil nothing remembers a client.
	startServer(t, bin, filepath.Join(dir, "baseline"), z, keyBase, []listener{
		{addr: basePlainAddr},
		{addr: baseSignedAddr, signed: true},
	})

	// The tools and the false-positive check run at the same time, each
	// against its own veil process, so the test takes about as long as the
	// slowest tool's baseline run plus veilBudget rather than the sum.
	// (t.Run from several goroutines rather than t.Parallel, which
	// -parallel, by default the number of CPUs, would throttle.)
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
	if len(results) != len(tools) {
		t.Fatalf("only %d of %d tool runs finished: no shares", len(results), len(tools))
	}
	bruteShare, bruteLearned, bruteOf := share(results, false)
	walkShare, walkLearned, walkOf := share(results, true)
	t.Logf("brute force through veil: the tools together learned %d of the zone's %d guessable names (%.1f%%, at most %.0f%% allowed)",
		bruteLearned, bruteOf, 100*bruteShare, 100*veilMaxShare)
	t.Logf("NSEC walking through veil: the walkers together learned %d of the zone's %d names (%.1f%%, at most %.0f%% allowed)",
		walkLearned, walkOf, 100*walkShare, 100*walkMaxShare)
	if bruteShare > veilMaxShare {
		t.Errorf("brute force through veil: the tools together learned %.1f%% of the guessable names (%d of %d), want at most %.0f%%",
			100*bruteShare, bruteLearned, bruteOf, 100*veilMaxShare)
	}
	if walkShare > walkMaxShare {
		t.Errorf("NSEC walking through veil: the walkers together learned %.1f%% of the names (%d of %d), want at most %.0f%%",
			100*walkShare, walkLearned, walkOf, 100*walkMaxShare)
	}
}

// share returns the share of names the brute-force tools (walkers false)
// or the walkers (true) learned together through veil: the union of what
// they learned over the union of what they could learn.
func share(results []toolResult, walkers bool) (frac float64, learned, of int) {
	union, guess := map[string]bool{}, map[string]bool{}
	for _, r := range results {
		if r.walker != walkers {
			continue
		}
		maps.Copy(union, r.veilFound)
		maps.Copy(guess, r.guess)
	}
	return float64(len(union)) / float64(max(len(guess), 1)), len(union), len(guess)
}

// logZone logs the zone's composition: its names, and for each brute-force
// tool the size of its list and how many of the list's names are in the
// zone.
func logZone(t *testing.T, z *zoneData) {
	var b strings.Builder
	fmt.Fprintf(&b, "zone %s: %d names below the apex: %d from the tools' lists, %d random, %d nested below the empty non-terminal %s, 3 for NS, MX and the probe\n",
		zoneName, len(z.labels), len(z.words), len(z.labels)-len(z.words)-len(z.nested)-3, len(z.nested),
		strings.SplitN(z.nested[0], ".", 2)[1])
	for _, tool := range tools {
		if tool.walker {
			continue
		}
		list := readList(t, tool.list)
		n := 0
		for _, w := range z.words {
			if list[w] {
				n++
			}
		}
		fmt.Fprintf(&b, "  %-9s %4d of its %4d list names in the zone (%5.1f%%, floor %.0f%%): %s\n",
			tool.name, n, len(list), 100*float64(n)/float64(len(list)), 100*tool.minShare, tool.list)
	}
	t.Log(b.String())
}

// logSummary logs a table of the tool runs, in the order of tools.
func logSummary(t *testing.T, start time.Time, results []toolResult) {
	slices.SortFunc(results, func(a, b toolResult) int {
		return slices.IndexFunc(tools, func(x toolSpec) bool { return x.name == a.tool }) -
			slices.IndexFunc(tools, func(x toolSpec) bool { return x.name == b.tool })
	})
	pct := func(n, of int) float64 { return 100 * float64(n) / float64(max(of, 1)) }
	var b strings.Builder
	fmt.Fprintf(&b, "%-13s %9s %16s %16s %8s %8s %8s %8s %6s  %s\n",
		"tool", "guessable", "found w/o veil", "learned w/ veil", "printed", "udp qry", "tcp qry", "limited", "trips", "veil run")
	for _, r := range results {
		killed := ""
		if r.veilKilled {
			killed = " (stopped)"
		}
		fmt.Fprintf(&b, "%-13s %9d %6d (%5.1f%%) %6d (%5.1f%%) %8d %8.0f %8.0f %8.0f %6.0f  %v%s\n", r.tool, len(r.guess),
			r.baseFound, pct(r.baseFound, len(r.guess)), len(r.veilFound), pct(len(r.veilFound), len(r.guess)), r.reported,
			r.udp, r.tcp, r.limited, r.trips, r.veilTook.Round(100*time.Millisecond), killed)
	}
	t.Logf("summary (whole test %v; guessable: names of the zone in the tool's default list, all names for the walkers):\n%s",
		time.Since(start).Round(time.Second), b.String())
}
