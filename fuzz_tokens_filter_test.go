package veil

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"

	"github.com/veildns/veil/tokens"
)

// mustStayPublic is the test's own oracle, written from README.md and the
// RFCs rather than from package tokens, for the standard records the token
// filter must never take out: SPF (v=spf1 at any owner), DMARC (v=DMARC1;
// anything at _dmarc or *._report._dmarc), DKIM (v=DKIM1, values starting
// k= or p=; anything at *._domainkey), MTA-STS (v=STSv1; anything at
// _mta-sts), TLS-RPT (v=TLSRPTv1; anything at _smtp._tls), BIMI (v=BIMI1;
// anything at *._bimi) and ACME DNS-01 challenges (anything at
// _acme-challenge). Tags and labels compare case-insensitively; a version
// tag ends the value or is followed by a space or a semicolon. It is
// deliberately narrower than package tokens' public check (no _atproto, no
// pre-claim records, no leading blanks).
func mustStayPublic(owner string, txt []string) bool {
	v := strings.ToLower(strings.Join(txt, ""))
	for _, t := range []string{"v=spf1", "v=dmarc1", "v=dkim1", "v=stsv1", "v=tlsrptv1", "v=bimi1"} {
		if v == t || strings.HasPrefix(v, t+" ") || strings.HasPrefix(v, t+";") {
			return true
		}
	}
	if strings.HasPrefix(v, "k=") || strings.HasPrefix(v, "p=") {
		return true
	}
	labels := dns.SplitDomainName(strings.ToLower(owner))
	if len(labels) == 0 {
		return false
	}
	switch labels[0] {
	case "_dmarc", "_mta-sts", "_acme-challenge":
		return true
	}
	if len(labels) >= 2 && labels[0] == "_smtp" && labels[1] == "_tls" {
		return true
	}
	for i := 1; i < len(labels); i++ {
		switch {
		case labels[i] == "_domainkey", labels[i] == "_bimi":
			return true
		case labels[i] == "_dmarc" && i >= 2 && labels[i-1] == "_report":
			return true
		}
	}
	return false
}

// checkFiltered checks out, what an external client got for question q,
// against in, the backend's answer before veil's token filter. soa is the
// SOA record (in presentation form) the filter may put in the authority
// section of an answer it turned negative, "" for any SOA. It returns ""
// or what is wrong:
//
//   - out holds no record that in does not (but that SOA);
//   - unless the server truncated out (TC) for the transport, every
//     non-TXT record, every TXT record mustStayPublic says must stay, and
//     every TXT record of an RRset signed in its section is still in its
//     section;
//   - the exception: when the question lost its answer, the filter gives
//     the response the shape of the backend's negative answer, an
//     authority section of at most the SOA and an additional section of
//     the OPT record only (README, "Shape of the answer"); where the
//     answer is no well-formed CNAME chain (fuzzAnswered), only the answer
//     section is checked.
func checkFiltered(in, out *dns.Msg, q dns.Question, soa string) string {
	left := map[string]int{}
	for _, sec := range [][]dns.RR{in.Answer, in.Ns, in.Extra} {
		for _, rr := range sec {
			left[rr.String()]++
		}
	}
	for si, sec := range [][]dns.RR{out.Answer, out.Ns, out.Extra} {
		for _, rr := range sec {
			key := rr.String()
			if left[key] > 0 {
				left[key]--
				continue
			}
			if si == 1 && rr.Header().Rrtype == dns.TypeSOA && (soa == "" || key == soa) {
				continue
			}
			if rr.Header().Rrtype == dns.TypeOPT {
				continue // the OPT record is the server's, sized per transport
			}
			return fmt.Sprintf("section %d holds a record the backend did not send: %s", si, key)
		}
	}
	if out.Truncated && !in.Truncated {
		return ""
	}
	inAns, ambiguous := fuzzAnswered(in, q)
	outAns, _ := fuzzAnswered(out, q)
	reshaped := inAns && !outAns && !ambiguous
	if !reshaped && !ambiguous && out.Rcode != in.Rcode {
		return fmt.Sprintf("rcode %s, backend %s, but the question did not lose its answer", dns.RcodeToString[out.Rcode], dns.RcodeToString[in.Rcode])
	}
	for si, secs := range [][2][]dns.RR{{in.Answer, out.Answer}, {in.Ns, out.Ns}, {in.Extra, out.Extra}} {
		if si > 0 && (reshaped || ambiguous) {
			continue
		}
		have := map[string]int{}
		for _, rr := range secs[1] {
			have[rr.String()]++
		}
		for _, rr := range secs[0] {
			txt, isTXT := rr.(*dns.TXT)
			why := ""
			switch {
			case rr.Header().Rrtype == dns.TypeOPT:
				continue
			case !isTXT:
				why = "non-TXT record"
			case mustStayPublic(txt.Hdr.Name, txt.Txt):
				why = "record that must stay public"
			case signedTXT(secs[0], txt.Hdr.Name):
				why = "record of a signed TXT RRset"
			default:
				continue
			}
			key := rr.String()
			if have[key] == 0 {
				return fmt.Sprintf("section %d lost a %s: %s", si, why, key)
			}
			have[key]--
		}
	}
	if reshaped {
		for _, rr := range out.Ns {
			if rr.Header().Rrtype != dns.TypeSOA || len(out.Ns) > 1 {
				return "a negative answer's authority section holds more than the SOA"
			}
		}
		for _, rr := range out.Extra {
			if rr.Header().Rrtype != dns.TypeOPT {
				return "a negative answer's additional section holds more than the OPT record"
			}
		}
	}
	return ""
}

