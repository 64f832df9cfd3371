package transfer

import (
	"path/filepath"
	"testing"

	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

func TestTransferRefusedToExternal(t *testing.T) {
	s := harness.StartServer(t, harness.Corefile(harness.DefaultVeil))

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
		m := harness.XFRQuery(tc.qname, tc.qtype, true)
		m.Opcode = tc.opcode
		harness.CheckRefused(t, tc.name, harness.Exchange(t, tc.network, harness.ExternalIP, s.Addr, m))
	}

	// A real transfer client sees the refusal and gets no record.
	rrs, err := harness.Transfer(t, harness.ExternalIP, s.Addr, harness.XFRQuery("example.org.", dns.TypeAXFR, false))
	if err == nil || len(rrs) != 0 {
		t.Errorf("external dns.Transfer: %d records, err %v; want a refusal and none", len(rrs), err)
	}

	mfs := harness.Scrape(t, s.MetricsURL)
	for _, c := range []struct {
		zone, reason string
		want         float64
	}{
		{"example.org.", "axfr", 5}, // 4 above + dns.Transfer
		{"example.org.", "ixfr", 2},
		{"signed.test.", "axfr", 1},
	} {
		got := harness.MetricValue(mfs, "coredns_veil_policy_actions_total", map[string]string{
			"server": s.Label, "zone": c.zone, "reason": c.reason, "action": "refuse", "mode": "enforce"})
		if got != c.want {
			t.Errorf("policy_actions_total{zone=%q,reason=%q} = %v, want %v", c.zone, c.reason, got, c.want)
		}
	}
	if got := harness.MetricValue(mfs, "coredns_veil_requests_total", map[string]string{"server": s.Label, "zone": "example.org.", "class": "external"}); got != 7 {
		t.Errorf("requests_total{class=external} = %v, want 7", got)
	}
	if got := harness.MetricValue(mfs, "coredns_veil_requests_total", map[string]string{"server": s.Label, "zone": "example.org.", "class": "trusted"}); got != 0 {
		t.Errorf("requests_total{class=trusted} = %v, want 0", got)
	}
}

func TestTransferToTrusted(t *testing.T) {
	s := harness.StartServer(t, harness.Corefile(harness.DefaultVeil))
	rrs, err := harness.Transfer(t, harness.TrustedIP, s.Addr, harness.XFRQuery("example.org.", dns.TypeAXFR, false))
	if err != nil {
		t.Fatalf("trusted AXFR: %v", err)
	}
	checkWholeZone(t, "trusted AXFR", rrs)
	mfs := harness.Scrape(t, s.MetricsURL)
	if v := harness.MetricValue(mfs, "coredns_veil_requests_total", map[string]string{"server": s.Label, "zone": "example.org.", "class": "trusted"}); v != 1 {
		t.Errorf("requests_total{class=trusted} = %v, want 1", v)
	}
}

