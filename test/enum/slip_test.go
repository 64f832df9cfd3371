package enum

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

// slipName is the existing name every blocked query asks for: a blocked
// client gets no answer for it whether it exists or not.
const slipName = "www.example.org."

// sendGap is the pause between two blocked queries, so the server sees them
// in the order they were sent (it handles each UDP query in a goroutine of
// its own, in microseconds) and the interleaving is the one the case says.
const sendGap = time.Millisecond

// fate is what became of one blocked UDP query.
type fate int

const (
	dropped fate = iota // no answer
	slipped             // an empty TC=1 answer
)

// slipClient is a blocked external client with one UDP socket, whose
// queries are told apart by their message IDs.
type slipClient struct {
	ip   string
	conn net.Conn
}

func newSlipClient(t *testing.T, ip, addr string) *slipClient {
	t.Helper()
	conn, err := harness.Client("udp", ip).Dialer.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &slipClient{ip: ip, conn: conn}
}

// send sends the A query for slipName with message ID id.
func (c *slipClient) send(t *testing.T, id uint16) {
	t.Helper()
	m := harness.ResolverQuery(slipName)
	m.Id = id
	if _, err := c.conn.Write(harness.MustPack(t, m)); err != nil {
		t.Fatal(err)
	}
}

// collect reads the answers to the queries sent until none has come for
// harness.NoAnswerWait and returns the fate of each ID in ids: slipped if
// an empty TC=1 answer came for it, dropped if nothing did. Any other
// answer fails the test: the client is blocked.
func (c *slipClient) collect(t *testing.T, ids []uint16) map[uint16]fate {
	t.Helper()
	fates := make(map[uint16]fate, len(ids))
	for _, id := range ids {
		fates[id] = dropped
	}
	buf := make([]byte, 65535)
	for {
		if err := c.conn.SetReadDeadline(time.Now().Add(harness.NoAnswerWait)); err != nil {
			t.Fatal(err)
		}
		n, err := c.conn.Read(buf)
		if err != nil {
			return fates
		}
		r := new(dns.Msg)
		if err := r.Unpack(buf[:n]); err != nil {
			t.Fatalf("%s: unparsable answer: %v", c.ip, err)
		}
		f, ok := fates[r.Id]
		switch {
		case !ok:
			t.Fatalf("%s: answer with ID %d, which no query of this round had:\n%v", c.ip, r.Id, r)
		case f == slipped:
			t.Fatalf("%s: two answers to query ID %d", c.ip, r.Id)
		case !r.Truncated || len(r.Answer)+len(r.Ns) != 0 || r.Rcode != dns.RcodeSuccess:
			t.Fatalf("%s: blocked query ID %d got an answer other than an empty TC=1 one:\n%v", c.ip, r.Id, r)
		}
		fates[r.Id] = slipped
	}
}

// tripClient makes ip a scanner: 20 NXDOMAIN guesses trip the ratio rule
// of the default limiter (as in TestLimiterBlocksScannerOnly).
func tripClient(t *testing.T, ip, addr string) {
	t.Helper()
	udp := harness.Client("udp", ip)
	for i := range 20 {
		r, _, err := udp.Exchange(harness.ResolverQuery(fmt.Sprintf("guess-%d.example.org.", i)), addr)
		if err != nil || r.Rcode != dns.RcodeNameError {
			t.Fatalf("%s guess %d: %v %v; want NXDOMAIN until the scanner trips", ip, i, r, err)
		}
	}
	// Blocked now: a name that exists is not answered, or only with TC=1.
	m := harness.ResolverQuery(slipName)
	udp.Timeout = harness.NoAnswerWait
	if r, _, err := udp.Exchange(m, addr); err == nil && (!r.Truncated || len(r.Answer) != 0) {
		t.Fatalf("%s is not blocked after 20 guesses: %v", ip, r)
	}
}

// countSlips returns how many of ids slipped.
func countSlips(fates map[uint16]fate, ids []uint16) int {
	n := 0
	for _, id := range ids {
		if fates[id] == slipped {
			n++
		}
	}
	return n
}

