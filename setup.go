package veil

import (
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin"

	"github.com/miekg/dns"

	"github.com/veildns/veil/ratelimit"
	"github.com/veildns/veil/tokens"
)

func init() { plugin.Register(pluginName, setup) }

func setup(c *caddy.Controller) error {
	v, err := parse(c)
	if err != nil {
		return plugin.Error(pluginName, err)
	}
	v.hook(c) // start-up, reloads and shutdown: lifecycle.go
	dnsserver.GetConfig(c).AddPlugin(func(next plugin.Handler) plugin.Handler {
		v.Next = next
		return v
	})
	return nil
}

const (
	allowedOptions = "trusted, transfer, any, limit, tokens, log-only"
)

// parse reads one veil directive of a server block into a Veil. Every error
// names the Corefile line (through c.Errf), the option and what is allowed.
func parse(c *caddy.Controller) (*Veil, error) {
	v := &Veil{transfer: actRefuse, anyUDP: actHINFO, anyTCP: actHINFO, logs: newSampledLog(), twins: newTwins(), wallClock: time.Now,
		// The limiter is on unless the Corefile says limit off.
		limit: defaultLimit()}
	var (
		names           []string
		trusted, exempt []netip.Prefix
		tokenSets       []*tokenSettings
	)
	for blocks := 0; c.Next(); blocks++ {
		if blocks > 0 {
			return nil, c.Errf("veil appears more than once in this server block; merge the two into one veil block")
		}
		var err error
		if names, err = parseZones(c); err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for c.NextBlock() {
			opt, args := c.Val(), c.RemainingArgs()
			if seen[opt] && opt != "trusted" && opt != "tokens" {
				return nil, c.Errf("option %q given twice; give it once", opt)
			}
			seen[opt] = true
			switch opt {
			case "trusted":
				var prefixes []netip.Prefix
				prefixes, err = parseNetworks(c, "trusted", args)
				trusted = append(trusted, prefixes...)
			case "limit":
				v.limit, exempt, err = parseLimit(c, args)
			case "tokens":
				var ts *tokenSettings
				ts, err = parseTokens(c, args, names)
				tokenSets = append(tokenSets, ts)
			default:
				err = v.parseOption(c, opt, args)
			}
			if err != nil {
				return nil, err
			}
		}
	}
	v.clients = newNetSet(trusted, exempt) // tagTrusted, tagExempt
	v.everyone = newEveryone(trusted, exempt)
	policies, err := buildTokenPolicies(c, names, tokenSets)
	if err != nil {
		return nil, err
	}
	if err := v.addZones(c, names, policies); err != nil {
		return nil, err
	}
	return v, nil
}

// addZones makes the zones veil guards, each with its token policy (nil:
// off) and, if the limiter is on, its own table.
func (v *Veil) addZones(c *caddy.Controller, names []string, policies []*tokens.Policy) error {
	if v.limit != nil {
		if err := v.limit.decoys.validate(c, names); err != nil {
			return err
		}
	}
	for i, name := range names {
		z := &zone{name: name, tokens: policies[i]}
		if v.limit != nil {
			z.canaries = v.limit.decoys.canariesOf(name, names)
			if v.limit.decoys.respond == respondDecoy {
				z.decoys = new(decoyState)
			}
			// One table per zone: all names of a zone share a client's budget.
			var err error
			if z.limiter, err = ratelimit.New(v.limit.cfg); err != nil {
				return c.Errf("limit: %v", err)
			}
			z.trips = new(tripRing)
		}
		z.counters.build = func(server, view string) *zoneCounters { return v.newCounters(z, server, view) }
		v.zones = append(v.zones, z)
	}
	return nil
}

// parseOption parses the options of the veil block that set a single value.
func (v *Veil) parseOption(c *caddy.Controller, opt string, args []string) error {
	switch opt {
	case "transfer":
		act, err := parseTransfer(c, args)
		if err != nil {
			return err
		}
		v.transfer = act
	case "any":
		udp, tcp, err := parseAny(c, args)
		if err != nil {
			return err
		}
		v.anyUDP, v.anyTCP = udp, tcp
	case "log-only":
		if len(args) != 0 {
			return c.Errf("log-only: takes no arguments, got %q", strings.Join(args, " "))
		}
		v.logOnly = true
	default:
		return c.Errf("unknown option %q; allowed: %s", opt, allowedOptions)
	}
	return nil
}

// eachBlockOption walks the block of a nested option such as limit or
// tokens, if the option's line opened one, calling f with each option and
// its arguments. The block is walked by hand, so the enclosing veil
// block's nesting stays as it is; an option must be on a line of its own.
func eachBlockOption(c *caddy.Controller, name string, f func(opt string, args []string) error) error {
	// RemainingArgs stopped before a "{" on the option's line.
	if !c.NextArg() {
		return nil
	}
	for c.Next() && c.Val() != "}" {
		opt, args := c.Val(), c.RemainingArgs()
		if slices.Contains(args, "}") || slices.Contains(args, "{") {
			return c.Errf("%s: put each option of the %s block on a line of its own, and the closing } on its own line", name, name)
		}
		if err := f(opt, args); err != nil {
			return err
		}
	}
	return nil
}

// parseZones takes the zones from the directive's arguments or, if there are
// none, from the server block, and checks that the server block serves them.
func parseZones(c *caddy.Controller) ([]string, error) {
	args := c.RemainingArgs()
	for _, a := range args {
		// OriginsFromArgsOrServerBlock silently drops an argument it cannot
		// normalise ("example.org:"), which would leave that zone unguarded.
		if _, ok := dns.IsDomainName(a); !ok || len(plugin.Host(a).NormalizeExact()) == 0 {
			return nil, c.Errf("zone %q is not a domain name", a)
		}
	}
	served := plugin.Zones(plugin.OriginsFromArgsOrServerBlock(nil, c.ServerBlockKeys))
	// A zone may be named twice: by two keys of the block that serve it on
	// different ports or transports (example.org:53 tls://example.org), or
	// in two spellings. It is guarded, and its series are reported, once.
	var zones []string
	for _, z := range plugin.OriginsFromArgsOrServerBlock(args, c.ServerBlockKeys) {
		lz := strings.ToLower(z)
		if served.Matches(lz) == "" {
			return nil, c.Errf("zone %q is not served by this server block (%s); veil would never see its queries", z, strings.Join(served, " "))
		}
		if !slices.Contains(zones, lz) {
			zones = append(zones, lz)
		}
	}
	return zones, nil
}

// listenerLabels returns the "server" labels of the listeners that route to
// this server block, built as CoreDNS names its servers (and the metrics
// plugin labels coredns_plugin_enabled): transport://host:port for each
// bind address of each of the block's keys, which may differ in transport
// and port; the keys share one plugin chain and so one veil.
func listenerLabels(c *caddy.Controller) []string {
	var labels []string
	for i := range c.ServerBlockKeys {
		kc := *c
		kc.ServerBlockKeyIndex = i
		cfg := dnsserver.GetConfig(&kc)
		for _, h := range cfg.ListenHosts {
			if l := cfg.Transport + "://" + net.JoinHostPort(h, cfg.Port); !slices.Contains(labels, l) {
				labels = append(labels, l)
			}
		}
	}
	return labels
}
