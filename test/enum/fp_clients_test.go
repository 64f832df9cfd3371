//go:build e2e && enum

package enum

import (
	"fmt"
	mrand "math/rand/v2"
	"net"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

// paced calls fn(i) in a goroutine of its own once every interval, at
// most fpMaxInFlight at a time, until n calls or fpDuration (and a second
// of slack), whichever comes first, and waits for the calls to return.
func paced(every time.Duration, n int, fn func(i int)) {
	sem := make(chan struct{}, fpMaxInFlight)
	var wg sync.WaitGroup
	tick := time.NewTicker(every)
	defer tick.Stop()
	deadline := time.Now().Add(fpDuration + time.Second)
	for i := 0; i < n && time.Now().Before(deadline); i++ {
		<-tick.C
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			fn(i)
		})
	}
	wg.Wait()
}

// busyStream returns the questions of a busy resolver's clients, total of
// them: hosts drawn Zipf-like, each looked up for A and AAAA (85 % of the
// lookups), MX (4 % the domain's, 1 % a host's: NODATA), TXT (half the
// apex's SPF record, half a host's: mostly NODATA) and 5 % typos, looked
// up for A and AAAA (NXDOMAIN).
func busyStream(rng *mrand.Rand, f *fpZone, total int) []checkedQuery {
	host := f.zipf(rng)
	apex := zoneName + "."
	qs := make([]checkedQuery, 0, total+1)
	for len(qs) < total {
		switch p := rng.IntN(100); {
		case p < 85:
			h := host()
			qs = append(qs, f.want(h, dns.TypeA), f.want(h, dns.TypeAAAA))
		case p < 89:
			qs = append(qs, f.want(apex, dns.TypeMX))
		case p < 90:
			qs = append(qs, f.want(host(), dns.TypeMX))
		case p < 95:
			name := apex
			if p >= 93 {
				name = host()
			}
			qs = append(qs, f.want(name, dns.TypeTXT))
		default:
			h := f.typo(rng)
			qs = append(qs, f.want(h, dns.TypeA), f.want(h, dns.TypeAAAA))
		}
	}
	return qs[:total]
}

// busyResolver plays a busy resolver (RD=0, EDNS 1232) whose clients ask
// fpBusyQPS questions a second (busyStream) for fpDuration, sent from srcs
// in turn, each from a new UDP socket. With cache, a question is sent
// only when its name and type are not in a ttlCache.
func busyResolver(t *testing.T, f *fpZone, s *fpStats, srcs []string, cache bool) {
	seed := uint64(time.Now().UnixNano())
	rng := mrand.New(mrand.NewPCG(seed, uint64(len(srcs))))
	total := fpBusyQPS * int(fpDuration/time.Second)
	qs := busyStream(rng, f, total)
	c := newTTLCache()
	paced(time.Second/fpBusyQPS, total, func(i int) {
		q := qs[i]
		if cache && c.fresh(q.name, q.qtype) {
			s.hit()
			return
		}
		r := f.exchange(s, srcs[i%len(srcs)], q)
		if cache {
			c.store(q.name, q.qtype, r)
		}
	})
	t.Logf("%s: seed %d", s.name, seed)
}

