package veil

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/coredns/caddy"

	"github.com/miekg/dns"

	"github.com/veildns/veil/decoy"
)

// respondMode is what a prefix the limiter flagged gets.
type respondMode uint8

const (
	// respondDecoy: names that exist keep their true answers, names that
	// do not get decoys (decoy.go); answers that carry DNSSEC records, which
	// a decoy cannot imitate, get respondBlock's answer.
	respondDecoy respondMode = iota
	// respondBlock: no answer, a truncated one or REFUSED (limit.go's gate).
	respondBlock
)

// decoySettings are the limit block's options about flagged prefixes:
//
//	respond decoy|block
//	decoy [key SECRET] [networks CIDR...]
//	canary NAME...
type decoySettings struct {
	respond  respondMode
	key      *decoy.Key // nil: shared through the cluster, or drawn by this process
	networks []netip.Prefix
	canaries []canary
	line     int // the decoy option's line, for a contradiction with respond
}

// canary is a name no one is told: an external query for it, or below it,
// flags the client's prefix at once.
type canary struct {
	name string // lower-case, fully qualified
	line int
}

// parseDecoyOption parses the limit block's respond, decoy and canary
// options into ds.
func parseDecoyOption(c *caddy.Controller, ds *decoySettings, opt string, args []string) error {
	switch opt {
	case "respond":
		if len(args) != 1 || args[0] != "decoy" && args[0] != "block" {
			return c.Errf("limit: respond: got %q; allowed: respond decoy (names that do not exist get decoys, the default) or respond block", strings.Join(args, " "))
		}
		ds.respond = map[string]respondMode{"decoy": respondDecoy, "block": respondBlock}[args[0]]
	case "decoy":
		ds.line = c.Line()
		return parseDecoy(c, ds, args)
	case "canary":
		if len(args) == 0 {
			return c.Errf("limit: canary: got no name; allowed: canary NAME..., names in veil's zones that no one is told, such as canary vault-admin.example.org")
		}
		for _, a := range args {
			if _, ok := dns.IsDomainName(a); !ok || strings.HasPrefix(a, "*") {
				return c.Errf("limit: canary: %q is not a domain name; allowed: canary NAME..., such as canary vault-admin.example.org", a)
			}
			ds.canaries = append(ds.canaries, canary{name: strings.ToLower(dns.Fqdn(a)), line: c.Line()})
		}
	}
	return nil
}

// parseDecoy parses "decoy [key SECRET] [networks CIDR...]".
func parseDecoy(c *caddy.Controller, ds *decoySettings, args []string) error {
	const allowed = "decoy [key SECRET] [networks CIDR...], such as decoy key {$VEIL_DECOY_KEY} networks 192.0.2.0/24 2001:db8:7::/64"
	if len(args) == 0 {
		return c.Errf("limit: decoy: got nothing; allowed: %s", allowed)
	}
	seen := map[string]bool{}
	for i := 0; i < len(args); {
		kw := args[i]
		if seen[kw] {
			return c.Errf("limit: decoy: %q given twice; allowed: %s", kw, allowed)
		}
		seen[kw] = true
		switch kw {
		case "key":
			if i+1 >= len(args) || len(args[i+1]) < 16 {
				return c.Errf("limit: decoy: key needs a secret of at least 16 characters (the same on every replica); allowed: %s", allowed)
			}
			k := decoy.KeyFromSecret(args[i+1])
			ds.key = &k
			i += 2
		case "networks":
			j := i + 1
			for j < len(args) && args[j] != "key" {
				j++
			}
			nets, err := decoyNetworks(c, args[i+1:j])
			if err != nil {
				return err
			}
			ds.networks = nets
			i = j
		default:
			return c.Errf("limit: decoy: unknown keyword %q; allowed: %s", kw, allowed)
		}
	}
	return nil
}

// decoyNetworks parses the networks decoy addresses are drawn from.
func decoyNetworks(c *caddy.Controller, args []string) ([]netip.Prefix, error) {
	if len(args) == 0 {
		return nil, c.Errf("limit: decoy: networks needs at least one network, such as networks 192.0.2.0/24")
	}
	var nets []netip.Prefix
	for _, a := range args {
		p, err := netip.ParsePrefix(a)
		if err != nil || p.Addr().Is4() && p.Bits() > 30 || !p.Addr().Is4() && p.Bits() > 120 {
			return nil, c.Errf("limit: decoy: networks: %q is not a network of at least 4 addresses in CIDR form, such as 192.0.2.0/24 or 2001:db8::/64", a)
		}
		nets = append(nets, p.Masked())
	}
	return nets, nil
}

// validate checks the decoy settings against each other and against the
// zones veil guards: a canary outside them would never be asked of veil.
func (ds *decoySettings) validate(c *caddy.Controller, zones []string) error {
	if ds.respond == respondBlock && ds.line != 0 {
		return fmt.Errorf("%s:%d - Error during parsing: limit: decoy: respond block gives no decoys; remove the decoy option or say respond decoy", c.File(), ds.line)
	}
	for _, cn := range ds.canaries {
		in := false
		for _, z := range zones {
			in = in || inZone(cn.name, z)
		}
		if !in {
			return fmt.Errorf("%s:%d - Error during parsing: limit: canary: %s is in none of veil's zones (%s); a canary must be a name of one of them", c.File(), cn.line, cn.name, strings.Join(zones, ", "))
		}
	}
	return nil
}

// canariesOf returns the canary names in zone z (but not in a longer zone
// of zones, which guards them).
func (ds *decoySettings) canariesOf(z string, zones []string) []string {
	var out []string
	for _, cn := range ds.canaries {
		longest := ""
		for _, other := range zones {
			if inZone(cn.name, other) && len(other) > len(longest) {
				longest = other
			}
		}
		if longest == z {
			out = append(out, cn.name)
		}
	}
	return out
}
