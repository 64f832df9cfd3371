// Command manysources sends one DNS query over UDP from each of many distinct
// IPv4 loopback source addresses, so that a server's per-client state (veil's
// enumeration limiter table) sees that many clients. Linux lets a socket bind
// any address of 127.0.0.0/8 without configuring it.
//
// test/bench/dnsperf.sh uses it to measure the server's memory after 100,000
// distinct external clients:
//
//	manysources -server 127.0.77.1:10053 -first 127.1.0.0 -count 100000 \
//	    -qname nx.bench.example. -qtype A
//
// covers 127.1.0.0 to 127.2.134.159. It prints one summary line,
//
//	sent=100000 answered=100000 timeouts=0 rcodes=NXDOMAIN:100000 elapsed=6.1s
//
// and exits with status 1 if more than -max-loss of the queries went
// unanswered, the overall -deadline passed first, or a socket could not be
// bound; status 2 on bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// config holds the command-line settings.
type config struct {
	server      *net.UDPAddr
	first       netip.Addr
	count       int
	qname       string
	qtype       uint16
	concurrency int
	timeout     time.Duration
	deadline    time.Duration
	maxLoss     float64
}

// tally is what the workers observed, shared between them.
type tally struct {
	sent, answered, timeouts atomic.Int64

	mu     sync.Mutex
	rcodes map[string]int
	errs   []error // the first few errors other than timeouts
}

func (t *tally) rcode(rc int) {
	name, ok := dns.RcodeToString[rc]
	if !ok {
		name = fmt.Sprintf("RCODE%d", rc)
	}
	t.mu.Lock()
	t.rcodes[name]++
	t.mu.Unlock()
}

func (t *tally) fail(err error) {
	t.mu.Lock()
	if len(t.errs) < 5 {
		t.errs = append(t.errs, err)
	}
	t.mu.Unlock()
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "manysources:", err)
		os.Exit(2)
	}
	t, elapsed, err := run(cfg)
	fmt.Println(summary(t, elapsed))
	for _, e := range t.errs {
		fmt.Fprintln(os.Stderr, "manysources: error:", e)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "manysources:", err)
		os.Exit(1)
	}
	lost := cfg.count - int(t.answered.Load())
	if float64(lost) > cfg.maxLoss*float64(cfg.count) {
		fmt.Fprintf(os.Stderr, "manysources: %d of %d queries unanswered, more than -max-loss %g\n", lost, cfg.count, cfg.maxLoss)
		os.Exit(1)
	}
}

func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("manysources", flag.ContinueOnError)
	server := fs.String("server", "127.0.77.1:10053", "server `address:port` (UDP)")
	first := fs.String("first", "127.1.0.0", "first source `address`; the others follow it, all within 127.0.0.0/8")
	count := fs.Int("count", 100000, "number of distinct source addresses, one query each")
	qname := fs.String("qname", "nx.bench.example.", "query `name`")
	qtype := fs.String("qtype", "A", "query `type`")
	concurrency := fs.Int("concurrency", 256, "queries in flight at most")
	timeout := fs.Duration("timeout", time.Second, "how long to wait for each answer")
	deadline := fs.Duration("deadline", 2*time.Minute, "stop sending after this long in all")
	maxLoss := fs.Float64("max-loss", 0.01, "fraction of queries that may go unanswered")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() != 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var cfg config
	var err error
	if cfg.server, err = net.ResolveUDPAddr("udp4", *server); err != nil {
		return config{}, fmt.Errorf("-server: %w", err)
	}
	if cfg.first, err = netip.ParseAddr(*first); err != nil || !cfg.first.Is4() {
		return config{}, fmt.Errorf("-first %q: not an IPv4 address", *first)
	}
	if *count < 1 || *count > 1<<24 {
		return config{}, fmt.Errorf("-count %d: allowed 1 to %d", *count, 1<<24)
	}
	last := addrAt(cfg.first, *count-1)
	loopback := netip.MustParsePrefix("127.0.0.0/8")
	if !loopback.Contains(cfg.first) || !last.IsValid() || !loopback.Contains(last) {
		return config{}, fmt.Errorf("-first %s -count %d: the addresses must all lie in %s", cfg.first, *count, loopback)
	}
	qt, ok := dns.StringToType[strings.ToUpper(*qtype)]
	if !ok {
		return config{}, fmt.Errorf("-qtype %q: unknown type", *qtype)
	}
	if *concurrency < 1 || *concurrency > 4096 {
		return config{}, fmt.Errorf("-concurrency %d: allowed 1 to 4096", *concurrency)
	}
	if *timeout <= 0 || *deadline <= 0 || *maxLoss < 0 || *maxLoss > 1 {
		return config{}, errors.New("-timeout and -deadline must be positive, -max-loss within [0, 1]")
	}
	cfg.count, cfg.qname, cfg.qtype = *count, dns.Fqdn(*qname), qt
	cfg.concurrency, cfg.timeout, cfg.deadline, cfg.maxLoss = *concurrency, *timeout, *deadline, *maxLoss
	return cfg, nil
}

