package ratelimit

import (
	"errors"
	"fmt"
	"time"
)

// Config holds the limits of the client tier (IPv4 /32, IPv6 /64); wider
// tiers get multiples of Rate and Burst.
type Config struct {
	// Rate is the sustained number of denials per second a client prefix
	// may receive.
	Rate float64
	// Burst is how many denials beyond the rate a prefix may receive at once.
	Burst float64
	// Ratio, MinCount and Window form the ratio rule: a prefix trips when at
	// least Ratio of at least MinCount responses in the current Window were
	// denials. Ratio 0 disables the rule.
	Ratio    float64
	MinCount int
	Window   time.Duration
	// Block is how long a prefix that tripped stays blocked.
	Block time.Duration
	// Slots is the size of the table; it is rounded up to a power of two
	// times four. Each slot costs SlotBytes.
	Slots int
	// Slip is how often a blocked query over UDP gets an empty truncated
	// answer rather than none: about 1 in Slip (Limiter.Slips); 0 never.
	Slip int
	// StubRate and StubBurst are the stub budget (ObserveStub): the
	// answers per second, of any kind, and the answers beyond that at once,
	// that a stub-like client may get. StubRate 0 turns it off.
	StubRate  float64
	StubBurst float64
	// SignedWeight, if above 0, is how much a denial charged with
	// ObserveSignedDenial counts against Rate and Burst, instead of 1: the
	// caller's way to judge some denials at looser limits (veil's, those
	// that carry DNSSEC records, which it cannot answer with a decoy).
	SignedWeight float64
}

// widestMultiplier is the multiplier of the widest tier, whose levels are
// the highest.
var widestMultiplier = tierMultiplier[len(tierMultiplier)-1]

// SlotBytes is the memory cost of one table slot.
const SlotBytes = 16

// DefaultConfig returns the defaults veil uses when a flagged prefix gets
// decoys; docs/operations.md (Why these defaults) explains them.
func DefaultConfig() Config {
	return Config{
		Rate:      1,
		Burst:     5,
		Ratio:     0, // off: docs/operations.md, Why these defaults
		MinCount:  20,
		Window:    30 * time.Second,
		Block:     120 * time.Second,
		Slots:     1 << 18,
		Slip:      1,
		StubRate:  1,
		StubBurst: 2,
	}
}

const (
	levelBits  = 28
	timeBits   = 36
	levelScale = 256 // level units per denial
	maxLevel   = 1<<levelBits - 1
	timeMask   = 1<<timeBits - 1
	maxCount   = 1<<16 - 1
	maxSlots   = 1 << 30
)

// Validate reports the first setting that is out of range.
func (c Config) Validate() error {
	switch {
	case c.Rate <= 0 || c.Rate > 1e6:
		return fmt.Errorf("rate %v out of range (0, 1000000]", c.Rate)
	case c.Burst < 1:
		return fmt.Errorf("burst %v must be at least 1", c.Burst)
	case c.Ratio < 0 || c.Ratio > 1:
		return fmt.Errorf("ratio %v out of range [0, 1]", c.Ratio)
	case c.Ratio > 0 && (c.MinCount < 1 || c.MinCount > maxCount):
		return fmt.Errorf("ratio minimum count %d out of range [1, %d]", c.MinCount, maxCount)
	case c.Ratio > 0 && (c.Window < time.Second || c.Window > 24*time.Hour):
		return fmt.Errorf("ratio window %v out of range [1s, 24h]", c.Window)
	case c.Block < time.Second || c.Block > 24*time.Hour:
		return fmt.Errorf("block %v out of range [1s, 24h]", c.Block)
	case c.Slots < 4 || c.Slots > maxSlots:
		return fmt.Errorf("table %d slots out of range [4, %d]", c.Slots, maxSlots)
	case c.Slip < 0 || c.Slip > 255:
		return fmt.Errorf("slip %d out of range [0, 255]", c.Slip)
	case c.StubRate < 0 || c.StubRate > 1e6:
		return fmt.Errorf("stub rate %v out of range [0, 1000000]", c.StubRate)
	case c.SignedWeight < 0 || c.SignedWeight > 1:
		return fmt.Errorf("signed weight %v out of range [0, 1]", c.SignedWeight)
	case c.StubRate > 0 && (c.StubBurst < 1 || c.StubBurst*widestMultiplier*levelScale >= maxLevel):
		return fmt.Errorf("stub burst %v out of range [1, %d]", c.StubBurst, int(maxLevel/widestMultiplier/levelScale))
	}
	// The widest tier's blocked level must fit the level field.
	if lvl := (c.Burst + c.Rate*c.Block.Seconds()) * widestMultiplier * levelScale; lvl >= maxLevel {
		return errors.New("burst + rate x block is too large for the table's level field; lower rate, burst or block")
	}
	return nil
}
