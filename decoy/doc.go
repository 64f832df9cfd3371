// Package decoy makes the answers a flagged client gets for names that do
// not exist: answers shaped like one of the zone's own hosts, so that a
// scanner the enumeration limiter flagged can no longer tell its hits from
// its misses, while every name that exists keeps its true answer.
//
// # Shape
//
// A Profile, built from the zone's records (NewProfile), holds the zone's
// plain hosts: names below the apex, outside delegations and wildcards,
// that hold nothing but A and AAAA records. A name that does not exist is
// mapped to one of them, its template, by a keyed hash; the caller asks
// its backend the client's question at the template and hands the answer
// to Answer, which renames the template to the client's name and replaces
// every address of the answer section by a decoy address. So a decoy has
// everything the backend puts in a host's answer (flags, authority and
// additional sections, TTLs, the record counts of each section), AAAA
// exactly where the template has one, NODATA for every type the template
// lacks (the same NODATA the backend gives a host), and a size that
// differs from a real host's only as its name's length does. Because every
// question at one name goes to the same template, a decoy's A, AAAA, MX
// and TXT answers are consistent with each other, and the same over UDP
// and TCP and through a cache.
//
// A template carries nothing but addresses, so a decoy carries no record
// of the zone but what every host answer of the backend carries (the
// zone's NS records and their glue), never a CNAME, an MX or TXT data.
//
// # Addresses
//
// A decoy address keeps its template address's network, the /24 of an
// IPv4 address or the /64 of an IPv6 one, and draws the rest by the keyed
// hash: a host byte from 1 to 254, or an interface identifier of as many
// significant bits as the template's (a host numbered ::10 gets decoys
// numbered like it, not 64 random bits). Templates are drawn evenly over
// the zone's hosts, so decoys fall in each network as often as the zone's
// hosts do, and every address of a network is as likely as any other: an
// address seen in a decoy says nothing about whether a host uses it, and
// addresses recur across decoys as they recur across hosts in a network.
// With networks given (Options.Networks), decoy addresses are drawn from
// them instead, evenly.
//
// # Keys
//
// Everything is a function of the Key and the name: the same decoy from
// every replica that holds the same key and the same zone, across
// reloads, and for every client. Templates sit on a ring by the hash of
// their names, and a name takes the next one on it, so a host added to or
// removed from the zone changes the decoys of the names next to it only.
// Nothing is kept per name or per client.
//
// The package knows nothing of CoreDNS: veil decides who gets a decoy and
// when, asks the backend for the template's answer, and counts.
package decoy
