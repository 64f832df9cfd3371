package ratelimit

import (
	"crypto/rand"
	"encoding/binary"
	"math"
	"math/bits"
	"net/netip"
	"sync/atomic"
	"unsafe"
)

// Limiter is a fixed-size, lock-free enumeration limiter. All methods are
// safe for concurrent use and do not allocate. Time is passed in as
// milliseconds on any monotonic clock the caller keeps consistent.
type Limiter struct {
	cfg   Config
	words []uint64 // the table: lines of 4 slots x 2 words, 64-byte aligned
	lines uint64   // number of lines, a power of two
	seed  [2]uint64

	// full is the bursts as configured, in level units; bursts, those in
	// force: full divided by the replicas that share the limit (SetShare).
	full   bursts
	bursts atomic.Pointer[bursts]
	// blockLevel is the level a trip sets, burst plus Block's drain, and
	// the most a rate bucket holds: a key charged on while blocked (veil
	// charges a flagged prefix it answers with decoys, and log-only) is
	// free again at most Block after its last denial.
	blockLevel [NumTiers]uint64
	// drainQ32 is the level units drained per millisecond in 32.32 fixed
	// point, rounded up so that a whole number of denials refills exactly;
	// over a day the rounding drains less than one level unit (1/256 of a
	// denial) too many.
	drainQ32 [NumTiers]uint64
	// The stub budget's (stub.go): burst and drain of each tier's bucket
	// of answers; a zero drain turns it off.
	stubDrainQ32 [NumTiers]uint64
	// stubCap caps a stub bucket, as blockLevel caps a rate bucket: a
	// key charged on while flagged (veil answers a flagged prefix with
	// decoys, and charges it) is free again at most Block after it stops.
	stubCap     [NumTiers]uint64
	windowMs    uint64
	winRecip    uint64 // ceil(2^64 / windowMs): now/windowMs as a multiply
	minCount    uint64
	ratio1024   uint64 // Ratio x 1024
	signedUnits uint64 // level units of a denial charged by ObserveSignedDenial
	blockMs     int64

	// horizon is a time (ms) from which no key is over its burst: every
	// trip and every denial charged over a burst pushes it to when that
	// level will have drained. While now is past it, which is all the time
	// no prefix is blocked, Blocked answers without reading the table.
	horizon atomic.Int64
}

// bursts are the bursts of each tier, in level units: of the denials
// (rate) and of the stub budget's answers (stub).
type bursts struct{ rate, stub [NumTiers]uint64 }

// SetShare divides the bursts by n, the replicas that share the limit
// through package cluster, at least 1: a client that spreads its queries
// over them gets about one burst before they hear of each other, and one
// that asks a single replica gets its share. (Past n = burst, a replica
// trips a client on its first charge, which is still at most one charge
// per replica.) Rates are not divided: the replicas charge each other's
// counts. Safe for concurrent use.
func (l *Limiter) SetShare(n int) {
	n = max(n, 1)
	b := l.full
	for t := range NumTiers {
		b.rate[t] /= uint64(n)
		b.stub[t] /= uint64(n)
	}
	l.bursts.Store(&b)
}

// horizonGrain rounds horizon up so that a key charged over its burst again
// and again (log-only mode) writes the shared word about once a second,
// not once a denial.
const horizonGrain = 1024

// New returns a limiter with a preallocated table of cfg.Slots slots
// (rounded up to a power of two, at least 4).
func New(cfg Config) (*Limiter, error) {
	l, err := withLimits(cfg)
	if err != nil {
		return nil, err
	}
	// 8 words a line, plus 7 so the first line can start on 64 bytes.
	raw := make([]uint64, l.lines*8+7)
	off := 0
	for uintptr(unsafe.Pointer(&raw[off]))%64 != 0 {
		off++
	}
	l.words = raw[off : off+int(l.lines*8)]
	var s [16]byte
	if _, err := rand.Read(s[:]); err != nil {
		return nil, err
	}
	l.seed = [2]uint64{binary.LittleEndian.Uint64(s[:8]), binary.LittleEndian.Uint64(s[8:])}
	return l, nil
}

