package harness

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// The loopback source addresses of the in-process tests' clients.
const (
	// TrustedIP is the client every veil block of the tests trusts.
	TrustedIP = "127.0.0.1"
	// ExternalIP is an external client.
	ExternalIP = "127.0.0.2"
	// ThirdIP is another external client: a neighbour, or a client in a
	// view of its own.
	ThirdIP = "127.0.0.3"
)

// IOTimeout bounds every dial, read and write of the clients.
const IOTimeout = 2 * time.Second

// ScrapeTimeout bounds a scrape of /metrics. It is longer than IOTimeout:
// every server of the test process shares veil's gauge collector, which
// reads each zone's limiter table at scrape time (4 MiB each, on by
// default), and under -race every atomic load of that read is
// instrumented: a scrape took over 2 s in CI.
const ScrapeTimeout = 20 * time.Second

// NoAnswerWait is how long RawExchange waits before it takes silence as no
// answer. Loopback answers take microseconds, even under -race.
const NoAnswerWait = 300 * time.Millisecond

// Client returns a DNS client on network ("udp" or "tcp") whose sockets are
// bound to the source address ip.
func Client(network, ip string) *dns.Client {
	var local net.Addr = &net.UDPAddr{IP: net.ParseIP(ip)}
	if network == "tcp" {
		local = &net.TCPAddr{IP: net.ParseIP(ip)}
	}
	return &dns.Client{Net: network, Timeout: IOTimeout, Dialer: &net.Dialer{LocalAddr: local, Timeout: IOTimeout}}
}

// Exchange sends m from source ip over network and returns the answer.
func Exchange(t *testing.T, network, ip, addr string, m *dns.Msg) *dns.Msg {
	t.Helper()
	r, _, err := Client(network, ip).Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s query %v from %s: %v", network, m.Question, ip, err)
	}
	return r
}

// Transfer runs a zone transfer from source ip over TCP and returns every
// record received, or the error (a refusal is an error here). A TSIG-signed
// m is signed with TSIGSecrets.
func Transfer(t *testing.T, ip, addr string, m *dns.Msg) ([]dns.RR, error) {
	t.Helper()
	conn, err := Client("tcp", ip).Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	tr := &dns.Transfer{Conn: conn, DialTimeout: IOTimeout, ReadTimeout: IOTimeout}
	if m.IsTsig() != nil {
		tr.TsigSecret = TSIGSecrets
	}
	env, err := tr.In(m, addr)
	if err != nil {
		return nil, err
	}
	var rrs []dns.RR
	for e := range env {
		if e.Error != nil {
			return rrs, e.Error
		}
		rrs = append(rrs, e.RR...)
	}
	return rrs, nil
}

// RawExchange sends the packed message b from source ip and returns the raw
// reply: one datagram for UDP; for TCP one message, or for a zone transfer
// every message up to the closing SOA. A nil result means no answer within
// NoAnswerWait.
func RawExchange(t *testing.T, network, ip, addr string, b []byte) [][]byte {
	t.Helper()
	conn, err := Client(network, ip).Dialer.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if network == "udp" {
		if _, err := conn.Write(b); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(NoAnswerWait))
		buf := make([]byte, 65535)
		n, err := conn.Read(buf)
		if err != nil {
			return nil
		}
		return [][]byte{buf[:n]}
	}
	frame := append([]byte{byte(len(b) >> 8), byte(len(b))}, b...)
	if _, err := conn.Write(frame); err != nil {
		t.Fatal(err)
	}
	return readTCPReply(conn)
}

// readTCPReply reads one message from conn, or for a zone transfer every
// message up to the closing SOA, each waiting at most NoAnswerWait.
func readTCPReply(conn net.Conn) [][]byte {
	var out [][]byte
	soas := 0
	for range 1000 {
		conn.SetReadDeadline(time.Now().Add(NoAnswerWait))
		var l [2]byte
		if _, err := io.ReadFull(conn, l[:]); err != nil {
			return out
		}
		msg := make([]byte, int(l[0])<<8|int(l[1]))
		if _, err := io.ReadFull(conn, msg); err != nil {
			return out
		}
		out = append(out, msg)
		m := new(dns.Msg)
		if m.Unpack(msg) != nil || m.Rcode != dns.RcodeSuccess || len(m.Question) != 1 || m.Question[0].Qtype != dns.TypeAXFR {
			return out
		}
		for _, rr := range m.Answer {
			if rr.Header().Rrtype == dns.TypeSOA {
				soas++
			}
		}
		if soas >= 2 {
			return out
		}
	}
	return out
}
