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

	burst      [NumTiers]uint64 // level units
	blockLevel [NumTiers]uint64 // level units set on a trip
	// drainQ32 is the level units drained per millisecond in 32.32 fixed
	// point, rounded up so that a whole number of denials refills exactly;
	// over a day the rounding drains less than one level unit (1/256 of a
	// denial) too many.
	drainQ32  [NumTiers]uint64
	windowMs  uint64
	winRecip  uint64 // ceil(2^64 / windowMs): now/windowMs as a multiply
	minCount  uint64
	ratio1024 uint64 // Ratio x 1024
	blockMs   int64

	// horizon is a time (ms) from which no key is over its burst: every
	// trip and every denial charged over a burst pushes it to when that
	// level will have drained. While now is past it, which is all the time
	// no prefix is blocked, Blocked answers without reading the table.
	horizon atomic.Int64
}

// horizonGrain rounds horizon up so that a key charged over its burst again
// and again (log-only mode) writes the shared word about once a second,
// not once a denial.
const horizonGrain = 1024

// New returns a limiter with a preallocated table of cfg.Slots slots
// (rounded up to a power of two, at least 4).
func New(cfg Config) (*Limiter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	lines := uint64(1)
	for lines*4 < uint64(cfg.Slots) {
		lines <<= 1
	}
	l := &Limiter{cfg: cfg, lines: lines}
	l.cfg.Slots = int(lines * 4)
	// 8 words a line, plus 7 so the first line can start on 64 bytes.
	raw := make([]uint64, lines*8+7)
	off := 0
	for uintptr(unsafe.Pointer(&raw[off]))%64 != 0 {
		off++
	}
	l.words = raw[off : off+int(lines*8)]
	var s [16]byte
	if _, err := rand.Read(s[:]); err != nil {
		return nil, err
	}
	l.seed = [2]uint64{binary.LittleEndian.Uint64(s[:8]), binary.LittleEndian.Uint64(s[8:])}
	for t := range NumTiers {
		m := tierMultiplier[t]
		l.burst[t] = uint64(cfg.Burst * m * levelScale)
		l.blockLevel[t] = uint64((cfg.Burst + cfg.Rate*cfg.Block.Seconds()) * m * levelScale)
		l.drainQ32[t] = uint64(math.Ceil(cfg.Rate * m * levelScale / 1000 * (1 << 32)))
	}
	l.windowMs = uint64(max(cfg.Window.Milliseconds(), 1))
	l.winRecip = ^uint64(0)/l.windowMs + 1
	l.minCount = uint64(cfg.MinCount)
	l.ratio1024 = uint64(cfg.Ratio * 1024)
	l.blockMs = cfg.Block.Milliseconds()
	return l, nil
}

// Config returns the limiter's configuration, with Slots as allocated.
func (l *Limiter) Config() Config { return l.cfg }

// Key identifies what is counted: a client address (tiers are derived from
// it), the zone index and whether the transport is a stream (TCP), which is
// counted apart from UDP since its source address cannot be spoofed.
type Key struct {
	Addr   netip.Addr
	Zone   uint16
	Stream bool
}

// Probe holds a key's hashed form and the table positions of its tiers, so
// a query hashes once for Blocked and Observe. Positions are computed when
// first needed: a positive answer, which only touches the client tier's
// ratio word, hashes one tier; a denial or a table read hashes them all.
type Probe struct {
	word   uint64 // the address bits the tiers are cut from
	meta   uint64 // zone and transport
	first  Tier   // the family's client tier; the others follow it
	n      int    // tiers in the family
	hashed int    // tiers whose slots are computed
	slots  [3][2]uint64

	// Suspect marks a key whose address is already blocked on the other
	// transport: a TCP client whose UDP traffic tripped. Its ratio rule
	// applies from SuspectMinCount responses, so a scanner that falls back
	// to TCP after a block cannot trickle on below the usual minimum, while
	// a real client whose address was spoofed, asking mostly for names that
	// exist, is not affected.
	Suspect bool
}

// SuspectMinCount is the ratio rule's minimum count for a Suspect key (or
// the configured MinCount, if smaller).
const SuspectMinCount = 5

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
	p.meta = uint64(k.Zone) << 16
	if k.Stream {
		p.meta |= 1
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
	lvl := w >> timeBits
	if lvl == 0 {
		return 0
	}
	elapsed := (now - w) & timeMask
	hi, lo := bits.Mul64(elapsed, l.drainQ32[t])
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
	var p Probe
	l.Probe(k, &p)
	return l.BlockedProbe(&p, now)
}

