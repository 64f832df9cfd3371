package veil

import (
	"context"
	"errors"
	"testing"

	"github.com/coredns/coredns/plugin/pkg/dnstest"
	"github.com/coredns/coredns/plugin/test"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/miekg/dns"
)

const (
	trustedV4  = "192.0.2.7:40000"
	externalV4 = "198.51.100.9:40000"
	trustedV6  = "[2001:db8:1::7]:40000"
	externalV6 = "[2001:db8:ffff::9]:40000"
)

const handlerCorefile = `veil {
	trusted 192.0.2.0/24
	trusted 2001:db8:1::/48
}`

// want describes what a request must produce at the writer.
type want struct {
	passed bool   // reached the next plugin, whose answer is written unchanged
	rcode  int    // rcode of the one message veil wrote itself
	ede    int    // EDE info code in that message, -1 for none
	hinfo  bool   // the message is the RFC 8482 HINFO answer
	silent bool   // nothing written at all
	closed bool   // the connection was closed
	class  string // class label counted in coredns_veil_requests_total
}

func TestServeDNS(t *testing.T) {
	passed := func(class string) want { return want{passed: true, ede: -1, class: class} }
	refused := want{rcode: dns.RcodeRefused, ede: int(dns.ExtendedErrorCodeProhibited), class: "external"}
	hinfo := want{rcode: dns.RcodeSuccess, ede: -1, hinfo: true, class: "external"}

	tests := []struct {
		name     string
		corefile string
		addr     string
		tcp      bool
		qname    string
		qtype    uint16
		opcode   int
		noEDNS   bool
		tsig     string // "", "valid" or "bad"
		want     want
	}{
		{name: "external A passes", addr: externalV4, qname: "www.example.org.", qtype: dns.TypeA, want: passed("external")},
		{name: "external v6 A passes", addr: externalV6, qname: "www.example.org.", qtype: dns.TypeA, want: passed("external")},
		{name: "trusted A passes", addr: trustedV4, qname: "www.example.org.", qtype: dns.TypeA, want: passed("trusted")},
		{name: "trusted v6 A passes", addr: trustedV6, qname: "www.example.org.", qtype: dns.TypeA, want: passed("trusted")},

		{name: "external AXFR over TCP refused", addr: externalV4, tcp: true, qname: "example.org.", qtype: dns.TypeAXFR, want: refused},
		{name: "external AXFR over UDP refused", addr: externalV4, qname: "example.org.", qtype: dns.TypeAXFR, want: refused},
		{name: "external v6 AXFR refused", addr: externalV6, tcp: true, qname: "example.org.", qtype: dns.TypeAXFR, want: refused},
		{name: "external IXFR over UDP refused", addr: externalV4, qname: "example.org.", qtype: dns.TypeIXFR, want: refused},
		{name: "external v6 IXFR over TCP refused", addr: externalV6, tcp: true, qname: "example.org.", qtype: dns.TypeIXFR, want: refused},
		{name: "external AXFR without EDNS is plain REFUSED", addr: externalV4, tcp: true, qname: "example.org.", qtype: dns.TypeAXFR, noEDNS: true,
			want: want{rcode: dns.RcodeRefused, ede: -1, class: "external"}},
		{name: "external AXFR below the zone refused", addr: externalV4, tcp: true, qname: "sub.example.org.", qtype: dns.TypeAXFR, want: refused},
		{name: "external AXFR in upper case refused", addr: externalV4, tcp: true, qname: "ExAmPlE.OrG.", qtype: dns.TypeAXFR, want: refused},
		{name: "external AXFR with opcode NOTIFY refused", addr: externalV4, tcp: true, qname: "example.org.", qtype: dns.TypeAXFR, opcode: dns.OpcodeNotify, want: refused},
		{name: "external AXFR with opcode STATUS refused", addr: externalV4, tcp: true, qname: "example.org.", qtype: dns.TypeAXFR, opcode: dns.OpcodeStatus, want: refused},
		{name: "external AXFR for another zone passes", addr: externalV4, tcp: true, qname: "example.net.", qtype: dns.TypeAXFR, want: want{passed: true, ede: -1}},
		{name: "external AXFR for a look-alike zone passes", addr: externalV4, tcp: true, qname: "badexample.org.", qtype: dns.TypeAXFR, want: want{passed: true, ede: -1}},
		{name: "trusted AXFR passes", addr: trustedV4, tcp: true, qname: "example.org.", qtype: dns.TypeAXFR, want: passed("trusted")},
		{name: "trusted v6 IXFR passes", addr: trustedV6, tcp: true, qname: "example.org.", qtype: dns.TypeIXFR, want: passed("trusted")},
		{name: "external AXFR with verified TSIG passes", addr: externalV4, tcp: true, qname: "example.org.", qtype: dns.TypeAXFR, tsig: "valid", want: passed("tsig")},
		{name: "external AXFR with failed TSIG refused", addr: externalV4, tcp: true, qname: "example.org.", qtype: dns.TypeAXFR, tsig: "bad", want: refused},
		{name: "external A with verified TSIG stays external", addr: externalV4, qname: "www.example.org.", qtype: dns.TypeA, tsig: "valid", want: passed("external")},
		{name: "transfer drop over TCP closes", corefile: "veil {\n transfer drop\n}", addr: externalV4, tcp: true, qname: "example.org.", qtype: dns.TypeAXFR,
			want: want{silent: true, closed: true, ede: -1, class: "external"}},
		{name: "transfer drop over UDP is silent", corefile: "veil {\n transfer drop\n}", addr: externalV4, qname: "example.org.", qtype: dns.TypeIXFR,
			want: want{silent: true, ede: -1, class: "external"}},

		{name: "external ANY over UDP gets HINFO", addr: externalV4, qname: "example.org.", qtype: dns.TypeANY, want: hinfo},
		{name: "external ANY over TCP gets HINFO", addr: externalV4, tcp: true, qname: "example.org.", qtype: dns.TypeANY, want: hinfo},
		{name: "external v6 ANY for a missing name gets HINFO", addr: externalV6, qname: "no-such-name.example.org.", qtype: dns.TypeANY, want: hinfo},
		{name: "external ANY without EDNS gets HINFO", addr: externalV4, qname: "example.org.", qtype: dns.TypeANY, noEDNS: true, want: hinfo},
		{name: "trusted ANY passes", addr: trustedV4, qname: "example.org.", qtype: dns.TypeANY, want: passed("trusted")},
		{name: "external ANY NOTIFY passes", addr: externalV4, qname: "example.org.", qtype: dns.TypeANY, opcode: dns.OpcodeNotify, want: passed("external")},
		{name: "any refuse", corefile: "veil {\n any refuse\n}", addr: externalV4, qname: "example.org.", qtype: dns.TypeANY, want: refused},
		{name: "any drop over UDP", corefile: "veil {\n any drop\n}", addr: externalV4, qname: "example.org.", qtype: dns.TypeANY,
			want: want{silent: true, ede: -1, class: "external"}},
		{name: "any hinfo tcp pass: UDP", corefile: "veil {\n any hinfo tcp pass\n}", addr: externalV4, qname: "example.org.", qtype: dns.TypeANY, want: hinfo},
		{name: "any hinfo tcp pass: TCP", corefile: "veil {\n any hinfo tcp pass\n}", addr: externalV4, tcp: true, qname: "example.org.", qtype: dns.TypeANY, want: passed("external")},
		{name: "any pass", corefile: "veil {\n any pass\n}", addr: externalV4, qname: "example.org.", qtype: dns.TypeANY, want: passed("external")},

		{name: "log-only AXFR passes", corefile: "veil {\n log-only\n}", addr: externalV4, tcp: true, qname: "example.org.", qtype: dns.TypeAXFR, want: passed("external")},
		{name: "log-only ANY passes", corefile: "veil {\n log-only\n}", addr: externalV4, qname: "example.org.", qtype: dns.TypeANY, want: passed("external")},

		{name: "IPv4-mapped client matches IPv4 network", addr: "[::ffff:192.0.2.9]:40000", tcp: true, qname: "example.org.", qtype: dns.TypeAXFR, want: passed("trusted")},
		{name: "link-local client with zone matches", corefile: "veil {\n trusted fe80::/10\n}", addr: "[fe80::1%eth0]:40000", tcp: true, qname: "example.org.", qtype: dns.TypeAXFR, want: passed("trusted")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			corefile := tc.corefile
			if corefile == "" {
				corefile = handlerCorefile
			}
			next := &answerHandler{}
			v := newTestVeil(t, corefile, next)
			w := newTestWriter(t, tc.addr, tc.tcp)
			if tc.tsig == "bad" {
				w.tsigErr = dns.ErrSig
			}
			r := query(tc.qname, tc.qtype, !tc.noEDNS)
			r.Opcode = tc.opcode
			if tc.tsig != "" {
				r.SetTsig("axfr-key.", dns.HmacSHA256, 300, 0)
			}

			var before float64
			if tc.want.class != "" {
				before = testutil.ToFloat64(RequestCount.WithLabelValues("", "example.org.", "", tc.want.class))
			}
			rcode, err := v.ServeDNS(context.Background(), w, r)
			if err != nil {
				t.Fatalf("ServeDNS error: %v", err)
			}
			if rcode != dns.RcodeSuccess {
				t.Errorf("ServeDNS rcode = %d, want %d (message written)", rcode, dns.RcodeSuccess)
			}
			if tc.want.class != "" {
				after := testutil.ToFloat64(RequestCount.WithLabelValues("", "example.org.", "", tc.want.class))
				if after-before != 1 {
					t.Errorf("requests_total{class=%q} moved by %v, want 1", tc.want.class, after-before)
				}
			}
			checkWritten(t, tc.want, next, w, r)
		})
	}
}

