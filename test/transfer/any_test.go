package transfer

import (
	"testing"

	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

func TestANYExternal(t *testing.T) {
	s := harness.StartServer(t, harness.Corefile(harness.DefaultVeil))
	for _, network := range []string{"udp", "tcp"} {
		for _, name := range []string{"example.org.", "www.example.org.", "no-such-name.example.org.", "secret.signed.test."} {
			harness.CheckHINFO(t, network+" ANY "+name, name, harness.Exchange(t, network, harness.ExternalIP, s.Addr, harness.ANYQuery(name)))
		}
	}
	mfs := harness.Scrape(t, s.MetricsURL)
	if v := harness.MetricValue(mfs, "coredns_veil_policy_actions_total", map[string]string{"server": s.Label, "zone": "example.org.", "reason": "any", "action": "hinfo", "mode": "enforce"}); v != 6 {
		t.Errorf("policy_actions_total{reason=any,action=hinfo} = %v, want 6", v)
	}
}

// A trusted ANY goes on down the chain: here the any plugin answers it with
// its own HINFO, which veil leaves alone.
func TestANYTrusted(t *testing.T) {
	s := harness.StartServer(t, harness.Corefile(harness.DefaultVeil))
	m := harness.Exchange(t, "udp", harness.TrustedIP, s.Addr, harness.ANYQuery("example.org."))
	if len(m.Answer) != 1 {
		t.Fatalf("trusted ANY answer %v", m.Answer)
	}
	if h, ok := m.Answer[0].(*dns.HINFO); !ok || h.Cpu != "ANY obsoleted" {
		t.Errorf("trusted ANY answered %v, want the any plugin's HINFO", m.Answer[0])
	}
}

func TestANYModes(t *testing.T) {
	s := harness.StartServer(t, harness.Corefile("veil {\n trusted 127.0.0.1\n any refuse tcp pass\n}"))
	r := harness.Exchange(t, "udp", harness.ExternalIP, s.Addr, harness.ANYQuery("www.example.org."))
	harness.CheckRefused(t, "any refuse over UDP", r)
	r = harness.Exchange(t, "tcp", harness.ExternalIP, s.Addr, harness.ANYQuery("www.example.org."))
	if h, ok := r.Answer[0].(*dns.HINFO); !ok || h.Cpu != "ANY obsoleted" {
		t.Errorf("any ... tcp pass: TCP answered %v, want the next plugin's answer", r.Answer)
	}

	s = harness.StartServer(t, harness.Corefile("veil {\n any drop\n}"))
	for _, network := range []string{"udp", "tcp"} {
		if got := harness.RawExchange(t, network, harness.ExternalIP, s.Addr, harness.MustPack(t, harness.ANYQuery("example.org."))); len(got) != 0 {
			t.Errorf("any drop over %s answered %d messages", network, len(got))
		}
	}
}
