//go:build e2e && enum

package enum

import (
	mrand "math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// fpZone is the zone as a false-positive client sees it: what every
// question must get, and where to ask it.
type fpZone struct {
	z      *zoneData
	expect map[rrsetKey][]string
	addr   string // the listener, host:port
	signed bool   // the signed zone: every query is asked with DO=1
	// onTheFly: the dnssec plugin signs the zone: a name that does not
	// exist gets its black lie, NOERROR and an NSEC at the name, the shape
	// of NODATA.
	onTheFly bool
	hosts    []string // the zone's owner names below the apex (absolute), in the order of their popularity
}

// newFPZone returns the zone served at addr; expect is its RRsets.
func newFPZone(z *zoneData, expect map[rrsetKey][]string, addr string, signed bool) *fpZone {
	f := &fpZone{z: z, expect: expect, addr: addr, signed: signed}
	for _, l := range z.labels {
		f.hosts = append(f.hosts, l+"."+zoneName+".")
	}
	// Popularity has nothing to do with the order of the zone file.
	rng := mrand.New(mrand.NewPCG(uint64(len(f.hosts)), 0x9e37))
	rng.Shuffle(len(f.hosts), func(i, j int) { f.hosts[i], f.hosts[j] = f.hosts[j], f.hosts[i] })
	return f
}

// want returns the question (name, qtype) with the answer it must get:
// the records of the zone, NODATA for an existing name without records of
// the type (such as AAAA of most hosts: the zone has AAAA for one host in
// four), NXDOMAIN for a name that does not exist.
func (f *fpZone) want(name string, qtype uint16) checkedQuery {
	name = strings.ToLower(dns.Fqdn(name))
	q := checkedQuery{name: name, qtype: qtype, dnssec: f.signed}
	apex := zoneName + "."
	exists := name == apex
	if l, ok := strings.CutSuffix(name, "."+apex); ok && (f.z.all[l] || f.nestedOrParent(l)) {
		exists = true
	}
	switch {
	case !exists && f.onTheFly:
		q.kind = wantNODATA
	case !exists:
		q.kind = wantNXDOMAIN
	case f.signed && name == apex && qtype == dns.TypeDNSKEY:
		q.kind = wantRecords // the key: any DNSKEY records
	case f.expect[rrsetKey{name: name, qtype: qtype}] != nil:
		q.kind = wantRecords
		q.want = f.expect[rrsetKey{name: name, qtype: qtype}]
	default:
		q.kind = wantNODATA
	}
	return q
}

// nestedOrParent reports whether l (relative to the apex) is one of the
// zone's nested names or their parent, an empty non-terminal (NODATA).
func (f *fpZone) nestedOrParent(l string) bool {
	for _, n := range f.z.nested {
		if n == l || strings.HasSuffix(n, "."+l) {
			return true
		}
	}
	return false
}

// zipf returns a function that draws hosts of f Zipf-like (s = 1.1): a few
// names get most of the questions, every name some.
func (f *fpZone) zipf(rng *mrand.Rand) func() string {
	zf := mrand.NewZipf(rng, 1.1, 1, uint64(len(f.hosts)-1))
	return func() string { return f.hosts[zf.Uint64()] }
}

// typo returns an absolute name that is a host's label with one typing
// error: NXDOMAIN.
func (f *fpZone) typo(rng *mrand.Rand) string {
	return f.z.typo(rng) + "." + zoneName + "."
}

// exchange sends q from src over UDP, from a new socket (a random source
// port), with EDNS (1232 bytes, DO if q.dnssec) unless noEDNS, and
// records the outcome in s.
func (f *fpZone) exchange(s *fpStats, src string, q checkedQuery) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(q.name, q.qtype)
	m.RecursionDesired = q.rd
	m.SetEdns0(1232, q.dnssec)
	c := &dns.Client{
		Net:     "udp",
		Timeout: fpTimeout,
		Dialer:  &net.Dialer{Timeout: fpTimeout, LocalAddr: &net.UDPAddr{IP: net.ParseIP(src)}},
	}
	r, _, err := c.Exchange(m, f.addr)
	s.record(q, r, err)
	return r
}

// ttlCache is a resolver's cache of answers: a name and type is asked
// again only once its TTL has run out; a denial is kept for the SOA's
// minimum (RFC 2308).
type ttlCache struct {
	mu      sync.Mutex
	expires map[rrsetKey]time.Time
}

// newTTLCache returns an empty cache.
func newTTLCache() *ttlCache { return &ttlCache{expires: map[rrsetKey]time.Time{}} }

// fresh reports whether (name, qtype) is cached; if not, it reserves the
// entry for the time the question is in flight, so it is not asked twice.
func (c *ttlCache) fresh(name string, qtype uint16) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := rrsetKey{name: name, qtype: qtype}
	if time.Now().Before(c.expires[k]) {
		return true
	}
	c.expires[k] = time.Now().Add(fpTimeout)
	return false
}

// store caches the answer r to (name, qtype) for its TTL; nil (no answer)
// drops the reservation.
func (c *ttlCache) store(name string, qtype uint16, r *dns.Msg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := rrsetKey{name: name, qtype: qtype}
	if r == nil || r.Rcode != dns.RcodeSuccess && r.Rcode != dns.RcodeNameError {
		delete(c.expires, k)
		return
	}
	var ttls []uint32
	for _, rr := range r.Answer {
		ttls = append(ttls, rr.Header().Ttl)
	}
	if len(r.Answer) == 0 {
		for _, rr := range r.Ns {
			if soa, ok := rr.(*dns.SOA); ok {
				ttls = append(ttls, min(soa.Hdr.Ttl, soa.Minttl))
			}
		}
	}
	if len(ttls) == 0 {
		delete(c.expires, k)
		return
	}
	c.expires[k] = time.Now().Add(time.Duration(slices.Min(ttls)) * time.Second)
}
