package enum

import (
	"fmt"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/veildns/veil/ratelimit"
	"github.com/veildns/veil/test/harness"
)

// TestLimiterOneBudgetForBothTransports: a scanner that alternates UDP and
// TCP guesses trips its UDP budget after as many denials as one that uses
// UDP alone (the ratio rule's 20 responses), because its TCP denials count
// against UDP too; its TCP queries stay judged by TCP's own counters, and a
// neighbour whose UDP guesses tripped keeps its TCP answers.
func TestLimiterOneBudgetForBothTransports(t *testing.T) {
	s := harness.StartServer(t, harness.Corefile(harness.LimitVeil))
	for i := range 10 {
		for _, network := range []string{"udp", "tcp"} {
			m := harness.Exchange(t, network, harness.ExternalIP, s.Addr, harness.ResolverQuery(fmt.Sprintf("guess-%s-%d.example.org.", network, i)))
			if m.Rcode != dns.RcodeNameError {
				t.Fatalf("%s guess %d: %s, want NXDOMAIN before the budget is spent", network, i, dns.RcodeToString[m.Rcode])
			}
		}
	}
	udp := harness.Client("udp", harness.ExternalIP)
	udp.Timeout = harness.NoAnswerWait
	answered := 0
	for range 6 {
		r, _, err := udp.Exchange(harness.ResolverQuery("www.example.org."), s.Addr)
		if err == nil && len(r.Answer) > 0 {
			answered++
		}
	}
	if answered != 0 {
		t.Errorf("%d of 6 UDP queries answered after 10 UDP and 10 TCP denials; want the UDP budget spent", answered)
	}
	if m := harness.Exchange(t, "tcp", harness.ExternalIP, s.Addr, harness.ResolverQuery("www.example.org.")); len(m.Answer) != 1 {
		t.Errorf("TCP blocked after 10 TCP denials: %v", m)
	}
	mfs := harness.Scrape(t, s.MetricsURL)
	if got := harness.MetricValue(mfs, "coredns_veil_limiter_trips_total", map[string]string{"server": s.Label, "tier": "v4_32", "rule": "ratio"}); got != 1 {
		t.Errorf("limiter_trips_total{tier=v4_32,rule=ratio} = %v, want 1", got)
	}
}

// transportScan is one way a scanner can spread its guesses over the two
// transports: next says, from the guesses made and whether the last UDP
// and TCP guesses went unanswered, which transport the next guess takes.
type transportScan struct {
	name string
	next func(i int, udpDead, tcpDead bool) (tcp bool)
}

var transportScans = []transportScan{
	{"udp only", func(int, bool, bool) bool { return false }},
	{"alternating", func(i int, _, _ bool) bool { return i%2 == 1 }},
	{"udp, then tcp once blocked", func(_ int, udpDead, _ bool) bool { return udpDead }},
	{"tcp, then udp once blocked", func(_ int, _, tcpDead bool) bool { return !tcpDead }},
	{"tcp only", func(int, bool, bool) bool { return true }},
}

// scanBudget is how long each scan guesses, at full speed.
const scanBudget = 2 * time.Second

// TestLimiterOneBudgetAcrossTransports: a resolver-like scanner (recursion
// not desired, EDNS), or a stub-like one (recursion desired, no EDNS), that
// guesses names that do not exist at full speed
// for scanBudget, against the limiter's defaults, learns the fate of at
// most SuspectBurst+1 more guesses (NXDOMAIN answers) however it spreads
// them over UDP and TCP than one that uses UDP alone, and a resolver-like
// one at most 1.1 times as many: TCP denials, and a stub-like client's
// TCP answers, count against the address's UDP budget, and a TCP client
// whose address is blocked over UDP is blocked over TCP once its own
// denials go over SuspectBurst. Each scan runs from an address in a /24
// of its own.
func TestLimiterOneBudgetAcrossTransports(t *testing.T) {
	s := harness.StartServer(t, harness.Corefile("veil {\n trusted 127.0.0.1\n }"))
	for k, stub := range []bool{false, true} {
		kind := map[bool]string{false: "resolver-like", true: "stub-like"}[stub]
		learned := make([]int, len(transportScans))
		for i, sc := range transportScans {
			src := fmt.Sprintf("127.0.%d.9", 20+10*k+i)
			learned[i] = runTransportScan(t, sc, stub, src, s.Addr)
			t.Logf("%s %-28s %4d NXDOMAIN answers in %v", kind, sc.name, learned[i], scanBudget)
		}
		for i, sc := range transportScans[1:] {
			if extra := learned[i+1] - learned[0]; extra > ratelimit.SuspectBurst+1 {
				t.Errorf("%s, %s: %d NXDOMAIN answers, %d more than a scan over UDP alone (%d); want at most %d more",
					kind, sc.name, learned[i+1], extra, learned[0], ratelimit.SuspectBurst+1)
			}
			if !stub && float64(learned[i+1]) > 1.1*float64(learned[0]) {
				t.Errorf("%s, %s: %d NXDOMAIN answers, more than 1.1 times the %d of a scan over UDP alone", kind, sc.name, learned[i+1], learned[0])
			}
		}
	}
}

// runTransportScan runs one scan from src and returns the NXDOMAIN answers
// it got. A guess over TCP uses one kept connection, redialled after the
// server closes it.
func runTransportScan(t *testing.T, sc transportScan, stub bool, src, addr string) int {
	t.Helper()
	udp := harness.Client("udp", src)
	udp.Timeout = 50 * time.Millisecond
	tcp := harness.Client("tcp", src)
	var conn *dns.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	learned := 0
	udpDead, tcpDead := false, false
	deadline := time.Now().Add(scanBudget)
	for i := 0; time.Now().Before(deadline); i++ {
		m := harness.ResolverQuery(fmt.Sprintf("guess-%d.example.org.", i))
		if stub {
			m = harness.AQuery(m.Question[0].Name)
		}
		var r *dns.Msg
		var err error
		overTCP := sc.next(i, udpDead, tcpDead)
		if overTCP {
			if conn == nil {
				if conn, err = tcp.Dial(addr); err != nil {
					t.Fatal(err)
				}
			}
			if r, _, err = tcp.ExchangeWithConn(m, conn); err != nil {
				conn.Close()
				conn = nil
			}
		} else {
			r, _, err = udp.Exchange(m, addr)
		}
		got := err == nil && r.Rcode == dns.RcodeNameError
		if got {
			learned++
		}
		if overTCP {
			tcpDead = !got
		} else {
			udpDead = !got
		}
	}
	return learned
}
