package veil

import (
	"fmt"
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
)

func init() { plugin.Register(pluginName, setup) }

func setup(c *caddy.Controller) error {
	v, err := parse(c)
	if err != nil {
		return plugin.Error(pluginName, err)
	}
	if v.limit != nil {
		c.OnStartup(func() error { startClock(); limiterGauges.add(v); return nil })
		c.OnShutdown(func() error { limiterGauges.remove(v); stopClock(); return nil })
	}
	c.OnStartup(func() error { v.logExposedTokens(); tokenGauges.add(v); return nil })
	c.OnShutdown(func() error { tokenGauges.remove(v); return nil })
	c.OnStartup(func() error {
		// The servers are made and not yet serving: the view, the plugin
		// chain and the listeners are known.
		cfg := dnsserver.GetConfig(c)
		v.untraced = cfg.Handler("trace") == nil
		v.counters.start(cfg.ViewName, listenerLabels(c))
		return nil
	})
	c.OnStartup(func() error { modeGauges.add(v); return nil })
	c.OnShutdown(func() error { modeGauges.remove(v); return nil })
	dnsserver.GetConfig(c).AddPlugin(func(next plugin.Handler) plugin.Handler {
		v.Next = next
		return v
	})
	return nil
}

const (
	allowedOptions = "trusted, transfer, any, limit, tokens, log-only"
	allowedAny     = "hinfo, refuse, drop or pass"
)

// parse reads one veil directive of a server block into a Veil. Every error
// names the Corefile line (through c.Errf), the option and what is allowed.
func parse(c *caddy.Controller) (*Veil, error) {
	v := &Veil{transfer: actionRefuse, anyUDP: actionHINFO, anyTCP: actionHINFO}
	var tokenSets []*tokenSettings
	blocks := 0
	for c.Next() {
		blocks++
		if blocks > 1 {
			return nil, c.Errf("veil appears more than once in this server block; merge the two into one veil block")
		}
		zones, err := parseZones(c)
		if err != nil {
			return nil, err
		}
		v.zones = zones

		seen := map[string]bool{}
		for c.NextBlock() {
			opt := c.Val()
			if seen[opt] && opt != "trusted" && opt != "tokens" {
				return nil, c.Errf("option %q given twice; give it once", opt)
			}
			seen[opt] = true
			args := c.RemainingArgs()
			switch opt {
			case "trusted":
				prefixes, err := parseNetworks(c, "trusted", args)
				if err != nil {
					return nil, err
				}
				v.trusted = append(v.trusted, prefixes...)
			case "transfer":
				if len(args) != 1 || (args[0] != "refuse" && args[0] != "drop") {
					return nil, c.Errf("transfer: got %q; allowed: transfer refuse|drop", strings.Join(args, " "))
				}
				v.transfer = actionRefuse
				if args[0] == "drop" {
					v.transfer = actionDrop
				}
			case "any":
				udp, tcp, err := parseAny(c, args)
				if err != nil {
					return nil, err
				}
				v.anyUDP, v.anyTCP = udp, tcp
			case "limit":
				ls, err := parseLimit(c, args)
				if err != nil {
					return nil, err
				}
				v.limit = ls
			case "tokens":
				ts, err := parseTokens(c, args, v.zones)
				if err != nil {
					return nil, err
				}
				tokenSets = append(tokenSets, ts)
			case "log-only":
				if len(args) != 0 {
					return nil, c.Errf("log-only: takes no arguments, got %q", strings.Join(args, " "))
				}
				v.logOnly = true
			default:
				return nil, c.Errf("unknown option %q; allowed: %s", opt, allowedOptions)
			}
		}
	}
	var exempt prefixSet
	if v.limit != nil {
		exempt = v.limit.exempt
	}
	v.clientsN = newNetSet(v.trusted, exempt) // tagTrusted, tagExempt
	v.logs = newSampledLog()
	v.wallClock = time.Now
	pols, err := buildTokenPolicies(c, v.zones, tokenSets)
	if err != nil {
		return nil, err
	}
	v.tokens = pols
	ruleCounts := make([]int, len(v.zones))
	for zi, p := range pols {
		if p != nil {
			ruleCounts[zi] = len(p.matcher.Rules())
		}
	}
	v.counters = newCounterCache(v.zones, v.limit != nil, ruleCounts)
	v.counters.zeroSeries = v.zeroSeries
	if v.limit != nil {
		// One table per zone: all names of a zone share a client's budget.
		v.limiters = make([]*ratelimit.Limiter, len(v.zones))
		for i := range v.zones {
			l, err := ratelimit.New(v.limit.cfg)
			if err != nil {
				return nil, c.Errf("limit: %v", err)
			}
			v.limiters[i] = l
			v.trips = append(v.trips, new(tripRing))
		}
	}
	return v, nil
}

// parseZones takes the zones from the directive's arguments or, if there are
// none, from the server block, and checks that the server block serves them.
func parseZones(c *caddy.Controller) (zoneSet, error) {
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
	var zones zoneSet
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

// parseNetworks parses the addresses and CIDR networks of option opt. A
// bare address is a single host (/32 or /128); a network with host bits set
// is an error, as it usually hides a typo.
func parseNetworks(c *caddy.Controller, opt string, args []string) ([]netip.Prefix, error) {
	if len(args) == 0 {
		return nil, c.Errf("%s: missing network; allowed: one or more addresses or CIDR networks, such as 192.0.2.0/24 2001:db8::/32", opt)
	}
	out := make([]netip.Prefix, 0, len(args))
	for _, a := range args {
		p, err := parsePrefix(a)
		if err != nil {
			return nil, c.Errf("%s: %v; allowed: an address or CIDR network, such as 192.0.2.0/24 or 2001:db8::1", opt, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR network", s)
		}
		a = a.Unmap()
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address or CIDR network", s)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("%q has host bits set (did you mean %s?)", s, p.Masked())
	}
	if p.Addr().Is4In6() {
		// Clients are matched as plain IPv4, so an IPv4-mapped network
		// would never match; turn it into the IPv4 network it means. A
		// masked prefix is IPv4-mapped only if it is /96 or longer.
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p, nil
}

// parseAny parses "any MODE [tcp MODE]".
func parseAny(c *caddy.Controller, args []string) (udp, tcp action, err error) {
	if len(args) != 1 && (len(args) != 3 || args[1] != "tcp") {
		return 0, 0, c.Errf("any: got %q; allowed: any MODE [tcp MODE], MODE one of %s", strings.Join(args, " "), allowedAny)
	}
	udp, ok := anyModes[args[0]]
	if !ok {
		return 0, 0, c.Errf("any: unknown mode %q; allowed: %s", args[0], allowedAny)
	}
	tcp = udp
	if len(args) == 3 {
		if tcp, ok = anyModes[args[2]]; !ok {
			return 0, 0, c.Errf("any: unknown tcp mode %q; allowed: %s", args[2], allowedAny)
		}
	}
	return udp, tcp, nil
}

var anyModes = map[string]action{"hinfo": actionHINFO, "refuse": actionRefuse, "drop": actionDrop, "pass": actionPass}

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
