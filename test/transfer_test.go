package test

import (
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func axfr(zone string, qtype uint16, edns bool) *dns.Msg {
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

// checkRefused asserts m is REFUSED with EDE 18 and carries no record.
func checkRefused(t *testing.T, what string, m *dns.Msg) {
	t.Helper()
	if m.Rcode != dns.RcodeRefused {
		t.Errorf("%s: rcode %s, want REFUSED", what, dns.RcodeToString[m.Rcode])
	}
	if got := ede(m); got != int(dns.ExtendedErrorCodeProhibited) {
		t.Errorf("%s: EDE %d, want %d (Prohibited)", what, got, dns.ExtendedErrorCodeProhibited)
	}
	if len(m.Answer)+len(m.Ns) != 0 || len(m.Extra) != 1 {
		t.Errorf("%s: refusal carries records: answer=%v ns=%v extra=%v", what, m.Answer, m.Ns, m.Extra)
	}
}

func TestTransferRefusedToExternal(t *testing.T) {
	s := startServer(t, corefile(defaultVeil))

	// AXFR and IXFR over TCP and UDP, for the apex and for names below it,
	// and with an opcode the transfer plugin does not check.
	cases := []struct {
		name    string
		network string
		qname   string
		qtype   uint16
		opcode  int
	}{
		{"AXFR over TCP", "tcp", "example.org.", dns.TypeAXFR, dns.OpcodeQuery},
		{"AXFR over UDP", "udp", "example.org.", dns.TypeAXFR, dns.OpcodeQuery},
		{"IXFR over TCP", "tcp", "example.org.", dns.TypeIXFR, dns.OpcodeQuery},
		{"IXFR over UDP", "udp", "example.org.", dns.TypeIXFR, dns.OpcodeQuery},
		{"AXFR below the zone", "tcp", "sub.example.org.", dns.TypeAXFR, dns.OpcodeQuery},
		{"AXFR of the signed zone", "tcp", "signed.test.", dns.TypeAXFR, dns.OpcodeQuery},
		{"AXFR with opcode NOTIFY", "tcp", "example.org.", dns.TypeAXFR, dns.OpcodeNotify},
	}
	for _, tc := range cases {
		m := axfr(tc.qname, tc.qtype, true)
		m.Opcode = tc.opcode
		checkRefused(t, tc.name, exchange(t, tc.network, externalIP, s.addr, m))
	}

	// A real transfer client sees the refusal and gets no record.
	rrs, err := transfer(t, externalIP, s.addr, axfr("example.org.", dns.TypeAXFR, false))
	if err == nil || len(rrs) != 0 {
		t.Errorf("external dns.Transfer: %d records, err %v; want a refusal and none", len(rrs), err)
	}

	mfs := scrape(t, s.metricsURL)
	for _, c := range []struct {
		zone, reason string
		want         float64
	}{
		{"example.org.", "axfr", 5}, // 4 above + dns.Transfer
		{"example.org.", "ixfr", 2},
		{"signed.test.", "axfr", 1},
	} {
		got := metricValue(mfs, "coredns_veil_policy_actions_total", map[string]string{
			"server": s.label, "zone": c.zone, "reason": c.reason, "action": "refuse", "mode": "enforce"})
		if got != c.want {
			t.Errorf("policy_actions_total{zone=%q,reason=%q} = %v, want %v", c.zone, c.reason, got, c.want)
		}
	}
	if got := metricValue(mfs, "coredns_veil_requests_total", map[string]string{"server": s.label, "zone": "example.org.", "class": "external"}); got != 7 {
		t.Errorf("requests_total{class=external} = %v, want 7", got)
	}
	if got := metricValue(mfs, "coredns_veil_requests_total", map[string]string{"server": s.label, "zone": "example.org.", "class": "trusted"}); got != 0 {
		t.Errorf("requests_total{class=trusted} = %v, want 0", got)
	}
}

func TestTransferToTrusted(t *testing.T) {
	s := startServer(t, corefile(defaultVeil))
	rrs, err := transfer(t, trustedIP, s.addr, axfr("example.org.", dns.TypeAXFR, false))
	if err != nil {
		t.Fatalf("trusted AXFR: %v", err)
	}
	zone := readZone(t, "db.example.org", "example.org.")
	// AXFR is the zone framed by its SOA: every record once plus the SOA again.
	if len(rrs) != len(zone)+1 {
		t.Errorf("trusted AXFR returned %d records, want %d", len(rrs), len(zone)+1)
	}
	// Compare without TTLs: the cache plugin in CoreDNS v1.15 rewrites the
	// TTLs of outgoing transfers (with or without veil; the byte-identity
	// test covers that veil changes nothing).
	got := map[string]bool{}
	for _, rr := range rrs {
		rr.Header().Ttl = 0
		got[rr.String()] = true
	}
	for _, rr := range zone {
		rr.Header().Ttl = 0
		if !got[rr.String()] {
			t.Errorf("trusted AXFR misses %q; got %q", rr, rrs)
		}
	}
	mfs := scrape(t, s.metricsURL)
	if v := metricValue(mfs, "coredns_veil_requests_total", map[string]string{"server": s.label, "zone": "example.org.", "class": "trusted"}); v != 1 {
		t.Errorf("requests_total{class=trusted} = %v, want 1", v)
	}
}

// A transfer signed with a key the server verified goes through from any
// address; a bad signature or an unknown key does not.
func TestTransferWithTSIG(t *testing.T) {
	s := startServer(t, corefile(defaultVeil))

	signed := axfr("example.org.", dns.TypeAXFR, false)
	signed.SetTsig(tsigKeyName, dns.HmacSHA256, 300, 0)
	rrs, err := transfer(t, externalIP, s.addr, signed)
	if err != nil || len(rrs) < 10 {
		t.Fatalf("TSIG-signed external AXFR: %d records, err %v; want the zone", len(rrs), err)
	}

	// The same key name with another secret: the server's verification fails.
	forged := axfr("example.org.", dns.TypeAXFR, true)
	forged.SetTsig(tsigKeyName, dns.HmacSHA256, 300, 0)
	c := client("tcp", externalIP)
	c.TsigSecret = map[string]string{tsigKeyName: "bm90IHRoZSBrZXkgbm90IHRoZSBrZXkgbm90IHRoZSBrZXk="}
	r, _, err := c.Exchange(forged, s.addr)
	if err != nil && r == nil {
		t.Fatalf("forged TSIG AXFR: %v", err)
	}
	checkRefused(t, "forged TSIG AXFR", r)

	unknown := axfr("example.org.", dns.TypeAXFR, true)
	unknown.SetTsig("other-key.", dns.HmacSHA256, 300, 0)
	c.TsigSecret = map[string]string{"other-key.": tsigSecret}
	r, _, err = c.Exchange(unknown, s.addr)
	if err != nil && r == nil {
		t.Fatalf("unknown-key AXFR: %v", err)
	}
	checkRefused(t, "unknown-key AXFR", r)

	mfs := scrape(t, s.metricsURL)
	if v := metricValue(mfs, "coredns_veil_requests_total", map[string]string{"server": s.label, "zone": "example.org.", "class": "tsig"}); v != 1 {
		t.Errorf("requests_total{class=tsig} = %v, want 1", v)
	}
	if v := metricValue(mfs, "coredns_veil_policy_actions_total", map[string]string{"server": s.label, "zone": "example.org.", "reason": "axfr", "action": "refuse"}); v != 2 {
		t.Errorf("policy_actions_total{reason=axfr,action=refuse} = %v, want 2", v)
	}
}

func TestTransferDrop(t *testing.T) {
	s := startServer(t, corefile("veil {\n trusted 127.0.0.1\n transfer drop\n}"))
	for _, network := range []string{"udp", "tcp"} {
		got := rawExchange(t, network, externalIP, s.addr, mustPack(t, axfr("example.org.", dns.TypeAXFR, true)))
		if len(got) != 0 {
			t.Errorf("transfer drop over %s: got %d messages, want none", network, len(got))
		}
	}
	mfs := scrape(t, s.metricsURL)
	if v := metricValue(mfs, "coredns_veil_policy_actions_total", map[string]string{"server": s.label, "zone": "example.org.", "reason": "axfr", "action": "drop"}); v != 2 {
		t.Errorf("policy_actions_total{action=drop} = %v, want 2", v)
	}
}

func TestTransferLogOnly(t *testing.T) {
	s := startServer(t, corefile("veil {\n trusted 127.0.0.1\n log-only\n}"))
	rrs, err := transfer(t, externalIP, s.addr, axfr("example.org.", dns.TypeAXFR, false))
	if err != nil || len(rrs) < 10 {
		t.Fatalf("log-only external AXFR: %d records, err %v; want the zone (log-only changes no answer)", len(rrs), err)
	}
	mfs := scrape(t, s.metricsURL)
	if v := metricValue(mfs, "coredns_veil_policy_actions_total", map[string]string{"server": s.label, "zone": "example.org.", "reason": "axfr", "action": "refuse", "mode": "log_only"}); v != 1 {
		t.Errorf("policy_actions_total{mode=log_only} = %v, want 1", v)
	}
}

// readZone parses a zone file from testdata.
func readZone(t *testing.T, file, origin string) []dns.RR {
	t.Helper()
	zp := dns.NewZoneParser(strings.NewReader(readTestdata(t, file)), origin, file)
	var rrs []dns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
	}
	if err := zp.Err(); err != nil {
		t.Fatal(err)
	}
	return rrs
}
