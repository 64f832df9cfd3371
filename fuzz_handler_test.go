package veil

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/file"
	clog "github.com/coredns/coredns/plugin/pkg/log"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"

	"github.com/veildns/veil/ratelimit"
	"github.com/veildns/veil/tokens/tokenstest"
)

// fuzzZone is the example.org zone FuzzHandler serves with the real file
// plugin: verification tokens next to SPF, DMARC, DKIM, MTA-STS, TLS-RPT,
// BIMI and ACME records, pre-claim records, a delegation with glue, CNAMEs
// into a token label and into the delegation, and wildcards, one of which
// holds nothing but a token.
const fuzzZone = `$ORIGIN example.org.
$TTL 3600
@       IN SOA ns1.example.org. hostmaster.example.org. 2026010101 7200 3600 1209600 300
@       IN NS  ns1
@       IN NS  ns2.example.net.
@       IN MX  10 mail
@       IN A   192.0.2.1
@       IN AAAA 2001:db8::1
@       IN TXT "v=spf1 ip4:192.0.2.0/24 include:_spf.google.com -all"
@       IN TXT "google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ"
@       IN TXT "MS=ms64239401"
@       IN TXT "docusign=1b0a6754-49b1-4db5-8540-d2c12664b289"
@       IN TXT "frobnicate-domain-verification=8f14e45f" "ceea167a5a36dedd4bea2543"
@       IN TXT "this zone is for tests"
_dmarc  IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.org"
sel._domainkey IN TXT "v=DKIM1; k=rsa; " "p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDDmzRmJRQx"
_mta-sts IN TXT "v=STSv1; id=20260101T000000Z;"
_smtp._tls IN TXT "v=TLSRPTv1; rua=mailto:tlsrpt@example.org"
default._bimi IN TXT "v=BIMI1; l=https://example.org/logo.svg"
_acme-challenge IN TXT "cE3A8qQpEzAIYq-T9DWNdLJ1_YRXamdxcjGTbzrOH5L"
_github-challenge-acme-org IN TXT "8b9ea5d1e0"
_github-pages-challenge-acme IN TXT "5a7b8c9d0e1f2a3b4c5d6e7f8a9b0c"
asuid   IN TXT "B7E4D9D1C8A2F3E6B5A4C3D2E1F0A9B8"
www     IN A   192.0.2.11
www     IN TXT "zoho-verification=zb12345678.zmverify.zoho.eu"
old     IN TXT "examplecorp-verification=abc; expiry=2020-01-01"
alias   IN CNAME _github-challenge-acme-org
mailalias IN CNAME www
deleg   IN CNAME host.sub
mail    IN A   192.0.2.25
ns1     IN A   192.0.2.53
sub     IN NS  ns.sub
sub     IN NS  ns.example.net.
ns.sub  IN A   192.0.2.54
*.wild  IN A   192.0.2.99
*.wild  IN TXT "MS=ms99999999"
*.wild  IN TXT "v=spf1 -all"
*.tok   IN TXT "apple-domain-verification=QOCyOkZb1ujaT6sB"
`

// fuzzSignedZone is a DNSSEC-signed zone of tokens (RRSIGs and NSEC), so
// the handler also sees signed TXT RRsets and NSEC denials.
const fuzzSignedZone = "testdata/tokens.signed.zone"

// fuzzHandlerConfigs are the veil blocks FuzzHandler runs, all in a server
// block for the root zone. The limiter's budget is tiny so that repeated
// queries of one input reach its blocking paths.
var fuzzHandlerConfigs = []string{
	// The defaults: refuse transfers, HINFO for ANY, default token policy.
	"veil example.org tokens.test {\n trusted 192.0.2.0/24 2001:db8:1::/48\n}",
	// The most aggressive token policy; ANY passed, transfers dropped.
	"veil example.org tokens.test {\n trusted 192.0.2.0/24 2001:db8:1::/48\n transfer drop\n any pass\n tokens {\n hide all\n pattern .*\n }\n}",
	// The whole server guarded, with the limiter.
	"veil . example.org tokens.test {\n trusted 192.0.2.0/24 2001:db8:1::/48\n any refuse tcp pass\n limit {\n rate 1\n burst 1\n ratio 0.5 2 30s\n block 60s\n slip 2\n table 1024\n }\n tokens example.org {\n hide all\n reveal google\n }\n}",
	// log-only: counts, but changes no answer.
	"veil example.org {\n trusted 192.0.2.0/24 2001:db8:1::/48\n any drop tcp hinfo\n limit {\n rate 1\n burst 1\n table 64\n }\n log-only\n}",
}

