package tokens

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

// absentCorefile serves absent.test from {zonefile}, with {veil},
// {cache} and {dnssec} replaced by a veil block, a cache line and a dnssec
// block that signs the zone on the fly, or by nothing.
const absentCorefile = `absent.test:{port} {
	bind 127.0.0.1
	{veil}
	{cache}
	{dnssec}
	file {zonefile} absent.test
}`

// absentVeil is the veil block of every guarded server of absent_test.go.
const absentVeil = "veil {\n trusted 127.0.0.1/32\n limit off\n }"

// absentHidden is the number of lines of testdata/absent.zone marked
// "; hidden": the TXT records veil's default policy hides.
const absentHidden = 33

// absentServer starts absentCorefile with the given veil block, cache line,
// on-the-fly signing (the key's base path, or "" for none) and zone file.
func absentServer(t testing.TB, veilBlock, cache, signKey, zonefile string) harness.Server {
	t.Helper()
	signing := ""
	if signKey != "" {
		signing = "dnssec absent.test {\n\t\tkey file " + signKey + "\n\t}"
	}
	return harness.StartServer(t, strings.NewReplacer("{veil}", veilBlock, "{cache}", cache, "{dnssec}", signing, "{zonefile}", zonefile).Replace(absentCorefile))
}

// removedAbsentZone writes testdata/absent.zone without its lines marked
// "; hidden": the zone as an external client must see it.
func removedAbsentZone(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	removed := 0
	for line := range strings.Lines(harness.ReadTestdata(t, "absent.zone")) {
		if strings.HasSuffix(strings.TrimRight(line, "\r\n"), "; hidden") {
			removed++
			continue
		}
		b.WriteString(line)
	}
	if removed != absentHidden {
		t.Fatalf("removed %d records from absent.zone, want %d: the zone or the marks changed", removed, absentHidden)
	}
	path := filepath.Join(t.TempDir(), "absent.removed.zone")
	harness.WriteFile(t, path, b.String())
	return path
}

// absentPair is two servers that must answer a client from src byte for
// byte alike.
type absentPair struct {
	label     string // "external", "external+cache", ...
	src       string // the client's source address
	guarded   harness.Server
	reference harness.Server
}

// absentVariant is how a query is sent: with or without EDNS, DO or not.
type absentVariant struct {
	label     string
	edns, do  bool
	onlyTypes []uint16 // nil: every query type
}

// absentCase is one query sent to both servers of a pair in both rounds,
// with the packed answers: got from the guarded server, want from the
// reference.
type absentCase struct {
	pair        *absentPair
	class, name string
	qtype       uint16
	variant     absentVariant
	network     string
	id          uint16
	sent        time.Time // when round 1 sent it
	got, want   [2][]byte
}

// query returns c's query message.
func (c *absentCase) query() *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(c.name, c.qtype)
	m.Id = c.id
	if c.variant.edns {
		m.SetEdns0(1232, c.variant.do)
	}
	return m
}

// absentConns keeps one connection per server, source address and
// transport, so that thousands of queries neither dial thousands of
// sockets nor slow down as TCP ports pile up in TIME_WAIT.
type absentConns map[string]*dns.Conn

// exchange sends m to addr from src over network on a kept connection,
// dialling it again once if the server closed it, and returns the answer
// packed.
func (cs absentConns) exchange(t *testing.T, network, src, addr string, m *dns.Msg) []byte {
	t.Helper()
	key := network + " " + src + " " + addr
	client := harness.Client(network, src)
	for attempt := 0; ; attempt++ {
		conn := cs[key]
		if conn == nil {
			var err error
			if conn, err = client.Dial(addr); err != nil {
				t.Fatalf("%s dial %s from %s: %v", network, addr, src, err)
			}
			cs[key] = conn
		}
		r, _, err := client.ExchangeWithConn(m, conn)
		if err == nil {
			return harness.MustPack(t, r)
		}
		conn.Close()
		delete(cs, key)
		if attempt > 0 {
			t.Fatalf("%s query %v from %s to %s: %v", network, m.Question, src, addr, err)
		}
	}
}

// close closes every kept connection.
func (cs absentConns) close() {
	for _, conn := range cs {
		conn.Close()
	}
}

// exchange sends c's query to the guarded server, then at once to the
// reference, and keeps both answers for round r (0 or 1).
func (c *absentCase) exchange(t *testing.T, cs absentConns, r int) {
	t.Helper()
	c.got[r] = cs.exchange(t, c.network, c.pair.src, c.pair.guarded.Addr, c.query())
	c.want[r] = cs.exchange(t, c.network, c.pair.src, c.pair.reference.Addr, c.query())
}

// runAbsentRounds sends every case in round 1, then every case again in
// round 2, each gap after its round-1 query: a cache's TTLs have gone down
// by the same whole number of seconds on both servers (gap is half-way
// between two whole seconds, so a few milliseconds of skew between the
// two servers cannot change that number).
func runAbsentRounds(t *testing.T, cases []*absentCase, gap time.Duration) {
	t.Helper()
	cs := absentConns{}
	defer cs.close()
	start := time.Now()
	for _, c := range cases {
		c.sent = time.Now()
		c.exchange(t, cs, 0)
	}
	t.Logf("round 1: %d queries to each server in %v", len(cases), time.Since(start).Round(time.Millisecond))
	start = time.Now()
	var late time.Duration
	for _, c := range cases {
		if wait := time.Until(c.sent.Add(gap)); wait > 0 {
			time.Sleep(wait)
		}
		late = max(late, time.Since(c.sent)-gap)
		c.exchange(t, cs, 1)
	}
	// Late only costs precision (same), never a false failure: timings
	// are not pass/fail.
	t.Logf("round 2 in %v, at most %v late", time.Since(start).Round(time.Millisecond), late.Round(time.Millisecond))
}