// fuzzAnswered reports whether the answer section of m answers q: it
// holds a record of q's type (any type but CNAME for ANY) at the end of
// the CNAME chain from the question name. ambiguous is set when the answer
// is not a well-formed chain (a CNAME next to other data, two CNAMEs at
// one name, a loop), where what "answers" means is a matter of opinion.
func fuzzAnswered(m *dns.Msg, q dns.Question) (answered, ambiguous bool) {
	cnames := map[string]string{}
	other := map[string]bool{}
	for _, rr := range m.Answer {
		name := strings.ToLower(rr.Header().Name)
		if c, ok := rr.(*dns.CNAME); ok {
			if _, dup := cnames[name]; dup {
				ambiguous = true
			}
			cnames[name] = c.Target
		} else {
			other[name] = true
		}
	}
	for name := range cnames {
		if other[name] {
			ambiguous = true
		}
	}
	target := q.Name
	for range len(m.Answer) + 1 {
		next, ok := cnames[strings.ToLower(target)]
		if !ok {
			break
		}
		target = next
	}
	if _, ok := cnames[strings.ToLower(target)]; ok {
		ambiguous = true // a loop
	}
	for _, rr := range m.Answer {
		h := rr.Header()
		if strings.EqualFold(h.Name, target) && (h.Rrtype == q.Qtype || (q.Qtype == dns.TypeANY && h.Rrtype != dns.TypeCNAME)) {
			return true, ambiguous
		}
	}
	return false, ambiguous
}

// signedTXT reports whether sec holds an RRSIG over owner's TXT RRset.
func signedTXT(sec []dns.RR, owner string) bool {
	for _, rr := range sec {
		if s, ok := rr.(*dns.RRSIG); ok && s.TypeCovered == dns.TypeTXT && strings.EqualFold(s.Hdr.Name, owner) {
			return true
		}
	}
	return false
}

// fuzzBytes hands out the bytes of a fuzz input; past the end it gives
// zeros.
type fuzzBytes struct{ b []byte }

func (f *fuzzBytes) next() byte {
	if len(f.b) == 0 {
		return 0
	}
	c := f.b[0]
	f.b = f.b[1:]
	return c
}

func (f *fuzzBytes) take(n int) []byte {
	n = min(n, len(f.b))
	out := f.b[:n]
	f.b = f.b[n:]
	return out
}

// Owner names of the token filter fuzzer, relative to example.org.
var filterOwners = []string{
	"", "_dmarc", "_DMARC", "sel._domainkey", "s1.s2._DomainKey", "_domainkey", "_mta-sts", "_smtp._tls",
	"_SMTP._TLS", "_tls", "_smtp", "_tls._smtp", "_acme-challenge", "_acme-challenge.www", "default._bimi",
	"_bimi", "x._report._dmarc", "_report._dmarc", "www", "mail", "_github-challenge-acme-org",
	"_github-pages-challenge-acme", "_newvendor-challenge", "asuid", "_atproto", "_amazonses", "_dmarc.sub",
	"sub", "x.wild", `a\.b._domainkey`, `_domainkey\.x`,
}

