package tokens

import (
	"testing"

	"github.com/miekg/dns"

	"github.com/veildns/veil/tokens/tokenstest"
)

// catchFixture is a backend's answer to TXT at the apex and some of its
// records, for the tests of the oracle.
type catchFixture struct {
	q                          dns.Question
	in                         *dns.Msg
	spf, token, dkim, ns, glue dns.RR
	soa                        dns.RR // not in the answer
}

// newCatchFixture returns the fixture.
func newCatchFixture(t *testing.T) *catchFixture {
	t.Helper()
	x := &catchFixture{
		q:     dns.Question{Name: testZone, Qtype: dns.TypeTXT, Qclass: dns.ClassINET},
		in:    new(dns.Msg),
		spf:   newRR(t, `example.org. 300 IN TXT "v=spf1 -all"`),
		token: newRR(t, `example.org. 300 IN TXT "MS=ms64239401"`),
		dkim:  newRR(t, `s._DomainKey.example.org. 300 IN TXT "t=y; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDDmzRmJRQx"`),
		ns:    newRR(t, "example.org. 300 IN NS ns1.example.org."),
		glue:  newRR(t, "ns1.example.org. 300 IN A 192.0.2.53"),
		soa:   newRR(t, "example.org. 300 IN SOA ns1.example.org. h.example.org. 1 2 3 4 5"),
	}
	x.in.SetQuestion(x.q.Name, x.q.Qtype)
	x.in.Response = true
	x.in.Answer = []dns.RR{x.spf, x.token}
	x.in.Ns = []dns.RR{x.ns, x.dkim}
	x.in.Extra = []dns.RR{x.glue}
	return x
}

// build returns a rewrite of x.in that shares its records, as Hide's does,
// changed by edit.
func (x *catchFixture) build(edit func(m *dns.Msg)) *dns.Msg {
	m := new(dns.Msg)
	*m = *x.in
	m.Answer = append([]dns.RR(nil), x.in.Answer...)
	m.Ns = append([]dns.RR(nil), x.in.Ns...)
	m.Extra = append([]dns.RR(nil), x.in.Extra...)
	edit(m)
	return m
}

// checkFiltered rejects what a broken rewrite would give, so that the
// fuzzer cannot pass vacuously.
func TestCheckFilteredCatches(t *testing.T) {
	x := newCatchFixture(t)
	good := map[string]*dns.Msg{
		"token hidden":      x.build(func(m *dns.Msg) { m.Answer = m.Answer[:1] }),
		"nothing hidden":    x.build(func(*dns.Msg) {}),
		"truncated by size": x.build(func(m *dns.Msg) { m.Truncated, m.Answer = true, nil }),
	}
	for name, out := range good {
		if msg := tokenstest.CheckFiltered(x.in, out, x.q, ""); msg != "" {
			t.Errorf("%s: rejected: %s", name, msg)
		}
	}
	bad := map[string]*dns.Msg{
		"SPF hidden":            x.build(func(m *dns.Msg) { m.Answer = m.Answer[1:] }),
		"DKIM owner hidden":     x.build(func(m *dns.Msg) { m.Ns = m.Ns[:1] }),
		"NS removed":            x.build(func(m *dns.Msg) { m.Ns = m.Ns[1:] }),
		"glue removed":          x.build(func(m *dns.Msg) { m.Extra = nil }),
		"record added":          x.build(func(m *dns.Msg) { m.Answer = append(m.Answer, newRR(t, `example.org. 300 IN TXT "new"`)) }),
		"NXDOMAIN with answers": x.build(func(m *dns.Msg) { m.Rcode = dns.RcodeNameError }),
	}
	for name, out := range bad {
		if msg := tokenstest.CheckFiltered(x.in, out, x.q, ""); msg == "" {
			t.Errorf("%s: accepted", name)
		}
	}
	// A question that lost its answer may take the negative shape.
	x.in.Answer = []dns.RR{x.token}
	negative := x.build(func(m *dns.Msg) { m.Answer, m.Ns, m.Extra = nil, []dns.RR{x.soa}, nil })
	if msg := tokenstest.CheckFiltered(x.in, negative, x.q, x.soa.String()); msg != "" {
		t.Errorf("negative shape rejected: %s", msg)
	}
	negative.Extra = []dns.RR{x.token}
	if msg := tokenstest.CheckFiltered(x.in, negative, x.q, x.soa.String()); msg == "" {
		t.Error("negative shape with a TXT record in the additional section accepted")
	}
	negative.Extra, negative.Ns = nil, []dns.RR{x.soa, x.soa}
	if msg := tokenstest.CheckFiltered(x.in, negative, x.q, x.soa.String()); msg == "" {
		t.Error("negative shape with two SOA records accepted")
	}
}

// checkHidden, checkFound and checkRcode reject what a broken rewrite
// would give.
func TestCheckRewriteCatches(t *testing.T) {
	x := newCatchFixture(t)
	kept := x.build(func(*dns.Msg) {})
	hidden := x.build(func(m *dns.Msg) { m.Answer = m.Answer[:1] })
	// Under hide all, the token must go; and what Find reports must.
	if msg := tokenstest.CheckHidden(x.in, kept); msg == "" {
		t.Error("checkHidden: a token left in place accepted")
	}
	if msg := tokenstest.CheckHidden(x.in, hidden); msg != "" {
		t.Errorf("checkHidden: rejected the token hidden: %s", msg)
	}
	found := []Found{{RR: x.token, Section: 0, Pos: 1}}
	if msg := checkFound(x.in, kept, found); msg == "" {
		t.Error("checkFound: a found record left in place accepted")
	}
	if msg := checkFound(x.in, hidden, []Found{{RR: x.token, Section: 0, Pos: 0}}); msg == "" {
		t.Error("checkFound: a record found at the wrong position accepted")
	}
	if msg := checkFound(x.in, hidden, found); msg != "" {
		t.Errorf("checkFound: rejected: %s", msg)
	}

	x.in.Answer = []dns.RR{x.token}
	negative := x.build(func(m *dns.Msg) { m.Answer, m.Ns, m.Extra = nil, []dns.RR{x.soa}, nil })
	if msg := checkRcode(x.in, negative); msg != "" {
		t.Errorf("NODATA for a host rejected: %s", msg)
	}
	negative.Rcode = dns.RcodeRefused
	if msg := checkRcode(x.in, negative); msg == "" {
		t.Error("checkRcode: REFUSED accepted")
	}
	// The rewrite never makes a name vanish: that is an Absence's answer.
	negative.Rcode = dns.RcodeNameError
	if msg := checkRcode(x.in, negative); msg == "" {
		t.Error("checkRcode: NXDOMAIN accepted")
	}
}
