package decoy

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/miekg/dns"
)

// MaxTemplates is the most places a Profile's ring holds; a zone with more
// hosts keeps an evenly spread sample of them (the ring's first
// MaxTemplates), so its size stays bounded whatever the zone's.
const MaxTemplates = 65536

// ringPoints is about how many places the hosts of a small zone take on the
// ring together, at most maxPointsPerHost each.
const (
	ringPoints       = 4096
	maxPointsPerHost = 64
)

// Options are the operator's choices for a zone's decoys.
type Options struct {
	// Networks, if not empty, are where decoy addresses are drawn from,
	// evenly, instead of the template addresses' own networks.
	Networks []netip.Prefix
}

// Profile is what a zone's decoys are made from: its plain hosts on a ring,
// under one key. It is built off the query path and read concurrently.
type Profile struct {
	zone  string
	ring  []template // sorted by place
	v4    []netip.Prefix
	v6    []netip.Prefix
	prfs  sync.Pool // of *prf under the profile's key
	hosts int       // distinct templates
	valid bool
}

// template is one host a decoy can take the shape of.
type template struct {
	place uint64
	name  string
}

// NewProfile returns the profile of zone (lower-case, fully qualified) from
// its records rrs, under key k. A zone without a plain host gives a profile
// whose Template reports false: its flagged clients cannot get decoys.
func NewProfile(zone string, rrs []dns.RR, k Key, opts Options) *Profile {
	p := &Profile{zone: strings.ToLower(dns.Fqdn(zone))}
	p.prfs.New = func() any { return newPRF(k) }
	for _, n := range opts.Networks {
		n = n.Masked()
		if n.Addr().Is4() {
			p.v4 = append(p.v4, n)
		} else {
			p.v6 = append(p.v6, n)
		}
	}
	f := p.prfs.Get().(*prf)
	defer p.prfs.Put(f)
	hosts := plainHosts(p.zone, rrs)
	// Each host takes several places on the ring in a small zone, so the
	// arcs, and how often each host is drawn, even out.
	points := min(max(ringPoints/max(len(hosts), 1), 1), maxPointsPerHost)
	for _, name := range hosts {
		for i := range points {
			place := binary.BigEndian.Uint64(f.draw(purposeRing, name, uint32(i))[:8])
			p.ring = append(p.ring, template{place: place, name: name})
		}
	}
	slices.SortFunc(p.ring, func(a, b template) int {
		switch {
		case a.place < b.place:
			return -1
		case a.place > b.place:
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	if len(p.ring) > MaxTemplates {
		p.ring = slices.Clip(p.ring[:MaxTemplates])
	}
	p.valid = len(p.ring) > 0
	p.hosts = len(hosts)
	return p
}

// Hosts returns how many hosts the profile's templates are drawn from.
func (p *Profile) Hosts() int { return p.hosts }

// Template returns the host whose shape the decoy for qname takes, or
// false if the zone has none.
func (p *Profile) Template(qname string) (string, bool) {
	if p == nil || !p.valid {
		return "", false
	}
	f := p.prfs.Get().(*prf)
	place := binary.BigEndian.Uint64(f.draw(purposeName, qname, 0)[:8])
	p.prfs.Put(f)
	i, _ := slices.BinarySearchFunc(p.ring, place, func(t template, place uint64) int {
		if t.place < place {
			return -1
		}
		if t.place > place {
			return 1
		}
		return 0
	})
	if i == len(p.ring) {
		i = 0
	}
	return p.ring[i].name, true
}

// plainHosts returns the lower-case names of zone's records that hold
// nothing but A and AAAA records (DNSSEC records aside), below the apex and
// outside delegations and wildcards: the shapes a decoy may take.
func plainHosts(zone string, rrs []dns.RR) []string {
	types := map[string]uint8{} // per name: 1 has an address, 2 has something else
	cuts := map[string]bool{}
	for _, rr := range rrs {
		h := rr.Header()
		name := strings.ToLower(h.Name)
		switch h.Rrtype {
		case dns.TypeA, dns.TypeAAAA:
			types[name] |= 1
		case dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3:
		case dns.TypeNS:
			cuts[name] = name != zone
			types[name] |= 2
		default:
			types[name] |= 2
		}
	}
	var hosts []string
	for name, t := range types {
		if t == 1 && name != zone && dns.IsSubDomain(zone, name) && !strings.HasPrefix(name, "*.") && !belowCut(name, zone, cuts) {
			hosts = append(hosts, name)
		}
	}
	slices.Sort(hosts)
	return hosts
}

// belowCut reports whether name is at or below one of the zone cuts of
// zone (cuts[n] true).
func belowCut(name, zone string, cuts map[string]bool) bool {
	for n := name; len(n) > len(zone); {
		if cuts[n] {
			return true
		}
		i, end := dns.NextLabel(n, 0)
		if end {
			return false
		}
		n = n[i:]
	}
	return false
}
