//go:build e2e && enum

// End-to-end test of veil's enumeration limiter (the "limit" option) against
// the brute-force and zone-walking tools an attacker would point at an
// authoritative server: dnsrecon, fierce, dnsenum, nmap's dns-brute and
// ldns-walk.
//
// The test builds ./cmd/coredns, generates the zone example.com with
// enumNames owner names, 135 of them labels from the tools' default
// wordlists (testdata/enum/words.txt: the labels common to dnsrecon's,
// fierce's and dnsenum's lists, of which nmap's list holds 36) and the rest
// random labels no list holds, and signs a copy with ldns-signzone (NSEC) at
// test time. The zone must hold at least enumMinListWords labels from the
// lists in total and at least enumMinGuessable from each tool's own list.
// Every tool runs twice:
//
//   - against a baseline process without veil (127.0.87.1 plain zone,
//     127.0.87.2 signed zone), where it must find at least
//     enumBaselineMinFrac of the zone's names that are in its wordlist (all
//     names for ldns-walk): proof that the setup lets the tool work;
//   - against a fresh CoreDNS process of its own (the tools run in
//     parallel, each on its own listener address), with
//     "veil { trusted 127.0.0.250; limit }" (the limiter's defaults), where
//     it must find at most enumVeilMaxFrac of them, and veil's
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
//	go test -tags e2e,enum -run TestEnumE2E -count=1 -v ./test/
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
package test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const (
	enumZone     = "example.com"
	enumPort     = "53"
	enumNames    = 320           // owner names below the apex, specials included
	enumNS       = "ns-enum-e2e" // NS and SOA MNAME: its A is the listener's own address
	enumMX       = "mx-enum-e2e" // MX target
	enumRunID    = "run-id-e2e"  // TXT with the run's nonce, for the readiness probe
	enumUnused   = "127.0.0.250" // the only trusted address of the tool listeners: nobody uses it
	enumTrusted  = "127.0.0.1"   // trusted on the false-positive listener; every tool's source
	enumBusySrc  = "127.0.0.5"   // the busy resolver's source address
	enumBaseAddr = "127.0.87.1"  // baseline process, plain zone (no veil)
	enumBaseSig  = "127.0.87.2"  // baseline process, signed zone (no veil)
	enumFPAddr   = "127.0.87.30" // false-positive listener: veil with 127.0.0.1 trusted
	enumWordFile = "testdata/enum/words.txt"

	enumBaselineMinFrac = 0.80 // without veil a tool finds at least this share of its guessable names
	enumVeilMaxFrac     = 0.10 // with veil at most this share
	// The zone must be worth guessing at: at least enumMinListWords of its
	// labels are in at least one of the tools' default lists, and each
	// tool's own list holds at least enumMinGuessable of them. The floor is
	// per tool and lower than the total on purpose: nmap's list has only 128
	// names, and a realistic zone holds a fraction of it (36 with
	// testdata/enum/words.txt), not 100.
	enumMinListWords = 100
	enumMinGuessable = 30

	enumBaselineBudget = 120 * time.Second // a baseline run must finish within this
	enumReadyTimeout   = 10 * time.Second

	enumBusyQPS      = 200
	enumBusyDuration = 20 * time.Second
	enumTrustedBurst = 500

	enumLimitedMetric = "coredns_veil_limited_requests_total"
	enumTripMetric    = "coredns_veil_limiter_trips_total"
)

// enumPackages maps each program the test runs to its Debian package.
var enumPackages = []struct{ bin, pkg string }{
	{"dnsrecon", "dnsrecon"},
	{"fierce", "fierce"},
	{"dnsenum", "dnsenum"},
	{"nmap", "nmap"},
	{"ldns-walk", "ldnsutils"},
	{"ldns-keygen", "ldnsutils"},
	{"ldns-signzone", "ldnsutils"},
	{"stdbuf", "coreutils"},
}

// enumTool describes one tool: how to run it against a listener, which
// wordlist it uses by default and how to read the names it found.
type enumTool struct {
	name   string
	pkg    string
	list   string        // its default wordlist; "" for ldns-walk, which walks the whole zone
	signed bool          // it needs the NSEC-signed zone
	addr   string        // the listener of its own veil process
	budget time.Duration // time allowed against veil; the run is killed after it
	args   func(addr string) []string
	// found matches one discovered name per match; submatch 1 is its first
	// label (the zone's names are all one label below the apex).
	found *regexp.Regexp
}