// Client addresses of FuzzHandler. The trusted ones are in the trusted
// networks of every configuration.
var (
	fuzzTrusted4  = net.IPv4(192, 0, 2, 7).To4()
	fuzzExternal4 = net.IPv4(198, 51, 100, 9).To4()
	fuzzTrusted6  = net.ParseIP("2001:db8:1::7")
	fuzzExternal6 = net.ParseIP("2001:db8:ffff::9")
)

// fuzzWallClock is the time token dates are judged by, fixed so that a
// crasher reproduces whatever the date.
var fuzzWallClock = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// fuzzOddAddr is the address of a transport veil cannot read.
type fuzzOddAddr struct{}

func (fuzzOddAddr) Network() string { return "doh" }
func (fuzzOddAddr) String() string  { return "client-behind-something" }

// fuzzWriter records every message written, packed as the server would
// send it. It stands in for the server's writer: CoreDNS's test
// ResponseWriter for the local address, a chosen remote address, and the
// TSIG status miekg/dns reports on a server without TSIG keys (ErrSecret
// for a request that carries TSIG).
type fuzzWriter struct {
	test.ResponseWriter
	remote net.Addr
	tsig   error
	out    []fuzzOut
	closed bool
}

type fuzzOut struct {
	wire []byte
	err  error // the message did not pack
}

func (w *fuzzWriter) RemoteAddr() net.Addr { return w.remote }
func (w *fuzzWriter) TsigStatus() error    { return w.tsig }
func (w *fuzzWriter) Close() error         { w.closed = true; return nil }

func (w *fuzzWriter) WriteMsg(m *dns.Msg) error {
	b, err := m.Pack()
	w.out = append(w.out, fuzzOut{wire: b, err: err})
	return err
}

func (w *fuzzWriter) Write(b []byte) (int, error) {
	w.out = append(w.out, fuzzOut{wire: bytes.Clone(b)})
	return len(b), nil
}

// fuzzPanics records which plugin of a chain panicked, and whether the
// server handed the request to veil at all.
type fuzzPanics struct {
	backend string // the file plugin panicked: not veil's doing
	veil    string
	reached bool // veil's ServeDNS was called
}

// panicGuard wraps a plugin to tell whose panic it was. It records the
// panic and panics again, so the server handles it as in production.
type panicGuard struct {
	next    plugin.Handler
	name    string
	panics  *fuzzPanics
	backend bool
}

func (g panicGuard) Name() string { return g.name }

func (g panicGuard) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	if !g.backend {
		g.panics.reached = true
	}
	defer func() {
		if rec := recover(); rec != nil {
			p := g.panics
			msg := fmt.Sprintf("%v\n%s", rec, debug.Stack())
			switch {
			case g.backend && p.backend == "":
				p.backend = msg
			case !g.backend && p.backend == "" && p.veil == "":
				p.veil = msg
			}
			panic(rec)
		}
	}()
	return g.next.ServeDNS(ctx, w, r)
}

// tap records, packed, what the plugin behind it writes, before the
// server's writer truncates it for the transport: the backend's own answer,
// which the token filter's output is checked against. It changes nothing.
type tap struct {
	next plugin.Handler
	got  *[][]byte
}

func (t tap) Name() string { return "tap" }

func (t tap) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	return t.next.ServeDNS(ctx, &tapWriter{ResponseWriter: w, got: t.got}, r)
}

type tapWriter struct {
	dns.ResponseWriter
	got *[][]byte
}

func (w *tapWriter) WriteMsg(m *dns.Msg) error {
	b, _ := m.Pack() // before the writer below may truncate m
	*w.got = append(*w.got, b)
	return w.ResponseWriter.WriteMsg(m)
}

// fuzzHandlerEnv is the set-up FuzzHandler shares between inputs.
type fuzzHandlerEnv struct {
	veils  []*Veil
	withV  []*dnsserver.Server // one per configuration, veil in front of file
	plain  *dnsserver.Server   // the same server without veil
	panics *fuzzPanics
	tapped [][]byte // what the file plugin of plain wrote
}

