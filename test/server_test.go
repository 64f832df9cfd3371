package test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin/metrics"

	"github.com/miekg/dns"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

const (
	trustedIP  = "127.0.0.1"
	externalIP = "127.0.0.2"
	ioTimeout  = 2 * time.Second
)

// server is a CoreDNS instance started in this process.
type server struct {
	addr       string // 127.0.0.1:port, UDP and TCP
	metricsURL string
	label      string // the "server" label of its metrics
	port2      int    // the port {port2} stands for, if the Corefile has it
}

var startMu sync.Mutex

// startServer starts CoreDNS from corefile, in which {port} stands for a
// free port (UDP and TCP), {port2}, if present, for another, and {zones}
// for test/testdata. It stops the server when the test ends.
func startServer(t *testing.T, corefile string) server {
	t.Helper()
	startMu.Lock()
	defer startMu.Unlock()
	caddy.Quiet, dnsserver.Quiet = true, true
	testdata, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	port, port2 := freePort(t), 0
	if strings.Contains(corefile, "{port2}") {
		for range 10 {
			if port2 = freePort(t); port2 != port {
				break
			}
		}
		if port2 == port {
			t.Fatal("no second free port")
		}
	}
	corefile = strings.NewReplacer("{port}", fmt.Sprint(port), "{port2}", fmt.Sprint(port2), "{zones}", testdata).Replace(corefile)
	inst, err := caddy.Start(caddy.CaddyfileInput{Contents: []byte(corefile), Filepath: "Corefile", ServerTypeName: "dns"})
	if err != nil {
		t.Fatalf("starting CoreDNS: %v\n%s", err, corefile)
	}
	t.Cleanup(func() { inst.Stop() })
	return server{
		addr:       net.JoinHostPort(trustedIP, fmt.Sprint(port)),
		metricsURL: "http://" + metrics.ListenAddr + "/metrics",
		label:      fmt.Sprintf("dns://%s:%d", trustedIP, port),
		port2:      port2,
	}
}

// freePort returns a port that is free for both UDP and TCP on 127.0.0.1.
func freePort(t *testing.T) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", trustedIP+":0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("%s:%d", trustedIP, port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// client returns a DNS client on network ("udp" or "tcp") whose sockets are
// bound to the source address ip.
func client(network, ip string) *dns.Client {
	var local net.Addr = &net.UDPAddr{IP: net.ParseIP(ip)}
	if network == "tcp" {
		local = &net.TCPAddr{IP: net.ParseIP(ip)}
	}
	return &dns.Client{Net: network, Timeout: ioTimeout, Dialer: &net.Dialer{LocalAddr: local, Timeout: ioTimeout}}
}

// exchange sends m from source ip over network and returns the answer.
func exchange(t *testing.T, network, ip, addr string, m *dns.Msg) *dns.Msg {
	t.Helper()
	r, _, err := client(network, ip).Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s query %v from %s: %v", network, m.Question, ip, err)
	}
	return r
}

// transfer runs a zone transfer from source ip over TCP and returns every
// record received, or the error (a refusal is an error here).
func transfer(t *testing.T, ip, addr string, m *dns.Msg) ([]dns.RR, error) {
	t.Helper()
	conn, err := client("tcp", ip).Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	tr := &dns.Transfer{Conn: conn, DialTimeout: ioTimeout, ReadTimeout: ioTimeout}
	if m.IsTsig() != nil {
		tr.TsigSecret = tsigSecrets
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

// rawExchange sends the packed message b from source ip and returns the raw
// reply: one datagram for UDP; for TCP one message, or for a zone transfer
// every message up to the closing SOA. A nil result means no answer within
// noAnswerWait.
func rawExchange(t *testing.T, network, ip, addr string, b []byte) [][]byte {
	t.Helper()
	conn, err := client(network, ip).Dialer.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if network == "udp" {
		if _, err := conn.Write(b); err != nil {
			t.Fatal(err)
		}
		conn.SetReadDeadline(time.Now().Add(noAnswerWait))
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
	var out [][]byte
	soas := 0
	for range 1000 {
		conn.SetReadDeadline(time.Now().Add(noAnswerWait))
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

// noAnswerWait is how long rawExchange waits before it takes silence as no
// answer. Loopback answers take microseconds, even under -race.
const noAnswerWait = 300 * time.Millisecond

// scrape returns the metric families served at url.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	c := &http.Client{Timeout: ioTimeout}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

// metricValue returns the value of the series of name whose labels include
// all of want, or 0 if there is none.
func metricValue(mfs map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	m := findSeries(mfs, name, want)
	if m == nil {
		return 0
	}
	if c := m.GetCounter(); c != nil {
		return c.GetValue()
	}
	return m.GetGauge().GetValue()
}

// findSeries returns the first series of name whose labels include all of
// want, or nil.
func findSeries(mfs map[string]*dto.MetricFamily, name string, want map[string]string) *dto.Metric {
	for _, m := range mfs[name].GetMetric() {
		match := 0
		for _, l := range m.GetLabel() {
			if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
				match++
			}
		}
		if match == len(want) {
			return m
		}
	}
	return nil
}

// ede returns the Extended DNS Error code in m, or -1.
func ede(m *dns.Msg) int {
	if o := m.IsEdns0(); o != nil {
		for _, opt := range o.Option {
			if e, ok := opt.(*dns.EDNS0_EDE); ok {
				return int(e.InfoCode)
			}
		}
	}
	return -1
}

func mustPack(t *testing.T, m *dns.Msg) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