var enumTools = []enumTool{
	{
		// Debian's dnsrecon 1.1.3 looks for its default namelist.txt next
		// to cli.py, where the package does not install it, and stops with
		// "No valid dictionary files"; -D names the file the package ships.
		// --lifetime 1 (default 3 s) and 32 threads bound the run when veil
		// drops queries: dnsrecon prints nothing until every lookup is done.
		name: "dnsrecon", pkg: "dnsrecon", list: "/usr/share/dnsrecon/namelist.txt",
		addr: "127.0.87.11", budget: 150 * time.Second,
		args: func(addr string) []string {
			return []string{"-t", "brt", "-d", enumZone, "-n", addr, "-D", "/usr/share/dnsrecon/namelist.txt",
				"--lifetime", "1", "--threads", "32"}
		},
		found: regexp.MustCompile(`(?m)^\[\+\]\s+(?:A|AAAA|CNAME)\s+([a-z0-9-]+)\.example\.com\s`),
	},
	{
		// fierce looks names up one after the other with dnspython's
		// default timeouts; it has no option to shorten them.
		name: "fierce", pkg: "fierce", list: "/usr/lib/python3/dist-packages/fierce/lists/default.txt",
		addr: "127.0.87.12", budget: 90 * time.Second,
		args: func(addr string) []string {
			return []string{"--domain", enumZone, "--dns-servers", addr}
		},
		found: regexp.MustCompile(`(?m)^Found: ([a-z0-9-]+)\.example\.com\.`),
	},
	{
		// No --enum, -s, -w, -p: no Google scraping and no whois;
		// --noreverse: no reverse lookups. -f is the default list, named so
		// a different working directory cannot change it. 5 threads (as
		// --enum would use) and a 1 s timeout (default 10 s) bound the run.
		name: "dnsenum", pkg: "dnsenum", list: "/usr/share/dnsenum/dns.txt",
		addr: "127.0.87.13", budget: 90 * time.Second,
		args: func(addr string) []string {
			return []string{"--dnsserver", addr, "--noreverse", "--nocolor", "--threads", "5", "-t", "1",
				"-f", "/usr/share/dnsenum/dns.txt", enumZone}
		},
		found: regexp.MustCompile(`(?m)^([a-z0-9-]+)\.example\.com\.\s+\d+\s+IN\s+A\s`),
	},
	{
		// No target: dns-brute runs as a prerule script. --dns-servers is
		// where nselib's dns.query sends its questions; -n: no reverse
		// lookups through the system resolver. As dns-brute.nse (nmap
		// 7.93) is written: without dns-brute.hostlist it reads
		// nselib/data/vhosts-default.lst (128 names); it first asks A of
		// one random 24-letter name and AAAA of another (wildcard check),
		// then splits the list into chunks of floor(128/threads)+2 names
		// (10 with the 16 threads set here; the default is 5 threads), one
		// thread per chunk (13 here), and each thread asks A, then AAAA,
		// for each of its names in turn. nselib's dns.query sends over UDP
		// only: a query without a reply is sent a second time after the
		// timeout (4 s at the default timing -T3) and given up after
		// another 4 s; an empty TC=1 reply counts as no answer, with no
		// retry over TCP. The script prints its findings only when every
		// thread is done, so a run killed at its budget shows nothing. 36
		// of its 128 names are in the zone (9 of them with AAAA): 213 of
		// its 258 questions get denials (83 %).
		name: "nmap", pkg: "nmap", list: "/usr/share/nmap/nselib/data/vhosts-default.lst",
		addr: "127.0.87.14", budget: 300 * time.Second,
		args: func(addr string) []string {
			return []string{"-n", "-sn", "--dns-servers", addr, "--script", "dns-brute",
				"--script-args", "dns-brute.domain=" + enumZone + ",dns-brute.threads=16"}
		},
		// "|_" starts the last line of nmap's script output.
		found: regexp.MustCompile(`(?m)^\|_?\s+([a-z0-9-]+)\.example\.com - `),
	},
	{
		// stdbuf: ldns-walk writes through stdio, so a killed run would
		// lose what it found unless stdout is line buffered. Each answer,
		// an NXDOMAIN for "name\000" with the NSEC that covers it, gives
		// the next name; ldns resends a lost UDP query after 5 s and
		// retries over TCP after TC=1.
		name: "ldns-walk", pkg: "ldnsutils", signed: true,
		addr: "127.0.87.15", budget: 90 * time.Second,
		args: func(addr string) []string {
			return []string{"-oL", "ldns-walk", "@" + addr, enumZone}
		},
		found: regexp.MustCompile(`(?m)^([a-z0-9-]+)\.example\.com\.\s`),
	},
}

// enumResult is one tool run, for the summary.
type enumResult struct {
	tool                 string
	guessable            int
	baseFound, veilFound int
	baseTook, veilTook   time.Duration
	veilKilled           bool
	udp, tcp             float64 // queries the tool sent to veil, by transport
	limited              float64 // of them, the ones veil limited
	trips                float64 // times the limiter blocked the tool's prefix
}

