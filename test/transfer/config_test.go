package transfer

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	clog "github.com/coredns/coredns/plugin/pkg/log"
	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

// tokenZone is served as example.org and as example.net by tokensCorefile:
// one TXT record at the apex is a Microsoft verification token, which
// veil hides from external clients by default, the other is SPF, which it
// never hides.
const tokenZone = `$TTL 3600
@   IN SOA ns1 hostmaster 2026120501 7200 3600 1209600 300
@   IN NS  ns1
ns1 IN A   192.0.2.1
@   IN TXT "MS=ms64239401"
@   IN TXT "v=spf1 -all"
`

// tokensCorefile serves tokenZone ({tokzone}) as example.org and
// example.net, with {veil} replaced by a veil block.
const tokensCorefile = `example.org:{port} example.net:{port} {
	bind 127.0.0.1
	prometheus 127.0.0.1:0
	{veil}
	file {tokzone} example.org
	file {tokzone} example.net
}`

// allClients is one series of coredns_veil_all_clients: list, family.
type allClients struct{ list, family string }

// TestCorefileDefects starts a real CoreDNS from Corefiles that used to be
// accepted silently or behave unexpectedly, and checks each against the
// running server: a zone that one tokens directive turns off and another
// gives a policy is a start-up error naming both lines; an explicit
// "tokens ZONE off" beside a zone-less tokens block is accepted and leaves
// that zone's tokens visible while the block hides the other zone's;
// trusting or exempting 0.0.0.0/0 or ::/0 starts, logs a warning that every
// client of the family is trusted or exempt, sets the family's
// coredns_veil_all_clients gauge to 1 (and only it), and really trusts (an
// external client gets the whole zone by AXFR) or exempts (a scanner is
// never limited) every client of the family.
func TestCorefileDefects(t *testing.T) {
	offThenBlock := `veil {
		trusted 127.0.0.1
		tokens off
		tokens {
			hide all
		}
	}`
	for _, tc := range []struct {
		name     string
		corefile string
		// A start-up error must contain each of wantErr, in which
		// {line:MARK} stands for the Corefile line holding MARK.
		wantErr []string
		// Otherwise the server starts: the series of coredns_veil_all_clients
		// that are 1 (the others are 0), the warnings its start-up logs,
		// and more checks of the running server.
		all   []allClients
		warns []string
		check func(t *testing.T, s harness.Server)
	}{
		{
			name:     "tokens off and a tokens block for the same zones",
			corefile: harness.Corefile(offThenBlock),
			wantErr: []string{"plugin/veil", "Corefile:{line:tokens {}", "tokens: zone example.org.",
				"turned off at line {line:tokens off} and given a policy at line {line:tokens {}", "use one of them"},
		},
		{
			name: "a tokens block, then tokens off",
			corefile: harness.Corefile(`veil {
		tokens {
			hide all
		}
		tokens off
	}`),
			wantErr: []string{"Corefile:{line:tokens off}", "tokens: zone example.org.",
				"turned off at line {line:tokens off} and given a policy at line {line:tokens {}", "use one of them"},
		},
		{
			name: "tokens ZONE off and a tokens ZONE block",
			corefile: harness.Corefile(`veil {
		tokens signed.test off
		tokens signed.test {
			hide all
		}
	}`),
			wantErr: []string{"Corefile:{line:tokens signed.test {}", "tokens: zone signed.test.",
				"turned off at line {line:signed.test off} and given a policy at line {line:tokens signed.test {}"},
		},
		{
			name: "zone-less tokens off and a tokens ZONE block",
			corefile: harness.Corefile(`veil {
		tokens off
		tokens example.org {
			reveal all
		}
	}`),
			wantErr: []string{"Corefile:{line:tokens example.org {}", "tokens: zone example.org.",
				"turned off at line {line:tokens off} and given a policy at line {line:tokens example.org {}"},
		},
		{
			// buildTokenPolicies: a zone named in "tokens ZONE off" stays
			// off whatever a zone-less block says; the block applies to the
			// other zones.
			name: "tokens ZONE off and a zone-less tokens block",
			corefile: strings.Replace(tokensCorefile, "{veil}", `veil {
		trusted 127.0.0.1
		tokens example.org off
		tokens {
			hide all
		}
	}`, 1),
			check: func(t *testing.T, s harness.Server) {
				for zone, wantToken := range map[string]bool{"example.org.": true, "example.net.": false} {
					r := harness.Exchange(t, "udp", harness.ExternalIP, s.Addr, txtQuery(zone))
					got := txtValues(r)
					if !strings.Contains(got, "v=spf1 -all") {
						t.Errorf("%s TXT to an external client: %q, want the SPF record", zone, got)
					}
					if strings.Contains(got, "MS=ms64239401") != wantToken {
						t.Errorf("%s TXT to an external client: %q; token visible %v, want %v", zone, got, !wantToken, wantToken)
					}
					if r := harness.Exchange(t, "udp", harness.TrustedIP, s.Addr, txtQuery(zone)); !strings.Contains(txtValues(r), "MS=ms64239401") {
						t.Errorf("%s TXT to the trusted client lacks the token: %v", zone, r)
					}
				}
			},
		},
		{
			name: "trusted 0.0.0.0/0",
			corefile: harness.Corefile(`veil {
		trusted 0.0.0.0/0
	}`),
			all: []allClients{{"trusted", "ipv4"}},
			warns: []string{"[WARNING] plugin/veil: trusted 0.0.0.0/0: every IPv4 client is trusted: it sees verification tokens, " +
				"may transfer the zone and send ANY queries, and is never limited in zone(s) example.org. signed.test. (metric coredns_veil_all_clients)"},
			check: func(t *testing.T, s harness.Server) { checkAXFR(t, s, true) },
		},
		{
			name: "trusted ::/0",
			corefile: harness.Corefile(`veil {
		trusted ::/0
	}`),
			all:   []allClients{{"trusted", "ipv6"}},
			warns: []string{"[WARNING] plugin/veil: trusted ::/0: every IPv6 client is trusted"},
			check: func(t *testing.T, s harness.Server) { checkAXFR(t, s, false) },
		},
		{
			name: "exempt 0.0.0.0/0",
			corefile: harness.Corefile(`veil {
		trusted 127.0.0.1
		limit {
			exempt 0.0.0.0/0
		}
	}`),
			all: []allClients{{"exempt", "ipv4"}},
			warns: []string{"[WARNING] plugin/veil: limit: exempt 0.0.0.0/0: every IPv4 client is exempt from the enumeration limiter " +
				"in zone(s) example.org. signed.test. (metric coredns_veil_all_clients)"},
			check: func(t *testing.T, s harness.Server) {
				checkAXFR(t, s, false) // exempt is not trusted
				// 40 guesses trip a limited client (20 do, see test/enum);
				// an exempt one is answered all along.
				for i := range 40 {
					if r := harness.Exchange(t, "udp", harness.ExternalIP, s.Addr, harness.AQuery(fmt.Sprintf("guess-%d.example.org.", i))); r.Rcode != dns.RcodeNameError {
						t.Fatalf("exempt client's guess %d: %v", i, r)
					}
				}
				if r := harness.Exchange(t, "udp", harness.ExternalIP, s.Addr, harness.AQuery("www.example.org.")); len(r.Answer) != 1 || r.Truncated {
					t.Errorf("exempt client after 40 guesses: %v", r)
				}
			},
		},
		{
			name:     "trusted 127.0.0.1/32",
			corefile: harness.Corefile(harness.DefaultVeil),
			check:    func(t *testing.T, s harness.Server) { checkAXFR(t, s, false) },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			zonePath := filepath.Join(dir, "token.zone")
			harness.WriteFile(t, zonePath, tokenZone)
			corefile := strings.ReplaceAll(tc.corefile, "{tokzone}", zonePath)
			if tc.wantErr != nil {
				checkStartError(t, corefile, tc.wantErr)
				return
			}

			var logs bytes.Buffer
			clog.SetOutput(&logs)
			s := harness.StartServer(t, corefile)
			clog.SetOutput(os.Stderr)
			text := logs.String()
			t.Logf("start-up log:\n%s", text)

			if n, want := strings.Count(text, "[WARNING] plugin/veil:"), len(tc.warns); n != want {
				t.Errorf("%d veil warnings at start-up, want %d:\n%s", n, want, text)
			}
			for _, w := range tc.warns {
				if !strings.Contains(text, w) {
					t.Errorf("start-up log lacks %q:\n%s", w, text)
				}
			}
			checkAllClients(t, s, tc.all)
			if tc.check != nil {
				tc.check(t, s)
			}
		})
	}
}

