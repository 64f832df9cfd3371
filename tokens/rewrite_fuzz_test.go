package tokens

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/veildns/veil/tokens/tokenstest"
)

// fuzzNow is the time token dates are judged by, fixed so that a crasher
// reproduces whatever the date.
var fuzzNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// fuzzPolicies are the policies of FuzzRewrite: the most aggressive one
// (hide all, pattern .*), under which checkHidden holds, and the default.
func fuzzPolicies(f *testing.F) [2]*Policy {
	hideAll := NewPolicy(newMatcher(f, ".*"))
	if err := hideAll.Apply(true, []string{"all"}, time.Time{}); err != nil {
		f.Fatal(err)
	}
	return [2]*Policy{hideAll, NewPolicy(newMatcher(f))}
}

// FuzzRewrite builds a TXT, ANY or A answer from the input (owners under
// example.org, underscore labels included; TXT values from must-stay-public
// records, the catalog's token samples, near misses and random bytes,
// case-mangled and split into character-strings; other record types and
// RRSIGs mixed in, in every section) and rewrites it with Find and Hide.
// Properties: the input message is not modified; the output packs, with
// the header and question of the input; what Find reports is where it says
// and is gone from the output; checkFiltered (nothing added, nothing that
// must stay removed, the shape of a question that lost its answer);
// checkRcode; under the aggressive policy, checkHidden (no token left but
// in a signed RRset); and rewriting the output finds nothing more.
//
//	go test -run '^$' -fuzz '^FuzzRewrite$' -fuzztime 30s ./tokens/
func FuzzRewrite(f *testing.F) {
	policies := fuzzPolicies(f)
	pool := append([]string(nil), fuzzValues...)
	catalog, err := Catalog()
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range catalog {
		pool = append(pool, e.Sample)
	}
	for _, seed := range fuzzRewriteSeeds(len(fuzzValues)) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		query, answer, pi := fuzzRewriteMsg(&fuzzBytes{b: data}, pool)
		p := policies[pi]
		// The backend's message as it would come off the wire.
		wire, err := answer.Pack()
		if err != nil {
			return
		}
		in := new(dns.Msg)
		if err := in.Unpack(wire); err != nil {
			t.Fatalf("packed answer does not unpack: %v", err)
		}
		q := query.Question[0]
		var buf [4]Found
		found, _ := p.Find(in, fuzzNow, buf[:0])
		out := in
		if len(found) > 0 {
			calls := 0
			out = p.Hide(in, q, found, negativeWith(in, fuzzSOA, &calls))
		}
		if after, err := in.Pack(); err != nil || !bytes.Equal(after, wire) {
			t.Fatalf("the rewrite modified its input:\n%s", in)
		}
		if msg := checkRewrite(p, in, out, q, found, pi == 0); msg != "" {
			t.Fatalf("policy %d: %s\nrewritten:\n%s\nbackend:\n%s", pi, msg, out, in)
		}
	})
}

// checkRewrite checks out, the rewrite by p of in for q, and what Find
// found (checkHidden too if p hides every token). It returns "" or what is
// wrong.
func checkRewrite(p *Policy, in, out *dns.Msg, q dns.Question, found []Found, hidesAll bool) string {
	if _, err := out.Pack(); err != nil {
		return fmt.Sprintf("the output does not pack: %v", err)
	}
	hdr := out.MsgHdr
	hdr.Rcode = in.Rcode // checkRcode judges it
	if hdr != in.MsgHdr || len(out.Question) != 1 || out.Question[0] != in.Question[0] {
		return "header or question changed"
	}
	msg := checkFound(in, out, found)
	if msg == "" {
		msg = tokenstest.CheckFiltered(in, out, q, fuzzSOA.String())
	}
	if msg == "" {
		msg = checkRcode(in, out)
	}
	if msg == "" && hidesAll {
		msg = tokenstest.CheckHidden(in, out)
	}
	if msg != "" {
		return msg
	}
	if again, _ := p.Find(out, fuzzNow, nil); len(again) != 0 {
		return fmt.Sprintf("rewriting the output hides %d more records, the first %s", len(again), again[0].RR)
	}
	return ""
}