func checkWritten(t *testing.T, want want, next *answerHandler, w *testWriter, r *dns.Msg) {
	t.Helper()
	if w.closed != want.closed {
		t.Errorf("connection closed = %v, want %v", w.closed, want.closed)
	}
	if want.passed {
		if next.calls != 1 || len(w.msgs) != 1 || len(w.msgs[0].Answer) != 1 || w.msgs[0].Answer[0].Header().Rrtype != dns.TypeA {
			t.Fatalf("request did not pass to the next plugin unchanged: calls=%d msgs=%v", next.calls, w.msgs)
		}
		return
	}
	if calls := next.calls; calls != 0 && (!want.hinfo || calls != 1) {
		t.Fatalf("next plugin called %d times, want 0 (1 for the zone-cut check of an HINFO answer)", next.calls)
	}
	if want.silent {
		if len(w.msgs) != 0 {
			t.Fatalf("wrote %d messages, want none", len(w.msgs))
		}
		return
	}
	if len(w.msgs) != 1 {
		t.Fatalf("wrote %d messages, want 1", len(w.msgs))
	}
	m := w.msgs[0]
	if !m.Response || m.Id != r.Id || m.Opcode != r.Opcode || m.Rcode != want.rcode {
		t.Errorf("header: qr=%v id=%d opcode=%d rcode=%s, want qr id=%d opcode=%d rcode=%s",
			m.Response, m.Id, m.Opcode, dns.RcodeToString[m.Rcode], r.Id, r.Opcode, dns.RcodeToString[want.rcode])
	}
	if len(m.Question) != 1 || m.Question[0] != r.Question[0] {
		t.Errorf("question = %v, want %v", m.Question, r.Question)
	}
	if len(m.Ns) != 0 {
		t.Errorf("authority section not empty: %v", m.Ns)
	}
	checkEDNS(t, m, r, want.ede)
	if want.hinfo {
		checkHINFO(t, m, r)
		return
	}
	if len(m.Answer) != 0 {
		t.Errorf("answer section of a refusal not empty: %v", m.Answer)
	}
}

