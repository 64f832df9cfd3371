package cluster

import (
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/veildns/veil/ratelimit"
)

// batch is one payload waiting to be sent, with its records by kind for
// the sent counter.
type batch struct {
	payload []byte
	counts  [NumKinds]int
}

// collect drains the zones' tallies and the trip queue into batches and
// queues them, with each new block also for the sorted set.
func (s *Syncer) collect() {
	wallNow, now := time.Now().UnixMilli(), s.o.Now()
	var records []Record
	flush := func() {
		if len(records) > 0 {
			s.enqueue(records, wallNow)
			records = nil
		}
	}
	for _, z := range s.zones {
		z.tally.Drain(func(c ratelimit.Count) {
			kind := KindDenials
			if c.Charge == ratelimit.ChargeStub {
				kind = KindAnswers
			}
			records = append(records, Record{Zone: z.name, Kind: kind, Key: c.Key, Tier: ratelimit.ClientTier(c.Key.Addr), N: c.N})
			if len(records) == MaxRecords {
				flush()
			}
		})
	}
	for range tripQueueLen {
		var t trip
		select {
		case t = <-s.trips:
		default:
			flush()
			return
		}
		r := s.blockRecord(t, wallNow, now)
		records = append(records, r)
		s.own.add(r)
		s.queueBlock(r, wallNow)
		if len(records) == MaxRecords {
			flush()
		}
	}
	flush()
}

// blockRecord turns a trip into a block record: the tier's prefix, and its
// end on the wall clock.
func (s *Syncer) blockRecord(t trip, wallNow, now int64) Record {
	p, _ := ratelimit.TierPrefix(t.key.Addr, t.tier)
	return Record{
		Zone: t.zone.name, Kind: KindBlock, Tier: t.tier, Rule: t.rule,
		Key:   ratelimit.Key{Addr: p.Addr(), Stream: t.key.Stream},
		Until: wallNow + (t.until - now),
	}
}

// enqueue adds a batch to the queue, dropping the oldest when it is full.
func (s *Syncer) enqueue(records []Record, wallNow int64) {
	b := batch{payload: Encode(Header{Replica: s.id, Sent: wallNow}, records)}
	for _, r := range records {
		b.counts[r.Kind]++
	}
	if len(s.queue) == queueLen {
		s.m.batchesDropped.Inc()
		s.queue = append(s.queue[:0], s.queue[1:]...)
	}
	s.queue = append(s.queue, b)
}

// queueBlock queues a block for the sorted set, as a batch of its own so a
// replica catching up can read it alone. When more are waiting than the
// set keeps, the oldest go: they are announced again on reconnection.
func (s *Syncer) queueBlock(r Record, wallNow int64) {
	if len(s.zadds) == tripQueueLen {
		s.zadds = append(s.zadds[:0], s.zadds[1:]...)
	}
	member := Encode(Header{Replica: s.id, Sent: wallNow}, []Record{r})
	s.zadds = append(s.zadds, redis.Z{Score: float64(r.Until), Member: member})
}

// reannounce queues this replica's blocks still in force, for the stream
// and the sorted set, and returns how many.
func (s *Syncer) reannounce(wallNow int64) int {
	blocks := s.own.inForce(wallNow)
	for i := 0; i < len(blocks); i += MaxRecords {
		part := blocks[i:min(i+MaxRecords, len(blocks))]
		s.enqueue(part, wallNow)
		for _, r := range part {
			s.queueBlock(r, wallNow)
		}
	}
	return len(blocks)
}

// ownBlocks remembers the blocks this replica imposed, newest last, up to
// ownBlocksLen; beyond that the oldest are forgotten (and not announced
// again after Redis loses its data).
type ownBlocks struct {
	ring []Record
	next int
}

const ownBlocksLen = 4096

func (o *ownBlocks) add(r Record) {
	if len(o.ring) < ownBlocksLen {
		o.ring = append(o.ring, r)
		return
	}
	o.ring[o.next] = r
	o.next = (o.next + 1) % ownBlocksLen
}

// inForce returns the blocks that end after wallNow.
func (o *ownBlocks) inForce(wallNow int64) []Record {
	var out []Record
	for _, r := range o.ring {
		if r.Until > wallNow {
			out = append(out, r)
		}
	}
	return out
}
