//go:build e2e && enum

package enum

import (
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

// The relayed brute force: a scanner asks a recursive resolver (BIND's
// named, a static stub of veil's listener) for guesses while the
// resolver's users ask it for names it has not cached.
const (
	relayBruteFor     = time.Minute
	relayBruteQPS     = 50  // the scanner's questions a second
	relayUsers        = 150 // names the users look up during the scan
	relayUserMaxDelay = 200 * time.Millisecond
)

// TestEnumRelayedBruteForce: a brute force relayed through a recursive
// resolver makes veil flag the resolver, whose users lose nothing: each of
// relayUsers lookups of a name that exists (none of which the resolver has
// cached: the scanner never asks for them) is answered correctly within
// relayUserMaxDelay, and the scan, counted by the distinguisher, learns at
// most mimicMaxFirstMinute names in its minute.
func TestEnumRelayedBruteForce(t *testing.T) {
	bin := harness.BuildCoreDNS(t)
	dir := t.TempDir()
	z := newZone(t)
	const veilAddr, namedSrc, scanner, user = "127.0.87.54", "127.0.87.64", "127.0.10.5", "127.0.10.6"
	startServer(t, bin, filepath.Join(dir, "brute"), z, keygen(t, dir), []listener{
		{addr: veilAddr, veil: "trusted " + unusedTrusted + "\n        limit"},
	})
	ndir := filepath.Join(dir, "named")
	if err := os.MkdirAll(ndir, 0o755); err != nil {
		t.Fatal(err)
	}
	named := harness.StartNamed(t, ndir, namedSrc, []harness.NamedZone{{Name: zoneName, Servers: []string{veilAddr}}})

	rng := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 11))
	var names []string
	for _, l := range z.labels {
		if !z.special[l] && !slices.Contains(z.nested, l) {
			names = append(names, l)
		}
	}
	rng.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	users, hits := names[:relayUsers], names[relayUsers:]
	exp := z.expectations(t, veilAddr)

	var wg sync.WaitGroup
	var obs []observed
	wg.Go(func() { obs = relayBrute(z, hits, named.Addr, scanner, rng) })
	var slow, wrong []string
	wg.Go(func() {
		every := relayBruteFor / relayUsers
		for i, l := range users {
			time.Sleep(every / 2)
			name := l + "." + zoneName + "."
			start := time.Now()
			r, _, err := harness.Client("udp", user).Exchange(harness.AQuery(name), named.Addr)
			took := time.Since(start)
			switch {
			case err != nil || r.Rcode != dns.RcodeSuccess || !sameAs(r.Answer, exp[rrsetKey{name: name, qtype: dns.TypeA}]):
				wrong = append(wrong, fmt.Sprintf("%d %s: %v %v", i, name, err, r))
			case took > relayUserMaxDelay:
				slow = append(slow, fmt.Sprintf("%s in %v", name, took.Round(time.Millisecond)))
			}
			time.Sleep(every - every/2)
		}
	})
	wg.Wait()
	v := distinguish(obs)
	t.Logf("relayed brute force: %d answers, %d real names among them, %d decoys, %d names learned (%s; the first decoy at %v; %s); users: %d of %d answered correctly, %d slower than %v",
		len(obs), v.hits, v.decoys, len(v.learnedNames()), v.reasons(), v.firstDecoy.Sub(obs[0].at).Round(time.Millisecond), v.examples(8),
		relayUsers-len(wrong), relayUsers, len(slow), relayUserMaxDelay)
	if len(wrong) > 0 {
		t.Errorf("%d of the users' %d lookups not answered correctly, for example %v", len(wrong), relayUsers, wrong[:min(len(wrong), 3)])
	}
	if len(slow) > 0 {
		t.Errorf("%d of the users' lookups took longer than %v: %v", len(slow), relayUserMaxDelay, slow[:min(len(slow), 5)])
	}
	if n := len(v.learnedNames()); n > mimicMaxFirstMinute {
		t.Errorf("the relayed scan learned %d names in its minute, more than %d (%s; %s)", n, mimicMaxFirstMinute, v.reasons(), v.examples(5))
	}
	if v.decoys == 0 {
		t.Error("the relayed scan got no decoy: veil never flagged the resolver")
	}
}

// relayBrute asks the resolver at addr, from src as a stub, for the hit
// names and as many misses, in random order, with a control name after
// every mimicControlGap guesses, relayBruteQPS a second for relayBruteFor,
// asking every guess again, in a new order, once all are answered, and
// returns what it got. (Asked again, hits and decoys alike come from the
// resolver's cache, their TTLs counting down.)
func relayBrute(z *zoneData, hits []string, addr, src string, rng *mrand.Rand) []observed {
	all := slices.Clone(hits)
	for range hits {
		all = append(all, fmt.Sprintf("miss%08x", rng.Uint32()))
	}
	guesses := func() []string {
		gs := slices.Clone(all)
		rng.Shuffle(len(gs), func(i, j int) { gs[i], gs[j] = gs[j], gs[i] })
		return gs
	}
	queue := guesses()
	c := harness.Client("udp", src)
	c.Timeout = 3 * time.Second
	tick := time.NewTicker(time.Second / relayBruteQPS)
	defer tick.Stop()
	var mu sync.Mutex
	var wg sync.WaitGroup
	var obs []observed
	end := time.Now().Add(relayBruteFor)
	for i := 0; time.Now().Before(end); i++ {
		<-tick.C
		if len(queue) == 0 {
			queue = guesses()
		}
		g := queue[0]
		if i%(mimicControlGap+1) == mimicControlGap {
			g = fmt.Sprintf("ctl%08x", rng.Uint32())
		} else {
			queue = queue[1:]
		}
		wg.Go(func() {
			name := g + "." + zoneName + "."
			start := time.Now()
			r, _, err := c.Exchange(harness.AQuery(name), addr)
			if err != nil {
				return
			}
			mu.Lock()
			obs = append(obs, observed{name: name, exists: z.all[g], at: start, latency: time.Since(start), msg: r})
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.SortFunc(obs, func(a, b observed) int { return a.at.Compare(b.at) })
	return obs
}

// sameAs reports whether rrs are exactly want (rr.String() sorted), TTLs
// aside (a resolver counts them down).
func sameAs(rrs []dns.RR, want []string) bool {
	var got []string
	for _, rr := range rrs {
		c := dns.Copy(rr)
		c.Header().Ttl = 3600
		got = append(got, c.String())
	}
	slices.Sort(got)
	return slices.Equal(got, want)
}