// AnyBlocked reports whether any key may be blocked at now. When it is
// false, Blocked is false for every key, so a caller can skip it. The
// answer costs one atomic load of a word written only by trips.
func (l *Limiter) AnyBlocked(now int64) bool { return now < l.horizon.Load() }

// BlockedProbe is Blocked for a key already probed.
func (l *Limiter) BlockedProbe(p *Probe, now int64) (bool, Tier) {
	if !l.AnyBlocked(now) {
		return false, NoTier
	}
	return l.blockedInTable(p, now)
}

// blockedInTable is BlockedProbe read from the table alone.
func (l *Limiter) blockedInTable(p *Probe, now int64) (bool, Tier) {
	n := uint64(now)
	l.hash(p, p.n)
	for i := range p.n {
		t, s := p.first+Tier(i), p.slots[i]
		if l.level(atomic.LoadUint64(&l.words[s[0]]), t, n) <= l.burst[t] {
			continue
		}
		if l.level(atomic.LoadUint64(&l.words[s[1]]), t, n) > l.burst[t] {
			return true, t
		}
	}
	return false, NoTier
}

// Result is what Observe did.
type Result struct {
	// Tripped is the tier whose limit this response broke, or NoTier.
	Tripped Tier
	// ByRatio is set when the ratio rule, not the rate, tripped it.
	ByRatio bool
	// Collision is set when the key's two slots disagreed: another key has
	// been charged in one of them, so the estimate is the other.
	Collision bool
}

// Observe charges a response to k at time now: a denial to every tier's
// rate bucket, and every response to the client tier's ratio window. A tier
// trips when this denial takes it over its burst, or when the ratio rule
// holds for the client tier; a tier that trips is blocked. A key that is
// already blocked (veil in log-only mode still answers it) does not trip
// again until its block has drained.
func (l *Limiter) Observe(k Key, denial bool, now int64) Result {
	var p Probe
	l.Probe(k, &p)
	return l.ObserveProbe(&p, denial, now)
}

// ObserveProbe is Observe for a key already probed.
func (l *Limiter) ObserveProbe(p *Probe, denial bool, now int64) Result {
	if !denial {
		l.ObservePositive(p, now)
		return Result{Tripped: NoTier}
	}
	return l.observeDenial(p, now)
}

// ObservePositive is ObserveProbe for an answer that is not a denial, which
// cannot trip anything: it only counts in the client tier's ratio word. It
// is small enough to inline into the caller's per-answer path.
func (l *Limiter) ObservePositive(p *Probe, now int64) {
	if l.ratio1024 != 0 {
		l.addRatio(p.slots[0][0]+1, uint64(now)&timeMask, false)
	}
}

// observeDenial is ObserveProbe for a denial: it charges every tier's rate
// bucket and the client tier's ratio word.
func (l *Limiter) observeDenial(p *Probe, now int64) Result {
	n := uint64(now) & timeMask
	res := Result{Tripped: NoTier}
	blocked := false // over a burst before this response: no new trip
	var levels [3]uint64
	l.hash(p, p.n)
	for i := range p.n {
		t, s := p.first+Tier(i), p.slots[i]
		la := l.addLevel(s[0], t, n, levelScale)
		lb := l.addLevel(s[1], t, n, levelScale)
		res.Collision = res.Collision || la != lb
		levels[i] = min(la, lb)
		blocked = blocked || levels[i]-levelScale > l.burst[t]
	}
	var until int64
	for i := range p.n {
		t := p.first + Tier(i)
		if levels[i] <= l.burst[t] {
			continue
		}
		if !blocked {
			until = max(until, now+l.blockMs+1)
			l.extendHorizon(until)
			l.block(p.slots[i][0], p.slots[i][1], t, n)
			res.Tripped = t
			blocked = true
			continue
		}
		// Over its burst already (blocked, or charged on in log-only
		// mode): the horizon must cover the drain.
		until = max(until, l.drainedAt(now, levels[i]-l.burst[t], t))
	}
	if until != 0 {
		l.extendHorizon(until)
	}
	if l.ratio1024 == 0 {
		return res
	}
	// One ratio word per key, the first slot's: collisions add to both
	// counts, and one atomic add keeps positive answers cheap.
	client, a, b := p.first, p.slots[0][0], p.slots[0][1]
	total, denials := l.addRatio(a+1, n, true)
	minCount := l.minCount
	if p.Suspect {
		minCount = min(minCount, SuspectMinCount)
	}
	if !blocked && total >= minCount && denials*1024 >= l.ratio1024*total {
		l.extendHorizon(now + l.blockMs + 1)
		l.block(a, b, client, n)
		res.Tripped, res.ByRatio = client, true
	}
	return res
}

