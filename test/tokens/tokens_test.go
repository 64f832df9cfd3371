package tokens

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

// tokensCorefile serves tokens.test from {zonefile}, with {veil} and {cache}
// replaced by a veil block and a cache line, or by nothing.
const tokensCorefile = `tokens.test:{port} {
	bind 127.0.0.1
	prometheus 127.0.0.1:0
	{veil}
	{cache}
	file {zonefile} tokens.test
}`

// tokensServer starts tokensCorefile with the given veil block, cache line
// and zone file.
func tokensServer(t *testing.T, veilBlock, cache, zonefile string) harness.Server {
	t.Helper()
	return harness.StartServer(t, strings.NewReplacer("{veil}", veilBlock, "{cache}", cache, "{zonefile}", zonefile).Replace(tokensCorefile))
}

// hiddenByDefault are the records of testdata/tokens.zone that veil's
// default policy hides from external clients, written out by hand: tokens of
// one-time vendors, vendors without a documented lifecycle and generic
// shapes, and the expired token. Google's and Atlassian's (re-checked),
// GitLab Pages' (re-checked), GitHub Pages' and Azure's asuid (pre-claim)
// stay, as do all mail records.
var hiddenByDefault = []string{
	`"MS=`, `"docusign=`, `"facebook-domain-verification=`, `"apple-domain-verification=`,
	`"adobe-idp-site-verification=`, `"slack-domain-verification=`, `"stripe-verification=`,
	`"ZOOM_verify_`, `"hubspot-developer-verification=`, `"openai-domain-verification=`,
	`"frobnicate-domain-verification=`, `"globalsign-domain-verification=`,
	`_github-challenge-acme-org IN TXT`, `_amazonses IN TXT`, `_newvendor-challenge IN TXT`,
	`"zoho-verification=`, `"docker-verification=`, `_expired-challenge IN TXT`,
	`"examplecorp-verification=`,
}

// removedZone writes testdata/tokens.zone without the records veil hides by
// default: the zone as an external client must see it.
func removedZone(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	removed := 0
	for line := range strings.Lines(harness.ReadTestdata(t, "tokens.zone")) {
		drop := false
		for _, h := range hiddenByDefault {
			if strings.Contains(line, h) {
				drop = true
			}
		}
		if drop {
			removed++
			continue
		}
		b.WriteString(line)
	}
	if removed != 20 {
		t.Fatalf("removed %d records from tokens.zone, want 20: the zone or the list changed", removed)
	}
	path := filepath.Join(t.TempDir(), "tokens.removed.zone")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// txtOwners returns every owner name of testdata/tokens.zone that holds TXT,
// plus names that do not exist.
func txtOwners(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, rr := range harness.ReadZone(t, filepath.Join("testdata", "tokens.zone"), "") {
		if rr.Header().Rrtype == dns.TypeTXT && !slices.Contains(names, rr.Header().Name) {
			names = append(names, rr.Header().Name)
		}
	}
	return append(names, "nothing-here.tokens.test.", "_github-challenge-nobody-org.tokens.test.")
}

// txtQuery returns a TXT query for name with EDNS, DNSSEC OK if do.
func txtQuery(name string, do bool) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, dns.TypeTXT)
	m.Id = 0x7e57
	m.SetEdns0(1232, do)
	// With DO it asks as a validating resolver does, recursion not
	// desired, not as an NSEC walker, which the limiter's stub rule holds
	// to a few answers.
	m.RecursionDesired = !do
	return m
}