// checkEDNS checks that the response carries OPT exactly when the request
// did, and the wanted Extended DNS Error (or none for -1).
func checkEDNS(t *testing.T, m, r *dns.Msg, ede int) {
	t.Helper()
	opt := m.IsEdns0()
	if (opt != nil) != (r.IsEdns0() != nil) {
		t.Fatalf("response OPT present = %v, request OPT present = %v", opt != nil, r.IsEdns0() != nil)
	}
	got := -1
	if opt != nil {
		for _, o := range opt.Option {
			if e, ok := o.(*dns.EDNS0_EDE); ok {
				got = int(e.InfoCode)
			}
		}
	}
	if got != ede {
		t.Errorf("EDE = %d, want %d", got, ede)
	}
	// Every extra record must be the OPT: nothing else leaks there.
	for _, rr := range m.Extra {
		if rr.Header().Rrtype != dns.TypeOPT {
			t.Errorf("unexpected additional record %v", rr)
		}
	}
}

func checkHINFO(t *testing.T, m, r *dns.Msg) {
	t.Helper()
	if !m.Authoritative {
		t.Errorf("HINFO answer not authoritative")
	}
	if len(m.Answer) != 1 {
		t.Fatalf("answer = %v, want one HINFO", m.Answer)
	}
	h, ok := m.Answer[0].(*dns.HINFO)
	if !ok {
		t.Fatalf("answer %v is not HINFO", m.Answer[0])
	}
	if h.Hdr.Name != r.Question[0].Name || h.Hdr.Class != dns.ClassINET || h.Hdr.Ttl != hinfoTTL || h.Cpu != "RFC8482" || h.Os != "" {
		t.Errorf("HINFO = %v, want %s %d IN HINFO \"RFC8482\" \"\"", h, r.Question[0].Name, hinfoTTL)
	}
}

