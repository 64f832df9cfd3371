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
// trustedBurst denials as fast as 10 workers can, checks that a
// positive query and a second transfer still work, and returns the number
// of requests it made.
func trustedClient(t *testing.T, addr string, expect map[rrsetKey][]string) int {
	n := 0
	trustedAXFR(t, addr, expect)
	n++

	client := &dns.Client{
		Net:     "udp",
		Timeout: 2 * time.Second,
		Dialer:  &net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.UDPAddr{IP: net.ParseIP(trustedSrc)}},
	}
	trustedDenials(t, client, addr)
	n += trustedBurst

	www := rrsetKey{name: "www." + zoneName + ".", qtype: dns.TypeA}
	m := new(dns.Msg)
	m.SetQuestion(www.name, www.qtype)
	r, _, err := client.Exchange(m, addr)
	n++
	if err != nil {
		t.Errorf("trusted client after its burst: %v", err)
	} else if msg := checkAnswer(r, checkedQuery{name: www.name, qtype: www.qtype, want: expect[www]}); msg != "" {
		t.Errorf("trusted client after its burst: %s", msg)
	}
	trustedAXFR(t, addr, expect)
	n++
	return n
}

// trustedDenials sends trustedBurst queries for names that do not exist
// from client as fast as 10 workers can, and fails the test unless every
// one is answered NXDOMAIN.
func trustedDenials(t *testing.T, client *dns.Client, addr string) {
	jobs := make(chan checkedQuery, trustedBurst)
	for i := range trustedBurst {
		jobs <- checkedQuery{name: fmt.Sprintf("trusted-denial-%d.%s.", i, zoneName), qtype: dns.TypeA}
	}
	close(jobs)
	var (
		mu      sync.Mutex
		nfail   int
		example string
	)
	var wg sync.WaitGroup
	begin := time.Now()
	for range 10 {
		wg.Go(func() {
			for q := range jobs {
				m := new(dns.Msg)
				m.SetQuestion(q.name, q.qtype)
				r, _, err := client.Exchange(m, addr)
				msg := ""
				if err != nil {
					msg = err.Error()
				} else {
					msg = checkAnswer(r, q)
				}
				if msg != "" {
					mu.Lock()
					nfail++
					example = q.name + ": " + msg
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	t.Logf("trusted client %s: AXFR, then %d denials in %v, %d not answered NXDOMAIN", trustedSrc, trustedBurst,
		time.Since(begin).Round(time.Millisecond), nfail)
	if nfail > 0 {
		t.Errorf("trusted client: %d of %d denials not answered NXDOMAIN, for example %s", nfail, trustedBurst, example)
	}
}

// trustedAXFR transfers the zone from trustedSrc and checks that every record
// of the zone came.
func trustedAXFR(t *testing.T, addr string, expect map[rrsetKey][]string) {
	t.Helper()
	d := &net.Dialer{Timeout: 2 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(trustedSrc)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Errorf("trusted AXFR: %v", err)
		return
	}
	defer c.Close()
	tr := &dns.Transfer{Conn: &dns.Conn{Conn: c}, ReadTimeout: 5 * time.Second, WriteTimeout: 2 * time.Second}
	m := new(dns.Msg)
	m.SetAxfr(zoneName + ".")
	ch, err := tr.In(m, addr)
	if err != nil {
		t.Errorf("trusted AXFR: %v", err)
		return
	}
	got := map[string]bool{}
	for env := range ch {
		if env.Error != nil {
			t.Errorf("trusted AXFR: %v", env.Error)
			return
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
		t.Errorf("trusted AXFR: %d records of the zone missing (got %d records)", missing, len(got))
	}
}
