package ratelimit

import (
	"encoding/binary"
	"net/netip"
)

// Tier identifies a prefix length charged for every response.
type Tier uint8

// The tiers, in charging order. The first of each family is the client tier.
const (
	TierV4Host Tier = iota // IPv4 /32
	TierV4Net              // IPv4 /24
	TierV6Net              // IPv6 /64
	TierV6Site             // IPv6 /56
	TierV6Org              // IPv6 /48
	NumTiers
)

// NoTier is returned where no tier applies.
const NoTier Tier = NumTiers

var (
	tierBits       = [NumTiers]int{32, 24, 64, 56, 48}
	tierMultiplier = [NumTiers]float64{1, 4, 1, 4, 16}
	tierNames      = [NumTiers]string{"v4_32", "v4_24", "v6_64", "v6_56", "v6_48"}
	v4Tiers        = []Tier{TierV4Host, TierV4Net}
	v6Tiers        = []Tier{TierV6Net, TierV6Site, TierV6Org}
)

// String returns a short, label-safe name such as "v4_24".
func (t Tier) String() string {
	if t >= NumTiers {
		return "none"
	}
	return tierNames[t]
}

// tiersOf returns the tiers that apply to addr. addr must be unmapped.
func tiersOf(addr netip.Addr) []Tier {
	if addr.Is4() {
		return v4Tiers
	}
	return v6Tiers
}

// tierMask holds each tier's prefix mask over prefixWord's 64 bits: every
// tier is at most 64 bits long (IPv4 /32, IPv6 /64 and shorter).
var tierMask = func() (m [NumTiers]uint64) {
	for t := range NumTiers {
		bits := tierBits[t]
		if t <= TierV4Net {
			bits += 32 // IPv4 sits in the low 32 bits
		}
		m[t] = ^(^uint64(0) >> bits)
	}
	return m
}()

// prefixWord returns the 64 bits of addr that tiers are cut from: the IPv4
// address, or the first half of an IPv6 address.
func prefixWord(addr netip.Addr) uint64 {
	if addr.Is4() {
		b := addr.As4()
		return uint64(binary.BigEndian.Uint32(b[:]))
	}
	b := addr.As16()
	return binary.BigEndian.Uint64(b[:8])
}