func TestEnumE2E(t *testing.T) {
	start := time.Now()
	for _, p := range enumPackages {
		if _, err := exec.LookPath(p.bin); err != nil {
			t.Fatalf("%s not found in PATH (%v): install the Debian package %s", p.bin, err, p.pkg)
		}
	}
	for _, tool := range enumTools {
		if tool.list != "" {
			if _, err := os.Stat(tool.list); err != nil {
				t.Fatalf("%s's default wordlist: %v (install the Debian package %s)", tool.name, err, tool.pkg)
			}
		}
	}

	bin := e2eBuildBinary(t)
	dir := t.TempDir()
	z := enumNewZone(t)
	keyBase := enumKeygen(t, dir)

	// Baseline process: no veil, the plain and the signed zone. The tools
	// share it: without veil nothing remembers a client.
	enumStartServer(t, bin, filepath.Join(dir, "baseline"), z, keyBase, []enumListener{
		{addr: enumBaseAddr},
		{addr: enumBaseSig, signed: true},
	})

	// The tools and the false-positive check run at the same time, each
	// against its own veil process, so the test takes about as long as the
	// slowest tool's budget rather than the sum. (t.Run from several
	// goroutines rather than t.Parallel, which -parallel, by default the
	// number of CPUs, would throttle.)
	var (
		mu      sync.Mutex
		results []enumResult
		wg      sync.WaitGroup
	)
	for _, tool := range enumTools {
		wg.Go(func() {
			t.Run(tool.name, func(t *testing.T) {
				r := enumRunTool(t, bin, dir, z, keyBase, tool)
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			})
		})
	}
	wg.Go(func() {
		t.Run("no_false_positives", func(t *testing.T) { enumNoFalsePositives(t, bin, dir, z, keyBase) })
	})
	wg.Wait()

	slices.SortFunc(results, func(a, b enumResult) int {
		return slices.IndexFunc(enumTools, func(x enumTool) bool { return x.name == a.tool }) -
			slices.IndexFunc(enumTools, func(x enumTool) bool { return x.name == b.tool })
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

// enumRunTool runs one tool against the baseline and against its own veil
// process and checks what it found.
func enumRunTool(t *testing.T, bin, dir string, z *enumZoneData, keyBase string, tool enumTool) enumResult {
	res := enumResult{tool: tool.name}
	guess := z.guessable(t, tool)
	res.guessable = len(guess)
	toolDir := filepath.Join(dir, "run-"+tool.name)
	if err := os.MkdirAll(toolDir, 0o755); err != nil {
		t.Fatal(err)
	}

	// Without veil.
	baseAddr := enumBaseAddr
	if tool.signed {
		baseAddr = enumBaseSig
	}
	out := enumRun(t, toolDir, enumToolEnv(tool, baseAddr, toolDir), enumBaselineBudget, enumToolBin(tool), tool.args(baseAddr)...)
	if out.killed {
		t.Fatalf("%s did not finish within %v against the server without veil:\n%s", tool.name, enumBaselineBudget, out.tail(60))
	}
	found, stray := enumCount(out.text, tool, guess, z)
	res.baseFound, res.baseTook = len(found), out.took
	t.Logf("without veil: %s found %d of the %d names of %s in its list (%.1f%%) in %v",
		tool.name, len(found), len(guess), enumZone, 100*float64(len(found))/float64(len(guess)), out.took.Round(time.Millisecond))
	if float64(len(found)) < enumBaselineMinFrac*float64(len(guess)) {
		t.Errorf("without veil %s found only %d of %d names (want at least %.0f%%): the setup does not let the tool work\n%s",
			tool.name, len(found), len(guess), 100*enumBaselineMinFrac, out.tail(80))
	}
	if len(stray) > 0 {
		t.Errorf("without veil %s found names it cannot have guessed (a zone transfer?): %v", tool.name, stray)
	}

	// With veil, in a fresh process: the limiter's state is new.
	enumStartServer(t, bin, filepath.Join(dir, "veil-"+tool.name), z, keyBase, []enumListener{
		{addr: tool.addr, signed: tool.signed, veil: "trusted " + enumUnused + "\n        limit"},
	})
	metricsAddr := net.JoinHostPort(tool.addr, "9153")
	server := "dns://" + net.JoinHostPort(tool.addr, enumPort)
	before := enumScrape(t, metricsAddr)
	out = enumRun(t, toolDir, enumToolEnv(tool, tool.addr, toolDir), tool.budget, enumToolBin(tool), tool.args(tool.addr)...)
	after := enumScrape(t, metricsAddr)
	found, stray = enumCount(out.text, tool, guess, z)
	res.veilFound, res.veilTook, res.veilKilled = len(found), out.took, out.killed
	delta := func(name string, labels ...string) float64 {
		labels = append(labels, "server", server)
		return after.sum(name, labels...) - before.sum(name, labels...)
	}
	res.udp = delta("coredns_dns_requests_total", "proto", "udp")
	res.tcp = delta("coredns_dns_requests_total", "proto", "tcp")
	res.limited = delta(enumLimitedMetric)
	res.trips = delta(enumTripMetric)
	how := "finished"
	if out.killed {
		how = "killed at its budget"
	}
	t.Logf("with veil: %s found %d of %d (%.1f%%), %s after %v; it sent %.0f queries over UDP and %.0f over TCP, veil limited %.0f of them and blocked its prefix %.0f times",
		tool.name, len(found), len(guess), 100*float64(len(found))/float64(len(guess)), how, out.took.Round(time.Millisecond),
		res.udp, res.tcp, res.limited, res.trips)
	t.Logf("veil counters of %s after the run:\n%s", server, enumVeilLines(after, server))
	if float64(len(found)) > enumVeilMaxFrac*float64(len(guess)) {
		t.Errorf("with veil %s found %d of %d names (%.1f%%), want at most %.0f%%: %v\n%s",
			tool.name, len(found), len(guess), 100*float64(len(found))/float64(len(guess)), 100*enumVeilMaxFrac,
			slices.Sorted(func(yield func(string) bool) {
				for n := range found {
					if !yield(n) {
						return
					}
				}
			}), out.tail(40))
	}
	if len(stray) > 0 {
		t.Errorf("with veil %s found names it cannot have guessed (a zone transfer?): %v", tool.name, stray)
	}
	if res.limited <= 0 {
		t.Errorf("%s{server=%q} did not move during the %s run", enumLimitedMetric, server, tool.name)
	}
	return res
}

func enumToolBin(tool enumTool) string {
	if tool.name == "ldns-walk" {
		return "stdbuf"
	}
	return tool.name
}

// enumToolEnv returns the environment of a tool run: unbuffered output so a
// killed run keeps what it printed, and for dnsenum the name server Net::DNS
// uses when it resolves a name server's name itself (it would otherwise ask
// the system resolver).
func enumToolEnv(tool enumTool, addr, dir string) []string {
	env := append(os.Environ(), "LC_ALL=C", "PYTHONUNBUFFERED=1")
	if tool.name == "dnsenum" {
		perlDir := filepath.Join(dir, "perl")
		_ = os.MkdirAll(perlDir, 0o755)
		_ = os.WriteFile(filepath.Join(perlDir, "EnumAutoflush.pm"),
			[]byte("package EnumAutoflush;\nuse IO::Handle;\nSTDOUT->autoflush(1);\nSTDERR->autoflush(1);\n1;\n"), 0o644)
		env = append(env, "RES_NAMESERVERS="+addr, "RES_SEARCHLIST=", "LOCALDOMAIN=", "RES_OPTIONS=",
			"PERL5LIB="+perlDir, "PERL5OPT=-MEnumAutoflush")
	}
	return env
}

// enumCount returns the guessable names the tool's output shows it found,
// and the names of the zone it found that it could not have guessed.
func enumCount(text string, tool enumTool, guess map[string]bool, z *enumZoneData) (found map[string]bool, stray []string) {
	found = map[string]bool{}
	seen := map[string]bool{}
	for _, m := range tool.found.FindAllStringSubmatch(text, -1) {
		label := strings.ToLower(m[1])
		switch {
		case guess[label]:
			found[label] = true
		case z.special[label]:
		case z.all[label] && !seen[label]:
			seen[label] = true
			stray = append(stray, label)
		}
	}
	slices.Sort(stray)
	return found, stray
}

// --- false positives ---

// enumNoFalsePositives runs the busy resolver and the trusted client
// against a listener with the limiter on and checks that nothing was
// limited.
func enumNoFalsePositives(t *testing.T, bin, dir string, z *enumZoneData, keyBase string) {
	enumStartServer(t, bin, filepath.Join(dir, "fp"), z, keyBase, []enumListener{
		{addr: enumFPAddr, veil: "trusted " + enumTrusted + "\n        limit", transfer: true},
	})
	metricsAddr := net.JoinHostPort(enumFPAddr, "9153")
	server := "dns://" + net.JoinHostPort(enumFPAddr, enumPort)
	addr := net.JoinHostPort(enumFPAddr, enumPort)
	expect := z.expectations(t, enumFPAddr)
	before := enumScrape(t, metricsAddr)

	var wg sync.WaitGroup
	var trustedQueries int
	wg.Go(func() {
		// Let the busy resolver get going first, so the trusted burst
		// lands in the middle of it.
		time.Sleep(3 * time.Second)
		trustedQueries = enumTrustedClient(t, addr, expect)
	})
	busy := enumBusyResolver(t, addr, z, expect)
	wg.Wait()

	after := enumScrape(t, metricsAddr)
	delta := func(name string, labels ...string) float64 {
		return after.sum(name, labels...) - before.sum(name, labels...)
	}
	if got := delta(enumLimitedMetric, "server", server); got != 0 {
		t.Errorf("%s{server=%q} moved by %v for the busy resolver and the trusted client, want 0", enumLimitedMetric, server, got)
	}
	if got := delta(enumTripMetric, "server", server); got != 0 {
		t.Errorf("%s{server=%q} moved by %v: the limiter blocked the busy resolver or the trusted client", enumTripMetric, server, got)
	}
	if got := delta("coredns_veil_requests_total", "server", server, "class", "external"); got < float64(busy) {
		t.Errorf("requests class=external moved by %v, want at least the busy resolver's %d", got, busy)
	}
	if got := delta("coredns_veil_requests_total", "server", server, "class", "trusted"); got < float64(trustedQueries) {
		t.Errorf("requests class=trusted moved by %v, want at least the trusted client's %d", got, trustedQueries)
	}
	t.Logf("veil counters of %s after the busy resolver and the trusted client:\n%s", server, enumVeilLines(after, server))
}

// enumQuery is one question of the busy resolver and what must come back.
type enumQuery struct {
	name  string
	qtype uint16
	want  []string // the answer's records as rr.String(), sorted; nil for NXDOMAIN
}

// enumBusyResolver sends enumBusyQPS queries a second for enumBusyDuration
// from enumBusySrc, 95 % for existing records and 5 % for typos, each from a
// new UDP socket (a random source port, as a resolver uses), and fails the
// test for every query that is not answered exactly right. It returns the
// number of queries sent.
func enumBusyResolver(t *testing.T, addr string, z *enumZoneData, expect map[enumKey][]string) int {
	seed := uint64(time.Now().UnixNano())
	rng := mrand.New(mrand.NewPCG(seed, 0x5eed))
	total := int(enumBusyDuration.Seconds()) * enumBusyQPS
	qs := make([]enumQuery, total)
	byType := map[uint16][]enumKey{}
	for k := range expect {
		byType[k.qtype] = append(byType[k.qtype], k)
	}
	for _, keys := range byType {
		slices.SortFunc(keys, func(a, b enumKey) int { return strings.Compare(a.name, b.name) })
	}
	typos := 0
	for i := range qs {
		if rng.IntN(100) < 5 {
			qs[i] = enumQuery{name: z.typo(rng) + "." + enumZone + ".", qtype: dns.TypeA}
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
		qs[i] = enumQuery{name: k.name, qtype: qt, want: expect[k]}
	}

	client := &dns.Client{
		Net:     "udp",
		Timeout: 2 * time.Second,
		Dialer:  &net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.UDPAddr{IP: net.ParseIP(enumBusySrc)}},
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
	jobs := make(chan enumQuery, total)
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
				if msg := enumCheckAnswer(r, q); msg != "" {
					fail("%s %s: %s\n%v", q.name, dns.TypeToString[q.qtype], msg, r)
				}
			}
		})
	}
	begin := time.Now()
	tick := time.NewTicker(time.Second / enumBusyQPS)
	for i := range qs {
		<-tick.C
		jobs <- qs[i]
	}
	tick.Stop()
	close(jobs)
	wg.Wait()
	t.Logf("busy resolver %s: %d queries (%d typos) in %v (seed %d), %d not answered correctly",
		enumBusySrc, total, typos, time.Since(begin).Round(time.Millisecond), seed, nfail)
	if nfail > 0 {
		t.Errorf("busy resolver: %d of %d queries were not answered correctly, for example:\n%s",
			nfail, total, strings.Join(failures, "\n"))
	}
	return total
}