// filterValues are TXT values: records that must stay public, tokens,
// near misses and plain text; FuzzTokenFilter adds the catalog's samples.
var filterValues = []string{
	"v=spf1 include:_spf.google.com ~all", "v=spf1 -all", "v=spf1", "V=SPF1 ip4:192.0.2.0/24 -all", "v=spf1;",
	"v=DMARC1; p=reject; rua=mailto:dmarc@example.org", "v=DMARC1", "v=dmarc1;p=none",
	"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDDmzRmJRQx", "k=rsa; t=s; p=MIGfMA0GCSqG", "p=MIGfMA0GCSqGSIb3", "k=ed25519",
	"v=STSv1; id=20260101T000000Z;", "v=TLSRPTv1; rua=mailto:tlsrpt@example.org", "v=BIMI1; l=https://example.org/logo.svg; a=;",
	"google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ", "MS=ms64239401",
	"docusign=1b0a6754-49b1-4db5-8540-d2c12664b289", "atlassian-domain-verification=Z8Yq6zkT9TWr3Lsl4nJ8GvJIEkjwx",
	"facebook-domain-verification=8ug4xhx5dh5zu6u5mxsb5cw5d4l0ad", "apple-domain-verification=QOCyOkZb1ujaT6sB",
	"ZOOM_verify_kx3OD2N5RkWa6MKgCHsW9A", "frobnicate-domain-verification=8f14e45fceea", "gitlab-pages-verification-code=7a9d1e2f",
	"token=3419sdfk3d206c4; expiry=2020-01-01T00:00:00Z", "examplecorp-verification=abc; expiry=2099-01-01",
	"v=spf10 -all", "v=spf1x", "v=DMARC2; p=none", "v=DKIM", "x=spf1", " v=spf1 -all", "\tk=rsa", "hello world", "", "=", ":", "k", "p",
}

const filterZone = "example.org."

// filterSOA is the SOA the backend of FuzzTokenFilter serves for the zone.
var filterSOA = test.SOA("example.org. 300 IN SOA ns1.example.org. hostmaster.example.org. 2026010101 7200 3600 1209600 300")

// fuzzOwner builds an owner name: one of filterOwners, a random label, or
// a random label above one of filterOwners.
func fuzzOwner(in *fuzzBytes) string {
	n := len(filterOwners)
	switch i := int(in.next()) % (n + 2); {
	case i < n:
		return under(filterOwners[i], filterZone)
	case i == n:
		return under(fuzzLabel(in), filterZone)
	default:
		label := fuzzLabel(in)
		return under(label, under(filterOwners[int(in.next())%n], filterZone))
	}
}

// under returns the name of relative name rel (none: "") under the fully
// qualified name parent.
func under(rel, parent string) string {
	if rel == "" {
		return parent
	}
	return rel + "." + parent
}

// fuzzLabel builds a label of 1 to 16 characters that may start with an
// underscore.
func fuzzLabel(in *fuzzBytes) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
	b := in.take(1 + int(in.next())%16)
	label := make([]byte, 0, len(b)+1)
	if len(b) == 0 || b[0]&1 == 0 {
		label = append(label, '_')
	}
	for _, c := range b {
		label = append(label, alphabet[int(c)%len(alphabet)])
	}
	return string(label)
}

// fuzzTXT builds the character-strings of a TXT record: a value from the
// pool or random bytes, maybe behind a public value or followed by random
// bytes, with its letters' case flipped by a mask, split into up to four
// character-strings (empty ones included) of at most 255 bytes.
func fuzzTXT(in *fuzzBytes, pool []string) []string {
	sel, mode := in.next(), in.next()
	var v []byte
	if sel == 255 {
		v = bytes.Clone(in.take(int(in.next()) % 64))
	} else {
		v = []byte(pool[int(sel)%len(pool)])
	}
	if mode&1 != 0 {
		v = append(v, in.take(int(in.next())%32)...)
	}
	if mode&2 != 0 {
		v = append([]byte(pool[int(in.next())%len(pool)]), v...)
	}
	if mode&4 != 0 {
		mask := in.next()
		for i, c := range v {
			if mask&(1<<(i%8)) != 0 && ('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
				v[i] = c ^ 0x20
			}
		}
	}
	var txt []string
	for parts := 1 + int(mode>>4)%4; parts > 1 && len(v) > 0; parts-- {
		cut := min(int(in.next())%(len(v)+1), 255)
		txt = append(txt, string(v[:cut]))
		v = v[cut:]
	}
	for len(v) > 255 {
		txt = append(txt, string(v[:255]))
		v = v[255:]
	}
	return append(txt, string(v))
}

