package veil

import (
	"context"
	"crypto"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/file"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/miekg/dns"

	"github.com/veildns/veil/tokens"
)

const tokensZoneFile = "testdata/tokens.zone"

// tokensFile returns the real file plugin serving testdata/tokens.zone
// as tokens.test.
func tokensFile(t testing.TB) file.File {
	t.Helper()
	z := parseZoneFile(t, tokensZoneFile, "tokens.test.")
	return file.File{Zones: file.Zones{Z: map[string]*file.Zone{"tokens.test.": z}, Names: []string{"tokens.test."}}}
}

// parseZoneFile parses the zone file at path as origin.
func parseZoneFile(tb testing.TB, path, origin string) *file.Zone {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	z, err := file.Parse(f, origin, path, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return z
}

// newTokensVeil returns veil for tokens.test, trusting 192.0.2.0/24, with
// the extra Corefile lines in its block, in front of next.
func newTokensVeil(t testing.TB, lines string, next plugin.Handler) *Veil {
	t.Helper()
	c := caddy.NewTestController("dns", "veil {\n trusted 192.0.2.0/24\n"+lines+"\n}")
	c.ServerBlockKeys = []string{"tokens.test.:53"}
	v, err := parse(c)
	if err != nil {
		t.Fatalf("parse(%q): %v", lines, err)
	}
	v.Next = next
	v.startLoader([]plugin.Handler{next})
	t.Cleanup(v.stopLoader)
	return v
}

// exchange sends one query through h from addr and returns the answer.
func exchange(t *testing.T, h plugin.Handler, addr string, name string, qtype uint16, do bool) *dns.Msg {
	t.Helper()
	w := newTestWriter(t, addr, false)
	r := query(name, qtype, true)
	if do {
		r.SetEdns0(1232, true)
	}
	if _, err := h.ServeDNS(context.Background(), w, r); err != nil {
		t.Fatal(err)
	}
	if len(w.msgs) != 1 {
		t.Fatalf("%s %s: %d answers written", name, dns.TypeToString[qtype], len(w.msgs))
	}
	return w.msgs[0]
}

// txtValues returns the joined values of the TXT records in rrs.
func txtValues(rrs []dns.RR) []string {
	var out []string
	for _, rr := range rrs {
		if txt, ok := rr.(*dns.TXT); ok {
			out = append(out, strings.Join(txt.Txt, ""))
		}
	}
	return out
}

func TestTokensApexExternal(t *testing.T) {
	backend := tokensFile(t)
	v := newTokensVeil(t, "", backend)
	m := exchange(t, v, externalV4, "tokens.test.", dns.TypeTXT, false)
	got := txtValues(m.Answer)
	want := []string{
		"v=spf1 include:_spf.google.com include:spf.protection.outlook.com include:sendgrid.net ~all",
		"google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ",
		"atlassian-domain-verification=Z8Yq6zkT9TWr3Lsl4nJ8GvJIEkjwx/4o2HSnAiSnyqBOHwTB10TQ5L0vKuG3BeZ4",
		"this zone is for tests",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("external apex TXT:\n got %q\nwant %q", got, want)
	}
	if m.Rcode != dns.RcodeSuccess || !m.Authoritative || len(m.Ns) == 0 {
		t.Fatalf("external apex TXT: rcode %d aa %v ns %v", m.Rcode, m.Authoritative, m.Ns)
	}
	// The message is still valid on the wire.
	if _, err := m.Pack(); err != nil {
		t.Fatal(err)
	}
	for _, vendor := range []string{"microsoft", "docusign", "facebook", "apple", "adobe", "slack", "stripe", "zoom", "hubspot_developer", "openai", "generic", "globalsign"} {
		if n := testutil.ToFloat64(TokensHiddenCount.WithLabelValues("", "tokens.test.", "", vendor, "enforce")); n < 1 {
			t.Errorf("tokens hidden for %s: %v, want at least 1", vendor, n)
		}
	}
}

// Trusted clients get the backend's answer itself.
func TestTokensTrustedUnchanged(t *testing.T) {
	backend := tokensFile(t)
	v := newTokensVeil(t, "tokens {\n hide all\n}", backend)
	for _, name := range []string{"tokens.test.", "www.tokens.test.", "_github-challenge-acme-org.tokens.test."} {
		want := exchange(t, backend, trustedV4, name, dns.TypeTXT, false)
		got := exchange(t, v, trustedV4, name, dns.TypeTXT, false)
		if got.String() != want.String() {
			t.Errorf("%s: trusted answer changed:\n%s\nwant\n%s", name, got, want)
		}
	}
}

func TestTokensNegativeShapes(t *testing.T) {
	backend := tokensFile(t)
	v := newTokensVeil(t, "", backend)
	soa := exchange(t, backend, trustedV4, "tokens.test.", dns.TypeSOA, false).Answer[0]

	// www holds an address and a token: NODATA, like a name without TXT.
	m := exchange(t, v, externalV4, "www.tokens.test.", dns.TypeTXT, false)
	nodata := exchange(t, backend, externalV4, "www.tokens.test.", dns.TypeMX, false)
	if m.Rcode != dns.RcodeSuccess || len(m.Answer) != 0 || len(m.Ns) != 1 || m.Ns[0].String() != soa.String() {
		t.Fatalf("www TXT: want NODATA with the SOA, got\n%s", m)
	}
	if len(nodata.Ns) != 1 || nodata.Ns[0].String() != m.Ns[0].String() || len(m.Extra) != len(nodata.Extra) {
		t.Fatalf("www TXT NODATA differs from the backend's NODATA:\n%s\nbackend:\n%s", m, nodata)
	}
	// A dedicated token label: NXDOMAIN, like a name that does not exist.
	m = exchange(t, v, externalV4, "_github-challenge-acme-org.tokens.test.", dns.TypeTXT, false)
	nx := exchange(t, backend, externalV4, "_github-challenge-nobody-org.tokens.test.", dns.TypeTXT, false)
	if m.Rcode != dns.RcodeNameError || len(m.Answer) != 0 || len(m.Ns) != 1 || m.Ns[0].String() != nx.Ns[0].String() {
		t.Fatalf("GitHub challenge: want NXDOMAIN with the SOA as for %s, got\n%s", "_github-challenge-nobody-org", m)
	}
	// Pre-claim records stay, even with hide all.
	v = newTokensVeil(t, "tokens {\n hide all\n pattern .*\n}", backend)
	for _, name := range []string{"_github-pages-challenge-acme.tokens.test.", "asuid.tokens.test."} {
		if m := exchange(t, v, externalV4, name, dns.TypeTXT, false); len(m.Answer) != 1 {
			t.Errorf("%s: pre-claim record hidden:\n%s", name, m)
		}
	}
}

// Records that must stay public survive any policy.
func TestTokensPublicAlwaysKept(t *testing.T) {
	backend := tokensFile(t)
	v := newTokensVeil(t, "tokens {\n hide all\n pattern .* ^v=\n}", backend)
	for _, name := range []string{"_dmarc", "partner.example._report._dmarc", "google._domainkey", "s1._domainkey", "_mta-sts", "_smtp._tls", "default._bimi", "_acme-challenge", "_atproto"} {
		qname := name + ".tokens.test."
		want := exchange(t, backend, externalV4, qname, dns.TypeTXT, false)
		got := exchange(t, v, externalV4, qname, dns.TypeTXT, false)
		if got.String() != want.String() || len(got.Answer) != 1 {
			t.Errorf("%s: public record changed:\n%s", qname, got)
		}
	}
	m := exchange(t, v, externalV4, "tokens.test.", dns.TypeTXT, false)
	if got := txtValues(m.Answer); len(got) != 1 || !strings.HasPrefix(got[0], "v=spf1 ") {
		t.Fatalf("hide all + pattern .*: apex TXT %q, want only SPF", got)
	}
}

func TestTokensRevealUntil(t *testing.T) {
	backend := tokensFile(t)
	v := newTokensVeil(t, "tokens {\n reveal docusign until 2026-12-31\n hide google\n}", backend)
	now := time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC)
	v.wallClock = func() time.Time { return now }
	has := func(prefix string) bool {
		for _, s := range txtValues(exchange(t, v, externalV4, "tokens.test.", dns.TypeTXT, false).Answer) {
			if strings.HasPrefix(s, prefix) {
				return true
			}
		}
		return false
	}
	if !has("docusign=") || has("google-site-verification=") {
		t.Fatal("inside the window: want DocuSign visible and Google hidden")
	}
	if ids := v.zones[0].tokens.Exposed(now); !slices.Contains(ids, "docusign") || slices.Contains(ids, "google") {
		t.Fatalf("exposed inside the window: %v", ids)
	}
	now = now.Add(time.Minute) // 2027-01-01T00:00Z: the window has closed
	if has("docusign=") {
		t.Fatal("after the window: DocuSign still visible")
	}
	if ids := v.zones[0].tokens.Exposed(now); slices.Contains(ids, "docusign") {
		t.Fatalf("exposed after the window: %v", ids)
	}
}

