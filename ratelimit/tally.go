package ratelimit

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"sync/atomic"
)

// Charge is the kind of answer a Tally counts.
type Charge uint8

// The charges a Tally keeps apart.
const (
	ChargeDenial Charge = iota // a denial, charged with ObserveDenial
	ChargeStub                 // any answer to a stub-like client, charged with ObserveStub
	NumCharges
)

// TallySlotBytes is the memory cost of one Tally slot: a key word and a
// state word.
const TallySlotBytes = 16

// TallyClasses is how many sub-tables a Tally keeps, one per charge, family
// and transport: an IPv6 /64 uses all 64 bits of a key word, so the class
// cannot share the word and has a table of its own. A Tally of s slots
// costs TallyClasses * s * TallySlotBytes bytes.
const TallyClasses = int(NumCharges) * 2 * 2

// tallyProbes bounds the linear probe sequence of a key.
const tallyProbes = 8

// tallyRetries bounds how often Add or Drain retries a compare-and-swap that
// another goroutine's write made fail; each failure is another goroutine's
// progress, so the bound is only hit under extreme contention.
const tallyRetries = 256

// The state word of a slot: the count in the low 32 bits, the slot's state
// in the next 2, a generation in the top 30. Every change of the word that
// can change what the slot's key word means (claim, free) also changes the
// state or generation, so a compare-and-swap from a value read before the
// key word proves the key word still belongs to that value.
const (
	countMask  = 1<<32 - 1
	stateShift = 32
	stateMask  = 3 << stateShift
	genShift   = 34
	stateFree  = 0 << stateShift // no key; count 0
	stateClaim = 1 << stateShift // one goroutine is writing the key word
	stateLive  = 2 << stateShift // the key word holds the slot's key
)

// Tally counts, between two drains, the charges of each client key: what a
// replica tells the others. Fixed size, preallocated, lock-free; Add never
// allocates.
//
// A slot goes Free(g) -> Claim(g) -> Live(g, count) -> Free(g+1). Only the
// goroutine whose compare-and-swap took Free(g) to Claim(g) writes the key
// word, before it publishes Live(g, 1). Add and Drain read the state word
// (Live(g, c)), then the key word, then change the state word with a
// compare-and-swap from Live(g, c): its success proves the slot stayed
// Live(g) throughout, so the key read is the slot's key and a count is
// never credited to or reported for another key. The argument fails only if
// the generation (30 bits) wraps between one goroutine's read and its
// compare-and-swap, a billion frees and claims of one slot later.
type Tally struct {
	words []uint64 // TallyClasses tables of slots x [key, state]
	slots uint64   // per class, a power of two
	seed  [2]uint64
}

// NewTally returns a Tally of slots slots per class (rounded up to a power
// of two, at least 64): TallyClasses * slots * TallySlotBytes bytes.
func NewTally(slots int) *Tally {
	n := uint64(64)
	for n < uint64(max(slots, 0)) && n < maxSlots {
		n <<= 1
	}
	// Seeded so that a client cannot choose keys that crowd another's
	// probe sequence; math/rand/v2's generator is seeded unpredictably.
	return &Tally{
		words: make([]uint64, uint64(TallyClasses)*n*2),
		slots: n,
		seed:  [2]uint64{rand.Uint64(), rand.Uint64()},
	}
}

// class returns the sub-table of a charge of the probed key.
func (t *Tally) class(p *Probe, c Charge) uint64 {
	cl := uint64(c)<<2 | p.meta&1
	if p.first == TierV6Net {
		cl |= 2
	}
	return cl
}

// Add counts one charge of the probed key's client tier prefix (the IPv4
// address, or the IPv6 /64) and transport. It returns false, counting
// nothing, when the key finds no slot in its probe sequence (the table is
// full there), when its count reached 2^32-1 since the last drain, when
// compare-and-swaps kept failing under extreme contention, or when c is not
// a charge; the caller counts that as dropped. A true is counted exactly
// once by Drain. It never allocates and takes no lock.
func (t *Tally) Add(p *Probe, c Charge) bool {
	if c >= NumCharges {
		return false
	}
	cl := t.class(p, c)
	k := p.word & tierMask[p.first]
	base := cl * t.slots * 2
	home := mix(k^t.seed[0], cl^t.seed[1])
	for range tallyRetries {
		i, s, found := t.find(base, home, k)
		switch found {
		case findFull:
			return false
		case findLive:
			if ok, done := t.inc(i+1, s); done {
				return ok
			}
		case findFree:
			// Claim the free slot, then write the key and publish it
			// with the first charge counted.
			if atomic.CompareAndSwapUint64(&t.words[i+1], s, s|stateClaim) {
				atomic.StoreUint64(&t.words[i], k)
				atomic.StoreUint64(&t.words[i+1], s|stateLive|1)
				return true
			}
		}
		// The slot changed meanwhile: look again.
	}
	return false
}