// addLevel drains the rate word at i to now, adds units and returns the new
// level.
func (l *Limiter) addLevel(i uint64, t Tier, now, units uint64) uint64 {
	for {
		old := atomic.LoadUint64(&l.words[i])
		lvl := min(l.level(old, t, now)+units, maxLevel)
		if atomic.CompareAndSwapUint64(&l.words[i], old, lvl<<timeBits|now) {
			return lvl
		}
	}
}

// drainedAt returns the time at which excess level units of tier t will
// have drained, counted from now.
func (l *Limiter) drainedAt(now int64, excess uint64, t Tier) int64 {
	d := l.drainQ32[t]
	return now + int64((excess<<32+d-1)/d) + 1
}

// extendHorizon moves the horizon to at least until, rounded up to
// horizonGrain. A query that races with the trip blocking its own prefix
// may pass, as it may when it reads the table just before the trip.
func (l *Limiter) extendHorizon(until int64) {
	until = (until + horizonGrain) &^ (horizonGrain - 1)
	for {
		cur := l.horizon.Load()
		if cur >= until || l.horizon.CompareAndSwap(cur, until) {
			return
		}
	}
}

// block raises both slots of a key to the tier's blocked level, so the key
// stays over its burst for the block time.
func (l *Limiter) block(a, b uint64, t Tier, now uint64) {
	for _, i := range [2]uint64{a, b} {
		for {
			old := atomic.LoadUint64(&l.words[i])
			if l.level(old, t, now) >= l.blockLevel[t] {
				break
			}
			if atomic.CompareAndSwapUint64(&l.words[i], old, l.blockLevel[t]<<timeBits|now) {
				break
			}
		}
	}
}

// ratioAddMargin keeps the ratio word's 16-bit counts from carrying into the
// window field when concurrent atomic adds race past the saturation check:
// it bounds how many goroutines may add at once near saturation.
const ratioAddMargin = 4096

// addRatio counts a response in the ratio word at i for the current window
// and returns the window's responses and denials.
func (l *Limiter) addRatio(i, now uint64, denial bool) (total, denials uint64) {
	win := l.window(now)
	for {
		old := atomic.LoadUint64(&l.words[i])
		total, denials = old>>16&maxCount, old&maxCount
		if old>>32 == win && total < maxCount-ratioAddMargin {
			// The window is current and far from saturation: one atomic
			// add, which cannot fail, instead of a compare-and-swap loop
			// that contends when many queries of one client arrive at once.
			var inc uint64 = 1 << 16
			if denial {
				inc |= 1
			}
			w := atomic.AddUint64(&l.words[i], inc)
			return w >> 16 & maxCount, w & maxCount
		}
		if old>>32 != win {
			total, denials = 0, 0
		}
		nt, nd := min(total+1, maxCount), denials
		if denial {
			nd = min(denials+1, maxCount)
		}
		if old>>32 == win && nt == total && nd == denials {
			// Saturated: the counts cannot grow, so nothing is written and
			// a client this busy does not contend on its word.
			return total, denials
		}
		total, denials = nt, nd
		if atomic.CompareAndSwapUint64(&l.words[i], old, win<<32|total<<16|denials) {
			return total, denials
		}
	}
}

// Occupancy returns how many slots hold state that still matters at now: a
// rate level above zero or counts in the current ratio window.
func (l *Limiter) Occupancy(now int64) (used, total int) {
	n := uint64(now) & timeMask
	win := l.window(n)
	for i := 0; i < len(l.words); i += 2 {
		rw, qw := atomic.LoadUint64(&l.words[i]), atomic.LoadUint64(&l.words[i+1])
		// Tier does not matter for "above zero" except for the drain speed;
		// use the slowest (client) drain so a slot counts as long as any
		// tier could still need it.
		if l.level(rw, TierV4Host, n) > 0 || (qw != 0 && qw>>32 == win) {
			used++
		}
	}
	return used, len(l.words) / 2
}