func newFuzzHandlerEnv(tb testing.TB) *fuzzHandlerEnv {
	tb.Helper()
	z, err := file.Parse(strings.NewReader(fuzzZone), "example.org.", "fuzz", 0)
	if err != nil {
		tb.Fatal(err)
	}
	sz := parseZoneFile(tb, fuzzSignedZone, "tokens.test.")
	backend := file.File{Zones: file.Zones{
		Z:     map[string]*file.Zone{"example.org.": z, "tokens.test.": sz},
		Names: []string{"example.org.", "tokens.test."},
	}}

	env := &fuzzHandlerEnv{panics: &fuzzPanics{}}
	fileGuard := func(next plugin.Handler) plugin.Handler {
		f := backend
		f.Next = next
		return panicGuard{next: f, name: "file", panics: env.panics, backend: true}
	}
	newServer := func(plugins ...plugin.Plugin) *dnsserver.Server {
		s, err := dnsserver.NewServer("dns://:53", []*dnsserver.Config{{Zone: ".", Port: "53", Plugin: plugins}})
		if err != nil {
			tb.Fatal(err)
		}
		return s
	}
	env.plain = newServer(func(next plugin.Handler) plugin.Handler {
		return tap{next: next, got: &env.tapped}
	}, fileGuard)
	for _, corefile := range fuzzHandlerConfigs {
		c := caddy.NewTestController("dns", corefile)
		c.ServerBlockKeys = []string{".:53"}
		v, err := parse(c)
		if err != nil {
			tb.Fatalf("parse(%q): %v", corefile, err)
		}
		v.wallClock = func() time.Time { return fuzzWallClock }
		env.veils = append(env.veils, v)
		env.withV = append(env.withV, newServer(func(next plugin.Handler) plugin.Handler {
			v.Next = next
			return panicGuard{next: v, name: pluginName, panics: env.panics}
		}, fileGuard))
	}
	return env
}

// reset gives a configuration a fresh limiter state (new tables, no
// trips) on a fake clock, as a freshly started veil has, so no input
// depends on the inputs before it.
func (env *fuzzHandlerEnv) reset(tb testing.TB, v *Veil) {
	tb.Helper()
	if v.limit == nil {
		return
	}
	for _, z := range v.zones {
		l, err := ratelimit.New(v.limit.cfg)
		if err != nil {
			tb.Fatal(err)
		}
		z.limiter, z.trips = l, new(tripRing)
	}
	newFakeClock(tb)
}

// serve runs one request through server s as CoreDNS's server loop does
// and reports the writer and whether veil panicked.
func (env *fuzzHandlerEnv) serve(s *dnsserver.Server, req *dns.Msg, remote net.Addr) *fuzzWriter {
	w := &fuzzWriter{remote: remote}
	if req.IsTsig() != nil {
		w.tsig = dns.ErrSecret // no TSIG key is configured
	}
	// The context of core/dnsserver's handler.
	ctx := context.WithValue(context.Background(), dnsserver.Key{}, s)
	ctx = context.WithValue(ctx, dnsserver.LoopKey{}, 0)
	s.ServeDNS(ctx, w, req)
	return w
}

// fuzzClients returns the trusted and the external address of a family
// (the trusted one is nil where the family has none) and whether the
// transport is a stream.
func fuzzClients(ctl byte) (trusted, external net.Addr) {
	tcp := ctl&1 != 0
	addr := func(ip net.IP, zone string) net.Addr {
		if tcp {
			return &net.TCPAddr{IP: ip, Port: 40000, Zone: zone}
		}
		return &net.UDPAddr{IP: ip, Port: 40000, Zone: zone}
	}
	switch (ctl >> 1) & 7 {
	case 1:
		return addr(fuzzTrusted6, ""), addr(fuzzExternal6, "")
	case 2: // IPv4 in its 16-byte, IPv4-mapped form
		return addr(fuzzTrusted4.To16(), ""), addr(fuzzExternal4.To16(), "")
	case 3: // IPv6 with a zone
		return addr(fuzzTrusted6, "eth0"), addr(net.ParseIP("fe80::1"), "eth0")
	case 4: // an address veil cannot read is external
		return nil, fuzzOddAddr{}
	default:
		return addr(fuzzTrusted4, ""), addr(fuzzExternal4, "")
	}
}