// withLimits returns a limiter without a table: cfg's limits in the
// table's units.
func withLimits(cfg Config) (*Limiter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	lines := tableLines(cfg.Slots)
	l := &Limiter{cfg: cfg, lines: lines}
	l.cfg.Slots = int(lines * 4)
	for t := range NumTiers {
		m := tierMultiplier[t]
		l.full.rate[t] = uint64(cfg.Burst * m * levelScale)
		l.blockLevel[t] = uint64((cfg.Burst + cfg.Rate*cfg.Block.Seconds()) * m * levelScale)
		l.drainQ32[t] = uint64(math.Ceil(cfg.Rate * m * levelScale / 1000 * (1 << 32)))
		l.full.stub[t] = uint64(cfg.StubBurst * m * levelScale)
		l.stubDrainQ32[t] = uint64(math.Ceil(cfg.StubRate * m * levelScale / 1000 * (1 << 32)))
		l.stubCap[t] = min(uint64((cfg.StubBurst+cfg.StubRate*cfg.Block.Seconds())*m*levelScale), maxLevel)
	}
	b := l.full
	l.bursts.Store(&b)
	l.windowMs = uint64(max(cfg.Window.Milliseconds(), 1))
	l.winRecip = ^uint64(0)/l.windowMs + 1
	l.minCount = uint64(cfg.MinCount)
	l.ratio1024 = uint64(cfg.Ratio * 1024)
	l.signedUnits = levelScale
	if cfg.SignedWeight > 0 {
		l.signedUnits = max(uint64(cfg.SignedWeight*levelScale), 1)
	}
	l.blockMs = cfg.Block.Milliseconds()
	return l, nil
}

// tableLines returns the lines of 4 slots a table of at least slots
// slots has: a power of two.
func tableLines(slots int) uint64 {
	lines := uint64(1)
	for lines*4 < uint64(slots) {
		lines <<= 1
	}
	return lines
}

// Key identifies what is counted: a client address (tiers are derived from
// it) and whether the transport is a stream (TCP), which is counted apart
// from UDP since its source address cannot be spoofed. A caller keeps one
// Limiter per zone, so the zone is not part of the key.
type Key struct {
	Addr   netip.Addr
	Stream bool
}

// Probe holds a key's hashed form and the table positions of its tiers, so
// a query hashes once for Blocked and Observe. Positions are computed when
// first needed: a positive answer, which only touches the client tier's
// ratio word, hashes one tier; a denial or a table read hashes them all.
type Probe struct {
	word   uint64 // the address bits the tiers are cut from
	meta   uint64 // the transport
	first  Tier   // the family's client tier; the others follow it
	n      int    // tiers in the family
	hashed int    // tiers whose slots are computed
	slots  [3][2]uint64

	// Suspect marks a TCP key whose address is blocked over UDP: the
	// scanner that tripped there and came back over TCP, or a client whose
	// address a spoofer used. It trips once its own denials go over
	// SuspectBurst (or the burst, if lower), so a scanner cannot start a
	// second budget by switching transports, while a client that asks
	// for names that exist never meets it: only the TCP key's own
	// denials count, never its answers, never anything sent over UDP.
	Suspect bool
}

// SuspectBurst is the denial burst of a Suspect key: a TCP client whose
// address is blocked over UDP is blocked over TCP too once it receives
// more than this many denials faster than the rate drains them.
const SuspectBurst = 5

