package cluster

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

// TestClusterOneBudgetClasses: the limiter's other ways in share one
// budget too. A scanner over TCP (judged by the rate rule, its denials
// charged to its TCP and UDP budgets), and a slow stub-like scanner (the
// stub rule: every answer counts, hits included) whose pace, spread over
// three replicas, stays under each replica's 1 answer a second, get about
// what they get from one replica, and far more from three that do not
// share. The three scans of a class run at once, each from its own /24.
func TestClusterOneBudgetClasses(t *testing.T) {
	r := harness.StartRedis(t)
	cases := []struct {
		name   string
		limits string
		scan   func(t *testing.T, src string, targets []string) int
		slack  func(single int) int
		apart  func(single int) int // the least three replicas apart must give
	}{
		{"tcp, rate rule", "stub off",
			func(t *testing.T, src string, targets []string) int {
				return scanTCP(t, src, targets, 600, 5*time.Millisecond)
			},
			func(single int) int { return single/4 + 10 }, func(single int) int { return 2 * single }},
		// 2.5 queries a second for 10 s: one replica trips after its
		// burst of 4 (about 8 answers), three apart never (25).
		{"udp stub-like, stub rule", "",
			func(_ *testing.T, src string, targets []string) int {
				return scanStub(src, targets, 25, 400*time.Millisecond)
			},
			func(int) int { return 3 }, func(single int) int { return single + 8 }},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			prefix := fmt.Sprintf("veil:class%d:", i)
			sets := [][]harness.Server{
				startReplicasLimits(t, 1, r, prefix+"one:", c.limits),
				startReplicasLimits(t, 3, nil, "", c.limits),
				startReplicasLimits(t, 3, r, prefix+"shared:", c.limits),
			}
			got := make([]int, len(sets))
			done := make(chan struct{})
			for j, set := range sets {
				go func() {
					defer func() { done <- struct{}{} }()
					got[j] = c.scan(t, fmt.Sprintf("127.0.%d.1", 20+10*i+j), addrs(set))
				}()
			}
			for range sets {
				<-done
			}
			single, apart, together := got[0], got[1], got[2]
			t.Logf("answers: one replica %d, three apart %d, three sharing Redis %d", single, apart, together)
			if apart < c.apart(single) {
				t.Errorf("three replicas apart gave %d answers, under %d: the test cannot tell sharing", apart, c.apart(single))
			}
			if limit := single + c.slack(single); together > limit {
				t.Errorf("three replicas sharing Redis gave %d answers; want at most %d (one replica's %d + slack)", together, limit, single)
			}
		})
	}
}

// scanTCP sends n resolver-like queries for names that do not exist from
// src over one TCP connection per target, round-robin, one every pace,
// and returns how many got NXDOMAIN. A blocked prefix gets REFUSED.
func scanTCP(t *testing.T, src string, targets []string, n int, pace time.Duration) int {
	conns := make([]*dns.Conn, len(targets))
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	nonce, answered := rand.Uint64(), 0
	tick := time.NewTicker(pace)
	defer tick.Stop()
	for i := range n {
		j := i % len(targets)
		if conns[j] == nil {
			c, err := harness.Client("tcp", src).Dial(targets[j])
			if err != nil {
				t.Errorf("dial %s from %s: %v", targets[j], src, err)
				return answered
			}
			conns[j] = c
		}
		_ = conns[j].SetDeadline(time.Now().Add(harness.IOTimeout))
		q := harness.ResolverQuery(fmt.Sprintf("t%d-%x.example.org.", i, nonce))
		r := new(dns.Msg)
		err := conns[j].WriteMsg(q)
		if err == nil {
			r, err = conns[j].ReadMsg()
		}
		switch {
		case err != nil:
			conns[j].Close() // the server may close a connection: dial again
			conns[j] = nil
		case r.Rcode == dns.RcodeNameError:
			answered++
		}
		<-tick.C
	}
	return answered
}

// scanStub asks like a stub or a brute-force tool (recursion desired, no
// EDNS) for a name that exists, n times from src over UDP, round-robin,
// one every pace, and returns how many were answered.
func scanStub(src string, targets []string, n int, pace time.Duration) int {
	answered := 0
	c := harness.Client("udp", src)
	c.Timeout = pace / 2
	tick := time.NewTicker(pace)
	defer tick.Stop()
	for i := range n {
		r, _, err := c.Exchange(harness.AQuery("www.example.org."), targets[i%len(targets)])
		if err == nil && !r.Truncated && len(r.Answer) > 0 {
			answered++
		}
		<-tick.C
	}
	return answered
}