// enumCheckAnswer returns what is wrong with r as the answer to q, or "".
func enumCheckAnswer(r *dns.Msg, q enumQuery) string {
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

// enumTrustedClient transfers the zone from the trusted address, sends
// enumTrustedBurst denials as fast as 10 workers can, checks that a
// positive query and a second transfer still work, and returns the number
// of requests it made.
func enumTrustedClient(t *testing.T, addr string, expect map[enumKey][]string) int {
	n := 0
	enumAXFR(t, addr, expect)
	n++

	client := &dns.Client{
		Net:     "udp",
		Timeout: 2 * time.Second,
		Dialer:  &net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.UDPAddr{IP: net.ParseIP(enumTrusted)}},
	}
	jobs := make(chan enumQuery, enumTrustedBurst)
	for i := range enumTrustedBurst {
		jobs <- enumQuery{name: fmt.Sprintf("trusted-denial-%d.%s.", i, enumZone), qtype: dns.TypeA}
	}
	close(jobs)
	var (
		mu      sync.Mutex
		nfail   int
		example string
	)
	var wg sync.WaitGroup
	begin := time.Now()
	for range 10 {
		wg.Go(func() {
			for q := range jobs {
				m := new(dns.Msg)
				m.SetQuestion(q.name, q.qtype)
				r, _, err := client.Exchange(m, addr)
				msg := ""
				if err != nil {
					msg = err.Error()
				} else {
					msg = enumCheckAnswer(r, q)
				}
				if msg != "" {
					mu.Lock()
					nfail++
					example = q.name + ": " + msg
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	n += enumTrustedBurst
	t.Logf("trusted client %s: AXFR, then %d denials in %v, %d not answered NXDOMAIN", enumTrusted, enumTrustedBurst,
		time.Since(begin).Round(time.Millisecond), nfail)
	if nfail > 0 {
		t.Errorf("trusted client: %d of %d denials not answered NXDOMAIN, for example %s", nfail, enumTrustedBurst, example)
	}

	www := enumKey{name: "www." + enumZone + ".", qtype: dns.TypeA}
	m := new(dns.Msg)
	m.SetQuestion(www.name, www.qtype)
	r, _, err := client.Exchange(m, addr)
	n++
	if err != nil {
		t.Errorf("trusted client after its burst: %v", err)
	} else if msg := enumCheckAnswer(r, enumQuery{name: www.name, qtype: www.qtype, want: expect[www]}); msg != "" {
		t.Errorf("trusted client after its burst: %s", msg)
	}
	enumAXFR(t, addr, expect)
	n++
	return n
}

// enumAXFR transfers the zone from enumTrusted and checks that every record
// of the zone came.
func enumAXFR(t *testing.T, addr string, expect map[enumKey][]string) {
	t.Helper()
	d := &net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(enumTrusted)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Errorf("trusted AXFR: %v", err)
		return
	}
	defer c.Close()
	tr := &dns.Transfer{Conn: &dns.Conn{Conn: c}, ReadTimeout: 5 * time.Second, WriteTimeout: 2 * time.Second}
	m := new(dns.Msg)
	m.SetAxfr(enumZone + ".")
	ch, err := tr.In(m, addr)
	if err != nil {
		t.Errorf("trusted AXFR: %v", err)
		return
	}
	got := map[string]bool{}
	for env := range ch {
		if env.Error != nil {
			t.Errorf("trusted AXFR: %v", env.Error)
			return
		}
		for _, rr := range env.RR {
			got[rr.String()] = true
		}
	}
	missing := 0
	for _, rrs := range expect {
		for _, s := range rrs {
			if !got[s] {
				missing++
			}
		}
	}
	if missing > 0 || len(got) == 0 {
		t.Errorf("trusted AXFR: %d records of the zone missing (got %d records)", missing, len(got))
	}
}

// --- the zone ---

// enumKey is an RRset: owner name (absolute) and type.
type enumKey struct {
	name  string
	qtype uint16
}

type enumZoneData struct {
	words   []string        // labels from the tools' lists (testdata/enum/words.txt)
	labels  []string        // every owner label below the apex, in zone order
	all     map[string]bool // labels as a set
	special map[string]bool // labels a tool learns without guessing: NS, MX, the probe
	nonce   string
}

// enumNewZone reads the word labels and adds random labels, which no tool
// list holds, up to enumNames.
func enumNewZone(t *testing.T) *enumZoneData {
	t.Helper()
	z := &enumZoneData{all: map[string]bool{}, special: map[string]bool{enumNS: true, enumMX: true, enumRunID: true}}
	b, err := os.ReadFile(enumWordFile)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		w := strings.TrimSpace(line)
		if w == "" || strings.HasPrefix(w, "#") {
			continue
		}
		if _, ok := dns.IsDomainName(w); !ok || strings.Contains(w, ".") || z.all[w] {
			t.Fatalf("%s: bad or repeated label %q", enumWordFile, w)
		}
		z.words = append(z.words, w)
		z.all[w] = true
	}
	// Random labels must not be guessable from any of the lists.
	inLists := map[string]bool{}
	for _, tool := range enumTools {
		if tool.list != "" {
			for w := range enumReadList(t, tool.list) {
				inLists[w] = true
			}
		}
	}
	inAny := 0
	for _, w := range z.words {
		if inLists[w] {
			inAny++
		}
	}
	if inAny < enumMinListWords {
		t.Fatalf("only %d labels of %s are in the tools' default lists, want at least %d: the lists changed, update %s",
			inAny, enumWordFile, enumMinListWords, enumWordFile)
	}
	z.labels = append(z.labels, enumNS, enumMX, enumRunID)
	z.labels = append(z.labels, z.words...)
	for l := range z.special {
		z.all[l] = true
	}
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	for i := 0; len(z.labels) < enumNames && i < 100*enumNames; i++ {
		var rb [8]byte
		if _, err := rand.Read(rb[:]); err != nil {
			t.Fatal(err)
		}
		l := make([]byte, 0, 10)
		l = append(l, "hqsx"[rb[0]%4])
		for _, c := range rb[1:] {
			l = append(l, alphabet[int(c)%len(alphabet)])
		}
		s := string(l)
		if z.all[s] || inLists[s] {
			continue
		}
		z.all[s] = true
		z.labels = append(z.labels, s)
	}
	if len(z.labels) != enumNames {
		t.Fatalf("could only make %d names", len(z.labels))
	}
	nb := make([]byte, 8)
	if _, err := rand.Read(nb); err != nil {
		t.Fatal(err)
	}
	z.nonce = hex.EncodeToString(nb)
	return z
}

// text returns the zone file; nsAddr is the address of the NS name, the
// listener that serves the file, so tools that ask the zone's name server
// (fierce's and dnsenum's transfer attempts) stay on that listener.
func (z *enumZoneData) text(nsAddr string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "$ORIGIN %s.\n$TTL 3600\n", enumZone)
	fmt.Fprintf(&b, "@ IN SOA %s.%s. hostmaster.%s. 2026112601 7200 3600 1209600 300\n", enumNS, enumZone, enumZone)
	fmt.Fprintf(&b, "@ IN NS %s.%s.\n", enumNS, enumZone)
	fmt.Fprintf(&b, "@ IN MX 10 %s.%s.\n", enumMX, enumZone)
	fmt.Fprintf(&b, "@ IN TXT \"v=spf1 -all\"\n")
	fmt.Fprintf(&b, "%s IN A %s\n", enumNS, nsAddr)
	fmt.Fprintf(&b, "%s IN TXT %q\n", enumRunID, z.nonce)
	for i, l := range z.labels {
		if l == enumNS || l == enumRunID {
			continue
		}
		fmt.Fprintf(&b, "%s IN A 127.88.%d.%d\n", l, i/250, 1+i%250)
		if i%4 == 0 {
			fmt.Fprintf(&b, "%s IN AAAA 2001:db8:88::%x\n", l, i+1)
		}
		if i%8 == 0 {
			fmt.Fprintf(&b, "%s IN TXT \"host %d of the enumeration test\"\n", l, i)
		}
	}
	return b.String()
}

// expectations parses the zone served at nsAddr into its RRsets (A, AAAA,
// MX, TXT), as rr.String() sorted.
func (z *enumZoneData) expectations(t *testing.T, nsAddr string) map[enumKey][]string {
	t.Helper()
	exp := map[enumKey][]string{}
	zp := dns.NewZoneParser(strings.NewReader(z.text(nsAddr)), enumZone+".", "")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		h := rr.Header()
		k := enumKey{name: strings.ToLower(h.Name), qtype: h.Rrtype}
		exp[k] = append(exp[k], rr.String())
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("parsing the generated zone: %v", err)
	}
	for k := range exp {
		slices.Sort(exp[k])
	}
	return exp
}

// guessable returns the names of the zone the tool can find: those in its
// default list, or all of them for ldns-walk.
func (z *enumZoneData) guessable(t *testing.T, tool enumTool) map[string]bool {
	t.Helper()
	g := map[string]bool{}
	if tool.list == "" {
		for _, l := range z.labels {
			g[l] = true
		}
		return g
	}
	list := enumReadList(t, tool.list)
	for _, w := range z.words {
		if list[w] {
			g[w] = true
		}
	}
	if len(g) < enumMinGuessable {
		t.Fatalf("only %d labels of %s are in %s's default list %s, want at least %d: the list changed, update %s",
			len(g), enumWordFile, tool.name, tool.list, enumMinGuessable, enumWordFile)
	}
	return g
}

// typo returns a label that is an existing word with one typing error and
// is not in the zone.
func (z *enumZoneData) typo(rng *mrand.Rand) string {
	for range 1000 {
		w := []byte(z.words[rng.IntN(len(z.words))])
		i := rng.IntN(len(w))
		var s string
		switch rng.IntN(3) {
		case 0: // doubled key
			s = string(w[:i+1]) + string(w[i:])
		case 1: // dropped key
			s = string(w[:i]) + string(w[i+1:])
		default: // neighbouring key
			c := w[i]
			if c >= 'a' && c < 'z' {
				c++
			} else {
				c = 'q'
			}
			s = string(w[:i]) + string(c) + string(w[i+1:])
		}
		if s != "" && !z.all[s] && s[0] != '-' && s[len(s)-1] != '-' {
			return s
		}
	}
	return "no-such-host-e2e"
}

// enumReadList reads a wordlist into a set of lowercase labels.
func enumReadList(t *testing.T, path string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading wordlist: %v", err)
	}
	set := map[string]bool{}
	for line := range strings.Lines(string(b)) {
		if w := strings.ToLower(strings.TrimSpace(line)); w != "" {
			set[w] = true
		}
	}
	return set
}

