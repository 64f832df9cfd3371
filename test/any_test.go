package test

import (
	"testing"

	"github.com/miekg/dns"
)

func anyQuery(name string) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeANY)
	m.SetEdns0(1232, false)
	return m
}

// checkHINFO asserts m is the RFC 8482 answer for name.
func checkHINFO(t *testing.T, what, name string, m *dns.Msg) {
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

func TestANYExternal(t *testing.T) {
	s := startServer(t, corefile(defaultVeil))
	for _, network := range []string{"udp", "tcp"} {
		for _, name := range []string{"example.org.", "www.example.org.", "no-such-name.example.org.", "secret.signed.test."} {
			checkHINFO(t, network+" ANY "+name, name, exchange(t, network, externalIP, s.addr, anyQuery(name)))
		}
	}
	mfs := scrape(t, s.metricsURL)
	if v := metricValue(mfs, "coredns_veil_policy_actions_total", map[string]string{"server": s.label, "zone": "example.org.", "reason": "any", "action": "hinfo", "mode": "enforce"}); v != 6 {
		t.Errorf("policy_actions_total{reason=any,action=hinfo} = %v, want 6", v)
	}
}

// A trusted ANY goes on down the chain: here the any plugin answers it with
// its own HINFO, which veil leaves alone.
func TestANYTrusted(t *testing.T) {
	s := startServer(t, corefile(defaultVeil))
	m := exchange(t, "udp", trustedIP, s.addr, anyQuery("example.org."))
	if len(m.Answer) != 1 {
		t.Fatalf("trusted ANY answer %v", m.Answer)
	}
	if h, ok := m.Answer[0].(*dns.HINFO); !ok || h.Cpu != "ANY obsoleted" {
		t.Errorf("trusted ANY answered %v, want the any plugin's HINFO", m.Answer[0])
	}
}

func TestANYModes(t *testing.T) {
	s := startServer(t, corefile("veil {\n trusted 127.0.0.1\n any refuse tcp pass\n}"))
	r := exchange(t, "udp", externalIP, s.addr, anyQuery("www.example.org."))
	checkRefused(t, "any refuse over UDP", r)
	r = exchange(t, "tcp", externalIP, s.addr, anyQuery("www.example.org."))
	if h, ok := r.Answer[0].(*dns.HINFO); !ok || h.Cpu != "ANY obsoleted" {
		t.Errorf("any ... tcp pass: TCP answered %v, want the next plugin's answer", r.Answer)
	}

	s = startServer(t, corefile("veil {\n any drop\n}"))
	for _, network := range []string{"udp", "tcp"} {
		if got := rawExchange(t, network, externalIP, s.addr, mustPack(t, anyQuery("example.org."))); len(got) != 0 {
			t.Errorf("any drop over %s answered %d messages", network, len(got))
		}
	}
}