// An external client's TXT answers are byte for byte those of the same
// server serving the zone without the hidden records: no token, every mail
// record, and NODATA and NXDOMAIN exactly where a genuinely absent record
// gives them. (The limiter blocks rather than flags, with the looser limits
// that go with it, which this test's few dozen misses from one client stay
// under: decoys have tests of their own, test/enum's TestDecoys.)
func TestTokensExternalSeesZoneWithoutTokens(t *testing.T) {
	guarded := tokensServer(t, "veil {\n trusted 127.0.0.1/32\n limit {\n respond block\n }\n }", "", "{testdata}/tokens.zone")
	removed := tokensServer(t, "", "", removedZone(t))
	for _, network := range []string{"udp", "tcp"} {
		for _, name := range txtOwners(t) {
			got := harness.MustPack(t, harness.Exchange(t, network, harness.ExternalIP, guarded.Addr, txtQuery(name, false)))
			want := harness.MustPack(t, harness.Exchange(t, network, harness.ExternalIP, removed.Addr, txtQuery(name, false)))
			if !bytes.Equal(got, want) {
				g, w := new(dns.Msg), new(dns.Msg)
				g.Unpack(got)
				w.Unpack(want)
				t.Errorf("%s TXT %s: external answer differs from the zone without tokens:\n%s\nwant\n%s", network, name, g, w)
			}
		}
	}
	// What the external client sees at the apex, spelled out.
	m := harness.Exchange(t, "udp", harness.ExternalIP, guarded.Addr, txtQuery("tokens.test.", false))
	var got []string
	for _, rr := range m.Answer {
		got = append(got, strings.Join(rr.(*dns.TXT).Txt, ""))
	}
	for _, prefix := range []string{"v=spf1 ", "google-site-verification=", "atlassian-domain-verification=", "this zone is for tests"} {
		if !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, prefix) }) {
			t.Errorf("apex TXT lost %q: %q", prefix, got)
		}
	}
	if len(got) != 4 {
		t.Errorf("apex TXT: %d records, want 4: %q", len(got), got)
	}

	mfs := harness.Scrape(t, guarded.MetricsURL)
	labels := map[string]string{"server": guarded.Label, "zone": "tokens.test.", "mode": "enforce"}
	// Apex over UDP and TCP plus the apex query above; the generic shapes
	// hide one apex token (3 answers) and two names' tokens (2 each). The
	// four names that hold nothing but tokens (_github-challenge-acme-org,
	// _amazonses, _newvendor-challenge, _expired-challenge) hide no record:
	// they answer as absent, over UDP and TCP.
	if n := harness.MetricValue(mfs, "coredns_veil_tokens_absent_answers_total", map[string]string{"server": guarded.Label, "zone": "tokens.test."}); n != 8 {
		t.Errorf("tokens_absent_answers_total = %v, want 8", n)
	}
	for vendor, want := range map[string]float64{"microsoft": 3, "generic": 7, "zoho": 2} {
		labels["vendor"] = vendor
		if n := harness.MetricValue(mfs, "coredns_veil_tokens_hidden_total", labels); n != want {
			t.Errorf("tokens_hidden_total{vendor=%q} = %v, want %v", vendor, n, want)
		}
	}
	for _, vendor := range []string{"google", "atlassian", "gitlab_pages", "github_pages", "azure_asuid"} {
		if n := harness.MetricValue(mfs, "coredns_veil_tokens_exposed", map[string]string{"server": guarded.Label, "zone": "tokens.test.", "vendor": vendor}); n != 1 {
			t.Errorf("tokens_exposed{vendor=%q} = %v, want 1", vendor, n)
		}
	}
	if n := harness.MetricValue(mfs, "coredns_veil_tokens_exposed", map[string]string{"server": guarded.Label, "vendor": "microsoft"}); n != 0 {
		t.Errorf("tokens_exposed{vendor=microsoft} = %v, want no series", n)
	}
}

// A trusted client's TXT answers are byte for byte those of the server
// without veil.
func TestTokensTrustedSeesEverything(t *testing.T) {
	guarded := tokensServer(t, "veil {\n trusted 127.0.0.1/32\n }", "cache", "{testdata}/tokens.zone")
	plain := tokensServer(t, "", "cache", "{testdata}/tokens.zone")
	for _, name := range txtOwners(t) {
		got := harness.MustPack(t, harness.Exchange(t, "udp", harness.TrustedIP, guarded.Addr, txtQuery(name, false)))
		want := harness.MustPack(t, harness.Exchange(t, "udp", harness.TrustedIP, plain.Addr, txtQuery(name, false)))
		if !bytes.Equal(got, want) {
			t.Errorf("TXT %s: trusted answer differs from the server without veil", name)
		}
	}
}

// With cache below veil, each client class gets its own view whichever
// asks first.
func TestTokensCacheKeepsViewsApart(t *testing.T) {
	s := tokensServer(t, "veil {\n trusted 127.0.0.1/32\n }", "cache", "{testdata}/tokens.zone")
	count := func(ip, name string) int {
		return len(harness.Exchange(t, "udp", ip, s.Addr, txtQuery(name, false)).Answer)
	}
	// Trusted first, then external.
	if n := count(harness.TrustedIP, "tokens.test."); n != 16 {
		t.Fatalf("trusted apex TXT: %d records, want 16", n)
	}
	if n := count(harness.ExternalIP, "tokens.test."); n != 4 {
		t.Fatalf("external apex TXT after a trusted query: %d records, want 4", n)
	}
	// External first, then trusted.
	if m := harness.Exchange(t, "udp", harness.ExternalIP, s.Addr, txtQuery("_github-challenge-acme-org.tokens.test.", false)); m.Rcode != dns.RcodeNameError {
		t.Fatalf("external GitHub challenge: rcode %s, want NXDOMAIN", dns.RcodeToString[m.Rcode])
	}
	if n := count(harness.TrustedIP, "_github-challenge-acme-org.tokens.test."); n != 1 {
		t.Fatalf("trusted GitHub challenge after an external query: %d records, want 1", n)
	}
	if n := count(harness.ExternalIP, "tokens.test."); n != 4 {
		t.Fatalf("external apex TXT again: %d records, want 4", n)
	}
}