// checkStartError starts CoreDNS from corefile as harness.StartServer does
// and checks that start-up fails with an error containing each of want,
// {line:MARK} replaced by the line of corefile that holds MARK.
func checkStartError(t *testing.T, corefile string, want []string) {
	t.Helper()
	lines := strings.Split(corefile, "\n")
	expand := func(s string) string {
		for {
			i := strings.Index(s, "{line:")
			if i < 0 {
				return s
			}
			j := strings.Index(s[i:], "}")
			// A mark may end in "{": the placeholder ends at the first "}"
			// after the mark's text, so "{line:tokens {}" is "tokens {".
			mark := s[i+len("{line:") : i+j]
			n := 0
			for k, l := range lines {
				if strings.Contains(l, mark) {
					if n != 0 {
						t.Fatalf("mark %q on lines %d and %d", mark, n, k+1)
					}
					n = k + 1
				}
			}
			if n == 0 {
				t.Fatalf("mark %q on no line of\n%s", mark, corefile)
			}
			s = s[:i] + fmt.Sprint(n) + s[i+j+1:]
		}
	}
	caddy.Quiet, dnsserver.Quiet = true, true
	port := harness.FreePort(t)
	corefile = strings.NewReplacer("{port}", fmt.Sprint(port), "{zones}", harness.ZonesDir(t)).Replace(corefile)
	inst, err := caddy.Start(caddy.CaddyfileInput{Contents: []byte(corefile), Filepath: "Corefile", ServerTypeName: "dns"})
	if err == nil {
		_ = inst.Stop()
		t.Fatalf("CoreDNS started; want a start-up error from\n%s", corefile)
	}
	t.Logf("start-up error: %v", err)
	for _, w := range want {
		if w = expand(w); !strings.Contains(err.Error(), w) {
			t.Errorf("start-up error lacks %q:\n%v", w, err)
		}
	}
}

