package veil

import (
	"fmt"
	"strings"
	"testing"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/file"

	"github.com/miekg/dns"
)

// absentZone returns tokens.test at serial with h1 holding records (one
// per line, relative to h1).
func absentZone(t *testing.T, serial int, h1 ...string) *file.Zone {
	t.Helper()
	text := fmt.Sprintf("$ORIGIN tokens.test.\n@ 300 IN SOA ns1 h %d 2 3 4 300\n@ 300 IN NS ns1\nns1 300 IN A 192.0.2.53\n", serial)
	for _, rr := range h1 {
		text += "h1 300 IN " + rr + "\n"
	}
	z, err := file.Parse(strings.NewReader(text), "tokens.test.", "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// The loader follows the zone: a name that holds only a token answers
// NXDOMAIN for every type; while the serial stays, nothing is rebuilt;
// once the zone gives the name an address at a new serial, the name
// answers as a name with an address.
func TestAbsenceFollowsTheZone(t *testing.T) {
	backend := file.File{Zones: file.Zones{Z: map[string]*file.Zone{"tokens.test.": absentZone(t, 1, `TXT "MS=ms1"`)}, Names: []string{"tokens.test."}}}
	v := newTokensVeil(t, "", backend)
	z := v.zones[0]
	for _, qtype := range []uint16{dns.TypeA, dns.TypeTXT, dns.TypeMX, 65000} {
		if m := exchange(t, v, externalV4, "h1.tokens.test.", qtype, false); m.Rcode != dns.RcodeNameError || len(m.Ns) != 1 {
			t.Errorf("h1 %s: want NXDOMAIN with the SOA, got\n%s", dns.TypeToString[qtype], m)
		}
	}
	if m := exchange(t, v, trustedV4, "h1.tokens.test.", dns.TypeTXT, false); len(m.Answer) != 1 {
		t.Errorf("trusted h1 TXT: want the token, got\n%s", m)
	}
	first := z.absent.Load()
	v.loader.refresh()
	if z.absent.Load() != first {
		t.Error("rebuilt at an unchanged serial")
	}
	backend.Z["tokens.test."] = absentZone(t, 2, `TXT "MS=ms1"`, "A 192.0.2.1")
	v.loader.refresh()
	if m := exchange(t, v, externalV4, "h1.tokens.test.", dns.TypeA, false); m.Rcode != dns.RcodeSuccess || len(m.Answer) != 1 {
		t.Errorf("h1 A after the zone gave it an address: got\n%s", m)
	}
	if m := exchange(t, v, externalV4, "h1.tokens.test.", dns.TypeTXT, false); m.Rcode != dns.RcodeSuccess || len(m.Answer) != 0 || len(m.Ns) != 1 {
		t.Errorf("h1 TXT after the zone gave it an address: want NODATA with the SOA, got\n%s", m)
	}
}

// Without a plugin that transfers the zone, a name that holds only tokens
// cannot be told from one that holds more: it answers NODATA for TXT as
// for every other type, never a contradiction.
func TestAbsenceWithoutTransfer(t *testing.T) {
	backend := file.File{Zones: file.Zones{Z: map[string]*file.Zone{"tokens.test.": absentZone(t, 1, `TXT "MS=ms1"`)}, Names: []string{"tokens.test."}}}
	v := newTokensVeil(t, "", backend)
	v.stopLoader()
	v.zones[0].absent.Store(nil)
	v.startLoader([]plugin.Handler{&answerHandler{}})
	for _, qtype := range []uint16{dns.TypeA, dns.TypeTXT} {
		if m := exchange(t, v, externalV4, "h1.tokens.test.", qtype, false); m.Rcode != dns.RcodeSuccess || len(m.Answer) != 0 {
			t.Errorf("h1 %s: want NODATA, got\n%s", dns.TypeToString[qtype], m)
		}
	}
}