// What find found.
const (
	findFull  = iota // neither k nor a free slot
	findLive         // k's Live slot
	findFree         // no slot of k's, and a free one
	findAgain        // a slot turned into k's meanwhile: look again
)

// find looks for key word k in its probe sequence from home in the class
// table at base. It returns the slot's first word and its state word as
// read. It looks at the whole sequence before it offers a free slot:
// freed slots leave holes, and claiming the first one would give k a
// second slot.
func (t *Tally) find(base, home, k uint64) (i, s uint64, found int) {
	found = findFull
	for j := range uint64(tallyProbes) {
		at := base + (home+j)&(t.slots-1)*2
		w := atomic.LoadUint64(&t.words[at+1])
		switch w & stateMask {
		case stateLive:
			if atomic.LoadUint64(&t.words[at]) == k {
				return at, w, findLive
			}
		case stateClaim:
			if t.waitClaim(at+1) && atomic.LoadUint64(&t.words[at]) == k {
				return at, 0, findAgain
			}
		case stateFree:
			if found == findFull {
				i, s, found = at, w, findFree
			}
		}
	}
	return i, s, found
}

// inc adds one to the count of the Live state word at i, read as s, as long
// as the slot keeps its generation. done is false when the slot changed
// generation (freed, and perhaps claimed for another key); ok is false when
// the count is saturated or contention outlasted the retries.
func (t *Tally) inc(i, s uint64) (ok, done bool) {
	for range tallyRetries {
		if s&countMask == countMask {
			return false, true
		}
		if atomic.CompareAndSwapUint64(&t.words[i], s, s+1) {
			return true, true
		}
		n := atomic.LoadUint64(&t.words[i])
		if n&^countMask != s&^countMask {
			return false, false
		}
		s = n
	}
	return false, true
}

// waitClaim waits, a bounded while, for a claimed slot's state word at i to
// turn Live, and reports whether it did. A claim lasts two stores, so the
// wait is short unless the claimer was descheduled; then the caller goes on
// and its key may get a second slot, whose counts Drain reports apart.
func (t *Tally) waitClaim(i uint64) bool {
	for range tallyRetries {
		if atomic.LoadUint64(&t.words[i])&stateMask == stateLive {
			return true
		}
	}
	return false
}

// Count is one key's charges between two drains.
type Count struct {
	// Key.Addr is the client tier prefix's address: the IPv4 address, or
	// the IPv6 address with its low 64 bits zero; Key.Stream the transport.
	Key    Key
	Charge Charge
	N      uint32
}

// Drain reports every key counted since the previous drain, with its count,
// and resets the count; a key whose count stayed zero since the previous
// drain is freed, so the table does not fill with stale keys. One
// goroutine at a time may drain. An Add that races with Drain is counted
// either in this drain or in the next, never lost nor reported for another
// key; when two goroutines charge a new key at once, it may (rarely) get two
// slots and be reported in two Counts that add up. A slot whose
// compare-and-swap keeps failing (a hot key under extreme contention) is
// left to the next drain.
func (t *Tally) Drain(f func(Count)) {
	for cl := range uint64(TallyClasses) {
		base := cl * t.slots * 2
		for j := range t.slots {
			i := base + j*2
			if atomic.LoadUint64(&t.words[i+1])&stateMask != stateLive {
				continue // most slots: skipped without a call
			}
			if c, ok := t.drainSlot(i, cl); ok {
				f(c)
			}
		}
	}
}

// drainSlot resets or frees the slot at i of class cl, and returns its
// count when it had one.
func (t *Tally) drainSlot(i, cl uint64) (Count, bool) {
	for range tallyRetries {
		s := atomic.LoadUint64(&t.words[i+1])
		if s&stateMask != stateLive {
			return Count{}, false
		}
		k := atomic.LoadUint64(&t.words[i])
		n := s & countMask
		if n == 0 {
			// Zero since the previous drain reset it (a claim starts at
			// one): free it, moving to the next generation so that an Add
			// that read Live fails its compare-and-swap.
			next := (s&^(countMask|stateMask) + 1<<genShift) | stateFree
			if atomic.CompareAndSwapUint64(&t.words[i+1], s, next) {
				return Count{}, false
			}
			continue
		}
		if atomic.CompareAndSwapUint64(&t.words[i+1], s, s&^countMask) {
			return Count{Key: tallyKey(k, cl), Charge: Charge(cl >> 2), N: uint32(n)}, true
		}
	}
	return Count{}, false
}

// tallyKey returns the Key of a key word of class cl.
func tallyKey(k, cl uint64) Key {
	key := Key{Stream: cl&1 != 0}
	if cl&2 == 0 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(k))
		key.Addr = netip.AddrFrom4(b)
	} else {
		var b [16]byte
		binary.BigEndian.PutUint64(b[:8], k)
		key.Addr = netip.AddrFrom16(b)
	}
	return key
}