// checkAllClients checks every series of coredns_veil_all_clients of s's
// zone example.org.: 1 for the (list, family) pairs in ones, 0 for the
// others.
func checkAllClients(t *testing.T, s harness.Server, ones []allClients) {
	t.Helper()
	mfs := harness.Scrape(t, s.MetricsURL)
	for _, list := range []string{"trusted", "exempt"} {
		for _, family := range []string{"ipv4", "ipv6"} {
			want := 0.0
			for _, o := range ones {
				if o == (allClients{list, family}) {
					want = 1
				}
			}
			labels := map[string]string{"server": s.Label, "zone": "example.org.", "list": list, "family": family}
			if harness.FindSeries(mfs, "coredns_veil_all_clients", labels) == nil {
				t.Errorf("no series coredns_veil_all_clients%v", labels)
				continue
			}
			if got := harness.MetricValue(mfs, "coredns_veil_all_clients", labels); got != want {
				t.Errorf("coredns_veil_all_clients%v = %v, want %v", labels, got, want)
			}
		}
	}
}

// checkAXFR checks what an external IPv4 client gets when it asks for the
// transfer of example.org: the whole zone if trusted, else a refusal.
func checkAXFR(t *testing.T, s harness.Server, trusted bool) {
	t.Helper()
	rrs, err := harness.Transfer(t, harness.ExternalIP, s.Addr, harness.XFRQuery("example.org.", dns.TypeAXFR, false))
	if !trusted {
		if err == nil {
			t.Errorf("external AXFR: %d records, want a refusal", len(rrs))
		}
		return
	}
	if err != nil {
		t.Fatalf("external AXFR, every IPv4 client trusted: %v", err)
	}
	checkWholeZone(t, "external AXFR, every IPv4 client trusted", rrs)
}

// txtQuery asks for the TXT records of zone's apex, with EDNS.
func txtQuery(zone string) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(zone, dns.TypeTXT)
	m.SetEdns0(1232, false)
	return m
}

// txtValues returns the TXT strings of r's answer, one per line.
func txtValues(r *dns.Msg) string {
	var b strings.Builder
	for _, rr := range r.Answer {
		if txt, ok := rr.(*dns.TXT); ok {
			b.WriteString(strings.Join(txt.Txt, "") + "\n")
		}
	}
	return b.String()
}