// A transfer signed with a key the server verified goes through from any
// address; a bad signature or an unknown key does not.
func TestTransferWithTSIG(t *testing.T) {
	s := harness.StartServer(t, harness.Corefile(harness.DefaultVeil))

	signed := harness.XFRQuery("example.org.", dns.TypeAXFR, false)
	signed.SetTsig(harness.TSIGKeyName, dns.HmacSHA256, 300, 0)
	rrs, err := harness.Transfer(t, harness.ExternalIP, s.Addr, signed)
	if err != nil || len(rrs) < 10 {
		t.Fatalf("TSIG-signed external AXFR: %d records, err %v; want the zone", len(rrs), err)
	}

	// The same key name with another secret: the server's verification fails.
	forged := harness.XFRQuery("example.org.", dns.TypeAXFR, true)
	forged.SetTsig(harness.TSIGKeyName, dns.HmacSHA256, 300, 0)
	c := harness.Client("tcp", harness.ExternalIP)
	c.TsigSecret = map[string]string{harness.TSIGKeyName: "bm90IHRoZSBrZXkgbm90IHRoZSBrZXkgbm90IHRoZSBrZXk="}
	r, _, err := c.Exchange(forged, s.Addr)
	if err != nil && r == nil {
		t.Fatalf("forged TSIG AXFR: %v", err)
	}
	harness.CheckRefused(t, "forged TSIG AXFR", r)

	unknown := harness.XFRQuery("example.org.", dns.TypeAXFR, true)
	unknown.SetTsig("other-key.", dns.HmacSHA256, 300, 0)
	c.TsigSecret = map[string]string{"other-key.": harness.TSIGSecret}
	r, _, err = c.Exchange(unknown, s.Addr)
	if err != nil && r == nil {
		t.Fatalf("unknown-key AXFR: %v", err)
	}
	harness.CheckRefused(t, "unknown-key AXFR", r)

	mfs := harness.Scrape(t, s.MetricsURL)
	if v := harness.MetricValue(mfs, "coredns_veil_requests_total", map[string]string{"server": s.Label, "zone": "example.org.", "class": "tsig"}); v != 1 {
		t.Errorf("requests_total{class=tsig} = %v, want 1", v)
	}
	if v := harness.MetricValue(mfs, "coredns_veil_policy_actions_total", map[string]string{"server": s.Label, "zone": "example.org.", "reason": "axfr", "action": "refuse"}); v != 2 {
		t.Errorf("policy_actions_total{reason=axfr,action=refuse} = %v, want 2", v)
	}
}

func TestTransferDrop(t *testing.T) {
	s := harness.StartServer(t, harness.Corefile("veil {\n trusted 127.0.0.1\n transfer drop\n}"))
	for _, network := range []string{"udp", "tcp"} {
		got := harness.RawExchange(t, network, harness.ExternalIP, s.Addr, harness.MustPack(t, harness.XFRQuery("example.org.", dns.TypeAXFR, true)))
		if len(got) != 0 {
			t.Errorf("transfer drop over %s: got %d messages, want none", network, len(got))
		}
	}
	mfs := harness.Scrape(t, s.MetricsURL)
	if v := harness.MetricValue(mfs, "coredns_veil_policy_actions_total", map[string]string{"server": s.Label, "zone": "example.org.", "reason": "axfr", "action": "drop"}); v != 2 {
		t.Errorf("policy_actions_total{action=drop} = %v, want 2", v)
	}
}

func TestTransferLogOnly(t *testing.T) {
	s := harness.StartServer(t, harness.Corefile("veil {\n trusted 127.0.0.1\n log-only\n}"))
	rrs, err := harness.Transfer(t, harness.ExternalIP, s.Addr, harness.XFRQuery("example.org.", dns.TypeAXFR, false))
	if err != nil || len(rrs) < 10 {
		t.Fatalf("log-only external AXFR: %d records, err %v; want the zone (log-only changes no answer)", len(rrs), err)
	}
	mfs := harness.Scrape(t, s.MetricsURL)
	if v := harness.MetricValue(mfs, "coredns_veil_policy_actions_total", map[string]string{"server": s.Label, "zone": "example.org.", "reason": "axfr", "action": "refuse", "mode": "log_only"}); v != 1 {
		t.Errorf("policy_actions_total{mode=log_only} = %v, want 1", v)
	}
}

// checkWholeZone checks that rrs, a transfer of example.org, is the zone
// of db.example.org framed by its SOA: every record once plus the SOA
// again, compared without TTLs (the cache plugin in CoreDNS v1.15 rewrites
// the TTLs of outgoing transfers, with or without veil; the byte-identity
// test covers that veil changes nothing).
func checkWholeZone(t *testing.T, what string, rrs []dns.RR) {
	t.Helper()
	zone := harness.ReadZone(t, filepath.Join(harness.ZonesDir(t), "db.example.org"), "example.org.")
	if len(rrs) != len(zone)+1 {
		t.Errorf("%s: %d records, want %d (the zone and the closing SOA)", what, len(rrs), len(zone)+1)
	}
	got := map[string]bool{}
	for _, rr := range rrs {
		rr.Header().Ttl = 0
		got[rr.String()] = true
	}
	for _, rr := range zone {
		rr.Header().Ttl = 0
		if !got[rr.String()] {
			t.Errorf("%s misses %q", what, rr)
		}
	}
}
