//go:build e2e && enum

package enum

import (
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

// relayKind is one kind of zone behind veil, with a validating named in
// front of it.
type relayKind struct {
	name             string
	signed           bool
	onTheFly         bool
	veilAddr, named  string // named: its source address to veil
	namedAddr        string // where named listens
	src              string // the scanner, a stub of named
	found, misses    int    // answers with records, misses the scan was answered
	servfail, denied int    // answers that failed; denials veil charged
	learned          int    // names the distinguisher finds the scan learned
}

// relayQPS is how fast the relayed scan asks named.
const relayQPS = 50

// TestEnumRelayedScan relays a scan through a validating resolver (BIND's
// named, a static stub of veil's listener, the zone's key its trust
// anchor, aggressive use of DNSSEC-validated cache on: RFC 8198) and
// reports, per kind of zone, the names the scan learned, the misses it was
// answered and the denials veil saw. On an NSEC-signed zone named answers
// most misses from NSEC records it has cached, so veil sees a fraction of
// them and does not stop the scan: that is NSEC, whatever veil does
// (docs/operations.md). Black lies (the zone signed on the fly) and an
// unsigned zone show veil every miss. (CoreDNS's file plugin does not
// serve NSEC3: it drops the records.) The test fails if that stops being
// so.
func TestEnumRelayedScan(t *testing.T) {
	bin := harness.BuildCoreDNS(t)
	dir := t.TempDir()
	z := newZone(t)
	keyBase := keygen(t, dir)
	anchor := trustAnchor(t, keyBase)
	kinds := []*relayKind{
		{name: "unsigned", veilAddr: "127.0.87.50", named: "127.0.87.60", src: "127.0.10.1"},
		{name: "NSEC", signed: true, veilAddr: "127.0.87.51", named: "127.0.87.61", src: "127.0.10.2"},
		{name: "on the fly", onTheFly: true, veilAddr: "127.0.87.53", named: "127.0.87.63", src: "127.0.10.4"},
	}
	var ls []listener
	for _, k := range kinds {
		ls = append(ls, listener{addr: k.veilAddr, signed: k.signed, onTheFly: k.onTheFly,
			veil: "trusted " + unusedTrusted + "\n        limit"})
	}
	startServer(t, bin, filepath.Join(dir, "relay"), z, keyBase, ls)
	var wg sync.WaitGroup
	for _, k := range kinds {
		ndir := filepath.Join(dir, "named-"+k.named)
		if err := os.MkdirAll(ndir, 0o755); err != nil {
			t.Fatal(err)
		}
		zone := harness.NamedZone{Name: zoneName, Servers: []string{k.veilAddr}}
		if k.signed || k.onTheFly {
			zone.TrustAnchor = anchor
		}
		k.namedAddr = harness.StartNamed(t, ndir, k.named, []harness.NamedZone{zone}).Addr
		wg.Go(func() { relayScan(t, z, k) })
	}
	wg.Wait()
	m := scrape(t, net.JoinHostPort(kinds[0].veilAddr, "9153"))
	var b strings.Builder
	fmt.Fprintf(&b, "%-11s %8s %8s %8s %9s %13s\n", "zone", "found", "learned", "misses", "SERVFAIL", "veil denials")
	for _, k := range kinds {
		k.denied = int(m.Sum("coredns_veil_limiter_denials_total", "server", "dns://"+net.JoinHostPort(k.veilAddr, harness.DNSPort)))
		fmt.Fprintf(&b, "%-11s %8d %8d %8d %9d %13d\n", k.name, k.found, k.learned, k.misses, k.servfail, k.denied)
	}
	t.Logf("a scan relayed through a validating named, %d queries a second:\n%s", relayQPS, b.String())
	for _, k := range kinds {
		switch {
		case k.name == "NSEC" && k.misses < 3*k.denied:
			t.Errorf("NSEC: the scan was answered %d misses and veil saw %d denials; docs/operations.md says named answers most misses from its cache", k.misses, k.denied)
		case k.name != "NSEC" && k.denied < k.misses:
			t.Errorf("%s: the scan was answered %d misses but veil saw only %d denials", k.name, k.misses, k.denied)
		}
	}
}

// relayScan asks k's named, as a stub (recursion desired, EDNS), for the
// zone's guessable names and as many that do not exist, in random order,
// relayQPS a second, and counts what it gets and, by the distinguisher,
// what it learns (decoys are answers with records too).
func relayScan(t *testing.T, z *zoneData, k *relayKind) {
	rng := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 7))
	guesses := mimicGuesses(t, z, rng)
	c := harness.Client("udp", k.src)
	c.Timeout = 3 * time.Second
	tick := time.NewTicker(time.Second / relayQPS)
	defer tick.Stop()
	var mu sync.Mutex
	var wg sync.WaitGroup
	var obs []observed
	for _, g := range guesses {
		<-tick.C
		wg.Go(func() {
			m := new(dns.Msg)
			m.SetQuestion(g+"."+zoneName+".", dns.TypeA)
			m.SetEdns0(1232, false)
			start := time.Now()
			r, _, err := c.Exchange(m, k.namedAddr)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil || r.Rcode == dns.RcodeServerFailure:
				k.servfail++
			case r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0:
				k.found++
			default: // NXDOMAIN, or a black lie's NODATA
				k.misses++
			}
			if err == nil {
				obs = append(obs, observed{name: m.Question[0].Name, exists: z.all[g], at: start, latency: time.Since(start), msg: r})
			}
		})
	}
	wg.Wait()
	slices.SortFunc(obs, func(a, b observed) int { return a.at.Compare(b.at) })
	k.learned = len(distinguish(obs).learnedNames())
}

// trustAnchor returns a trust-anchors clause for the key whose files start
// with keyBase.
func trustAnchor(t *testing.T, keyBase string) string {
	t.Helper()
	b, err := os.ReadFile(keyBase + ".key")
	if err != nil {
		t.Fatal(err)
	}
	rr, err := dns.NewRR(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	k := rr.(*dns.DNSKEY)
	return harness.SigningKey{DNSKEY: k}.TrustAnchor()
}
