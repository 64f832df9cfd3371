package veil

import (
	"strings"

	"github.com/veildns/veil/cluster"
	"github.com/veildns/veil/ratelimit"
	"github.com/veildns/veil/tokens"
)

// zone is one zone veil guards, with everything veil keeps for it: the
// enumeration limiter's table and its recent trips, the token policy, and
// the zone's counters per listener and view. Each field is set at setup,
// or at start-up, before the server serves (lifecycle.go); a nil limiter
// or policy means that protection is off for the zone.
type zone struct {
	name    string             // lower-case, fully qualified
	limiter *ratelimit.Limiter // nil: the limiter is off
	trips   *tripRing          // recent trips, for the blocked-prefixes gauge
	// cluster is the zone's share of the exchange with the other
	// replicas, set at start-up; nil without the cluster option.
	cluster *cluster.Zone
	tokens  *tokens.Policy // nil: tokens are not filtered
	absent  absence        // names that exist only for hidden tokens (tokens_hidden.go)
	// decoys is what the zone's flagged prefixes' decoys are made from
	// (decoy.go); nil: they are blocked (respond block, or no limiter).
	decoys   *decoyState
	canaries []string     // names that flag a prefix at once (canary.go)
	counters counterCache // per (server, view)
}

// zoneSet holds the zones veil guards.
type zoneSet []*zone

// match returns the longest zone that qname is at or below, or nil. Unlike
// plugin.Zones.Matches it does not allocate: it compares the qname's tail
// to each zone case-insensitively, and requires the match to start on an
// unescaped label boundary.
func (zs zoneSet) match(qname string) *zone {
	if len(zs) == 1 {
		// The usual case, small enough to inline.
		if inZone(qname, zs[0].name) {
			return zs[0]
		}
		return nil
	}
	return zs.longest(qname)
}

// longest is match for several zones.
func (zs zoneSet) longest(qname string) *zone {
	var best *zone
	for _, z := range zs {
		if (best == nil || len(z.name) > len(best.name)) && inZone(qname, z.name) {
			best = z
		}
	}
	return best
}

// inZone reports whether name is zone or a name below it. zone must be
// lower-case and end in a dot; name is the question name as miekg/dns unpacks
// it (presentation form, escapes as \DDD or \c).
func inZone(name, zone string) bool {
	if zone == "." {
		return true
	}
	if len(name) < len(zone) {
		return false
	}
	start := len(name) - len(zone)
	// Most names arrive in lower case: a plain comparison first, the
	// case-folding one only for mixed case (DNS 0x20 randomisation).
	if tail := name[start:]; tail != zone && !strings.EqualFold(tail, zone) {
		return false
	}
	if start == 0 {
		return true
	}
	if name[start-1] != '.' {
		return false
	}
	// The dot before the tail ends a label only if it is not escaped, that is
	// if an even number of backslashes precedes it.
	backslashes := 0
	for j := start - 2; j >= 0 && name[j] == '\\'; j-- {
		backslashes++
	}
	return backslashes%2 == 0
}