// qminResolver plays a QNAME-minimising resolver (RFC 9156; RD=0, EDNS
// 1232, no cache) that resolves fpQminLookups names a second for
// fpDuration: half of them hosts (A; one label below the zone cut, asked
// at once), 30 % names below a host (_dmarc TXT, _25._tcp TLSA, _sip._udp
// SRV: NS for the host, NODATA, then NS for the next label or the final
// question, NXDOMAIN, where it stops, RFC 8020), 10 % a name below a typo
// (NS for the typo, NXDOMAIN) and 10 % the domain's MX or TXT.
func qminResolver(t *testing.T, f *fpZone, s *fpStats) {
	seed := uint64(time.Now().UnixNano())
	rng := mrand.New(mrand.NewPCG(seed, 9156))
	var mu sync.Mutex
	draw := func() (string, uint16) {
		mu.Lock()
		defer mu.Unlock()
		host := f.zipf(rng)
		switch p := rng.IntN(100); {
		case p < 50:
			return host(), dns.TypeA
		case p < 80:
			prefix := []string{"_dmarc.", "_25._tcp.", "_sip._udp."}[rng.IntN(3)]
			qt := map[string]uint16{"_dmarc.": dns.TypeTXT, "_25._tcp.": dns.TypeTLSA, "_sip._udp.": dns.TypeSRV}[prefix]
			return prefix + host(), qt
		case p < 90:
			return "www." + f.typo(rng), dns.TypeA
		case p < 95:
			return zoneName + ".", dns.TypeMX
		default:
			return zoneName + ".", dns.TypeTXT
		}
	}
	n := fpQminLookups * int(fpDuration/time.Second)
	paced(time.Second/fpQminLookups, n, func(int) {
		name, qt := draw()
		resolveMinimised(f, s, fpQminSrc, name, qt)
	})
	t.Logf("%s: seed %d", s.name, seed)
}

// resolveMinimised resolves (name, qt) below the zone cut at the apex the
// QNAME-minimising way: NS for each ancestor, one label more each time,
// stopping at an NXDOMAIN, then the question itself.
func resolveMinimised(f *fpZone, s *fpStats, src, name string, qt uint16) {
	below, _ := strings.CutSuffix(name, "."+zoneName+".")
	labels := dns.SplitDomainName(below)
	for k := 1; k < len(labels); k++ {
		anc := strings.Join(labels[len(labels)-k:], ".") + "." + zoneName + "."
		q := f.want(anc, dns.TypeNS)
		r := f.exchange(s, src, q)
		if r == nil || r.Rcode == dns.RcodeNameError {
			return
		}
	}
	f.exchange(s, src, f.want(name, qt))
}

// validatingResolver plays a validating resolver on the signed zone (RD=0,
// EDNS 1232, DO=1): it fetches the DNSKEY (and asks the apex for DS), then
// looks up fpValidLookups hosts a second for fpDuration, A and AAAA, with
// a DS question for 10 % of the hosts (a validator looking for a zone cut:
// NODATA with NSEC) and 5 % typos (NXDOMAIN with NSEC).
func validatingResolver(t *testing.T, f *fpZone, s *fpStats) {
	apex := zoneName + "."
	f.exchange(s, fpValidSrc, f.want(apex, dns.TypeDNSKEY))
	f.exchange(s, fpValidSrc, f.want(apex, dns.TypeDS))
	seed := uint64(time.Now().UnixNano())
	rng := mrand.New(mrand.NewPCG(seed, 4033))
	host := f.zipf(rng)
	var mu sync.Mutex
	n := fpValidLookups * int(fpDuration/time.Second)
	paced(time.Second/fpValidLookups, n, func(int) {
		mu.Lock()
		p := rng.IntN(100)
		h := host()
		if p < 5 {
			h = f.typo(rng)
		}
		mu.Unlock()
		if p >= 5 && p < 15 {
			f.exchange(s, fpValidSrc, f.want(h, dns.TypeDS))
		}
		f.exchange(s, fpValidSrc, f.want(h, dns.TypeA))
		f.exchange(s, fpValidSrc, f.want(h, dns.TypeAAAA))
	})
	t.Logf("%s: seed %d", s.name, seed)
}

// monitoringProbe plays a monitoring probe on an exempt address that asks
// for a missing name fpProbeQPS times a second for fpDuration: NXDOMAIN
// every time.
func monitoringProbe(t *testing.T, f *fpZone, s *fpStats) {
	n := fpProbeQPS * int(fpDuration/time.Second)
	paced(time.Second/fpProbeQPS, n, func(i int) {
		name := fmt.Sprintf("monitoring-missing-%d-%s.%s.", i, f.z.nonce, zoneName)
		f.exchange(s, fpExemptSrc, f.want(name, dns.TypeA))
	})
	t.Logf("%s: %d missing names", s.name, n)
}