// FuzzHandler feeds arbitrary wire bytes to veil in front of the real file
// plugin, through CoreDNS's own server loop (dnsserver.Server.ServeDNS),
// from a trusted and from an external client. ctl selects the transport
// (bit 0: TCP), the address family (bits 1-3: IPv4, IPv6, IPv4-mapped,
// IPv6 with zone, unreadable), the veil configuration (bits 4-5) and how
// often the query is repeated (bits 6-7, 1 to 4 times; the limiter's state
// is fresh for every input and its clock stands still). Properties:
//
//   - veil never panics, on any message that unpacks (called directly),
//     and on those that reach it through the server;
//   - a trusted client gets, byte for byte, what the same server without
//     veil sends;
//   - an external client gets at most one message per query, which packs,
//     unpacks, has QR set and the query's ID and question; under log-only
//     it is the same as without veil; otherwise transfers get the
//     configured action, ANY queries theirs (hinfo at or below a zone
//     cut: the referral without veil), queries veil passes on get
//     the answer without veil (or, for TXT and ANY, that answer less
//     hidden tokens, never less a record that must stay public or a
//     non-TXT answer record), and a blocked client gets the limiter's
//     answer or none.
//
// Run it with
//
//	go test -run '^$' -fuzz '^FuzzHandler$' -fuzztime 30s -fuzzminimizetime 5s -parallel 1 .
func FuzzHandler(f *testing.F) {
	clog.Discard() // the file plugin logs every NOTIFY; veil its actions
	f.Cleanup(func() { clog.SetOutput(os.Stderr) })
	env := newFuzzHandlerEnv(f)
	for i, wire := range fuzzHandlerSeeds(f) {
		f.Add(byte(i*37), wire)
	}
	f.Fuzz(func(t *testing.T, ctl byte, wire []byte) {
		req := new(dns.Msg)
		if err := req.Unpack(wire); err != nil {
			// miekg/dns answers FORMERR itself; no plugin sees it.
			return
		}
		ci := int(ctl>>4) & 3
		v := env.veils[ci]
		repeats := 1 + int(ctl>>6)
		trusted, external := fuzzClients(ctl)
		stream := ctl&1 != 0 || trusted == nil

		// Every message that unpacks, handed to veil directly: no panic.
		env.reset(t, v)
		for _, remote := range []net.Addr{trusted, external} {
			if remote != nil {
				env.direct(t, v, wire, remote)
			}
		}

		// What reaches the plugins in production: the header passes
		// miekg/dns's accept function, then CoreDNS's server loop runs.
		if len(wire) < 12 || dns.DefaultMsgAcceptFunc(wireHeader(wire)) != dns.MsgAccept {
			return
		}
		env.reset(t, v)
		for range repeats {
			if trusted != nil {
				got := env.run(t, env.withV[ci], wire, trusted)
				want := env.run(t, env.plain, wire, trusted)
				if !sameWrites(got, want) {
					t.Fatalf("config %d, trusted %v: answer differs from the server without veil:\n%s\nwithout veil:\n%s\nquery:\n%s",
						ci, trusted, dumpWrites(got), dumpWrites(want), req)
				}
			}
		}
		env.reset(t, v)
		for i := range repeats {
			got := env.run(t, env.withV[ci], wire, external)
			reached := env.panics.reached
			want := env.run(t, env.plain, wire, external)
			checkExternal(t, v, ci, i, req, stream, reached, got, want, env.tapped)
		}
	})
}

// direct hands the message to v itself, without the server's checks,
// and fails if veil panics (a panic of the file plugin behind it, which
// the server would turn into SERVFAIL, is not veil's).
func (env *fuzzHandlerEnv) direct(t *testing.T, v *Veil, wire []byte, remote net.Addr) {
	req := new(dns.Msg)
	if err := req.Unpack(wire); err != nil {
		t.Fatal(err)
	}
	*env.panics = fuzzPanics{}
	w := &fuzzWriter{remote: remote}
	if req.IsTsig() != nil {
		w.tsig = dns.ErrSecret
	}
	func() {
		defer func() {
			if rec := recover(); rec != nil && env.panics.backend == "" {
				t.Fatalf("veil panicked on %v from %v: %v\n%s\nmessage:\n%s", wire, remote, rec, debug.Stack(), req)
			}
		}()
		v.ServeDNS(context.Background(), w, req)
	}()
}

