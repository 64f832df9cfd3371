package tokens

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// FuzzAbsence checks the invariant of an Absence on small random zones:
// for every query name, the answer a client gets through veil (the zone's
// own, or, where Under says so, the zone's answer for the twin) has the
// shape the zone without its hidden records gives the name: the same name
// answers, or the same wildcard synthesises, or the name does not exist,
// or the same delegation refers. The reference is a lookup by the closest
// encloser (RFC 4592) written here, independent of NewAbsence.
//
//	go test -run '^$' -fuzz FuzzAbsence -fuzztime 60s ./tokens
func FuzzAbsence(f *testing.F) {
	for _, seed := range [][]byte{
		{2, 2, 0, 1, 0, 0, 1, 1, 0, 2, 3, 1, 0, 0, 0, 0, 1, 2, 0, 3, 1, 1, 4, 2, 4, 2},
		{3, 1, 3, 1, 0, 1, 1, 0, 0, 0, 1, 2, 1, 1, 1, 2, 2, 2, 3, 1, 1, 4, 4, 3, 3, 4},
		{4, 1, 0, 3, 2, 1, 2, 1, 1, 2, 1, 0, 3, 2, 0, 1, 0, 0, 1, 2, 2, 4, 0, 4, 1, 1},
	} {
		f.Add(seed)
	}
	p := NewPolicy(newMatcher(f))
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		in := &fuzzBytes{b: data}
		rrs := fuzzZone(t, in)
		a, _, complete := NewAbsence(fuzzApex, rrs, p, now)
		if !complete {
			t.Fatal("a small zone did not fit")
		}
		guarded, removed := newRefZone(rrs, nil), newRefZone(rrs, isHiddenFuzzTXT)
		for range 8 {
			q := fuzzName(in, 4, true)
			want := removed.lookup(q)
			got := guarded.lookup(q)
			if parent, ok := a.Under(q); ok {
				twin := TwinName(q, parent, func(string) uint64 { return 0xfeed }, len(q)%2 == 0)
				got = guarded.lookup(twin)
				if got.kind == refExact {
					t.Fatalf("the twin %s of %s exists", twin, q)
				}
			}
			if got != want {
				t.Fatalf("%s: through veil %v, without the hidden records %v\nzone:\n%s", q, got, want, zoneText(rrs))
			}
		}
	})
}

const fuzzApex = "example.org."

// fuzzLabels are the labels fuzzed names are made of.
var fuzzLabels = []string{"a", "b", "_x-challenge", "*", "www", "zz"}

// fuzzName draws a name of 1 to depth labels below the apex; the last
// label of fuzzLabels only if any.
func fuzzName(in *fuzzBytes, depth int, any bool) string {
	n := 1 + int(in.next())%depth
	alphabet := len(fuzzLabels) - 1
	if any {
		alphabet++
	}
	var b strings.Builder
	for range n {
		b.WriteString(fuzzLabels[int(in.next())%alphabet])
		b.WriteByte('.')
	}
	return b.String() + fuzzApex
}

// fuzzZone draws a zone: its SOA and NS, then up to 10 records of four
// kinds at fuzzed names: an address, a hidden token, a public TXT, and a
// delegation (one label below the apex only).
func fuzzZone(t *testing.T, in *fuzzBytes) []dns.RR {
	zone := []string{
		fuzzApex + " 300 IN SOA ns.example.org. h.example.org. 1 2 3 4 300",
		fuzzApex + " 300 IN NS ns.example.net.",
	}
	for range 1 + int(in.next())%10 {
		name := fuzzName(in, 3, false)
		switch in.next() % 4 {
		case 0:
			zone = append(zone, name+" 300 IN A 192.0.2.1")
		case 1:
			zone = append(zone, name+` 300 IN TXT "MS=ms1"`)
		case 2:
			zone = append(zone, name+` 300 IN TXT "v=spf1 -all"`)
		case 3:
			if strings.Count(name, ".") == 3 && !strings.HasPrefix(name, "*") {
				zone = append(zone, name+" 300 IN NS ns.example.net.")
			}
		}
	}
	var rrs []dns.RR
	for _, s := range zone {
		rrs = append(rrs, newRR(t, s))
	}
	return rrs
}

// isHiddenFuzzTXT reports whether rr is the hidden token of fuzzZone.
func isHiddenFuzzTXT(rr dns.RR) bool {
	txt, ok := rr.(*dns.TXT)
	return ok && txt.Txt[0] == "MS=ms1"
}

func zoneText(rrs []dns.RR) string {
	var b strings.Builder
	for _, rr := range rrs {
		b.WriteString(rr.String() + "\n")
	}
	return b.String()
}

// refZone is a zone's names for the reference lookup: each existing name
// (empty non-terminals included) with whether it holds a delegation.
type refZone map[string]bool

// newRefZone returns the names of rrs, less the records drop says to drop
// (nil: none).
func newRefZone(rrs []dns.RR, drop func(dns.RR) bool) refZone {
	z := refZone{}
	for _, rr := range rrs {
		if drop != nil && drop(rr) {
			continue
		}
		name := strings.ToLower(rr.Header().Name)
		z[name] = z[name] || rr.Header().Rrtype == dns.TypeNS && name != fuzzApex
		for n := name; n != fuzzApex; {
			n = parentName(n)
			z[n] = z[n] || false
		}
	}
	return z
}

// refKind is what a lookup finds.
type refKind int

const (
	refExact refKind = iota
	refWildcard
	refNXDOMAIN
	refReferral
)

// refAnswer is the shape of an answer: what was found, and the name that
// answers (the name, the wildcard or the delegation; "" for NXDOMAIN).
type refAnswer struct {
	kind refKind
	from string
}

func (r refAnswer) String() string {
	return fmt.Sprintf("%s %s", [...]string{"exact", "wildcard", "NXDOMAIN", "referral"}[r.kind], r.from)
}

// lookup finds q by its closest encloser: a delegation on the way refers;
// the name itself answers; else the wildcard at the closest encloser; else
// the name does not exist.
func (z refZone) lookup(q string) refAnswer {
	labels := dns.SplitDomainName(strings.TrimSuffix(q, fuzzApex))
	ce := fuzzApex
	for i := len(labels) - 1; i >= 0; i-- {
		n := strings.Join(labels[i:], ".") + "." + fuzzApex
		cut, ok := z[n]
		if !ok {
			if _, wild := z["*."+ce]; wild {
				return refAnswer{refWildcard, "*." + ce}
			}
			return refAnswer{refNXDOMAIN, ""}
		}
		if cut {
			return refAnswer{refReferral, n}
		}
		ce = n
	}
	return refAnswer{refExact, ce}
}
