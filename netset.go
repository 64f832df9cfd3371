package veil

import (
	"encoding/binary"
	"net/netip"
)

// netSet is a prefixSet compiled for the hot path: IPv4 and IPv6 networks
// apart, each as masked integers, so a lookup is a few integer compares per
// network of the client's family and nothing for the other family.
type netSet struct {
	v4 []net4
	v6 []net6
}

type net4 struct{ ip, mask uint32 }

type net6 struct{ hi, lo, mhi, mlo uint64 }

func newNetSet(ps prefixSet) netSet {
	var s netSet
	for _, p := range ps {
		bits := p.Bits()
		if p.Addr().Is4() {
			b := p.Addr().As4()
			mask := ^uint32(0) << (32 - bits)
			if bits == 0 {
				mask = 0
			}
			s.v4 = append(s.v4, net4{binary.BigEndian.Uint32(b[:]) & mask, mask})
			continue
		}
		b := p.Addr().As16()
		mhi, mlo := mask64(bits), mask64(bits-64)
		s.v6 = append(s.v6, net6{binary.BigEndian.Uint64(b[:8]) & mhi, binary.BigEndian.Uint64(b[8:]) & mlo, mhi, mlo})
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

// contains reports whether addr (unmapped, without zone) is in the set.
func (s *netSet) contains(addr netip.Addr) bool {
	if addr.Is4() {
		if len(s.v4) == 0 {
			return false
		}
		b := addr.As4()
		x := binary.BigEndian.Uint32(b[:])
		for _, n := range s.v4 {
			if x&n.mask == n.ip {
				return true
			}
		}
		return false
	}
	if len(s.v6) == 0 || !addr.Is6() {
		return false
	}
	b := addr.As16()
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	for _, n := range s.v6 {
		if hi&n.mhi == n.hi && lo&n.mlo == n.lo {
			return true
		}
	}
	return false
}