// run serves a fresh copy of the query (plugins may keep or change the
// request) and fails if veil panicked.
func (env *fuzzHandlerEnv) run(t *testing.T, s *dnsserver.Server, wire []byte, remote net.Addr) *fuzzWriter {
	t.Helper()
	req := new(dns.Msg)
	if err := req.Unpack(wire); err != nil {
		t.Fatal(err)
	}
	*env.panics = fuzzPanics{}
	env.tapped = env.tapped[:0]
	w := env.serve(s, req, remote)
	if env.panics.veil != "" {
		t.Fatalf("veil panicked from %v on\n%s\n%s", remote, req, env.panics.veil)
	}
	return w
}

// fuzzReferral returns the answer written without veil if it is a referral
// (NOERROR, not authoritative, no answer, an NS record in the authority
// section), else nil.
func fuzzReferral(w *fuzzWriter) *dns.Msg {
	if len(w.out) != 1 || w.out[0].err != nil {
		return nil
	}
	m := new(dns.Msg)
	if m.Unpack(w.out[0].wire) != nil || m.Authoritative || m.Rcode != dns.RcodeSuccess || len(m.Answer) != 0 {
		return nil
	}
	for _, rr := range m.Ns {
		if _, ok := rr.(*dns.NS); ok {
			return m
		}
	}
	return nil
}

// checkExternal checks the answers of one external query (the i-th
// repetition) against the answers of the server without veil.
func checkExternal(t *testing.T, v *Veil, ci, i int, req *dns.Msg, stream, reached bool, got, want *fuzzWriter, backend [][]byte) {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("config %d, external %v, query %d: %s\ngot:\n%s\nwithout veil:\n%s\nquery:\n%s",
			ci, got.remote, i+1, fmt.Sprintf(format, args...), dumpWrites(got), dumpWrites(want), req)
	}
	if len(got.out) > 1 {
		fail("%d messages written for one query", len(got.out))
	}
	var m *dns.Msg
	for _, o := range got.out {
		if o.err != nil {
			// The same answer without veil may not pack either: the
			// backend's doing, not veil's.
			if len(want.out) == 1 && want.out[0].err != nil {
				return
			}
			fail("answer does not pack: %v", o.err)
		}
		m = new(dns.Msg)
		if err := m.Unpack(o.wire); err != nil {
			fail("answer does not unpack: %v", err)
		}
		if _, err := m.Pack(); err != nil {
			fail("unpacked answer does not pack again: %v", err)
		}
		if !m.Response || m.Id != req.Id {
			fail("header: qr=%v id=%d, want qr id=%d", m.Response, m.Id, req.Id)
		}
		if len(req.Question) == 1 && (len(m.Question) != 1 || m.Question[0] != req.Question[0]) {
			fail("question %v, want %v", m.Question, req.Question)
		}
	}
	if !reached || v.logOnly || len(req.Question) != 1 {
		// The server answered itself (no question, a class other than IN,
		// an EDNS version it does not know), veil changes nothing under
		// log-only, and it leaves messages without exactly one question
		// (which unpack from a header that claims one but ends early) to
		// CoreDNS.
		if !sameWrites(got, want) {
			fail("the answer differs from the server without veil")
		}
		return
	}
	q := req.Question[0]
	z := fuzzZoneOf(v, q.Name)
	if z == nil {
		if !sameWrites(got, want) {
			fail("a name outside veil's zones got another answer")
		}
		return
	}
	switch act := wantAction(v, req, stream); act {
	case actRefuse:
		if m == nil || m.Rcode != dns.RcodeRefused || len(m.Answer)+len(m.Ns) != 0 {
			fail("want REFUSED without records")
		}
		if req.IsEdns0() != nil && edeCode(m) != int(dns.ExtendedErrorCodeProhibited) {
			fail("want EDE 18 (Prohibited)")
		}
		return
	case actDrop:
		if m != nil || got.closed != stream {
			fail("want nothing written and the connection closed = %v, got closed = %v", stream, got.closed)
		}
		return
	case actHINFO:
		if ref := fuzzReferral(want); ref != nil {
			// Below a zone cut: the referral, as without veil.
			if m == nil || m.Authoritative || m.Rcode != dns.RcodeSuccess || len(m.Answer) != 0 || fmt.Sprint(m.Ns) != fmt.Sprint(ref.Ns) {
				fail("want the backend's referral, not an authoritative HINFO below a zone cut")
			}
			return
		}
		if m == nil || m.Rcode != dns.RcodeSuccess || len(m.Answer) != 1 || len(m.Ns) != 0 {
			fail("want the RFC 8482 HINFO answer")
		}
		if h, ok := m.Answer[0].(*dns.HINFO); !ok || h.Cpu != "RFC8482" || h.Hdr.Name != q.Name {
			fail("want the RFC 8482 HINFO answer")
		}
		return
	}

	// Passed on. A blocked client (limiter) gets nothing, an empty TC=1
	// answer over UDP or REFUSED over a stream.
	if v.limit != nil && limiterAnswer(m, req, stream) && !sameWrites(got, want) {
		return
	}
	if z.tokens == nil || (q.Qtype != dns.TypeTXT && q.Qtype != dns.TypeANY) {
		if !sameWrites(got, want) {
			fail("a query veil passes on got another answer than without veil")
		}
		return
	}
	// The token filter: the backend's answer less hidden tokens, then
	// truncated by the server for the transport.
	ref := new(dns.Msg)
	if len(backend) != 1 || ref.Unpack(backend[0]) != nil {
		// The backend wrote nothing (the server answered) or something
		// that does not pack: nothing the filter can have changed.
		if !sameWrites(got, want) {
			fail("an answer the token filter cannot have read changed")
		}
		return
	}
	if m == nil {
		fail("no answer")
	}
	if msg := tokenstest.CheckFiltered(ref, m, q, ""); msg != "" {
		fail("%s", msg)
	}
}

