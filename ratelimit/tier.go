package ratelimit

// Tier identifies a prefix length charged for every response.
type Tier uint8

// The tiers, in charging order. The first of each family is the client tier;
// the tiers of a family are consecutive (Probe relies on it).
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
)

// String returns a short, label-safe name such as "v4_24".
func (t Tier) String() string {
	if t >= NumTiers {
		return "none"
	}
	return tierNames[t]
}

// tierMask holds each tier's prefix mask over the 64 bits Probe cuts tiers
// from (the IPv4 address in the low 32 bits, or the first half of an IPv6
// address): every tier is at most 64 bits long.
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
