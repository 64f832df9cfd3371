package transfer

import (
	"fmt"
	"strings"
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

// cutCorefile serves cut.test, whose sub is delegated, with the any plugin
// after veil ({any}: "any" or nothing), as the usual chain has it.
const cutCorefile = `cut.test:{port} {
	bind 127.0.0.1
	veil {
		trusted 127.0.0.1
	}
	{any}
	file {testdata}/cut.test.zone cut.test
}`

// An external ANY at or below a zone cut gets the referral the A query
// gets (not authoritative, the NS records in the authority section), not
// an authoritative HINFO for data the zone does not hold; ANY at a name
// inside the zone, existing or not, still gets the HINFO. Over UDP and
// TCP, with and without the any plugin after veil.
func TestANYBelowZoneCut(t *testing.T) {
	for _, anyPlugin := range []string{"any", ""} {
		s := harness.StartServer(t, strings.Replace(cutCorefile, "{any}", anyPlugin, 1))
		for _, network := range []string{"udp", "tcp"} {
			for _, name := range []string{"sub.cut.test.", "host.sub.cut.test."} {
				what := fmt.Sprintf("%s ANY %s (any plugin %q)", network, name, anyPlugin)
				aq := harness.AQuery(name)
				aq.SetEdns0(1232, false) // as ANYQuery
				a := harness.Exchange(t, network, harness.ExternalIP, s.Addr, aq)
				if a.Authoritative || len(a.Answer) != 0 || len(a.Ns) == 0 {
					t.Fatalf("%s: the A query got no referral: %v", what, a)
				}
				m := harness.Exchange(t, network, harness.ExternalIP, s.Addr, harness.ANYQuery(name))
				if m.Rcode != dns.RcodeSuccess || m.Authoritative || len(m.Answer) != 0 {
					t.Errorf("%s: rcode %s aa=%v answer %v, want the referral", what, dns.RcodeToString[m.Rcode], m.Authoritative, m.Answer)
				}
				if fmt.Sprint(m.Ns) != fmt.Sprint(a.Ns) || fmt.Sprint(m.Extra) != fmt.Sprint(a.Extra) {
					t.Errorf("%s: authority %v additional %v, want the A query's %v %v", what, m.Ns, m.Extra, a.Ns, a.Extra)
				}
				if len(m.Question) != 1 || m.Question[0].Qtype != dns.TypeANY || m.Question[0].Name != name {
					t.Errorf("%s: question %v", what, m.Question)
				}
			}
			for _, name := range []string{"cut.test.", "www.cut.test.", "no-such-name.cut.test."} {
				harness.CheckHINFO(t, network+" ANY "+name, name, harness.Exchange(t, network, harness.ExternalIP, s.Addr, harness.ANYQuery(name)))
			}
		}
	}
}
