package veil

import (
	"context"
	"encoding/binary"
	"math/bits"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin"

	"github.com/miekg/dns"
)

// testWriter is a dns.ResponseWriter that records what is written. Like the
// UDP and TCP writers of miekg/dns, RemoteAddr returns a stored address
// without allocating, so benchmarks measure veil and not the writer.
type testWriter struct {
	remote  net.Addr
	tsigErr error
	msgs    []*dns.Msg
	closed  bool
	discard bool // count messages instead of keeping them (benchmarks)
	written atomic.Int64
}

func newTestWriter(t testing.TB, addr string, tcp bool) *testWriter {
	t.Helper()
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		t.Fatalf("bad test address %q: %v", addr, err)
	}
	var remote net.Addr = net.UDPAddrFromAddrPort(ap)
	if tcp {
		remote = net.TCPAddrFromAddrPort(ap)
	}
	return &testWriter{remote: remote}
}

func (w *testWriter) LocalAddr() net.Addr  { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53} }
func (w *testWriter) RemoteAddr() net.Addr { return w.remote }
func (w *testWriter) WriteMsg(m *dns.Msg) error {
	w.written.Add(1)
	if !w.discard {
		w.msgs = append(w.msgs, m)
	}
	return nil
}
func (w *testWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *testWriter) Close() error                { w.closed = true; return nil }
func (w *testWriter) TsigStatus() error           { return w.tsigErr }
func (w *testWriter) TsigTimersOnly(bool)         {}
func (w *testWriter) Hijack()                     {}

// answerHandler stands in for an authoritative backend: it answers every
// query with one A record and counts how often it was called.
type answerHandler struct{ calls int }

func (h *answerHandler) ServeDNS(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	h.calls++
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	if len(r.Question) == 1 {
		m.Answer = []dns.RR{&dns.A{
			Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 300},
			A:   net.IPv4(192, 0, 2, 80),
		}}
	}
	w.WriteMsg(m)
	return dns.RcodeSuccess, nil
}

func (h *answerHandler) Name() string { return "answer" }

// parseExample parses a veil Corefile snippet as it would stand in a server
// block for example.org on port 53.
func parseExample(corefile string) (*Veil, error) {
	c := caddy.NewTestController("dns", corefile)
	c.ServerBlockKeys = []string{"example.org.:53"}
	return parse(c)
}

// newTestVeil parses a Corefile snippet for a server block serving
// example.org and wires the result in front of next.
func newTestVeil(t testing.TB, corefile string, next plugin.Handler) *Veil {
	t.Helper()
	v, err := parseExample(corefile)
	if err != nil {
		t.Fatalf("parse(%q): %v", corefile, err)
	}
	v.Next = next
	return v
}

func query(name string, qtype uint16, edns bool) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.Id = 4242
	if edns {
		m.SetEdns0(1232, false)
	}
	return m
}

// zoneNames returns the names of v's zones.
func zoneNames(v *Veil) []string {
	var names []string
	for _, z := range v.zones {
		names = append(names, z.name)
	}
	return names
}

// testZones returns a zoneSet of zones with the given names and nothing
// else.
func testZones(names ...string) zoneSet {
	zs := make(zoneSet, len(names))
	for i, n := range names {
		zs[i] = &zone{name: n}
	}
	return zs
}

// prefixesTagged decompiles the networks of ns that carry tag, sorted, so
// tests can compare what setup compiled with what the Corefile said.
func prefixesTagged(ns netSet, tag uint8) []netip.Prefix {
	var out []netip.Prefix
	for _, n := range ns.v4 {
		if n.tag&tag != 0 {
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], n.ip)
			out = append(out, netip.PrefixFrom(netip.AddrFrom4(b), bits.OnesCount32(n.mask)))
		}
	}
	for _, n := range ns.v6 {
		if n.tag&tag != 0 {
			var b [16]byte
			binary.BigEndian.PutUint64(b[:8], n.hi)
			binary.BigEndian.PutUint64(b[8:], n.lo)
			out = append(out, netip.PrefixFrom(netip.AddrFrom16(b), bits.OnesCount64(n.mhi)+bits.OnesCount64(n.mlo)))
		}
	}
	slices.SortFunc(out, func(a, b netip.Prefix) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// sortedPrefixes returns ps sorted as prefixesTagged sorts.
func sortedPrefixes(ps []netip.Prefix) []netip.Prefix {
	out := slices.Clone(ps)
	slices.SortFunc(out, func(a, b netip.Prefix) int { return strings.Compare(a.String(), b.String()) })
	return out
}
