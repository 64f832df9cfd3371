package enum

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

// The spoofed-victim test's settings: the spoofer sends spoofQPS misses a
// second over UDP with the victim's source address; each victim asks
// victimQPS names that exist a second for victimDuration once the flood
// has blocked its address over UDP.
const (
	spoofQPS       = 100
	victimQPS      = 2
	victimDuration = 20 * time.Second
	floodHead      = 2 * time.Second // the flood alone, before the victims ask
)

// victimNames are names of db.example.org a victim asks for, A records.
var victimNames = []string{"www.example.org.", "mail.example.org.", "ns1.example.org.", "vpn-gw.example.org.", "jenkins.example.org."}

// victim is how a client retries: a stub (as dig and the brute-force tools
// ask: recursion desired, no EDNS, the same query again after a timeout)
// or a resolver (recursion not desired, EDNS 1232, a new message ID for
// each try). Both retry a truncated answer over TCP, as RFC 7766 asks.
type victim struct {
	name     string
	ip       string
	resolver bool
}

// ask resolves name as v would: up to 3 UDP tries, timeout each, then TCP
// after a truncated answer. It reports whether the right answer came, and
// over which transport.
func (v victim) ask(name string, id uint16, timeout time.Duration, addr string) (ok, viaTCP bool) {
	m := harness.AQuery(name)
	m.Id = id
	if v.resolver {
		m.RecursionDesired = false
		m.SetEdns0(1232, false)
	}
	udp := harness.Client("udp", v.ip)
	udp.Timeout = timeout
	for try := range 3 {
		if v.resolver {
			m.Id = id + uint16(try)*1000
		}
		r, _, err := udp.Exchange(m, addr)
		if err != nil {
			continue
		}
		if r.Truncated {
			tcp := harness.Client("tcp", v.ip)
			tr, _, err := tcp.Exchange(m, addr)
			return err == nil && tr.Rcode == dns.RcodeSuccess && len(tr.Answer) == 1, true
		}
		return r.Rcode == dns.RcodeSuccess && len(r.Answer) == 1, false
	}
	return false, false
}

// spoof sends spoofQPS queries a second for names that do not exist from
// ip (a socket bound to it: the server sees the victim's address) until
// stop is closed, and drains whatever comes back.
func spoof(t *testing.T, ip, addr string, stop <-chan struct{}) *sync.WaitGroup {
	t.Helper()
	conn, err := harness.Client("udp", ip).Dialer.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		buf := make([]byte, 2048)
		for {
			conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			conn.Read(buf)
			select {
			case <-stop:
				return
			default:
			}
		}
	})
	wg.Go(func() {
		defer conn.Close()
		tick := time.NewTicker(time.Second / spoofQPS)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			m := harness.ResolverQuery(fmt.Sprintf("spoofed-miss-%d.example.org.", i))
			m.Id = uint16(i)
			b, _ := m.Pack()
			conn.Write(b)
		}
	})
	return &wg
}

// TestLimiterSpoofedFloodSparesVictims: while a spoofer floods a victim's
// address with UDP misses (spoofQPS a second), so that the limiter blocks
// the address over UDP, a victim that asks like a stub and one that asks
// like a resolver, each on an address of its own under such a flood, get
// every answer (at least 99 %; over TCP after a truncated answer is fine):
// a blocked UDP query gets an empty truncated answer (slip 1), the victim
// retries over TCP, and there only its own TCP answers count, never the
// UDP evidence, which a spoofer can forge.
func TestLimiterSpoofedFloodSparesVictims(t *testing.T) {
	s := harness.StartServer(t, harness.Corefile("veil {\n trusted 127.0.0.1\n }"))
	victims := []victim{
		{name: "stub-like", ip: "127.0.5.10"},
		{name: "resolver-like", ip: "127.0.6.10", resolver: true},
	}
	stop := make(chan struct{})
	var floods []*sync.WaitGroup
	for _, v := range victims {
		floods = append(floods, spoof(t, v.ip, s.Addr, stop))
	}
	time.Sleep(floodHead)
	var wg sync.WaitGroup
	for _, v := range victims {
		wg.Go(func() {
			var asked, answered, overTCP atomic.Int64
			var each sync.WaitGroup
			tick := time.NewTicker(time.Second / victimQPS)
			defer tick.Stop()
			for i := range victimQPS * int(victimDuration/time.Second) {
				<-tick.C
				each.Go(func() {
					asked.Add(1)
					ok, viaTCP := v.ask(victimNames[i%len(victimNames)], uint16(100+i), time.Second, s.Addr)
					if ok {
						answered.Add(1)
					}
					if viaTCP {
						overTCP.Add(1)
					}
				})
			}
			each.Wait()
			n, a := asked.Load(), answered.Load()
			t.Logf("%s victim under a spoofed flood: %d of %d answered (%d over TCP after a truncated answer)", v.name, a, n, overTCP.Load())
			if float64(a) < 0.99*float64(n) {
				t.Errorf("%s victim under a spoofed flood: %d of %d answered, want at least 99 %%", v.name, a, n)
			}
		})
	}
	wg.Wait()
	close(stop)
	for _, f := range floods {
		f.Wait()
	}
	mfs := harness.Scrape(t, s.MetricsURL)
	if got := harness.MetricValue(mfs, "coredns_veil_limiter_trips_total", map[string]string{"server": s.Label, "tier": "v4_32", "rule": "rate"}); got < 2 {
		t.Errorf("limiter_trips_total{tier=v4_32,rule=rate} = %v: the floods did not block the victims' addresses over UDP", got)
	}
}