// limiterAnswer reports whether m (nil: nothing written) is what the
// limiter sends a blocked client.
func limiterAnswer(m, req *dns.Msg, stream bool) bool {
	switch {
	case m == nil:
		return !stream
	case stream:
		return m.Rcode == dns.RcodeRefused && len(m.Answer)+len(m.Ns) == 0 &&
			(req.IsEdns0() == nil || edeCode(m) == int(dns.ExtendedErrorCodeBlocked))
	default:
		return m.Truncated && len(m.Answer)+len(m.Ns) == 0
	}
}

// wantAction is the oracle's statement of veil's policy for an external
// client, written from README's Description rather than from the
// handler: a transfer (AXFR or IXFR, whatever the opcode or transport)
// gets the transfer action, a standard query for ANY the ANY action of
// its transport, and everything else passes on (then the limiter and the
// token filter may act on it).
func wantAction(v *Veil, req *dns.Msg, stream bool) action {
	switch req.Question[0].Qtype {
	case dns.TypeAXFR, dns.TypeIXFR:
		return v.transfer
	case dns.TypeANY:
		if req.Opcode != dns.OpcodeQuery {
			return actPass
		}
		if stream {
			return v.anyTCP
		}
		return v.anyUDP
	}
	return actPass
}

// fuzzZoneOf returns the longest of v's zones that name is in, or nil; an
// oracle for zoneSet.match built on miekg/dns.
func fuzzZoneOf(v *Veil, name string) *zone {
	var best *zone
	for _, z := range v.zones {
		if dns.IsSubDomain(z.name, name) && (best == nil || len(z.name) > len(best.name)) {
			best = z
		}
	}
	return best
}

// wireHeader reads the header of a message as miekg/dns's server does
// before it decides whether to unpack the rest.
func wireHeader(b []byte) dns.Header {
	return dns.Header{
		Id:      binary.BigEndian.Uint16(b[0:]),
		Bits:    binary.BigEndian.Uint16(b[2:]),
		Qdcount: binary.BigEndian.Uint16(b[4:]),
		Ancount: binary.BigEndian.Uint16(b[6:]),
		Nscount: binary.BigEndian.Uint16(b[8:]),
		Arcount: binary.BigEndian.Uint16(b[10:]),
	}
}