// Probe fills p with k's table position for the client tier. It does not
// touch the table.
func (l *Limiter) Probe(k Key, p *Probe) {
	// The tiers of a family are consecutive: IPv4 /32 and /24, IPv6 /64,
	// /56 and /48. word holds the bits they are cut from.
	if k.Addr.Is4() {
		b := k.Addr.As4()
		p.word = uint64(binary.BigEndian.Uint32(b[:]))
		p.first, p.n = TierV4Host, 2
	} else {
		b := k.Addr.As16()
		p.word = binary.BigEndian.Uint64(b[:8])
		p.first, p.n = TierV6Net, 3
	}
	p.meta = 0
	if k.Stream {
		p.meta = 1
	}
	p.hashed = 0
	l.hash(p, 1)
	p.Suspect = false
}

// hash computes the slots of p's first upto tiers.
func (l *Limiter) hash(p *Probe, upto int) {
	for i := p.hashed; i < upto; i++ {
		t := p.first + Tier(i)
		h := mix(p.word&tierMask[t]^l.seed[0], p.meta|uint64(t)<<8^l.seed[1])
		line := (h & (l.lines - 1)) * 8
		// Two distinct slots of the line's four: the first from two hash
		// bits, the second one of the other three.
		s1 := (h >> 32) & 3
		s2 := (s1 + 1 + ((h>>40)&0xffff*3)>>16) & 3
		p.slots[i] = [2]uint64{line + s1*2, line + s2*2}
	}
	p.hashed = max(p.hashed, upto)
}

// mix is a seeded 128-to-64-bit hash: one 64x64->128 multiply of the two
// words, folded, then the splitmix64 finaliser.
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a^0x9e3779b97f4a7c15, b^0xbf58476d1ce4e5b9)
	h := hi ^ lo
	h ^= h >> 31
	h *= 0x94d049bb133111eb
	return h ^ h>>29
}

// level returns the rate word's level drained to now.
func (l *Limiter) level(w uint64, t Tier, now uint64) uint64 {
	return levelAt(w, l.drainQ32[t], now)
}

// levelAt returns the level of a bucket word that drains drainQ32 level
// units a millisecond (32.32 fixed point), drained to now.
func levelAt(w, drainQ32, now uint64) uint64 {
	lvl := w >> timeBits
	if lvl == 0 {
		return 0
	}
	elapsed := (now - w) & timeMask
	hi, lo := bits.Mul64(elapsed, drainQ32)
	if hi>>32 != 0 {
		return 0 // drained more than 2^64 units: empty
	}
	if d := hi<<32 | lo>>32; d < lvl {
		return lvl - d
	}
	return 0
}

// window returns the ratio window that now falls in. The multiply by the
// precomputed reciprocal is exact for 36-bit times and saves a division,
// the most expensive instruction on the positive-answer path.
func (l *Limiter) window(now uint64) uint64 {
	hi, _ := bits.Mul64(now, l.winRecip)
	return hi & 0xffffffff
}

// Blocked reports whether k is blocked at time now, and by which tier
// (NoTier if not). It only reads the table.
func (l *Limiter) Blocked(k Key, now int64) (bool, Tier) {
	if !l.AnyBlocked(now) {
		return false, NoTier
	}
	var p Probe
	l.Probe(k, &p)
	return l.blockedInTable(&p, now)
}

// AnyBlocked reports whether any key may be blocked at now. When it is
// false, Blocked is false for every key, so a caller can skip it. The
// answer costs one atomic load of a word written only by trips.
func (l *Limiter) AnyBlocked(now int64) bool { return now < l.horizon.Load() }

// blockedInTable is Blocked read from the table alone.
func (l *Limiter) blockedInTable(p *Probe, now int64) (bool, Tier) {
	n := uint64(now)
	b := l.bursts.Load()
	l.hash(p, p.n)
	for i := range p.n {
		t, s := p.first+Tier(i), p.slots[i]
		if l.level(atomic.LoadUint64(&l.words[s[0]]), t, n) <= b.rate[t] {
			continue
		}
		if l.level(atomic.LoadUint64(&l.words[s[1]]), t, n) > b.rate[t] {
			return true, t
		}
	}
	return false, NoTier
}