// addrAt returns the IPv4 address n places after first, or the zero Addr if
// that would leave the IPv4 space.
func addrAt(first netip.Addr, n int) netip.Addr {
	b := first.As4()
	v := uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
	v += uint64(n)
	if v > 0xffffffff {
		return netip.Addr{}
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// run sends the queries, at most cfg.concurrency at a time, and stops
// handing out new source addresses once cfg.deadline has passed.
func run(cfg config) (*tally, time.Duration, error) {
	t := &tally{rcodes: map[string]int{}}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.deadline)
	defer cancel()
	start := time.Now()

	var next atomic.Int64
	var bindErr atomic.Pointer[error]
	var wg sync.WaitGroup
	for range cfg.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, dns.MaxMsgSize)
			for ctx.Err() == nil && bindErr.Load() == nil {
				i := next.Add(1) - 1
				if i >= int64(cfg.count) {
					return
				}
				src := addrAt(cfg.first, int(i))
				if err := query(cfg, t, src, buf); err != nil {
					bindErr.CompareAndSwap(nil, &err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if p := bindErr.Load(); p != nil {
		return t, elapsed, *p
	}
	if n := t.sent.Load(); n < int64(cfg.count) {
		return t, elapsed, fmt.Errorf("deadline %v passed after %d of %d sources", cfg.deadline, n, cfg.count)
	}
	return t, elapsed, nil
}

// query sends one query from src and waits for its answer. It returns an
// error only if src cannot be bound, which stops the run; every other
// failure is counted in t.
func query(cfg config, t *tally, src netip.Addr, buf []byte) error {
	conn, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(src, 0)))
	if err != nil {
		return fmt.Errorf("bind %s: %w", src, err)
	}
	defer conn.Close()

	m := new(dns.Msg)
	m.SetQuestion(cfg.qname, cfg.qtype)
	packed, err := m.Pack()
	if err != nil {
		return fmt.Errorf("pack query: %w", err)
	}
	if _, err := conn.WriteToUDP(packed, cfg.server); err != nil {
		t.fail(fmt.Errorf("send from %s: %w", src, err))
		return nil
	}
	t.sent.Add(1)
	if err := conn.SetReadDeadline(time.Now().Add(cfg.timeout)); err != nil {
		t.fail(err)
		return nil
	}
	for {
		n, from, err := conn.ReadFromUDP(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.timeouts.Add(1)
			} else {
				t.fail(fmt.Errorf("read at %s: %w", src, err))
			}
			return nil
		}
		if !from.IP.Equal(cfg.server.IP) || from.Port != cfg.server.Port {
			continue // not from the server: keep waiting
		}
		r := new(dns.Msg)
		if err := r.Unpack(buf[:n]); err != nil || r.Id != m.Id {
			continue // garbled or a stray answer: keep waiting
		}
		t.answered.Add(1)
		t.rcode(r.Rcode)
		return nil
	}
}

// summary formats t as one line of key=value pairs.
func summary(t *tally, elapsed time.Duration) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	names := make([]string, 0, len(t.rcodes))
	for name := range t.rcodes {
		names = append(names, name)
	}
	sort.Strings(names)
	rc := make([]string, 0, len(names))
	for _, name := range names {
		rc = append(rc, fmt.Sprintf("%s:%d", name, t.rcodes[name]))
	}
	if len(rc) == 0 {
		rc = append(rc, "none")
	}
	return fmt.Sprintf("sent=%d answered=%d timeouts=%d rcodes=%s elapsed=%.1fs",
		t.sent.Load(), t.answered.Load(), t.timeouts.Load(), strings.Join(rc, ","), elapsed.Seconds())
}
