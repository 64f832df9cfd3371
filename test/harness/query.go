package harness

import (
	"testing"

	"github.com/miekg/dns"
)

// AQuery returns a query for the A records of name, without EDNS.
func AQuery(name string) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeA)
	return m
}

// ResolverQuery returns a query for the A records of name as a recursive
// resolver asks an authoritative server: recursion not desired, EDNS
// (1232 bytes). The limiter judges such a client by its denials alone; a
// stub-like query (AQuery: recursion desired, no EDNS) also spends the
// stub budget with every answer.
func ResolverQuery(name string) *dns.Msg {
	m := AQuery(name)
	m.RecursionDesired = false
	m.SetEdns0(1232, false)
	return m
}

// ANYQuery returns a query for type ANY at name, with EDNS (1232 bytes).
func ANYQuery(name string) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeANY)
	m.SetEdns0(1232, false)
	return m
}

// XFRQuery returns a zone transfer request for zone: qtype is dns.TypeAXFR
// or dns.TypeIXFR (with serial 1 in the authority section); edns adds an OPT
// record (1232 bytes).
func XFRQuery(zone string, qtype uint16, edns bool) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(zone, qtype)
	if qtype == dns.TypeIXFR {
		m.Ns = []dns.RR{&dns.SOA{Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeSOA, Class: dns.ClassINET},
			Ns: "ns1." + zone, Mbox: "hostmaster." + zone, Serial: 1}}
	}
	if edns {
		m.SetEdns0(1232, false)
	}
	return m
}

// MustPack returns m in wire format, failing the test if it cannot be
// packed.
func MustPack(t *testing.T, m *dns.Msg) []byte {
	t.Helper()
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// EDE returns the Extended DNS Error code in m, or -1.
func EDE(m *dns.Msg) int {
	if o := m.IsEdns0(); o != nil {
		for _, opt := range o.Option {
			if e, ok := opt.(*dns.EDNS0_EDE); ok {
				return int(e.InfoCode)
			}
		}
	}
	return -1
}

// CheckRefused asserts m is REFUSED with EDE 18 and carries no record.
func CheckRefused(t *testing.T, what string, m *dns.Msg) {
	t.Helper()
	if m.Rcode != dns.RcodeRefused {
		t.Errorf("%s: rcode %s, want REFUSED", what, dns.RcodeToString[m.Rcode])
	}
	if got := EDE(m); got != int(dns.ExtendedErrorCodeProhibited) {
		t.Errorf("%s: EDE %d, want %d (Prohibited)", what, got, dns.ExtendedErrorCodeProhibited)
	}
	if len(m.Answer)+len(m.Ns) != 0 || len(m.Extra) != 1 {
		t.Errorf("%s: refusal carries records: answer=%v ns=%v extra=%v", what, m.Answer, m.Ns, m.Extra)
	}
}

// CheckHINFO asserts m is the RFC 8482 answer for name.
func CheckHINFO(t *testing.T, what, name string, m *dns.Msg) {
	t.Helper()
	if m.Rcode != dns.RcodeSuccess || !m.Authoritative {
		t.Errorf("%s: rcode %s aa=%v, want NOERROR aa", what, dns.RcodeToString[m.Rcode], m.Authoritative)
	}
	if len(m.Answer) != 1 || len(m.Ns) != 0 || len(m.Extra) != 1 {
		t.Fatalf("%s: answer=%v ns=%v extra=%v, want one HINFO and the OPT", what, m.Answer, m.Ns, m.Extra)
	}
	h, ok := m.Answer[0].(*dns.HINFO)
	if !ok || h.Hdr.Name != name || h.Hdr.Ttl != 3600 || h.Cpu != "RFC8482" || h.Os != "" {
		t.Errorf("%s: answer %v, want %s 3600 IN HINFO \"RFC8482\" \"\"", what, m.Answer[0], name)
	}
}
