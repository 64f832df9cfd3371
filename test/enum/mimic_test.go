//go:build e2e && enum

package enum

import (
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

// A scanner that mimics a resolver to learn the zone's names: it asks like
// a resolver (RD=0, EDNS 1232 with DO, over UDP and TCP), half its guesses
// hit, and it pads its stream with questions whose answers cost it nothing
// (the apex SOA, names it already learned). The zone has neither a
// wildcard nor a delegation (zone_test.go), so there is no free positive
// answer for random names and no referral to pad with: the padding is the
// apex SOA, the names the zone publishes (NS, MX targets) and the names
// learned so far.
const (
	mimicMinutesEnv = "VEIL_MIMIC_MINUTES" // how many minutes each variant runs; 10 for the long run
	mimicMaxQPS     = 500                  // queries a second, at most
	mimicTimeout    = 500 * time.Millisecond
	mimicControlGap = 10 // a control name after every this many guesses

	// The bound the limiter's defaults hold a resolver-like scanner to,
	// counted by the distinguisher (distinguisher_test.go): names learned
	// in the first minute, and in ten minutes (per /32).
	mimicMaxFirstMinute = 20
	mimicMaxTenMinutes  = 60
	// On the zone signed on the fly, asked with DO, every answer carries
	// DNSSEC records, which no decoy can imitate: the scanner is blocked
	// at respond block's limits (a denial counts 1/15 of one, so burst 5
	// becomes 75), as it was before decoys (131 in the first minute with
	// rate 15 and burst 100).
	mimicMaxSignedFirstMinute = 110
	mimicMaxSignedTenMinutes  = 150
)

// mimicVariant is one run of the mimic scanner: pad padding questions per
// guess, against its own CoreDNS at addr (serving the zone signed on the
// fly by the dnssec plugin, if onTheFly), from src.
type mimicVariant struct {
	name      string
	pad       int
	addr, src string
	onTheFly  bool
}

// mimicMinute is what the scanner did in one minute: names learned (by the
// distinguisher), queries sent, guesses among them, answers that were
// decoys, and queries blocked (no answer, TC=1 or REFUSED).
type mimicMinute struct {
	learned, sent, guesses, decoys, limited int
}

// TestEnumMimicScanner runs the mimic scanner unpadded (0:1) and padded
// at 1:1 and 5:1 (padding:guesses), in parallel, each against a fresh
// CoreDNS with veil's limiter at its defaults, for VEIL_MIMIC_MINUTES
// minutes (default 1), prints the names learned per minute and fails if
// any minute exceeds the variant's regression guard.
func TestEnumMimicScanner(t *testing.T) {
	minutes := mimicMinutes(t)
	bin := harness.BuildCoreDNS(t)
	dir := t.TempDir()
	z := newZone(t)
	keyBase := keygen(t, dir)
	// The unpadded scanner also runs against the zone signed on the fly,
	// where every miss is a black lie: held to the same guard.
	variants := []mimicVariant{
		{name: "0:1", pad: 0, addr: "127.0.87.42", src: "127.0.8.42"},
		{name: "1:1", pad: 1, addr: "127.0.87.40", src: "127.0.8.40"},
		{name: "5:1", pad: 5, addr: "127.0.87.41", src: "127.0.8.41"},
		{name: "0:1 fly", pad: 0, addr: "127.0.87.43", src: "127.0.8.43", onTheFly: true},
	}
	results := make([][]mimicMinute, len(variants))
	var wg sync.WaitGroup
	for i, v := range variants {
		startServer(t, bin, filepath.Join(dir, "mimic-"+v.addr), z, keyBase, []listener{
			{addr: v.addr, onTheFly: v.onTheFly, veil: "trusted " + trustedSrc + "\n        limit"},
		})
		wg.Go(func() {
			t.Run(strings.ReplaceAll(strings.ReplaceAll(v.name, ":", "to"), " ", "_"), func(t *testing.T) {
				var why string
				results[i], why = runMimic(t, z, v, minutes)
				total := 0
				for _, r := range results[i] {
					total += r.learned
				}
				first, ten := mimicMaxFirstMinute, mimicMaxTenMinutes
				if v.onTheFly {
					first, ten = mimicMaxSignedFirstMinute, mimicMaxSignedTenMinutes
				}
				if got := results[i][0].learned; got > first {
					t.Errorf("padding %s: learned %d names in the first minute, more than %d (%s)", v.name, got, first, why)
				}
				if total > ten*max(minutes, 10)/10 {
					t.Errorf("padding %s: learned %d names in %d minutes, more than %d in ten (%s)", v.name, total, minutes, ten, why)
				}
			})
		})
	}
	wg.Wait()

	var b strings.Builder
	fmt.Fprintf(&b, "%-8s", "minute")
	for _, v := range variants {
		fmt.Fprintf(&b, " | %-7s %7s %7s %7s %7s %7s", v.name, "learned", "sent", "guesses", "decoys", "limited")
	}
	b.WriteString("\n")
	totals := make([]int, len(variants))
	for m := range minutes {
		fmt.Fprintf(&b, "%-8d", m+1)
		for i := range variants {
			var r mimicMinute
			if m < len(results[i]) {
				r = results[i][m]
			}
			totals[i] += r.learned
			fmt.Fprintf(&b, " | %-7s %7d %7d %7d %7d %7d", "", r.learned, r.sent, r.guesses, r.decoys, r.limited)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "%-8s", "total")
	for i := range variants {
		fmt.Fprintf(&b, " | %-7s %7d %39s", "", totals[i], "")
	}
	t.Logf("mimic scanner, names learned per minute of %d guessable (zone of %d names):\n%s",
		nameCount-len(z.special), nameCount, b.String())
}

// mimicMinutes reads VEIL_MIMIC_MINUTES (default 1, at most 60).
func mimicMinutes(t *testing.T) int {
	s := os.Getenv(mimicMinutesEnv)
	if s == "" {
		return 1
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > 60 {
		t.Fatalf("%s=%q: want a number of minutes from 1 to 60", mimicMinutesEnv, s)
	}
	return n
}

// mimicGuesses returns the scanner's guesses, shuffled: every name of the
// zone but the ones it learns without guessing, and as many random labels
// that do not exist.
func mimicGuesses(t *testing.T, z *zoneData, rng *mrand.Rand) []string {
	var gs []string
	for _, l := range z.labels {
		if !z.special[l] {
			gs = append(gs, l)
		}
	}
	hits := len(gs)
	seen := map[string]bool{}
	for i := 0; len(gs) < 2*hits && i < 100*hits; i++ {
		b := make([]byte, 9)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		l := make([]byte, len(b))
		for j, c := range b {
			l[j] = "abcdefghijklmnopqrstuvwxyz0123456789"[int(c)%36]
		}
		if s := string(l); !z.all[s] && !seen[s] {
			seen[s] = true
			gs = append(gs, s)
		}
	}
	rng.Shuffle(len(gs), func(i, j int) { gs[i], gs[j] = gs[j], gs[i] })
	return gs
}

// mimicConns are the scanner's two sockets, a UDP and a TCP one, both
// from its source address; it uses them in turn.
type mimicConns struct {
	src, addr string
	udp, tcp  *dns.Conn
}

// exchange sends m over UDP or TCP and returns the reply, reconnecting a
// socket that failed on its next use.
func (c *mimicConns) exchange(m *dns.Msg, tcp bool) (*dns.Msg, error) {
	conn := &c.udp
	network := "udp"
	var local net.Addr = &net.UDPAddr{IP: net.ParseIP(c.src)}
	if tcp {
		conn, network, local = &c.tcp, "tcp", &net.TCPAddr{IP: net.ParseIP(c.src)}
	}
	if *conn == nil {
		d := &net.Dialer{Timeout: mimicTimeout, LocalAddr: local}
		nc, err := d.Dial(network, c.addr)
		if err != nil {
			return nil, err
		}
		*conn = &dns.Conn{Conn: nc, UDPSize: 1232}
	}
	co := *conn
	co.SetDeadline(time.Now().Add(mimicTimeout))
	if err := co.WriteMsg(m); err != nil {
		co.Close()
		*conn = nil
		return nil, err
	}
	// Over UDP a late answer to an earlier question may come first.
	for range 16 {
		r, err := co.ReadMsg()
		if err != nil {
			if tcp {
				co.Close()
				*conn = nil
			}
			return nil, err
		}
		if r.Id == m.Id {
			return r, nil
		}
	}
	return nil, fmt.Errorf("no answer with id %d", m.Id)
}

// hasNSEC reports whether m's authority section holds an NSEC record.
func hasNSEC(m *dns.Msg) bool {
	for _, rr := range m.Ns {
		if rr.Header().Rrtype == dns.TypeNSEC {
			return true
		}
	}
	return false
}

// close closes both sockets.
func (c *mimicConns) close() {
	for _, co := range []*dns.Conn{c.udp, c.tcp} {
		if co != nil {
			co.Close()
		}
	}
}

// runMimic runs the mimic scanner of v for minutes and returns what it did
// each minute, with the names learned counted by the distinguisher. Once
// every guess has an answer it starts over with new misses. After
// every mimicControlGap guesses it asks for a control name, one it knows
// does not exist, as a scanner that knows about decoys would. A guess
// answered with neither records nor NXDOMAIN (no answer, TC=1, REFUSED)
// goes back to the end of the queue; one answered with records counts as
// found, and the names found pad the stream.
func runMimic(t *testing.T, z *zoneData, v mimicVariant, minutes int) ([]mimicMinute, string) {
	seed := uint64(time.Now().UnixNano())
	rng := mrand.New(mrand.NewPCG(seed, uint64(v.pad)))
	queue := mimicGuesses(t, z, rng)
	conns := &mimicConns{src: v.src, addr: net.JoinHostPort(v.addr, harness.DNSPort)}
	defer conns.close()

	apex := zoneName + "."
	free := []string{nsLabel + "." + apex, mxLabel + "." + apex} // published by NS and MX
	var found []string
	seen := map[string]bool{}
	var obs []observed
	res := make([]mimicMinute, minutes)
	begin := time.Now()
	end := begin.Add(time.Duration(minutes) * time.Minute)
	next := begin
	tcp := false
	padLeft, guessesLeft := v.pad, mimicControlGap
	for i := 0; i < minutes*60*mimicMaxQPS; i++ {
		if len(queue) == 0 {
			// Every guess answered: check them all again, with new
			// misses, as a scanner that suspects decoys does.
			queue = mimicGuesses(t, z, rng)
		}
		now := time.Now()
		if !now.Before(end) {
			break
		}
		if now.Before(next) {
			time.Sleep(next.Sub(now))
		}
		next = time.Now().Add(time.Second / mimicMaxQPS)
		minute := min(int(time.Since(begin)/time.Minute), minutes-1)

		m := new(dns.Msg)
		guess, control := "", false
		switch {
		case padLeft > 0:
			padLeft--
			switch p := rng.IntN(3); {
			case p == 0:
				m.SetQuestion(apex, dns.TypeSOA)
			case p == 1 && len(found) > 0:
				m.SetQuestion(found[rng.IntN(len(found))], dns.TypeA)
			default:
				m.SetQuestion(free[rng.IntN(len(free))], dns.TypeA)
			}
		case guessesLeft == 0:
			guessesLeft, control = mimicControlGap, true
			guess = fmt.Sprintf("ctl%08x", rng.Uint32())
			m.SetQuestion(guess+"."+apex, dns.TypeA)
		default:
			padLeft = v.pad
			guessesLeft--
			guess, queue = queue[0], queue[1:]
			m.SetQuestion(guess+"."+apex, dns.TypeA)
			res[minute].guesses++
		}
		m.RecursionDesired = false
		m.SetEdns0(1232, true)
		start := time.Now()
		r, err := conns.exchange(m, tcp)
		latency := time.Since(start)
		tcp = !tcp
		res[minute].sent++
		blocked := err != nil || r.Truncated && len(r.Answer) == 0 || r.Rcode == dns.RcodeRefused
		if blocked {
			res[minute].limited++
		}
		if guess == "" {
			continue
		}
		if !blocked {
			o := observed{name: guess + "." + apex, exists: z.all[guess], at: start, latency: latency, msg: r}
			obs = append(obs, o)
			if o.positive() && !o.exists {
				res[minute].decoys++
			}
		}
		switch {
		case control:
		case !blocked && r.Rcode == dns.RcodeSuccess && len(r.Answer) > 0:
			if !seen[guess] {
				seen[guess] = true
				found = append(found, guess+"."+apex)
			}
		case !blocked && r.Rcode == dns.RcodeNameError:
			// a miss: the scanner knows the name does not exist
		case !blocked && r.Rcode == dns.RcodeSuccess && hasNSEC(r):
			// a black lie of online signing: no name with an address
		default:
			queue = append(queue, guess)
		}
	}
	verdict := distinguish(obs)
	counted := map[string]bool{}
	for _, o := range verdict.learned {
		if !counted[o.name] {
			counted[o.name] = true
			res[min(int(o.at.Sub(begin)/time.Minute), minutes-1)].learned++
		}
	}
	t.Logf("padding %s from %s: found %d names (%d real, %d of them learned: %s; the first decoy at %v), %d decoys, latency z %.2f (logged, not judged: BenchmarkDecoyTell times it), in %v (seed %d), %d guesses left",
		v.name, v.src, len(found), verdict.hits, len(verdict.learnedNames()), verdict.reasons(), sinceOr(verdict.firstDecoy, begin),
		verdict.decoys, verdict.z, time.Since(begin).Round(time.Second), seed, len(queue))
	return res, verdict.reasons() + "; " + verdict.examples(5)
}

// sinceOr returns t since begin, or "never" for a zero t.
func sinceOr(t, begin time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Sub(begin).Round(time.Millisecond).String()
}