// enumKeygen makes the ED25519 key the signed zones are signed with and
// returns the base name of its files.
func enumKeygen(t *testing.T, dir string) string {
	t.Helper()
	keyDir := filepath.Join(dir, "key")
	if err := os.MkdirAll(keyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	out := enumRun(t, keyDir, nil, 30*time.Second, "ldns-keygen", "-a", "ED25519", "-k", enumZone)
	base := strings.TrimSpace(out.text)
	if out.code != 0 || out.killed || !strings.HasPrefix(base, "K"+enumZone+".+015+") {
		t.Fatalf("ldns-keygen failed:\n%s", out.tail(20))
	}
	return filepath.Join(keyDir, base)
}

// --- the servers ---

// enumListener is one server block of a CoreDNS process: a listener on port
// 53 of addr serving the zone, plain or signed, with veil configured by the
// lines in veil ("" for no veil).
type enumListener struct {
	addr     string
	signed   bool
	veil     string
	transfer bool
}

// enumStartServer writes the zone files and the Corefile of the listeners
// into dir, starts CoreDNS and waits until every listener answers with this
// run's nonce. Metrics are on port 9153 of the first listener's address.
// The process is killed and reaped in t.Cleanup; if the test failed, the
// end of its log is printed.
func enumStartServer(t *testing.T, bin, dir string, z *enumZoneData, keyBase string, listeners []enumListener) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	metricsAddr := net.JoinHostPort(listeners[0].addr, "9153")
	var corefile strings.Builder
	for _, l := range listeners {
		zoneFile := filepath.Join(dir, "db."+enumZone+"."+l.addr)
		e2eWrite(t, zoneFile, z.text(l.addr))
		if l.signed {
			out := enumRun(t, dir, nil, 60*time.Second, "ldns-signzone", "-f", zoneFile+".signed", zoneFile, keyBase)
			if out.code != 0 || out.killed {
				t.Fatalf("ldns-signzone failed:\n%s", out.tail(20))
			}
			zoneFile += ".signed"
		}
		fmt.Fprintf(&corefile, "%s:%s {\n    bind %s\n    prometheus %s\n    errors\n", enumZone, enumPort, l.addr, metricsAddr)
		if l.veil != "" {
			fmt.Fprintf(&corefile, "    veil {\n        %s\n    }\n", l.veil)
		}
		if l.transfer {
			corefile.WriteString("    transfer {\n        to *\n    }\n")
		}
		fmt.Fprintf(&corefile, "    file %s\n}\n\n", zoneFile)
	}
	corefilePath := filepath.Join(dir, "Corefile")
	e2eWrite(t, corefilePath, corefile.String())

	e2eRunCoreDNS(t, bin, corefilePath, enumReadyTimeout, func() error {
		for _, l := range listeners {
			if err := enumProbe(l.addr, z.nonce); err != nil {
				return err
			}
		}
		return nil
	}, "free addresses in 127.0.87.0/24")
}

