//go:build e2e && enum

package enum

import (
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// trustedClient transfers the zone from the trusted address, sends
// trustedBurst denials as fast as 10 workers can, checks that a positive
// query and a second transfer still work, and records every request in s.
func trustedClient(t *testing.T, f *fpZone, s *fpStats) {
	transfer := checkedQuery{name: zoneName + ".", qtype: dns.TypeAXFR}
	s.recordResult(transfer, trustedAXFR(f.addr, f.expect))

	jobs := make(chan checkedQuery, trustedBurst)
	for i := range trustedBurst {
		jobs <- f.want(fmt.Sprintf("trusted-denial-%d.%s.", i, zoneName), dns.TypeA)
	}
	close(jobs)
	begin := time.Now()
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			for q := range jobs {
				f.exchange(s, trustedSrc, q)
			}
		})
	}
	wg.Wait()
	t.Logf("trusted client %s: AXFR, then %d denials in %v", trustedSrc, trustedBurst, time.Since(begin).Round(time.Millisecond))

	f.exchange(s, trustedSrc, f.want("www."+zoneName+".", dns.TypeA))
	s.recordResult(transfer, trustedAXFR(f.addr, f.expect))
}

// recordResult counts a request judged elsewhere (a zone transfer): msg is
// what went wrong, or "".
func (s *fpStats) recordResult(q checkedQuery, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent++
	if msg == "" {
		s.correct++
		return
	}
	s.wrong++
	if len(s.examples) < 5 {
		s.examples = append(s.examples, fmt.Sprintf("%s %s: %s", q.name, dns.TypeToString[q.qtype], msg))
	}
}

// trustedAXFR transfers the zone from trustedSrc and returns what is wrong
// with it ("" if every record of the zone came).
func trustedAXFR(addr string, expect map[rrsetKey][]string) string {
	d := &net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(trustedSrc)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return err.Error()
	}
	defer c.Close()
	tr := &dns.Transfer{Conn: &dns.Conn{Conn: c}, ReadTimeout: 5 * time.Second, WriteTimeout: 2 * time.Second}
	m := new(dns.Msg)
	m.SetAxfr(zoneName + ".")
	ch, err := tr.In(m, addr)
	if err != nil {
		return err.Error()
	}
	got := map[string]bool{}
	for env := range ch {
		if env.Error != nil {
			return env.Error.Error()
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
		return fmt.Sprintf("%d records of the zone missing (got %d records)", missing, len(got))
	}
	return ""
}
