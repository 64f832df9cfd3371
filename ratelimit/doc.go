// Package ratelimit is veil's enumeration limiter: it counts, per client
// prefix, the responses that deny a name's existence (the caller decides
// which: veil counts NXDOMAIN and NSEC walking steps, not NODATA) and, for
// stub-like clients, every response, and blocks a prefix that gets denials
// too fast (or too often) or answers too fast as a stub, in a fixed table
// that never grows and never forgets a heavy hitter.
//
// # Table
//
// The table is a preallocated array of 16-byte slots, grouped four to a
// 64-byte cache line. A key (prefix, transport) hashes to one line and
// to two distinct slots in it, and is charged in both; its estimate is the
// smaller of the two. This is a count-min sketch with two rows that share a
// cache line: another key can only add to a slot, never take away, so a
// collision can only overestimate a client's count, never underestimate it.
// A full table does not fail open and a heavy hitter cannot be evicted: there
// is no eviction. The cost is that an innocent key whose two slots are both
// shared with heavy hitters is overestimated; with the default table that
// needs thousands of concurrently active heavy prefixes.
//
// Each slot holds two 64-bit words, each updated with one compare-and-swap:
//
//   - the rate word, a leaky bucket: 28 bits of level in 1/256 denials and
//     36 bits of time in milliseconds. The level drains at the tier's rate.
//     A key trips when a denial takes its level over the burst; tripping sets
//     the level to burst + rate x block, so the key stays over the burst, and
//     blocked, for exactly the block time while the level drains.
//   - the ratio word: 32 bits of window number, 16 bits of responses and 16
//     bits of denials in the current window. A key counts in the ratio word
//     of its first slot only, so a positive answer costs one
//     compare-and-swap.
//
// # Fast paths
//
// A limiter keeps one more word, the horizon: the time from which no key is
// over its burst. Every trip, and every denial charged to a key already over
// its burst, pushes it to when that level will have drained. While the clock
// is past it, which is all the time no prefix is blocked, Blocked answers
// from that one word without reading the table. Keys whose slots are over
// their burst only because other keys were charged in them (a collision)
// are not blocked then; every key charged over its own burst is.
//
// A Probe hashes the client tier at once and the wider tiers only when a
// denial or a table read needs them, so a positive answer costs one hash
// and one atomic add on the client's ratio word.
//
// # Tiers
//
// Every response charges several prefixes of the client address at once,
// each with its own multiple of the limits: IPv4 /32 (x1) and /24 (x4),
// IPv6 /64 (x1), /56 (x4) and /48 (x16). Spraying source addresses inside a
// prefix (massdns --rand-src-ipv6) still lands in one budget. The ratio rule
// applies to the first tier of each family, the client.
//
// # Stub budget
//
// ObserveStub charges every response of a stub-like key (the caller
// decides which: veil's are clients that ask with recursion desired, and
// without EDNS or with DNSSEC OK) to a second leaky bucket per tier, kept
// in two more slots of the key's table under a hash of their own and
// drained at StubRate; over StubBurst the tier trips like any other, by
// blocking the key's ordinary slots. The caller charges it to UDP keys
// only: a TCP client's answers to its address's UDP key.
//
// # Transports
//
// A key says whether it came over a stream transport (TCP), whose source
// address cannot be spoofed, and is counted apart from UDP. The caller
// charges a TCP denial to the address's UDP key too, so one address has
// one denial budget however it splits its guesses, and never charges UDP
// evidence to a TCP key. A TCP key whose address is blocked over UDP is
// Suspect: it trips at SuspectBurst of its own denials, so a scanner that
// moves to TCP after its UDP block gets a handful more guesses, not a
// second budget, and a client whose address a spoofer got blocked loses
// nothing while it asks for names that exist.
//
// The package knows nothing of DNS: the caller says whether a response was a
// denial, and passes the time in.
package ratelimit