// sameWrites reports whether two writers saw the same bytes (and the
// same pack errors) and the same Close.
func sameWrites(a, b *fuzzWriter) bool {
	return a.closed == b.closed && slices.EqualFunc(a.out, b.out, func(x, y fuzzOut) bool {
		return bytes.Equal(x.wire, y.wire) && (x.err == nil) == (y.err == nil)
	})
}

func dumpWrites(w *fuzzWriter) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d message(s), closed=%v\n", len(w.out), w.closed)
	for _, o := range w.out {
		if o.err != nil {
			fmt.Fprintf(&sb, "pack error: %v\n", o.err)
			continue
		}
		m := new(dns.Msg)
		if err := m.Unpack(o.wire); err != nil {
			fmt.Fprintf(&sb, "unpack error %v: %x\n", err, o.wire)
			continue
		}
		sb.WriteString(m.String())
	}
	return sb.String()
}

// fuzzHandlerSeeds returns queries for the names and types of the fuzz
// zones, plus messages the server treats specially.
func fuzzHandlerSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	names := []string{
		"example.org.", "ExAmPlE.OrG.", "www.example.org.", "_dmarc.example.org.", "sel._domainkey.example.org.",
		"_mta-sts.example.org.", "_smtp._tls.example.org.", "default._bimi.example.org.", "_acme-challenge.example.org.",
		"_github-challenge-acme-org.example.org.", "_github-pages-challenge-acme.example.org.", "asuid.example.org.",
		"alias.example.org.", "mailalias.example.org.", "deleg.example.org.", "sub.example.org.", "host.sub.example.org.",
		"x.wild.example.org.", "y.tok.example.org.", "old.example.org.", "nope.example.org.", "_nope.example.org.",
		"tokens.test.", "_github-challenge-acme-org.tokens.test.", "www.tokens.test.", "nope.tokens.test.",
		"example.net.", "badexample.org.", `a\.example.org.`,
	}
	types := []uint16{dns.TypeTXT, dns.TypeA, dns.TypeANY, dns.TypeAXFR, dns.TypeIXFR, dns.TypeSOA, dns.TypeNS, dns.TypeDS, dns.TypeMX}
	var seeds [][]byte
	add := func(m *dns.Msg) {
		b, err := m.Pack()
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	for i, name := range names {
		for j, qt := range types {
			if (i+j)%3 != 0 && qt != dns.TypeTXT {
				continue
			}
			m := new(dns.Msg)
			m.SetQuestion(name, qt)
			m.Id = uint16(i*100 + j)
			if (i+j)%2 == 0 {
				m.SetEdns0(1232, (i+j)%4 == 0)
			}
			add(m)
		}
	}
	special := func(edit func(m *dns.Msg)) {
		m := new(dns.Msg)
		m.SetQuestion("example.org.", dns.TypeAXFR)
		m.Id = 7
		edit(m)
		add(m)
	}
	special(func(m *dns.Msg) { m.SetTsig("axfr-key.", dns.HmacSHA256, 300, 0); m.Extra[0].(*dns.TSIG).MAC = "00" })
	special(func(m *dns.Msg) { m.Opcode = dns.OpcodeNotify })
	special(func(m *dns.Msg) { m.Question[0].Qtype = dns.TypeANY; m.Opcode = dns.OpcodeNotify })
	special(func(m *dns.Msg) { m.Question[0].Qtype = dns.TypeTXT; m.SetEdns0(512, true); m.IsEdns0().SetVersion(1) })
	special(func(m *dns.Msg) { m.Question[0].Qclass = dns.ClassCHAOS })
	special(func(m *dns.Msg) { m.Question = nil })
	special(func(m *dns.Msg) {
		m.Question = append(m.Question, dns.Question{Name: "www.example.org.", Qtype: dns.TypeA, Qclass: dns.ClassINET})
	})
	special(func(m *dns.Msg) {
		m.Question[0].Qtype = dns.TypeIXFR
		m.Ns = []dns.RR{test.SOA("example.org. 0 IN SOA a. b. 1 0 0 0 0")}
	})
	special(func(m *dns.Msg) { m.Question[0].Qtype = dns.TypeTXT; m.Response = true })
	return seeds
}