func TestTokensExpiry(t *testing.T) {
	backend := tokensFile(t)
	v := newTokensVeil(t, "tokens {\n reveal generic\n}", backend)
	if m := exchange(t, v, externalV4, "future.tokens.test.", dns.TypeTXT, false); len(m.Answer) != 1 {
		t.Fatalf("revealed token before its expiry hidden:\n%s", m)
	}
	if m := exchange(t, v, externalV4, "old.tokens.test.", dns.TypeTXT, false); len(m.Answer) != 0 || m.Rcode != dns.RcodeSuccess {
		t.Fatalf("expired token: want NODATA:\n%s", m)
	}
	if m := exchange(t, v, externalV4, "_expired-challenge.tokens.test.", dns.TypeTXT, false); m.Rcode != dns.RcodeNameError {
		t.Fatalf("expired token at a dedicated label: want NXDOMAIN:\n%s", m)
	}
}

func TestTokensLogOnly(t *testing.T) {
	backend := tokensFile(t)
	v := newTokensVeil(t, "log-only", backend)
	before := testutil.ToFloat64(TokensHiddenCount.WithLabelValues("", "tokens.test.", "", "github", "log_only"))
	want := exchange(t, backend, externalV4, "_github-challenge-acme-org.tokens.test.", dns.TypeTXT, false)
	got := exchange(t, v, externalV4, "_github-challenge-acme-org.tokens.test.", dns.TypeTXT, false)
	if got.String() != want.String() {
		t.Fatalf("log-only changed the answer:\n%s", got)
	}
	if after := testutil.ToFloat64(TokensHiddenCount.WithLabelValues("", "tokens.test.", "", "github", "log_only")); after != before+1 {
		t.Fatalf("log-only count %v -> %v, want +1", before, after)
	}
}

