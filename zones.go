package veil

import "strings"

// zoneSet holds the lower-case, fully qualified zones veil guards.
type zoneSet []string

// match returns the index of the longest zone that qname is at or below, or
// -1. Unlike plugin.Zones.Matches it does not allocate: it compares the
// qname's tail to each zone case-insensitively, and
// requires the match to start on an unescaped label boundary.
func (zs zoneSet) match(qname string) int {
	if len(zs) == 1 {
		// The usual case, small enough to inline.
		if inZone(qname, zs[0]) {
			return 0
		}
		return -1
	}
	return zs.longest(qname)
}

// longest is match for several zones.
func (zs zoneSet) longest(qname string) int {
	best, bestLen := -1, -1
	for i, z := range zs {
		if len(z) > bestLen && inZone(qname, z) {
			best, bestLen = i, len(z)
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
