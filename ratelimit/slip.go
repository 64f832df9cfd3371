package ratelimit

import (
	"encoding/binary"
	"net/netip"
)

// slipDomain keeps the slip hash apart from the table's hash, which uses
// the same seed.
const slipDomain = 0x736c6970 // "slip"

// Slips reports whether a query from a blocked key, sent over UDP, gets an
// empty truncated answer (so that a real client whose address a spoofer
// used retries over TCP) rather than none: when a hash of the client
// address, the message ID, the question type and name (ASCII case folded),
// keyed with the limiter's random seed, is 0 modulo Config.Slip. The
// choice depends on that query alone, never on other clients' traffic, so
// a victim whose prefix a scanner floods still gets about 1 in Slip
// truncated answers, and a spoofer who cannot see the seed cannot predict
// which of the victim's queries slip. It does not allocate.
func (l *Limiter) Slips(addr netip.Addr, id, qtype uint16, qname string) bool {
	switch l.cfg.Slip {
	case 0:
		return false
	case 1:
		return true
	}
	a := addr.As16()
	k0, k1 := l.seed[0], l.seed[1]^slipDomain
	h := mix(k0^binary.BigEndian.Uint64(a[:8]), k1^binary.BigEndian.Uint64(a[8:]))
	h = mix(h^uint64(id)<<16^uint64(qtype), k0)
	var word uint64
	for i := 0; i < len(qname); i++ {
		c := qname[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		word = word<<8 | uint64(c)
		if i%8 == 7 {
			h, word = mix(h^word, k1), 0
		}
	}
	h = mix(h^word, k1^uint64(len(qname)))
	return h%uint64(l.cfg.Slip) == 0
}