func TestTokensOff(t *testing.T) {
	backend := tokensFile(t)
	v := newTokensVeil(t, "tokens off", backend)
	want := exchange(t, backend, externalV4, "tokens.test.", dns.TypeTXT, false)
	if got := exchange(t, v, externalV4, "tokens.test.", dns.TypeTXT, false); got.String() != want.String() {
		t.Fatal("tokens off changed the answer")
	}
}

// anyBackend answers ANY with every record of the name, as servers that
// still answer ANY in full do; CoreDNS's file plugin answers it NODATA.
type anyBackend struct{ file.File }

func (b anyBackend) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	if r.Question[0].Qtype != dns.TypeANY {
		return b.File.ServeDNS(ctx, w, r)
	}
	m := new(dns.Msg)
	m.SetReply(r)
	m.Authoritative = true
	for _, qt := range []uint16{dns.TypeA, dns.TypeTXT} {
		rw := &captureWriter{ResponseWriter: w}
		q := r.Copy()
		q.Question[0].Qtype = qt
		b.File.ServeDNS(ctx, rw, q)
		m.Answer = append(m.Answer, rw.msg.Answer...)
	}
	w.WriteMsg(m)
	return dns.RcodeSuccess, nil
}

func TestTokensInANY(t *testing.T) {
	v := newTokensVeil(t, "any pass", anyBackend{tokensFile(t)})
	m := exchange(t, v, externalV4, "www.tokens.test.", dns.TypeANY, false)
	if len(m.Answer) != 1 || m.Answer[0].Header().Rrtype != dns.TypeA {
		t.Fatalf("ANY www: want the A record only:\n%s", m)
	}
}