// fuzzFilterMsg builds the query and the backend's answer from the input.
func fuzzFilterMsg(in *fuzzBytes, pool []string) (query, answer *dns.Msg, stream bool) {
	flags := in.next()
	qtype := dns.TypeTXT
	if flags&1 != 0 {
		qtype = dns.TypeANY
	}
	query = new(dns.Msg)
	query.SetQuestion(fuzzOwner(in), qtype)
	query.Id = 0xbeef
	if flags&2 != 0 {
		query.SetEdns0(1232, flags&4 != 0)
	}
	stream = flags&8 != 0

	answer = new(dns.Msg)
	answer.SetReply(query)
	answer.Authoritative = true
	if flags&16 != 0 {
		answer.Rcode = dns.RcodeNameError
	}
	hdr := func(name string, t uint16) dns.RR_Header {
		return dns.RR_Header{Name: name, Rrtype: t, Class: dns.ClassINET, Ttl: 300}
	}
	for n := 0; n < 32 && len(in.b) > 0; n++ {
		kind, sec := in.next()%16, in.next()%8
		owner := query.Question[0].Name
		if in.next()%4 != 0 {
			owner = fuzzOwner(in)
		}
		var rr dns.RR
		switch kind {
		case 10:
			rr = &dns.A{Hdr: hdr(owner, dns.TypeA), A: net.IPv4(192, 0, 2, in.next())}
		case 11:
			rr = &dns.CNAME{Hdr: hdr(owner, dns.TypeCNAME), Target: fuzzOwner(in)}
		case 12:
			rr = &dns.NS{Hdr: hdr(owner, dns.TypeNS), Ns: "ns1." + filterZone}
		case 13:
			rr = &dns.RRSIG{Hdr: hdr(owner, dns.TypeRRSIG), TypeCovered: dns.TypeTXT, Algorithm: dns.ECDSAP256SHA256,
				Labels: uint8(dns.CountLabel(owner)), OrigTtl: 300, Expiration: 2000000000, Inception: 1700000000,
				KeyTag: 4242, SignerName: filterZone, Signature: "AAAA"}
		case 14:
			soa := dns.Copy(filterSOA)
			soa.Header().Name = owner
			rr = soa
		case 15:
			rr = &dns.NSEC{Hdr: hdr(owner, dns.TypeNSEC), NextDomain: "zz." + filterZone, TypeBitMap: []uint16{dns.TypeA, dns.TypeTXT, dns.TypeRRSIG, dns.TypeNSEC}}
		default:
			rr = &dns.TXT{Hdr: hdr(owner, dns.TypeTXT), Txt: fuzzTXT(in, pool)}
		}
		switch {
		case sec < 5:
			answer.Answer = append(answer.Answer, rr)
		case sec < 7:
			answer.Ns = append(answer.Ns, rr)
		default:
			answer.Extra = append(answer.Extra, rr)
		}
	}
	if o := query.IsEdns0(); o != nil {
		answer.SetEdns0(o.UDPSize(), o.Do())
	}
	return query, answer, stream
}

// filterBackend writes a prepared answer to every query but the SOA
// queries the filter itself makes, which it answers for the zone apex.
type filterBackend struct{ answer *dns.Msg }

func (filterBackend) Name() string { return "filter-backend" }

func (b *filterBackend) ServeDNS(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	if q := r.Question[0]; q.Qtype == dns.TypeSOA {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		if strings.EqualFold(q.Name, filterZone) {
			m.Answer = []dns.RR{filterSOA}
		}
		w.WriteMsg(m)
		return dns.RcodeSuccess, nil
	}
	w.WriteMsg(b.answer)
	return dns.RcodeSuccess, nil
}