func TestServeDNSPolicyCounter(t *testing.T) {
	for _, tc := range []struct {
		corefile, reason, action, mode string
		qtype                          uint16
	}{
		{"veil", "axfr", "refuse", "enforce", dns.TypeAXFR},
		{"veil", "ixfr", "refuse", "enforce", dns.TypeIXFR},
		{"veil", "any", "hinfo", "enforce", dns.TypeANY},
		{"veil {\n transfer drop\n any refuse\n log-only\n}", "axfr", "drop", "log_only", dns.TypeAXFR},
		{"veil {\n transfer drop\n any refuse\n log-only\n}", "any", "refuse", "log_only", dns.TypeANY},
	} {
		v := newTestVeil(t, tc.corefile, &answerHandler{})
		c := PolicyCount.WithLabelValues("", "example.org.", "", tc.reason, tc.action, tc.mode)
		before := testutil.ToFloat64(c)
		for range 3 {
			v.ServeDNS(context.Background(), newTestWriter(t, externalV4, true), query("example.org.", tc.qtype, true))
		}
		if got := testutil.ToFloat64(c) - before; got != 3 {
			t.Errorf("%q: policy_actions_total{reason=%q,action=%q,mode=%q} moved by %v, want 3", tc.corefile, tc.reason, tc.action, tc.mode, got)
		}
	}
}

func TestServeDNSNoQuestionPasses(t *testing.T) {
	next := &answerHandler{}
	v := newTestVeil(t, handlerCorefile, next)
	w := newTestWriter(t, externalV4, false)
	r := new(dns.Msg)
	if _, err := v.ServeDNS(context.Background(), w, r); err != nil {
		t.Fatal(err)
	}
	if next.calls != 1 {
		t.Fatalf("a message without question must go to the next plugin untouched; calls = %d", next.calls)
	}
	two := query("example.org.", dns.TypeAXFR, false)
	two.Question = append(two.Question, two.Question[0])
	if _, err := v.ServeDNS(context.Background(), w, two); err != nil {
		t.Fatal(err)
	}
	if next.calls != 2 {
		t.Fatalf("a message with two questions must go to the next plugin untouched; calls = %d", next.calls)
	}
}

func TestTsigVerified(t *testing.T) {
	w := newTestWriter(t, externalV4, true)
	r := query("example.org.", dns.TypeAXFR, false)
	if tsigVerified(w, r) {
		t.Error("no TSIG record, nil TsigStatus: must not count as verified")
	}
	r.SetTsig("k.", dns.HmacSHA256, 300, 0)
	if !tsigVerified(w, r) {
		t.Error("TSIG record with nil TsigStatus: must count as verified")
	}
	w.tsigErr = errors.New("bad signature")
	if tsigVerified(w, r) {
		t.Error("TSIG record that failed verification counted as verified")
	}
}

// The same decisions through CoreDNS's own test writers (test.ResponseWriter
// at 10.240.0.1, test.ResponseWriter6 at fe80::42:ff:feca:4c65), recorded
// with dnstest.Recorder.
func TestServeDNSCoreDNSWriters(t *testing.T) {
	trusting := "veil {\n trusted 10.240.0.0/16 fe80::/10\n}"
	tests := []struct {
		name     string
		corefile string
		w        dns.ResponseWriter
		qtype    uint16
		rcode    int
		calls    int // of the next plugin: 1 for a request passed on or an HINFO answer's zone-cut check
	}{
		{"v4 external AXFR", "veil", &test.ResponseWriter{TCP: true}, dns.TypeAXFR, dns.RcodeRefused, 0},
		{"v6 external AXFR", "veil", &test.ResponseWriter6{ResponseWriter: test.ResponseWriter{TCP: true}}, dns.TypeAXFR, dns.RcodeRefused, 0},
		{"v4 trusted AXFR", trusting, &test.ResponseWriter{TCP: true}, dns.TypeAXFR, dns.RcodeSuccess, 1},
		{"v6 trusted AXFR", trusting, &test.ResponseWriter6{ResponseWriter: test.ResponseWriter{TCP: true}}, dns.TypeAXFR, dns.RcodeSuccess, 1},
		{"v4 external ANY", "veil", &test.ResponseWriter{}, dns.TypeANY, dns.RcodeSuccess, 1},
		{"v6 external A", "veil", &test.ResponseWriter6{}, dns.TypeA, dns.RcodeSuccess, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next := &answerHandler{}
			v := newTestVeil(t, tc.corefile, next)
			rec := dnstest.NewRecorder(tc.w)
			if _, err := v.ServeDNS(context.Background(), rec, query("example.org.", tc.qtype, true)); err != nil {
				t.Fatal(err)
			}
			if rec.Msg == nil || rec.Msg.Rcode != tc.rcode || next.calls != tc.calls {
				t.Fatalf("rcode %v, next called %d times; want %s and %d calls", rec.Msg, next.calls, dns.RcodeToString[tc.rcode], tc.calls)
			}
		})
	}
}
