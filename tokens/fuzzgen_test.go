package tokens

import (
	"bytes"
	"net"

	"github.com/miekg/dns"
)

// The input generator of FuzzRewrite: a query and the backend's answer,
// built from the fuzzer's bytes.

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

// Owner names of FuzzRewrite, relative to example.org.
var fuzzOwners = []string{
	"", "_dmarc", "_DMARC", "sel._domainkey", "s1.s2._DomainKey", "_domainkey", "_mta-sts", "_smtp._tls",
	"_SMTP._TLS", "_tls", "_smtp", "_tls._smtp", "_acme-challenge", "_acme-challenge.www", "default._bimi",
	"_bimi", "x._report._dmarc", "_report._dmarc", "www", "mail", "_github-challenge-acme-org",
	"_github-pages-challenge-acme", "_newvendor-challenge", "asuid", "_atproto", "_amazonses", "_dmarc.sub",
	"sub", "x.wild", `a\.b._domainkey`, `_domainkey\.x`,
}

// fuzzValues are TXT values: records that must stay public, tokens, near
// misses and plain text; FuzzRewrite adds the catalog's samples.
var fuzzValues = []string{
	"v=spf1 include:_spf.google.com ~all", "v=spf1 -all", "v=spf1", "V=SPF1 ip4:192.0.2.0/24 -all", "v=spf1;",
	"v=DMARC1; p=reject; rua=mailto:dmarc@example.org", "v=DMARC1", "v=dmarc1;p=none",
	"v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDDmzRmJRQx", "k=rsa; t=s; p=MIGfMA0GCSqG", "p=MIGfMA0GCSqGSIb3", "k=ed25519",
	"v=STSv1; id=20260101T000000Z;", "v=TLSRPTv1; rua=mailto:tlsrpt@example.org", "v=BIMI1; l=https://example.org/logo.svg; a=;",
	"google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ", "MS=ms64239401",
	"docusign=1b0a6754-49b1-4db5-8540-d2c12664b289", "atlassian-domain-verification=Z8Yq6zkT9TWr3Lsl4nJ8GvJIEkjwx",
	"facebook-domain-verification=8ug4xhx5dh5zu6u5mxsb5cw5d4l0ad", "apple-domain-verification=QOCyOkZb1ujaT6sB",
	"ZOOM_verify_kx3OD2N5RkWa6MKgCHsW9A", "frobnicate-domain-verification=8f14e45fceea", "gitlab-pages-verification-code=7a9d1e2f",
	"token=3419sdfk3d206c4; expiry=2020-01-01T00:00:00Z", "examplecorp-verification=abc; expiry=2099-01-01",
	"\"MS=ms64239401\"", " google-site-verification = abc", "mandrill_verify.qFmG2YBGhKd446rthmMirQ", "\"v=spf1 -all\"", "v = DMARC1; p=none",
	"verification.8f14e45fceea", "\tMS =ms1",
	"v=spf10 -all", "v=spf1x", "v=DMARC2; p=none", "v=DKIM", "x=spf1", " v=spf1 -all", "\tk=rsa", "hello world", "", "=", ":", "k", "p",
}

// fuzzSOA is the SOA the soa callback of FuzzRewrite serves for the zone.
var fuzzSOA = func() dns.RR {
	rr, err := dns.NewRR(testSOA)
	if err != nil {
		panic(err)
	}
	return rr
}()

// fuzzOwner builds an owner name: one of fuzzOwners, a random label, or
// a random label above one of fuzzOwners.
func fuzzOwner(in *fuzzBytes) string {
	n := len(fuzzOwners)
	switch i := int(in.next()) % (n + 2); {
	case i < n:
		return under(fuzzOwners[i], testZone)
	case i == n:
		return under(fuzzLabel(in), testZone)
	default:
		label := fuzzLabel(in)
		return under(label, under(fuzzOwners[int(in.next())%n], testZone))
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

// fuzzRewriteMsg builds the query and the backend's answer from the input,
// and which policy of FuzzRewrite's to rewrite it with. The first byte
// holds flags: ANY (1) or A (32) rather than TXT, EDNS (2) with DO (4), the
// default policy (8), NXDOMAIN (16); up to 32 records follow.
func fuzzRewriteMsg(in *fuzzBytes, pool []string) (query, answer *dns.Msg, policy int) {
	flags := in.next()
	qtype := dns.TypeTXT
	switch {
	case flags&1 != 0:
		qtype = dns.TypeANY
	case flags&32 != 0:
		qtype = dns.TypeA
	}
	query = new(dns.Msg)
	query.SetQuestion(fuzzOwner(in), qtype)
	query.Id = 0xbeef
	if flags&2 != 0 {
		query.SetEdns0(1232, flags&4 != 0)
	}
	policy = int(flags>>3) & 1

	answer = new(dns.Msg)
	answer.SetReply(query)
	answer.Authoritative = true
	if flags&16 != 0 {
		answer.Rcode = dns.RcodeNameError
	}
	for n := 0; n < 32 && len(in.b) > 0; n++ {
		kind, sec := in.next()%16, in.next()%8
		owner := query.Question[0].Name
		if in.next()%4 != 0 {
			owner = fuzzOwner(in)
		}
		rr := fuzzRR(in, kind, owner, pool)
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
	return query, answer, policy
}

// fuzzRR builds a record of kind at owner: A (10), CNAME (11), NS (12), an
// RRSIG over TXT (13), SOA (14), NSEC (15), else TXT.
func fuzzRR(in *fuzzBytes, kind byte, owner string, pool []string) dns.RR {
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: owner, Rrtype: t, Class: dns.ClassINET, Ttl: 300}
	}
	switch kind {
	case 10:
		return &dns.A{Hdr: hdr(dns.TypeA), A: net.IPv4(192, 0, 2, in.next())}
	case 11:
		return &dns.CNAME{Hdr: hdr(dns.TypeCNAME), Target: fuzzOwner(in)}
	case 12:
		return &dns.NS{Hdr: hdr(dns.TypeNS), Ns: "ns1." + testZone}
	case 13:
		return &dns.RRSIG{Hdr: hdr(dns.TypeRRSIG), TypeCovered: dns.TypeTXT, Algorithm: dns.ECDSAP256SHA256,
			Labels: uint8(dns.CountLabel(owner)), OrigTtl: 300, Expiration: 2000000000, Inception: 1700000000,
			KeyTag: 4242, SignerName: testZone, Signature: "AAAA"}
	case 14:
		soa := dns.Copy(fuzzSOA)
		soa.Header().Name = owner
		return soa
	case 15:
		return &dns.NSEC{Hdr: hdr(dns.TypeNSEC), NextDomain: "zz." + testZone, TypeBitMap: []uint16{dns.TypeA, dns.TypeTXT, dns.TypeRRSIG, dns.TypeNSEC}}
	default:
		return &dns.TXT{Hdr: hdr(dns.TypeTXT), Txt: fuzzTXT(in, pool)}
	}
}