// signedBackend answers TXT queries for the apex with the file plugin's
// records and an RRSIG over them made with a key of the test.
type signedBackend struct {
	file.File
	key  *dns.DNSKEY
	priv crypto.Signer
}

func (b signedBackend) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	rw := &captureWriter{ResponseWriter: w}
	b.File.ServeDNS(ctx, rw, r)
	m := rw.msg
	if r.IsEdns0() != nil && r.IsEdns0().Do() && len(m.Answer) > 0 {
		sig := &dns.RRSIG{Hdr: dns.RR_Header{Name: m.Answer[0].Header().Name, Rrtype: dns.TypeRRSIG, Class: dns.ClassINET, Ttl: 3600},
			TypeCovered: dns.TypeTXT, Algorithm: b.key.Algorithm, Labels: uint8(dns.CountLabel(m.Answer[0].Header().Name)),
			OrigTtl: 3600, Expiration: uint32(time.Now().Add(time.Hour).Unix()), Inception: uint32(time.Now().Add(-time.Hour).Unix()),
			KeyTag: b.key.KeyTag(), SignerName: "tokens.test."}
		if err := sig.Sign(b.priv, m.Answer); err != nil {
			return dns.RcodeServerFailure, err
		}
		m.Answer = append(m.Answer, sig)
	}
	w.WriteMsg(m)
	return dns.RcodeSuccess, nil
}

// A signed TXT RRset goes out whole to DNSSEC-OK clients and validates; the
// same query without DO is filtered.
func TestTokensSignedLeftWhole(t *testing.T) {
	key := &dns.DNSKEY{Hdr: dns.RR_Header{Name: "tokens.test.", Rrtype: dns.TypeDNSKEY, Class: dns.ClassINET, Ttl: 3600}, Flags: 257, Protocol: 3, Algorithm: dns.ECDSAP256SHA256}
	priv, err := key.Generate(256)
	if err != nil {
		t.Fatal(err)
	}
	v := newTokensVeil(t, "", signedBackend{File: tokensFile(t), key: key, priv: priv.(crypto.Signer)})
	before := testutil.ToFloat64(TokensSignedCount.WithLabelValues("", "tokens.test.", ""))
	m := exchange(t, v, externalV4, "tokens.test.", dns.TypeTXT, true)
	var rrset []dns.RR
	var sig *dns.RRSIG
	for _, rr := range m.Answer {
		if s, ok := rr.(*dns.RRSIG); ok {
			sig = s
		} else {
			rrset = append(rrset, rr)
		}
	}
	if sig == nil || len(rrset) != 16 {
		t.Fatalf("DO query: want the whole signed RRset (16 TXT) and its RRSIG:\n%s", m)
	}
	if err := sig.Verify(key, rrset); err != nil {
		t.Fatalf("RRSIG does not verify: %v", err)
	}
	if after := testutil.ToFloat64(TokensSignedCount.WithLabelValues("", "tokens.test.", "")); after != before+1 {
		t.Fatalf("signed-unfiltered count %v -> %v, want +1", before, after)
	}
	if m := exchange(t, v, externalV4, "tokens.test.", dns.TypeTXT, false); len(m.Answer) != 4 {
		t.Fatalf("non-DO query: want the 4 records that stay, got\n%s", m)
	}
}

// An A answer to an external client is left alone: veil does not wrap the
// writer for other query types (handler.go), and BenchmarkTokens shows the
// path costs the same as with the filter off.
func TestTokensOtherTypesUntouched(t *testing.T) {
	backend := tokensFile(t)
	v := newTokensVeil(t, "", backend)
	want := exchange(t, backend, externalV4, "www.tokens.test.", dns.TypeA, false)
	if got := exchange(t, v, externalV4, "www.tokens.test.", dns.TypeA, false); got.String() != want.String() {
		t.Fatal("A answer changed")
	}
}

