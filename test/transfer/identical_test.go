package transfer

import (
	"testing"

	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

// identicalQueries are sent, once each and in this order, to the same
// server with and without veil.
func identicalQueries() []struct {
	name    string
	network string
	msg     *dns.Msg
} {
	q := func(name string, qtype uint16, do bool) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion(name, qtype)
		m.Id = 0x5eed
		m.SetEdns0(1232, do)
		return m
	}
	plain := q("www.example.org.", dns.TypeA, false)
	plain.Extra = nil // no EDNS at all
	return []struct {
		name    string
		network string
		msg     *dns.Msg
	}{
		{"A", "udp", q("www.example.org.", dns.TypeA, false)},
		{"A without EDNS", "udp", plain},
		{"AAAA", "udp", q("www.example.org.", dns.TypeAAAA, false)},
		{"MX", "udp", q("example.org.", dns.TypeMX, false)},
		{"TXT", "udp", q("example.org.", dns.TypeTXT, false)},
		{"NS", "udp", q("example.org.", dns.TypeNS, false)},
		{"SOA", "udp", q("example.org.", dns.TypeSOA, false)},
		{"CNAME chase", "udp", q("intranet.example.org.", dns.TypeA, false)},
		{"NXDOMAIN", "udp", q("no-such-name.example.org.", dns.TypeA, false)},
		{"NODATA", "udp", q("www.example.org.", dns.TypeMX, false)},
		{"A over TCP", "tcp", q("mail.example.org.", dns.TypeA, false)},
		{"ANY over UDP", "udp", q("example.org.", dns.TypeANY, false)},
		{"ANY over TCP", "tcp", q("www.example.org.", dns.TypeANY, false)},
		{"AXFR", "tcp", q("example.org.", dns.TypeAXFR, false)},
		{"AXFR over UDP", "udp", q("example.org.", dns.TypeAXFR, false)},
		{"DNSSEC-OK A", "udp", q("www.signed.test.", dns.TypeA, true)},
		{"DNSSEC-OK DNSKEY", "udp", q("signed.test.", dns.TypeDNSKEY, true)},
		{"DNSSEC-OK NXDOMAIN", "udp", q("no-such-name.signed.test.", dns.TypeA, true)},
		{"DNSSEC-OK NODATA", "udp", q("www.signed.test.", dns.TypeTXT, true)},
		{"DNSSEC-OK AXFR", "tcp", q("signed.test.", dns.TypeAXFR, true)},
	}
}

// A trusted client's responses are byte for byte what CoreDNS without veil
// sends.
func TestTrustedResponsesIdentical(t *testing.T) {
	guarded := harness.StartServer(t, harness.Corefile(harness.DefaultVeil))
	plain := harness.StartServer(t, harness.Corefile(""))
	for _, tc := range identicalQueries() {
		b := harness.MustPack(t, tc.msg)
		want := harness.RawExchange(t, tc.network, harness.TrustedIP, plain.Addr, b)
		got := harness.RawExchange(t, tc.network, harness.TrustedIP, guarded.Addr, b)
		if len(want) == 0 {
			t.Errorf("%s: the server without veil did not answer; the comparison would prove nothing", tc.name)
			continue
		}
		same := equalMessages(got, want)
		if tc.msg.Question[0].Qtype == dns.TypeAXFR && tc.network == "tcp" {
			// CoreDNS's transfer sends the RRsets of a name in map order,
			// which differs between runs; compare the records as a set.
			same = equalTransfers(t, got, want)
		}
		if !same {
			t.Errorf("%s: trusted response differs from CoreDNS without veil\n got: %s\nwant: %s", tc.name, describe(got), describe(want))
		}
	}
	// Every one of those queries went through veil as trusted.
	mfs := harness.Scrape(t, guarded.MetricsURL)
	total := harness.MetricValue(mfs, "coredns_veil_requests_total", map[string]string{"server": guarded.Label, "zone": "example.org.", "class": "trusted"}) +
		harness.MetricValue(mfs, "coredns_veil_requests_total", map[string]string{"server": guarded.Label, "zone": "signed.test.", "class": "trusted"})
	if want := float64(len(identicalQueries())); total != want {
		t.Errorf("requests_total{class=trusted} = %v, want %v", total, want)
	}
}