// enumProbe asks a listener, over UDP and TCP, for this run's nonce.
func enumProbe(addr, nonce string) error {
	return e2eProbeNonce(net.JoinHostPort(addr, enumPort), enumRunID+"."+enumZone+".", nonce)
}

// enumScrape fetches /metrics from addr and keeps veil's samples and
// CoreDNS's request and response counters.
func enumScrape(t *testing.T, addr string) e2eMetrics {
	t.Helper()
	return e2eScrapeFrom(t, addr, "coredns_veil_", "coredns_dns_requests_total", "coredns_dns_responses_total")
}

// enumVeilLines returns the coredns_veil_ lines of a scrape for server, and
// its request and response counters.
func enumVeilLines(m e2eMetrics, server string) string {
	var b strings.Builder
	for line := range strings.Lines(m.text) {
		if strings.Contains(line, `server="`+server+`"`) &&
			(strings.HasPrefix(line, "coredns_veil_") || strings.HasPrefix(line, "coredns_dns_")) {
			b.WriteString("  " + line)
		}
	}
	return b.String()
}

// --- running tools ---

// enumOutput is what a tool printed (stdout and stderr interleaved), how it
// exited and whether it was killed at its time budget.
type enumOutput struct {
	cmd    string
	text   string
	code   int
	killed bool
	took   time.Duration
}

