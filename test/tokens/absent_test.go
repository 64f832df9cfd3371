package tokens

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

// absentNames are the names TestTokensHiddenNamesLookAbsent asks for, each
// with the class it belongs to. Names without a trailing dot are relative
// to absent.test.; the others are asked as written (mixed case).
var absentNames = []struct{ class, names string }{
	{"absent-and-apex", "absent.test. nothing-here _github-challenge-nobody-org _amazonses.nothing-here"},
	{"hidden-only-dedicated", "_github-challenge-acme-org _amazonses _newvendor-challenge cloudflare-verify _zoom_verify railway-verify _dnsauth _gh-acme-o"},
	{"hidden-only-ordinary", "verify7x h1 h2"},
	// h3 holds only a token but has a public child: it becomes an
	// empty non-terminal.
	{"hidden-only-with-child", "h3 www.h3 x.h3"},
	// team and lone.deep (and deep) vanish with their only child; corp
	// stays an empty non-terminal (www.corp).
	{"hidden-only-under-ent", "_github-challenge-x.team team x.team _amazonses.lone.deep lone.deep deep _github-challenge-y.corp corp www.corp"},
	{"below-hidden-only", "x._amazonses a.b.h1 sub.verify7x x.cloudflare-verify a.h2 x._github-challenge-x.team"},
	{"hidden-only-wildcard", "foo.dyn _acme-challenge.dyn _dmarc.dyn x._domainkey.dyn asuid.dyn _amazonses.dyn a.b.dyn real.dyn a.real.dyn dyn *.dyn foo.wild2 _dmarc.wild2 a.b.wild2 wild2"},
	{"mixed-wildcard", "foo.mixed _dmarc.mixed asuid.mixed _acme-challenge.mixed _github-challenge-z.mixed a.b.mixed mixed *.mixed"},
	// In the removed zone _amazonses.sub and the names below it are
	// synthesised from *.sub.
	{"beside-wildcard", "_amazonses.sub x._amazonses.sub foo.sub sub"},
	// alias-h (a CNAME to the hidden-only h1) is not in the table: its
	// answers keep the token out but show that h1 exists (README,
	// "Verification tokens"); the CNAME names h1 to everyone anyway.
	{"mixed-names", "mixa mixb alias-a alias-b"},
	{"odd-format-hidden-only", "odd1 odd2 odd3 odd4 odd5 odd6 odd7"},
	{"odd-format-mixed", "oddm"},
	{"must-stay-public", "_dmarc sel._domainkey _domainkey _acme-challenge _mta-sts asuid asuid.www www _github-pages-challenge-acme ns1 mx"},
	{"mixed-case", "_AmazonSES.Absent.TEST. H1.absent.test. FoO.DyN.absent.test. _GitHub-Challenge-X.Team.absent.test. TEAM.absent.test. MixA.absent.test. ODD6.ABSENT.TEST. _AmazonSES.Sub.absent.test."},
}

// absentTypes are the query types asked at every name: the common ones,
// ANY and an unassigned type.
var absentTypes = []uint16{dns.TypeA, dns.TypeAAAA, dns.TypeTXT, dns.TypeANY, dns.TypeMX, dns.TypeCNAME, dns.TypeNS, dns.TypeSOA, 65123}

// absentVariants are EDNS (1232 bytes) without and with DO at every query
// type, and no EDNS at TXT and ANY.
var absentVariants = []absentVariant{
	{label: "edns", edns: true},
	{label: "edns+do", edns: true, do: true},
	{label: "no-edns", onlyTypes: []uint16{dns.TypeTXT, dns.TypeANY}},
}

// absentRoundGap is the time between a query's two rounds: one and a half
// seconds, so cached TTLs have gone down by one on both servers.
const absentRoundGap = 1500 * time.Millisecond

// absentCases returns the cases of pair: every name of absentNames at
// every type of types, in every variant that applies, over UDP and TCP.
func absentCases(pair *absentPair, types []uint16, variants []absentVariant, next *uint16) []*absentCase {
	var cases []*absentCase
	for _, group := range absentNames {
		for name := range strings.FieldsSeq(group.names) {
			if !strings.HasSuffix(name, ".") {
				name += ".absent.test."
			}
			for _, qtype := range types {
				for _, v := range variants {
					if v.onlyTypes != nil && !slices.Contains(v.onlyTypes, qtype) {
						continue
					}
					for _, network := range []string{"udp", "tcp"} {
						*next++
						cases = append(cases, &absentCase{pair: pair, class: group.class, name: name, qtype: qtype, variant: v, network: network, id: *next})
					}
				}
			}
		}
	}
	return cases
}

// For an external client, every answer of a server with veil serving
// testdata/absent.zone is byte for byte the answer of the same server (same
// veil block, same cache line) serving that zone without the records
// marked "; hidden": names that hold only hidden records answer as absent
// names, for every query type, with and without EDNS and DO, over UDP and
// TCP; empty non-terminals, wildcards and names below hidden-only names
// answer as they would in the zone without them; names with hidden and
// public data keep their public data only; and every must-stay-public
// record comes out unchanged. Each query is asked twice, one and a half
// seconds apart, so that with cache the second answer comes from the
// cache with its TTLs counted down. A trusted client gets byte for byte
// what the same server without veil, serving the whole zone, sends.
func TestTokensHiddenNamesLookAbsent(t *testing.T) {
	removed := removedAbsentZone(t)
	full := "{testdata}/absent.zone"
	key := harness.WriteSigningKey(t, t.TempDir(), "absent.test")
	var cases []*absentCase
	var id uint16
	for _, cache := range []string{"", "cache"} {
		label := strings.TrimSuffix("external+"+cache, "+")
		external := &absentPair{label: label, src: harness.ExternalIP,
			guarded: absentServer(t, absentVeil, cache, "", full), reference: absentServer(t, absentVeil, cache, "", removed)}
		cases = append(cases, absentCases(external, absentTypes, absentVariants, &id)...)
		// The zone signed on the fly by the dnssec plugin, with and
		// without DO: the reference signs the zone without the hidden
		// records with the same key.
		signed := &absentPair{label: label + "+dnssec", src: harness.ExternalIP,
			guarded: absentServer(t, absentVeil, cache, key.Base, full), reference: absentServer(t, absentVeil, cache, key.Base, removed)}
		cases = append(cases, absentCases(signed, absentTypes, absentVariants, &id)...)
		trusted := &absentPair{label: strings.Replace(label, "external", "trusted", 1), src: harness.TrustedIP,
			guarded: absentServer(t, absentVeil, cache, "", full), reference: absentServer(t, "", cache, "", full)}
		cases = append(cases, absentCases(trusted, []uint16{dns.TypeA, dns.TypeTXT, dns.TypeANY, 65123}, absentVariants[:1], &id)...)
	}
	runAbsentRounds(t, cases, absentRoundGap)

	for _, group := range absentNames {
		for _, signed := range []bool{false, true} {
			name := "external/" + group.class
			if signed {
				name = "external+dnssec/" + group.class
			}
			t.Run(name, func(t *testing.T) {
				reportAbsent(t, slices.DeleteFunc(slices.Clone(cases), func(c *absentCase) bool {
					return c.class != group.class || !strings.HasPrefix(c.pair.label, "external") || strings.HasSuffix(c.pair.label, "+dnssec") != signed
				}))
			})
		}
	}
	t.Run("trusted", func(t *testing.T) {
		reportAbsent(t, slices.DeleteFunc(slices.Clone(cases), func(c *absentCase) bool {
			return !strings.HasPrefix(c.pair.label, "trusted")
		}))
	})
}