// TestSlipPerClient checks that whether a blocked UDP query slips (gets an
// empty TC=1 answer, so a real client behind a spoofed address retries over
// TCP) or is dropped is decided per query, not by a counter other clients'
// queries advance. Two external clients (ExternalIP, ThirdIP) are tripped;
// their blocked queries are then interleaved 1:1, 1:3 and 3:1. Under the old
// shared counter (every 2nd blocked query of anyone slipped) 1:1 gave one
// client every slip and the other none, and 1:3 or 3:1 gave the lone client
// all or none; now each client gets about half (slip 2) whatever the other
// sends. The same query (client, ID, name, type) sent again meets the same
// fate, and the limiter's slip and drop counters match what the clients saw.
func TestSlipPerClient(t *testing.T) {
	s := harness.StartServer(t, harness.Corefile(harness.LimitVeil))
	tripClient(t, harness.ExternalIP, s.Addr)
	tripClient(t, harness.ThirdIP, s.Addr)
	// The counters so far (tripClient's checks); the rounds add to them.
	limited := func(action string) int {
		mfs := harness.Scrape(t, s.MetricsURL)
		return int(harness.MetricValue(mfs, "coredns_veil_limited_requests_total",
			map[string]string{"server": s.Label, "zone": "example.org.", "action": action}))
	}
	wantSlip, wantDrop := limited("slip"), limited("drop")

	a := newSlipClient(t, harness.ExternalIP, s.Addr)
	b := newSlipClient(t, harness.ThirdIP, s.Addr)
	// Each round gives each client IDs of its own, never used before.
	nextID := uint16(0x1000)
	ids := func(n int) []uint16 {
		out := make([]uint16, n)
		for i := range out {
			out[i] = nextID
			nextID++
		}
		return out
	}
	record := func(f map[uint16]fate) {
		for _, v := range f {
			if v == slipped {
				wantSlip++
			} else {
				wantDrop++
			}
		}
	}

	// With slip 2 each query slips with probability 1/2. A fair coin tossed
	// 40 times shows fewer than 8 or more than 32 heads with probability
	// 4.2e-5; tossed 120 times, fewer than 36 or more than 84 with
	// probability 5.7e-6: the bounds below fail a correct server about once
	// in 10,000 runs, and the old shared counter every time.
	bounds := map[int][2]int{40: {8, 32}, 120: {36, 84}}
	var first struct {
		c     *slipClient
		ids   []uint16
		fates map[uint16]fate
	}
	for _, tc := range []struct {
		name       string
		perA, perB int // queries of a, then of b, in each step
		nA, nB     int // queries in all
	}{
		{name: "alternate 1:1", perA: 1, perB: 1, nA: 40, nB: 40},
		{name: "ThirdIP sends 3 per 1 of ExternalIP", perA: 1, perB: 3, nA: 40, nB: 120},
		{name: "ExternalIP sends 3 per 1 of ThirdIP", perA: 3, perB: 1, nA: 120, nB: 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			aIDs, bIDs := ids(tc.nA), ids(tc.nB)
			for i, j := 0, 0; i < len(aIDs) || j < len(bIDs); {
				for k := 0; k < tc.perA && i < len(aIDs); k, i = k+1, i+1 {
					a.send(t, aIDs[i])
					time.Sleep(sendGap)
				}
				for k := 0; k < tc.perB && j < len(bIDs); k, j = k+1, j+1 {
					b.send(t, bIDs[j])
					time.Sleep(sendGap)
				}
			}
			fa, fb := a.collect(t, aIDs), b.collect(t, bIDs)
			record(fa)
			record(fb)
			for _, c := range []struct {
				ip    string
				ids   []uint16
				fates map[uint16]fate
			}{{a.ip, aIDs, fa}, {b.ip, bIDs, fb}} {
				n, bd := countSlips(c.fates, c.ids), bounds[len(c.ids)]
				t.Logf("%s: %d of %d blocked queries slipped", c.ip, n, len(c.ids))
				if n < bd[0] || n > bd[1] {
					t.Errorf("%s: %d of %d blocked queries slipped, want %d to %d (slip 2, whatever the other client sends)",
						c.ip, n, len(c.ids), bd[0], bd[1])
				}
			}
			if first.c == nil {
				first.c, first.ids, first.fates = a, aIDs, fa
			}
		})
	}

	// The same query sent again meets the same fate: 5 queries of the first
	// round, each resent 3 times, the other client's queries in between.
	t.Run("resent", func(t *testing.T) {
		if first.c == nil {
			t.Fatal("the first round did not run")
		}
		resent := first.ids[:5]
		var others []uint16
		for range 3 {
			other := ids(len(resent))
			others = append(others, other...)
			for i, id := range resent {
				first.c.send(t, id)
				time.Sleep(sendGap)
				b.send(t, other[i])
				time.Sleep(sendGap)
			}
			// Read each repetition on its own, so an answer is not taken
			// for a later copy of the same query.
			f := first.c.collect(t, resent)
			record(f)
			for _, id := range resent {
				if f[id] != first.fates[id] {
					t.Errorf("%s query ID %d: %s the first time, %s when resent", first.c.ip, id, first.fates[id], f[id])
				}
			}
		}
		record(b.collect(t, others))
	})

	// The limiter counted what the clients saw: no query or answer was lost
	// on the way, so a drop here is the server's.
	for action, want := range map[string]int{"slip": wantSlip, "drop": wantDrop} {
		if got := limited(action); got != want {
			t.Errorf("coredns_veil_limited_requests_total{action=%q} = %d, want %d (as the clients saw)", action, got, want)
		}
	}
}

func (f fate) String() string {
	if f == slipped {
		return "slipped"
	}
	return "dropped"
}