// FuzzTokenFilter builds a TXT or ANY answer from the input (owners under
// example.org, underscore labels included; TXT values from must-stay-public
// records, the catalog's token samples, near misses and random bytes,
// case-mangled and split into character-strings; other record types and
// RRSIGs mixed in, in every section) and sends it through veil, under the
// most aggressive policy (hide all, pattern .*), to an external client.
// Properties: exactly one answer, which packs; the header and question
// stay; the backend's message is not modified; no record appears that the
// backend did not send (but the zone's SOA of a negative answer); no
// non-TXT record, no record that must stay public (mustStayPublic, the
// test's own oracle) and no record of a signed TXT RRset is removed from
// any section, except that an answer whose question lost its answer takes
// the shape of a negative answer (checkFiltered).
//
//	go test -run '^$' -fuzz '^FuzzTokenFilter$' -fuzztime 30s -fuzzminimizetime 5s -parallel 1 .
//
// (New inputs reach deep into miekg/dns and regexp, and minimising each
// for the default 60 s leaves little time for fuzzing.)
func FuzzTokenFilter(f *testing.F) {
	c := caddy.NewTestController("dns", "veil {\n any pass\n tokens {\n hide all\n pattern .*\n }\n}")
	c.ServerBlockKeys = []string{filterZone + ":53"}
	v, err := parse(c)
	if err != nil {
		f.Fatal(err)
	}
	v.wallClock = func() time.Time { return fuzzWallClock }
	backend := &filterBackend{}
	v.Next = backend

	pool := append([]string(nil), filterValues...)
	catalog, err := tokens.Catalog()
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range catalog {
		pool = append(pool, e.Sample)
	}
	for _, seed := range fuzzTokenFilterSeeds(len(filterValues)) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		query, answer, stream := fuzzFilterMsg(&fuzzBytes{b: data}, pool)
		// The backend's message as it would come off the wire.
		wire, err := answer.Pack()
		if err != nil {
			return
		}
		in := new(dns.Msg)
		if err := in.Unpack(wire); err != nil {
			t.Fatalf("packed answer does not unpack: %v", err)
		}
		backend.answer = in

		var remote net.Addr = &net.UDPAddr{IP: fuzzExternal4, Port: 40000}
		if stream {
			remote = &net.TCPAddr{IP: fuzzExternal6, Port: 40000}
		}
		w := &fuzzWriter{remote: remote}
		if _, err := v.ServeDNS(context.Background(), w, query); err != nil {
			t.Fatal(err)
		}
		after, err := in.Pack()
		if err != nil || !bytes.Equal(after, wire) {
			t.Fatalf("the filter modified the backend's message:\n%s", in)
		}
		if len(w.out) != 1 || w.out[0].err != nil {
			t.Fatalf("want one answer that packs, got %d (%v) for\n%s", len(w.out), w.out, in)
		}
		out := new(dns.Msg)
		if err := out.Unpack(w.out[0].wire); err != nil {
			t.Fatalf("answer does not unpack: %v", err)
		}
		if out.Id != in.Id || !out.Response || out.Opcode != in.Opcode || len(out.Question) != 1 || out.Question[0] != in.Question[0] {
			t.Fatalf("header or question changed:\n%s\nbackend:\n%s", out, in)
		}
		if msg := checkFiltered(in, out, query.Question[0], filterSOA.String()); msg != "" {
			t.Fatalf("%s\nfiltered:\n%s\nbackend:\n%s", msg, out, in)
		}
	})
}

// fuzzTokenFilterSeeds returns inputs that build, through fuzzFilterMsg,
// answers with each value of filterValues at the apex, next to records at
// the public labels and in other sections.
func fuzzTokenFilterSeeds(values int) [][]byte {
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
	seeds = append(seeds,
		[]byte{1, 18, 11, 0, 0, 20, 0, 0, 3, 0, 0, 2}, // ANY at www: a CNAME, then tokens
		[]byte{0, 20, 13, 0, 0, 0, 0, 0, 17, 0},       // a signed token RRset
		[]byte{0, 19, 0, 0, 0, 255, 1, 8, 'v', '=', 's', 'p', 'f', '1', ' ', '-', 0x21},
	)
	return seeds
}

var _ plugin.Handler = (*filterBackend)(nil)