// digPerson plays a person who looks up fpDigNames names with the real
// dig (its defaults: RD=1, EDNS) from fpDigSrc, one every
// fpDuration/fpDigNames, fpDigTypos of them typos.
func digPerson(t *testing.T, f *fpZone, s *fpStats) {
	seed := uint64(time.Now().UnixNano())
	rng := mrand.New(mrand.NewPCG(seed, 1983))
	host := f.zipf(rng)
	typoAt := map[int]bool{}
	for len(typoAt) < fpDigTypos {
		typoAt[rng.IntN(fpDigNames)] = true
	}
	var names []string
	for i := range fpDigNames {
		if typoAt[i] {
			names = append(names, f.typo(rng))
		} else {
			names = append(names, host())
		}
	}
	server, _, _ := net.SplitHostPort(f.addr)
	paced(fpDuration/fpDigNames, fpDigNames, func(i int) {
		q := f.want(names[i], dns.TypeA)
		q.rd = true
		out := harness.RunBounded(t, harness.Command{Budget: 10 * time.Second}, "dig", "-b", fpDigSrc, "@"+server, "-p", harness.DNSPort,
			"+tries=1", "+time=2", q.name, "A")
		r, err := parseDig(out.Text)
		if err == nil && !r.RecursionDesired {
			err = fmt.Errorf("dig sent RD=0? reply has no rd flag:\n%s", out.Text)
		}
		if err == nil && r.IsEdns0() == nil {
			err = fmt.Errorf("no EDNS in the reply:\n%s", out.Text)
		}
		s.record(q, r, err)
	})
	t.Logf("%s: seed %d", s.name, seed)
}

var (
	digStatus = regexp.MustCompile(`status: ([A-Z]+)`)
	digFlags  = regexp.MustCompile(`;; flags: ([a-z ]*);`)
	digEDE    = regexp.MustCompile(`; EDE: (\d+)`)
)

// parseDig rebuilds the reply from dig's default output: header, flags,
// EDNS and EDE, question, answer and authority sections. A dig that got
// no answer is an error.
func parseDig(text string) (*dns.Msg, error) {
	st := digStatus.FindStringSubmatch(text)
	fl := digFlags.FindStringSubmatch(text)
	if st == nil || fl == nil {
		return nil, fmt.Errorf("no answer: %s", strings.TrimSpace(text))
	}
	m := new(dns.Msg)
	m.Rcode = dns.StringToRcode[st[1]]
	for _, f := range strings.Fields(fl[1]) {
		switch f {
		case "aa":
			m.Authoritative = true
		case "tc":
			m.Truncated = true
		case "rd":
			m.RecursionDesired = true
		}
	}
	if strings.Contains(text, "; EDNS: version: 0") {
		m.SetEdns0(1232, false)
		if e := digEDE.FindStringSubmatch(text); e != nil {
			var code uint16
			fmt.Sscan(e[1], &code)
			o := m.IsEdns0()
			o.Option = append(o.Option, &dns.EDNS0_EDE{InfoCode: code})
		}
	}
	section := ""
	for line := range strings.Lines(text) {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, ";; ") && strings.HasSuffix(line, " SECTION:"):
			section = strings.TrimSuffix(strings.TrimPrefix(line, ";; "), " SECTION:")
		case line == "":
			section = ""
		case section == "QUESTION":
			fs := strings.Fields(strings.TrimPrefix(line, ";"))
			if len(fs) == 3 {
				m.Question = append(m.Question, dns.Question{Name: fs[0], Qtype: dns.StringToType[fs[2]], Qclass: dns.ClassINET})
			}
		case section == "ANSWER" || section == "AUTHORITY":
			rr, err := dns.NewRR(line)
			if err != nil {
				return nil, fmt.Errorf("dig's %s line %q: %w", section, line, err)
			}
			if section == "ANSWER" {
				m.Answer = append(m.Answer, rr)
			} else {
				m.Ns = append(m.Ns, rr)
			}
		}
	}
	return m, nil
}