// same reports whether two answers are the same, byte for byte, or differ
// in nothing but TTLs one second apart, and the signatures of RRSIG
// records. Each cache counts its entries down in whole seconds from when
// it stored them, and the guarded and reference servers store and read
// each entry a few milliseconds apart, so a second boundary may fall
// between them (more often on a slow or -race run); every TTL leak veil
// could cause (a cached apex SOA's TTL, a positive answer's TTL where a
// negative one belongs) is off by far more. A zone signed on the fly gets
// its signatures made when first asked, with an inception and expiration
// of that second and ECDSA's random part: an RRSIG is compared in every
// field but those three (its type covered, labels, original TTL, key tag
// and signer, with its owner, TTL and place), and validation is checked
// apart (TestE2ETokensHiddenNamesValidate).
func same(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	ma, mb := new(dns.Msg), new(dns.Msg)
	if ma.Unpack(a) != nil || mb.Unpack(b) != nil {
		return false
	}
	for _, m := range []*dns.Msg{ma, mb} {
		for _, sec := range [3][]dns.RR{m.Answer, m.Ns, m.Extra} {
			for _, rr := range sec {
				if sig, ok := rr.(*dns.RRSIG); ok {
					sig.Signature, sig.Inception, sig.Expiration = "", 0, 0
				}
			}
			sortRRSIGs(sec)
		}
	}
	for i, sec := range [3][]dns.RR{ma.Answer, ma.Ns, ma.Extra} {
		other := [3][]dns.RR{mb.Answer, mb.Ns, mb.Extra}[i]
		if len(sec) != len(other) {
			return false
		}
		for j, rr := range sec {
			if d := int64(rr.Header().Ttl) - int64(other[j].Header().Ttl); rr.Header().Rrtype != dns.TypeOPT && (d == 1 || d == -1) {
				rr.Header().Ttl = other[j].Header().Ttl
			}
		}
	}
	pa, err := ma.Pack()
	if err != nil {
		return false
	}
	pb, err := mb.Pack()
	return err == nil && bytes.Equal(pa, pb)
}

// sortRRSIGs puts the RRSIG records of a section in order of owner and
// type covered, in the places RRSIGs hold: the dnssec plugin appends the
// signatures of a section's RRsets in the order of a Go map, which differs
// from answer to answer.
func sortRRSIGs(sec []dns.RR) {
	var at []int
	var sigs []*dns.RRSIG
	for i, rr := range sec {
		if sig, ok := rr.(*dns.RRSIG); ok {
			at, sigs = append(at, i), append(sigs, sig)
		}
	}
	slices.SortStableFunc(sigs, func(a, b *dns.RRSIG) int {
		if c := strings.Compare(strings.ToLower(a.Hdr.Name), strings.ToLower(b.Hdr.Name)); c != 0 {
			return c
		}
		return int(a.TypeCovered) - int(b.TypeCovered)
	})
	for k, i := range at {
		sec[i] = sigs[k]
	}
}

// mismatches returns, for every case that differs in either round, one
// line naming the transport, variant and round.
func (c *absentCase) mismatches() []string {
	var out []string
	for r := range 2 {
		if !same(c.got[r], c.want[r]) {
			out = append(out, fmt.Sprintf("%s/%s/round%d", c.network, c.variant.label, r+1))
		}
	}
	return out
}

// firstDiff returns both answers of c's first differing round, unpacked.
func (c *absentCase) firstDiff() (got, want *dns.Msg) {
	for r := range 2 {
		if !same(c.got[r], c.want[r]) {
			got, want = new(dns.Msg), new(dns.Msg)
			_ = got.Unpack(c.got[r])
			_ = want.Unpack(c.want[r])
			return got, want
		}
	}
	return nil, nil
}

// brief summarises m: rcode, flags that matter and the types in each
// section, e.g. "NXDOMAIN aa an[] ns[SOA]".
func brief(m *dns.Msg) string {
	types := func(rrs []dns.RR) string {
		var s []string
		for _, rr := range rrs {
			s = append(s, dns.TypeToString[rr.Header().Rrtype])
		}
		return "[" + strings.Join(s, " ") + "]"
	}
	flags := ""
	if m.Authoritative {
		flags += " aa"
	}
	if m.Truncated {
		flags += " tc"
	}
	return fmt.Sprintf("%s%s an%s ns%s ar%s", dns.RcodeToString[m.Rcode], flags, types(m.Answer), types(m.Ns), types(m.Extra))
}

// reportAbsent fails t once for every (pair, name, query type) whose
// answers differ, listing the differing queries and the first pair of
// messages.
func reportAbsent(t *testing.T, cases []*absentCase) {
	t.Helper()
	type key struct {
		pair, name string
		qtype      uint16
	}
	var order []key
	diffs := map[key][]string{}
	first := map[key]*absentCase{}
	for _, c := range cases {
		bad := c.mismatches()
		if len(bad) == 0 {
			continue
		}
		k := key{c.pair.label, c.name, c.qtype}
		if _, ok := diffs[k]; !ok {
			order = append(order, k)
			first[k] = c
		}
		diffs[k] = append(diffs[k], bad...)
	}
	for _, k := range order {
		c := first[k]
		got, want := c.firstDiff()
		t.Errorf("DIFF %s %s %s %s: guarded %s, reference %s; differs in %s\nguarded:\n%s\nreference:\n%s",
			k.pair, c.class, k.name, dns.Type(k.qtype), brief(got), brief(want), strings.Join(diffs[k], " "), got, want)
	}
}
