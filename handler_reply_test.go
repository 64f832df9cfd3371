package veil

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/file"

	"github.com/miekg/dns"
)

// anyStandIn answers every ANY query with its own HINFO, as CoreDNS's any
// plugin, which follows veil in the usual chain, does, and passes the rest
// on.
type anyStandIn struct{ next plugin.Handler }

func (a anyStandIn) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	if r.Question[0].Qtype != dns.TypeANY {
		return a.next.ServeDNS(ctx, w, r)
	}
	m := new(dns.Msg)
	m.SetReply(r)
	m.Answer = []dns.RR{&dns.HINFO{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeHINFO, Class: dns.ClassINET}, Cpu: "ANY obsoleted"}}
	w.WriteMsg(m)
	return dns.RcodeSuccess, nil
}

func (a anyStandIn) Name() string { return "any" }

// An external ANY at or below a zone cut gets the referral an A query gets,
// not an authoritative HINFO for data the zone does not hold; ANY at other
// names, existing or not, gets the HINFO, whether or not the any plugin
// follows veil; any refuse and any drop are unchanged.
func TestANYBelowZoneCut(t *testing.T) {
	z, err := file.Parse(strings.NewReader(fuzzZone), "example.org.", "zonecut", 0)
	if err != nil {
		t.Fatal(err)
	}
	zones := file.File{Zones: file.Zones{Z: map[string]*file.Zone{"example.org.": z}, Names: []string{"example.org."}}}
	for _, chain := range []struct {
		name string
		next plugin.Handler
	}{{"file", zones}, {"any, file", anyStandIn{next: zones}}} {
		for _, tc := range []struct {
			qname    string
			tcp      bool
			referral bool
		}{
			{"host.sub.example.org.", false, true},
			{"host.sub.example.org.", true, true},
			{"sub.example.org.", false, true},
			{"a.b.sub.example.org.", true, true},
			{"example.org.", false, false},
			{"www.example.org.", true, false},
			{"no-such-name.example.org.", false, false},
			{"deleg.example.org.", false, false}, // a CNAME into the delegation
		} {
			t.Run(fmt.Sprintf("%s/%s/tcp=%v", chain.name, tc.qname, tc.tcp), func(t *testing.T) {
				v := newTestVeil(t, "veil", chain.next)
				r := query(tc.qname, dns.TypeANY, true)
				w := newTestWriter(t, externalV4, tc.tcp)
				v.ServeDNS(context.Background(), w, r)
				if len(w.msgs) != 1 {
					t.Fatalf("%d messages written", len(w.msgs))
				}
				m := w.msgs[0]
				if !tc.referral {
					checkHINFO(t, m, r)
					return
				}
				a := exchange(t, zones, externalV4, tc.qname, dns.TypeA, false)
				if m.Authoritative || m.Rcode != dns.RcodeSuccess || len(m.Answer) != 0 || fmt.Sprint(m.Ns) != fmt.Sprint(a.Ns) || len(m.Ns) == 0 {
					t.Errorf("ANY below the cut:\n%s\nwant the referral of the A query:\n%s", m, a)
				}
				if m.Id != r.Id || len(m.Question) != 1 || m.Question[0] != r.Question[0] {
					t.Errorf("referral header or question does not match the query:\n%s", m)
				}
			})
		}
	}
	for _, mode := range []string{"refuse", "drop"} {
		v := newTestVeil(t, "veil {\n any "+mode+"\n}", zones)
		w := newTestWriter(t, externalV4, false)
		v.ServeDNS(context.Background(), w, query("host.sub.example.org.", dns.TypeANY, true))
		if got := len(w.msgs) == 1 && w.msgs[0].Rcode == dns.RcodeRefused; got != (mode == "refuse") || (mode == "drop" && len(w.msgs) != 0) {
			t.Errorf("any %s below a zone cut: %v", mode, w.msgs)
		}
	}
}