// On a zone signed with ldns-signzone, DNSSEC-OK clients get signed TXT
// RRsets whole, so they validate; the tokens stay hidden from clients that
// do not ask for DNSSEC. testdata/tokens.signed.zone was made with
//
//	ldns-keygen -a ECDSAP256SHA256 -k tokens.test
//	ldns-signzone -e 20360101000000 -i 20261101000000 -o tokens.test tokens.zone K...
func TestTokensSignedZoneValidates(t *testing.T) {
	s := tokensServer(t, "veil {\n trusted 127.0.0.1/32\n }", "cache", "{testdata}/tokens.signed.zone")
	keys := harness.Exchange(t, "udp", harness.ExternalIP, s.Addr, func() *dns.Msg {
		m := txtQuery("tokens.test.", true)
		m.Question[0].Qtype = dns.TypeDNSKEY
		return m
	}())
	var key *dns.DNSKEY
	for _, rr := range keys.Answer {
		if k, ok := rr.(*dns.DNSKEY); ok {
			key = k
		}
	}
	if key == nil {
		t.Fatalf("no DNSKEY:\n%s", keys)
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, name := range []string{"tokens.test.", "www.tokens.test.", "_github-challenge-acme-org.tokens.test."} {
			// A buffer large enough for the signed apex RRset: at 1232
			// bytes the server truncates it and the client would retry
			// over TCP, which is tested too.
			q := txtQuery(name, true)
			q.IsEdns0().SetUDPSize(4096)
			m := harness.Exchange(t, network, harness.ExternalIP, s.Addr, q)
			var rrset []dns.RR
			var sig *dns.RRSIG
			for _, rr := range m.Answer {
				switch rr := rr.(type) {
				case *dns.TXT:
					rrset = append(rrset, rr)
				case *dns.RRSIG:
					if rr.TypeCovered == dns.TypeTXT {
						sig = rr
					}
				}
			}
			if sig == nil || len(rrset) == 0 {
				t.Fatalf("%s DO TXT %s: no signed TXT RRset (TC=%v):\n%s", network, name, m.Truncated, m)
			}
			if err := sig.Verify(key, rrset); err != nil {
				t.Errorf("%s DO TXT %s: RRSIG does not verify: %v", network, name, err)
			}
		}
	}
	if n := len(harness.Exchange(t, "udp", harness.ExternalIP, s.Addr, txtQuery("tokens.test.", false)).Answer); n != 4 {
		t.Errorf("non-DO apex TXT: %d records, want the 4 that stay", n)
	}
	mfs := harness.Scrape(t, s.MetricsURL)
	if n := harness.MetricValue(mfs, "coredns_veil_tokens_signed_unfiltered_total", map[string]string{"server": s.Label, "zone": "tokens.test."}); n != 6 {
		t.Errorf("tokens_signed_unfiltered_total = %v, want 6 (3 names over UDP and TCP)", n)
	}
}

// A reveal-until window in the Corefile: one that has closed hides the
// vendor's token, one still open shows it.
func TestTokensRevealWindow(t *testing.T) {
	s := tokensServer(t, "veil {\n trusted 127.0.0.1/32\n tokens {\n reveal docusign until 2020-01-01\n reveal slack until 2099-12-31T00:00:00Z\n }\n }", "", "{testdata}/tokens.zone")
	txt := harness.Exchange(t, "udp", harness.ExternalIP, s.Addr, txtQuery("tokens.test.", false)).String()
	if strings.Contains(txt, "docusign=") {
		t.Errorf("window closed in 2020, DocuSign's token still visible:\n%s", txt)
	}
	if !strings.Contains(txt, "slack-domain-verification=") {
		t.Errorf("window open until 2099, Slack's token hidden:\n%s", txt)
	}
	mfs := harness.Scrape(t, s.MetricsURL)
	if n := harness.MetricValue(mfs, "coredns_veil_tokens_exposed", map[string]string{"server": s.Label, "vendor": "slack"}); n != 1 {
		t.Errorf("tokens_exposed{vendor=slack} = %v, want 1", n)
	}
	if n := harness.MetricValue(mfs, "coredns_veil_tokens_exposed", map[string]string{"server": s.Label, "vendor": "docusign"}); n != 0 {
		t.Errorf("tokens_exposed{vendor=docusign} = %v, want no series", n)
	}
}
