package veil

import (
	"testing"

	"github.com/coredns/coredns/plugin"
)

func TestZoneSetMatch(t *testing.T) {
	zs := testZones("example.org.", "sub.example.org.", "0.0.10.in-addr.arpa.")
	tests := []struct {
		qname string
		want  int
	}{
		{"example.org.", 0},
		{"EXAMPLE.ORG.", 0},
		{"www.example.org.", 0},
		{"a.b.c.example.org.", 0},
		{"sub.example.org.", 1},
		{"host.SUB.example.org.", 1},
		{"xsub.example.org.", 0},
		{"badexample.org.", -1},
		{"example.org.evil.", -1},
		{"org.", -1},
		{".", -1},
		{"", -1},
		{`a\.example.org.`, -1},   // one label "a.example" under org.
		{`a\\.example.org.`, 0},   // label "a\" under example.org.
		{`a\\\.example.org.`, -1}, // escaped backslash then escaped dot
		{"1.0.0.10.in-addr.arpa.", 2},
		{"1.0.0.100.in-addr.arpa.", -1},
	}
	for _, tc := range tests {
		var want *zone
		if tc.want >= 0 {
			want = zs[tc.want]
		}
		if got := zs.match(tc.qname); got != want {
			t.Errorf("match(%q) = %v, want zone %d", tc.qname, got, tc.want)
		}
	}
}

func TestZoneSetRoot(t *testing.T) {
	zs := testZones(".")
	for _, q := range []string{".", "org.", "www.example.org."} {
		if zs.match(q) != zs[0] {
			t.Errorf("root zone does not match %q", q)
		}
	}
}

// match agrees with CoreDNS's own (allocating) plugin.Zones.Matches.
func TestZoneSetMatchAgreesWithCoreDNS(t *testing.T) {
	zones := []string{"example.org.", "sub.example.org.", "org.", "example.com."}
	zs := testZones(zones...)
	for _, q := range []string{"example.org.", "www.sub.example.org.", "net.", "foo.org.", "example.com.", "www.example.com.", "Www.Example.Org."} {
		want := plugin.Zones(zones).Matches(q)
		got := ""
		if z := zs.match(q); z != nil {
			got = z.name
		}
		if got != want {
			t.Errorf("match(%q) = %q, plugin.Zones.Matches = %q", q, got, want)
		}
	}
}

func TestZoneMatchDoesNotAllocate(t *testing.T) {
	zs := testZones("example.org.", "sub.example.org.")
	if n := testing.AllocsPerRun(100, func() { zs.match("Www.Sub.Example.Org.") }); n != 0 {
		t.Errorf("match allocates %v times per call", n)
	}
}