// tail returns the command and the last n lines of its output.
func (o enumOutput) tail(n int) string {
	lines := strings.Split(strings.TrimRight(o.text, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return fmt.Sprintf("$ %s   (exit %d, killed %v, %v)\n%s", o.cmd, o.code, o.killed, o.took.Round(time.Millisecond), strings.Join(lines, "\n"))
}

// enumRun runs a program in dir with env (nil: the test's environment) for
// at most budget, in its own process group, which is killed at the budget.
// Being killed is not an error here; a failure to start is fatal.
func enumRun(t *testing.T, dir string, env []string, budget time.Duration, name string, args ...string) enumOutput {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), budget)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if env == nil {
		env = append(os.Environ(), "LC_ALL=C")
	}
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	start := time.Now()
	err := cmd.Run()
	o := enumOutput{cmd: name + " " + strings.Join(args, " "), took: time.Since(start)}
	o.killed = ctx.Err() != nil
	if o.killed && cmd.Process != nil {
		// Anything the tool left in its group goes too.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	o.text = buf.String()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		o.code = ee.ExitCode()
	case o.killed:
		o.code = -1
	default:
		t.Fatalf("%s: %v", o.cmd, err)
	}
	t.Logf("$ %s   (exit %d, %v%s)", o.cmd, o.code, o.took.Round(time.Millisecond), map[bool]string{true: ", killed at its budget"}[o.killed])
	return o
}
