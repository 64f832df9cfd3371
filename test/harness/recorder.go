package harness

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Recorder relays DNS messages between clients and a server, over UDP and
// TCP, sending them on from one source address, and records every
// exchange: what a tool that cannot say what it received got, for the
// acceptance tests' distinguisher. It is a test's, stopped at cleanup.
type Recorder struct {
	upstream, from string
	udp            *net.UDPConn
	tcp            *net.TCPListener
	sem            chan struct{} // bounds the exchanges in flight
	mu             sync.Mutex
	log            []Exchanged
	wg             sync.WaitGroup
	done           chan struct{}
}

// Exchanged is one query the Recorder relayed and the answer it got back
// (nil: none within IOTimeout).
type Exchanged struct {
	Query, Answer *dns.Msg
	At            time.Time
	Latency       time.Duration
	TCP           bool
}

// recorderInFlight is how many exchanges a Recorder relays at once.
const recorderInFlight = 256

// StartRecorder listens on listen (ip:port), UDP and TCP, and relays what
// it receives to upstream from the address from.
func StartRecorder(t testing.TB, listen, upstream, from string) *Recorder {
	t.Helper()
	ua, err := net.ResolveUDPAddr("udp", listen)
	if err != nil {
		t.Fatal(err)
	}
	r := &Recorder{upstream: upstream, from: from, sem: make(chan struct{}, recorderInFlight), done: make(chan struct{})}
	if r.udp, err = net.ListenUDP("udp", ua); err != nil {
		t.Fatalf("recorder on %s: %v", listen, err)
	}
	if r.tcp, err = net.ListenTCP("tcp", &net.TCPAddr{IP: ua.IP, Port: ua.Port}); err != nil {
		r.udp.Close()
		t.Fatalf("recorder on %s: %v", listen, err)
	}
	r.wg.Add(2)
	go r.serveUDP()
	go r.serveTCP()
	t.Cleanup(r.Stop)
	return r
}

// Stop stops the Recorder and waits for its exchanges. It may be called
// more than once.
func (r *Recorder) Stop() {
	select {
	case <-r.done:
		return
	default:
		close(r.done)
	}
	r.udp.Close()
	r.tcp.Close()
	r.wg.Wait()
}

// Exchanges returns what the Recorder relayed so far, in the order the
// queries arrived.
func (r *Recorder) Exchanges() []Exchanged {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Exchanged, len(r.log))
	copy(out, r.log)
	return out
}

func (r *Recorder) serveUDP() {
	defer r.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, client, err := r.udp.ReadFromUDP(buf)
		if err != nil {
			return
		}
		q := append([]byte(nil), buf[:n]...)
		r.sem <- struct{}{}
		r.wg.Add(1)
		go func() {
			defer func() { <-r.sem; r.wg.Done() }()
			if a := r.relay(q, false); a != nil {
				_, _ = r.udp.WriteToUDP(a, client) // a client gone is a lost answer, as on the wire
			}
		}()
	}
}

func (r *Recorder) serveTCP() {
	defer r.wg.Done()
	for {
		c, err := r.tcp.Accept()
		if err != nil {
			return
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			defer c.Close()
			for {
				_ = c.SetDeadline(time.Now().Add(IOTimeout))
				q, err := readFramed(c)
				if err != nil {
					return
				}
				a := r.relay(q, true)
				if a == nil || writeFramed(c, a) != nil {
					return
				}
			}
		}()
	}
}

// relay sends the query q upstream over UDP or TCP from r.from, records the
// exchange and returns the answer's bytes (nil if none came).
func (r *Recorder) relay(q []byte, tcp bool) []byte {
	e := Exchanged{Query: new(dns.Msg), At: time.Now(), TCP: tcp}
	if e.Query.Unpack(q) != nil {
		return nil
	}
	a, err := r.forward(q, tcp)
	e.Latency = time.Since(e.At)
	if err == nil {
		m := new(dns.Msg)
		if m.Unpack(a) == nil {
			e.Answer = m
		}
	}
	r.mu.Lock()
	r.log = append(r.log, e)
	r.mu.Unlock()
	if err != nil {
		return nil
	}
	return a
}

// forward exchanges q with the upstream server.
func (r *Recorder) forward(q []byte, tcp bool) ([]byte, error) {
	network := "udp"
	var local net.Addr = &net.UDPAddr{IP: net.ParseIP(r.from)}
	if tcp {
		network, local = "tcp", &net.TCPAddr{IP: net.ParseIP(r.from)}
	}
	d := net.Dialer{LocalAddr: local, Timeout: IOTimeout}
	c, err := d.Dial(network, r.upstream)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(IOTimeout))
	if tcp {
		if err := writeFramed(c, q); err != nil {
			return nil, err
		}
		return readFramed(c)
	}
	if _, err := c.Write(q); err != nil {
		return nil, err
	}
	buf := make([]byte, 65535)
	n, err := c.Read(buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// readFramed reads one length-prefixed DNS message from a stream.
func readFramed(c io.Reader) ([]byte, error) {
	var l [2]byte
	if _, err := io.ReadFull(c, l[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint16(l[:]))
	if len(b) == 0 {
		return nil, errors.New("empty message")
	}
	_, err := io.ReadFull(c, b)
	return b, err
}

// writeFramed writes one length-prefixed DNS message to a stream.
func writeFramed(c io.Writer, b []byte) error {
	out := make([]byte, 2+len(b))
	binary.BigEndian.PutUint16(out, uint16(len(b)))
	copy(out[2:], b)
	_, err := c.Write(out)
	return err
}