func TestParseTokens(t *testing.T) {
	c := caddy.NewTestController("dns", `veil a.test b.test c.test {
    tokens b.test off
    tokens c.test {
        hide all
        reveal google until 2026-12-31
        pattern ^internal-id=
    }
    tokens {
        reveal docusign
    }
}`)
	c.ServerBlockKeys = []string{"a.test.:53", "b.test.:53", "c.test.:53"}
	v, err := parse(c)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	a, b, cz := v.zones[0].tokens, v.zones[1].tokens, v.zones[2].tokens
	if b != nil {
		t.Error("b.test: tokens off, but it has a policy")
	}
	// a.test: the defaults plus docusign revealed.
	if got := a.Exposed(now); !slices.Equal(got, []string{"atlassian", "azure_asuid", "docusign", "github_pages", "gitlab_pages", "google"}) {
		t.Errorf("a.test exposed: %v", got)
	}
	// c.test: everything hidden but Google (until the end of 2026), the
	// pre-claim vendors, and DocuSign (the later directive applies too).
	if got := cz.Exposed(now); !slices.Equal(got, []string{"azure_asuid", "docusign", "github_pages", "google"}) {
		t.Errorf("c.test exposed: %v", got)
	}
	if got := cz.Exposed(now.AddDate(0, 1, 0)); slices.Contains(got, "google") {
		t.Errorf("c.test exposed in 2027: %v", got)
	}
	var co, ao tokens.Owner
	co.Set("c.test.")
	ao.Set("a.test.")
	mt := cz.Matcher().ClassifyAt(&co, []string{"internal-id=42"})
	if mt.Kind != tokens.Token || cz.Matcher().Rules()[mt.Rule].ID != "custom" {
		t.Errorf("c.test operator pattern not used: %+v", mt)
	}
	if a.Matcher().ClassifyAt(&ao, []string{"internal-id=42"}).Kind == tokens.Token {
		t.Error("a.test uses c.test's operator pattern")
	}
}

// A backend that writes packed bytes instead of calling WriteMsg is
// filtered all the same.
func TestTokensRawWrite(t *testing.T) {
	backend := tokensFile(t)
	raw := plugin.HandlerFunc(func(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		cw := &captureWriter{ResponseWriter: w}
		if _, err := backend.ServeDNS(ctx, cw, r); err != nil {
			return dns.RcodeServerFailure, err
		}
		b, err := cw.msg.Pack()
		if err != nil {
			return dns.RcodeServerFailure, err
		}
		_, err = w.Write(b)
		return dns.RcodeSuccess, err
	})
	v := newTokensVeil(t, "", raw)
	w := newTestWriter(t, externalV4, false)
	if _, err := v.ServeDNS(context.Background(), w, query("tokens.test.", dns.TypeTXT, true)); err != nil {
		t.Fatal(err)
	}
	if len(w.msgs) != 1 || len(w.msgs[0].Answer) != 4 {
		t.Fatalf("raw write: want the 4 records that stay written as a message, got %v", w.msgs)
	}
}

// An answer that the filter turns into NXDOMAIN is a denial for the
// enumeration limiter, as the same answer from the backend would be.
func TestTokensNXDOMAINCountsAsDenial(t *testing.T) {
	v := newTokensVeil(t, "limit {\n respond block\n rate 1\n burst 2\n ratio off\n }", tokensFile(t))
	newFakeClock(t)
	ask := func() *dns.Msg {
		w := newTestWriter(t, externalV4, false)
		v.ServeDNS(context.Background(), w, query("_github-challenge-acme-org.tokens.test.", dns.TypeTXT, true))
		if len(w.msgs) == 0 {
			return nil
		}
		return w.msgs[0]
	}
	for i := range 3 {
		if m := ask(); m == nil || m.Rcode != dns.RcodeNameError {
			t.Fatalf("query %d: want NXDOMAIN, got %v", i+1, m)
		}
	}
	// Three denials exceed the burst of 2: the prefix is blocked, so the
	// next query is dropped or slipped (TC=1), never answered.
	if m := ask(); m != nil && !m.Truncated {
		t.Fatalf("after 3 hidden-token NXDOMAINs: want the prefix blocked, got\n%s", m)
	}
}
