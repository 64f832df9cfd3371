package veil

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net"
	"net/netip"
	"strings"

	"github.com/coredns/caddy"
)

// netSet is one or more lists of networks compiled for the hot path: IPv4 and
// IPv6 networks apart, each as masked integers with a tag bit saying which
// set it came from, so one lookup is a few integer compares per network of
// the client's family and nothing for the other family.
type netSet struct {
	v4 []net4
	v6 []net6
}

type net4 struct {
	ip, mask uint32
	tag      uint8
}

type net6 struct {
	hi, lo, mhi, mlo uint64
	tag              uint8
}

// newNetSet compiles the sets; the networks of sets[i] carry tag 1<<i.
func newNetSet(sets ...[]netip.Prefix) netSet {
	var s netSet
	for i, ps := range sets {
		tag := uint8(1) << i
		for _, p := range ps {
			bits := p.Bits()
			if p.Addr().Is4() {
				b := p.Addr().As4()
				mask := ^uint32(0) << (32 - bits)
				if bits == 0 {
					mask = 0
				}
				s.v4 = append(s.v4, net4{binary.BigEndian.Uint32(b[:]) & mask, mask, tag})
				continue
			}
			b := p.Addr().As16()
			mhi, mlo := mask64(bits), mask64(bits-64)
			s.v6 = append(s.v6, net6{binary.BigEndian.Uint64(b[:8]) & mhi, binary.BigEndian.Uint64(b[8:]) & mlo, mhi, mlo, tag})
		}
	}
	return s
}

// mask64 returns a mask of the first bits bits of 64 (none if bits <= 0,
// all if bits >= 64).
func mask64(bits int) uint64 {
	switch {
	case bits <= 0:
		return 0
	case bits >= 64:
		return ^uint64(0)
	}
	return ^uint64(0) << (64 - bits)
}

// tags returns the tags of every network that holds addr (unmapped,
// without zone), ORed: 0 if none does.
func (s *netSet) tags(addr netip.Addr) uint8 {
	var tags uint8
	if addr.Is4() {
		b := addr.As4()
		x := binary.BigEndian.Uint32(b[:])
		for _, n := range s.v4 {
			if x&n.mask == n.ip {
				tags |= n.tag
			}
		}
		return tags
	}
	if len(s.v6) == 0 || !addr.Is6() {
		return 0
	}
	b := addr.As16()
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	for _, n := range s.v6 {
		if hi&n.mhi == n.hi && lo&n.mlo == n.lo {
			tags |= n.tag
		}
	}
	return tags
}

// everyone says, per client list (trusted, exempt) and address family
// (IPv4, IPv6), whether the list holds a /0 network: every client of the
// family. It is legal, and worth a warning and a gauge.
type everyone [len(listNames)][len(familyNames)]bool

// The label values of coredns_veil_all_clients, indexes of everyone.
var (
	listNames   = [...]string{"trusted", "exempt"}
	familyNames = [...]string{"ipv4", "ipv6"}
)

// newEveryone reads the /0 networks of the trusted and exempt lists.
func newEveryone(trusted, exempt []netip.Prefix) everyone {
	var e everyone
	for li, ps := range [][]netip.Prefix{trusted, exempt} {
		for _, p := range ps {
			if p.Bits() == 0 {
				fi := 0
				if p.Addr().Is6() {
					fi = 1
				}
				e[li][fi] = true
			}
		}
	}
	return e
}

// warn logs, once per server block, each list that takes in every client
// of a family.
func (e *everyone) warn(zones zoneSet) {
	names := make([]string, len(zones))
	for i, z := range zones {
		names[i] = z.name
	}
	what := [len(listNames)]string{
		"is trusted: it sees verification tokens, may transfer the zone and send ANY queries, and is never limited",
		"is exempt from the enumeration limiter",
	}
	option := [len(listNames)]string{"trusted", "limit: exempt"}
	zero := [len(familyNames)]string{"0.0.0.0/0", "::/0"}
	family := [len(familyNames)]string{"IPv4", "IPv6"}
	for li := range e {
		for fi, all := range e[li] {
			if all {
				log.Warningf("%s %s: every %s client %s in zone(s) %s (metric coredns_veil_all_clients)",
					option[li], zero[fi], family[fi], what[li], strings.Join(names, " "))
			}
		}
	}
}

// covers reports whether p lies wholly inside a trusted or exempt
// network: a block of it from another replica is refused.
func (s netSet) covers(p netip.Prefix) bool {
	if p.Addr().Is4() {
		b := p.Addr().As4()
		ip := binary.BigEndian.Uint32(b[:])
		for _, n := range s.v4 {
			if bits.OnesCount32(n.mask) <= p.Bits() && ip&n.mask == n.ip {
				return true
			}
		}
		return false
	}
	b := p.Addr().As16()
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	for _, n := range s.v6 {
		if bits.OnesCount64(n.mhi)+bits.OnesCount64(n.mlo) <= p.Bits() && hi&n.mhi == n.hi && lo&n.mlo == n.lo {
			return true
		}
	}
	return false
}

// clientAddr returns the source address CoreDNS reports for the request,
// without port or IPv6 zone, IPv4-mapped IPv6 addresses turned into IPv4.
// With the proxyproto plugin configured this is the address from the PROXY
// header. For the UDP and TCP writers of miekg/dns it does not allocate.
func clientAddr(a net.Addr) (netip.Addr, bool) {
	var ip net.IP
	switch a := a.(type) {
	case *net.UDPAddr:
		ip = a.IP
	case *net.TCPAddr:
		ip = a.IP
	case nil:
		return netip.Addr{}, false
	default:
		// Other transports (DoH, DoQ, gRPC) may report other address types;
		// parse their string form. An address veil cannot read is external.
		ap, err := netip.ParseAddrPort(a.String())
		if err != nil {
			return netip.Addr{}, false
		}
		return ap.Addr().WithZone("").Unmap(), true
	}
	addr, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}, false
	}
	return addr.Unmap(), true
}

// isStream reports whether the request came over a stream transport (TCP,
// DoT, DoH), where the source address cannot be spoofed and response size is
// not limited by a datagram.
func isStream(a net.Addr) bool {
	_, udp := a.(*net.UDPAddr)
	return !udp
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