// The checker of FuzzTokenFilter and FuzzHandler rejects what a broken
// filter would send, so that the fuzzers cannot pass vacuously.
func TestCheckFilteredCatches(t *testing.T) {
	q := dns.Question{Name: "example.org.", Qtype: dns.TypeTXT, Qclass: dns.ClassINET}
	in := new(dns.Msg)
	in.SetQuestion(q.Name, q.Qtype)
	in.Response = true
	spf := test.TXT(`example.org. 300 IN TXT "v=spf1 -all"`)
	token := test.TXT(`example.org. 300 IN TXT "MS=ms64239401"`)
	dkim := test.TXT(`s._DomainKey.example.org. 300 IN TXT "anything"`)
	ns := test.NS("example.org. 300 IN NS ns1.example.org.")
	glue := test.A("ns1.example.org. 300 IN A 192.0.2.53")
	in.Answer = []dns.RR{spf, token}
	in.Ns = []dns.RR{ns, dkim}
	in.Extra = []dns.RR{glue}
	build := func(edit func(m *dns.Msg)) *dns.Msg {
		m := in.Copy()
		edit(m)
		return m
	}
	good := map[string]*dns.Msg{
		"token hidden":      build(func(m *dns.Msg) { m.Answer = m.Answer[:1] }),
		"nothing hidden":    build(func(*dns.Msg) {}),
		"truncated by size": build(func(m *dns.Msg) { m.Truncated, m.Answer = true, nil }),
	}
	for name, out := range good {
		if msg := checkFiltered(in, out, q, ""); msg != "" {
			t.Errorf("%s: rejected: %s", name, msg)
		}
	}
	bad := map[string]*dns.Msg{
		"SPF hidden":            build(func(m *dns.Msg) { m.Answer = m.Answer[1:] }),
		"DKIM owner hidden":     build(func(m *dns.Msg) { m.Ns = m.Ns[:1] }),
		"NS removed":            build(func(m *dns.Msg) { m.Ns = m.Ns[1:] }),
		"glue removed":          build(func(m *dns.Msg) { m.Extra = nil }),
		"record added":          build(func(m *dns.Msg) { m.Answer = append(m.Answer, test.TXT(`example.org. 300 IN TXT "new"`)) }),
		"NXDOMAIN with answers": build(func(m *dns.Msg) { m.Rcode = dns.RcodeNameError }),
	}
	for name, out := range bad {
		if msg := checkFiltered(in, out, q, ""); msg == "" {
			t.Errorf("%s: accepted", name)
		}
	}
	// A question that lost its answer may take the negative shape.
	in.Answer = []dns.RR{token}
	soa := test.SOA("example.org. 300 IN SOA ns1.example.org. h.example.org. 1 2 3 4 5")
	negative := build(func(m *dns.Msg) { m.Answer, m.Ns, m.Extra = nil, []dns.RR{soa}, nil })
	if msg := checkFiltered(in, negative, q, soa.String()); msg != "" {
		t.Errorf("negative shape rejected: %s", msg)
	}
	negative.Extra = []dns.RR{glue}
	if msg := checkFiltered(in, negative, q, soa.String()); msg == "" {
		t.Error("negative shape with additional records accepted")
	}

	for _, c := range []struct {
		owner, value string
		public       bool
	}{
		{"x.example.org.", "V=SPF1 -all", true}, {"x.example.org.", "v=spf1", true}, {"x.example.org.", "v=spf10", false},
		{"_DMARC.example.org.", "whatever", true}, {"a._report._dmarc.example.org.", "", true}, {"_report._dmarc.example.org.", "x", false},
		{"sel._domainkey.example.org.", "", true}, {"_domainkey.example.org.", "x", false}, {"x.example.org.", "p=abc", true},
		{"_smtp._tls.example.org.", "", true}, {"_tls._smtp.example.org.", "x", false}, {"_acme-challenge.www.example.org.", "x", true},
		{"www._acme-challenge.example.org.", "x", false}, {"x.example.org.", "MS=ms1", false}, {"x.example.org.", " v=spf1", false},
	} {
		if got := mustStayPublic(c.owner, []string{c.value}); got != c.public {
			t.Errorf("mustStayPublic(%q, %q) = %v, want %v", c.owner, c.value, got, c.public)
		}
	}
}