// checkFound checks what Find reported for in: TXT records, in section and
// position order, each where it says, none of them left in out. It
// returns "" or what is wrong.
func checkFound(in, out *dns.Msg, found []Found) string {
	secs := [3][]dns.RR{in.Answer, in.Ns, in.Extra}
	hidden := map[dns.RR]bool{}
	for i, f := range found {
		if f.Section < 0 || f.Section > 2 || f.Pos < 0 || f.Pos >= len(secs[f.Section]) || secs[f.Section][f.Pos] != f.RR {
			return fmt.Sprintf("found %d (section %d position %d) is not there: %s", i, f.Section, f.Pos, f.RR)
		}
		if _, ok := f.RR.(*dns.TXT); !ok {
			return fmt.Sprintf("found %d is not a TXT record: %s", i, f.RR)
		}
		if i > 0 && (f.Section < found[i-1].Section || f.Section == found[i-1].Section && f.Pos <= found[i-1].Pos) {
			return fmt.Sprintf("found %d is out of order", i)
		}
		hidden[f.RR] = true
	}
	for si, sec := range [3][]dns.RR{out.Answer, out.Ns, out.Extra} {
		for _, rr := range sec {
			if hidden[rr] {
				return fmt.Sprintf("section %d still holds a record Find found: %s", si, rr)
			}
		}
	}
	return ""
}

// checkRcode checks the response code of out, the rewrite of in: always
// the backend's. A name that loses its whole answer still holds other
// records (one that holds nothing but hidden records never reaches the
// rewrite: an Absence answers it), so the answer is the chain's NODATA. It
// returns "" or what is wrong.
func checkRcode(in, out *dns.Msg) string {
	if out.Rcode != in.Rcode {
		return fmt.Sprintf("rcode %s, backend %s", dns.RcodeToString[out.Rcode], dns.RcodeToString[in.Rcode])
	}
	return ""
}

// fuzzRewriteSeeds returns inputs that build, through fuzzRewriteMsg,
// answers with each of the first values of fuzzValues at the apex, next to
// records at the public labels and in other sections, and a few shapes.
func fuzzRewriteSeeds(values int) [][]byte {
	var seeds [][]byte
	for i := range values {
		// TXT query at the apex, EDNS; a TXT with value i in the answer,
		// one at _dmarc with value i, and an A record.
		seeds = append(seeds, []byte{
			2, 0, // flags: TXT, EDNS; qname: the apex
			0, 0, 0, byte(i), 0, // TXT, answer, at the qname, value i
			0, 0, 1, 1, byte(i), 0x44, 0x55, // TXT at _dmarc, value i, case-mangled
			10, 0, 0, 7, // A at the qname
			0, 5, 1, 18, 16, 0x11, 3, // TXT at www in the authority section, split
		})
	}
	return append(seeds,
		[]byte{1, 18, 11, 0, 0, 20, 0, 0, 3, 0, 0, 2}, // ANY at www: a CNAME, then tokens
		[]byte{0, 20, 13, 0, 0, 0, 0, 0, 17, 0},       // a signed token RRset
		[]byte{0, 19, 0, 0, 0, 255, 1, 8, 'v', '=', 's', 'p', 'f', '1', ' ', '-', 0x21},
		// The default policy at the apex: Google's token, one of Google's
		// past its expiry, one of an unknown vendor not yet expired.
		[]byte{10, 0, 0, 0, 0, 15, 0, 0, 0, 0, 24, 2, 15, 0, 0, 0, 25, 0},
		// A at www: MS= at www in the authority section with the NS, a
		// token at a dedicated label in the additional section.
		[]byte{32, 18, 10, 0, 0, 1, 0, 5, 0, 16, 0, 0, 7, 1, 20, 17, 0, 12, 5, 1, 0},
	)
}
