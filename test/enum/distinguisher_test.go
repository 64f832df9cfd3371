package enum

import (
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

// The distinguisher judges what a scanner that knows about decoys learns
// from the answers it got. An answer with records for a name is a hit if
// the name exists, a decoy if it does not (the test knows which). A hit
// counts as learned only if the scanner can tell it is real: it came
// before the first decoy that client got, or its answer differs from every
// decoy that client got in some observable: the rcode, the flags, the
// types and counts of each section, the TTLs (both as read and, where
// they counted down since the client first asked the name, as they were
// then: a resolver's cache counts them down from then, which the client
// knows, so its oldest entries, cached before the first decoy, tell
// nothing), the /24 or /64 of each
// address and for how many names the address answers (1, 2, or more),
// CNAME targets, the size (less the name's own length). Latency is compared
// over the whole sample, the hits after the first decoy against the
// decoys (each at least 1,000), and reported as a Mann-Whitney z: the
// tests log it and do not judge it, since timings are noise on a shared
// machine; BenchmarkDecoyTell measures the difference (decoy_timing_test.go).

// placeholderName stands for the question name when an answer's size is
// compared.
const placeholderName = "q.placeholder.invalid."

// observed is one answer the scanner got.
type observed struct {
	name    string // the question name, lower case
	exists  bool   // the truth: the name exists in the zone
	at      time.Time
	latency time.Duration
	msg     *dns.Msg
}

// positive reports whether o's answer has records: a hit or a decoy.
func (o observed) positive() bool {
	return o.msg != nil && o.msg.Rcode == dns.RcodeSuccess && len(o.msg.Answer) > 0
}

// learnedHit is a hit the scanner can tell is real, and why: "before the
// first decoy" or the observable that sets it apart, with the value no
// decoy showed.
type learnedHit struct {
	observed
	why, value string
}

// observableNames names the observables features returns, by index.
var observableNames = [numObservables]string{"flags", "sections", "TTLs", "TTLs when first asked", "networks", "recurrence", "CNAMEs", "size"}

// verdict is what the distinguisher found.
type verdict struct {
	learned    []learnedHit // hits the scanner can tell are real
	hits       int          // hits in all
	decoys     int
	firstDecoy time.Time // zero if there was none
	z          float64   // latency, hits after the first decoy against decoys; NaN if too few
}

// distinguish judges obs, the answers one client got, in the order it got
// them.
func distinguish(obs []observed) verdict {
	var v verdict
	// How many names each address answers for.
	names := map[netip.Addr]map[string]bool{}
	for _, o := range obs {
		if o.positive() {
			for _, a := range answerAddrs(o.msg) {
				if names[a] == nil {
					names[a] = map[string]bool{}
				}
				names[a][o.name] = true
			}
		}
	}
	recur := map[netip.Addr]int{}
	for a, n := range names {
		recur[a] = min(len(n), 3)
	}
	// The client's first answer for each name: a resolver's cache counts
	// the TTLs down from then.
	first := map[string]observed{}
	for _, o := range obs {
		if f, ok := first[o.name]; !ok || o.at.Before(f.at) {
			first[o.name] = o
		}
	}
	featuresOf := func(o observed) [numObservables]string {
		fs := features(o.msg, o.name, recur)
		fs[obsFirstTTLs] = fs[obsTTLs]
		if f := first[o.name]; f.msg != nil && fs[obsTTLs] != ttls(f.msg, 0) {
			fs[obsFirstTTLs] = ttls(o.msg, o.at.Sub(f.at)) // they counted down
		}
		return fs
	}
	// The values decoys showed, per observable.
	var decoyValues [numObservables]map[string]bool
	for i := range decoyValues {
		decoyValues[i] = map[string]bool{}
	}
	var decoyLat, laterLat []float64
	for _, o := range obs {
		if o.positive() && !o.exists {
			v.decoys++
			if v.firstDecoy.IsZero() {
				v.firstDecoy = o.at
			}
			for i, f := range featuresOf(o) {
				decoyValues[i][f] = true
			}
			decoyLat = append(decoyLat, float64(o.latency))
		}
	}
	for _, o := range obs {
		if !o.positive() || !o.exists {
			continue
		}
		v.hits++
		if v.firstDecoy.IsZero() || o.at.Before(v.firstDecoy) {
			v.learned = append(v.learned, learnedHit{o, "before the first decoy", ""})
			continue
		}
		laterLat = append(laterLat, float64(o.latency))
		fs := featuresOf(o)
		for i, f := range fs {
			if !shown(decoyValues, fs, i) {
				v.learned = append(v.learned, learnedHit{o, "by its " + observableNames[i], f})
				break
			}
		}
	}
	v.z = math.NaN()
	if len(decoyLat) >= 1000 && len(laterLat) >= 1000 {
		v.z = harness.MannWhitneyZ(laterLat, decoyLat)
	}
	return v
}

// shown reports whether some decoy showed observable i's value in fs.
// TTLs tell only if they differ both as read and as they were when the
// client first asked.
func shown(decoyValues [numObservables]map[string]bool, fs [numObservables]string, i int) bool {
	if i == obsTTLs || i == obsFirstTTLs {
		return decoyValues[obsTTLs][fs[obsTTLs]] || decoyValues[obsFirstTTLs][fs[obsFirstTTLs]]
	}
	return decoyValues[i][fs[i]]
}

// learnedNames returns the distinct names of v.learned.
func (v verdict) learnedNames() []string {
	var names []string
	for _, o := range v.learned {
		if !slices.Contains(names, o.name) {
			names = append(names, o.name)
		}
	}
	return names
}

// reasons returns, for the distinct names of v.learned, why each was
// learned (the first reason for a name learned more than once), counted:
// what a failed bound prints.
func (v verdict) reasons() string {
	seen := map[string]bool{}
	count := map[string]int{}
	var order []string
	for _, o := range v.learned {
		if seen[o.name] {
			continue
		}
		seen[o.name] = true
		if count[o.why] == 0 {
			order = append(order, o.why)
		}
		count[o.why]++
	}
	parts := make([]string, len(order))
	for i, why := range order {
		parts[i] = fmt.Sprintf("%d %s", count[why], why)
	}
	return strings.Join(parts, ", ")
}

// examples returns up to n of v's hits learned by an observable, each
// with the value no decoy showed: what a failed bound prints.
func (v verdict) examples(n int) string {
	var out []string
	for _, o := range v.learned {
		if o.value != "" && len(out) < n {
			out = append(out, fmt.Sprintf("%s %s %q at %s", o.name, o.why, o.value, o.at.Format("15:04:05.000")))
		}
	}
	return strings.Join(out, "; ")
}

// answerAddrs returns the addresses in m's answer section.
func answerAddrs(m *dns.Msg) []netip.Addr {
	var out []netip.Addr
	for _, rr := range m.Answer {
		switch a := rr.(type) {
		case *dns.A:
			out = append(out, netip.MustParseAddr(a.A.String()))
		case *dns.AAAA:
			out = append(out, netip.MustParseAddr(a.AAAA.String()))
		}
	}
	return out
}

// features returns, one value per observable, everything observable of
// an answer to qname but what the name itself determines: the rcode and
// flags; the types and counts of each section; the TTLs; the networks of
// the addresses; for how many names each address answers; CNAME targets;
// the size less the name's own length.
func features(m *dns.Msg, qname string, recur map[netip.Addr]int) [numObservables]string {
	var f [numObservables]strings.Builder
	fmt.Fprintf(&f[obsFlags], "%s aa=%v tc=%v rd=%v ra=%v ad=%v cd=%v", dns.RcodeToString[m.Rcode], m.Authoritative, m.Truncated,
		m.RecursionDesired, m.RecursionAvailable, m.AuthenticatedData, m.CheckingDisabled)
	for i, sec := range [][]dns.RR{m.Answer, m.Ns, m.Extra} {
		fmt.Fprintf(&f[obsSections], " |%d", i)
		for _, rr := range sec {
			h := rr.Header()
			fmt.Fprintf(&f[obsSections], " %s", dns.TypeToString[h.Rrtype])
			switch a := rr.(type) {
			case *dns.A:
				ip := netip.MustParseAddr(a.A.String())
				fmt.Fprintf(&f[obsNetworks], " %s", netip.PrefixFrom(ip, 24).Masked())
				fmt.Fprintf(&f[obsRecurrence], " %d", recur[ip])
			case *dns.AAAA:
				ip := netip.MustParseAddr(a.AAAA.String())
				fmt.Fprintf(&f[obsNetworks], " %s", netip.PrefixFrom(ip, 64).Masked())
				fmt.Fprintf(&f[obsRecurrence], " %d", recur[ip])
			case *dns.CNAME:
				fmt.Fprintf(&f[obsCNAMEs], " %s", a.Target)
			}
		}
	}
	f[obsTTLs].WriteString(ttls(m, 0))
	// The size with the question name's own length taken out: the same
	// answer for a longer name is longer by that much.
	c := m.Copy()
	for _, sec := range [][]dns.RR{c.Answer, c.Ns, c.Extra} {
		for _, rr := range sec {
			if strings.EqualFold(rr.Header().Name, qname) {
				rr.Header().Name = placeholderName
			}
		}
	}
	for i := range c.Question {
		c.Question[i].Name = placeholderName
	}
	c.Compress = true
	fmt.Fprintf(&f[obsSize], "%d", c.Len())
	var out [numObservables]string
	for i := range f {
		out[i] = f[i].String()
	}
	return out
}

// ttls returns the TTLs of m's records, each plus age in whole seconds
// (the OPT record's, its flags, as they are).
func ttls(m *dns.Msg, age time.Duration) string {
	var b strings.Builder
	for _, sec := range [][]dns.RR{m.Answer, m.Ns, m.Extra} {
		for _, rr := range sec {
			ttl := int64(rr.Header().Ttl)
			if rr.Header().Rrtype != dns.TypeOPT {
				ttl += int64(age.Round(time.Second) / time.Second)
			}
			fmt.Fprintf(&b, " %d", ttl)
		}
	}
	return b.String()
}

// The observables features returns (obsFirstTTLs is distinguish's).
const (
	obsFlags = iota
	obsSections
	obsTTLs
	obsFirstTTLs // the TTLs as when the client first asked the name, if they counted down since
	obsNetworks
	obsRecurrence
	obsCNAMEs
	obsSize
	numObservables
)
