package cluster

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/veildns/veil/ratelimit"
)

// Options configure a Syncer.
type Options struct {
	// Settings are the cluster option's; New sets the Redis client's
	// timeouts, retries and pool size.
	Settings
	// Server labels the Syncer's metrics: the server block's first
	// listener.
	Server string
	// Block is this replica's block time: a block from another replica
	// may end at most Block plus MaxSkew from now.
	Block time.Duration
	// Now is the limiters' clock, in milliseconds.
	Now func() int64
	// Exempt reports whether a prefix lies inside a trusted or exempt
	// network: a block of it is rejected.
	Exempt func(netip.Prefix) bool
	// Log receives a line when the connection comes and goes.
	Log Logger
}

// Logger is what the Syncer logs to: CoreDNS's plugin logger.
type Logger interface {
	Infof(format string, args ...any)
	Warningf(format string, args ...any)
}

// Zone is one zone's share of the exchange, the handle the zone's
// limiter glue holds (Syncer.Zone): on the query path it counts the
// charges to send (Charge) and hands over the trips to publish (Trip);
// the Syncer applies the other replicas' records to its limiter.
type Zone struct {
	name    string
	limiter *ratelimit.Limiter
	tally   *ratelimit.Tally   // the counts this replica sends
	blocks  prometheus.Counter // blocks installed from other replicas
	s       *Syncer
}

// TallySlots sizes each zone's tally: the client keys a replica can
// report per interval (4,096 of each charge kind).
const TallySlots = 4096

// Charge counts a charge of the probed client for the other replicas. It
// runs on the query path: one lookup in a fixed table, no allocation; a
// full tally drops the charge, counted.
func (z *Zone) Charge(p *ratelimit.Probe, c ratelimit.Charge) {
	if !z.tally.Add(p, c) {
		z.s.m.dropped.Inc()
	}
}

// Trip hands a block this replica's limiter imposed to the other
// replicas: tier t of key k, by rule, until (on the Now clock). It never
// blocks: when the queue is full the block stays local, counted.
func (z *Zone) Trip(k ratelimit.Key, t ratelimit.Tier, rule ratelimit.Rule, until int64) {
	select {
	case z.s.trips <- trip{zone: z, key: k, tier: t, rule: rule, until: until}:
	default:
		z.s.m.dropped.Inc()
	}
}

// trip is a block this replica's limiter imposed, to publish.
type trip struct {
	zone  *Zone
	key   ratelimit.Key // the client's key; only the tier's prefix is sent
	tier  ratelimit.Tier
	rule  ratelimit.Rule
	until int64 // on the Now clock
}

// Tuning of the exchange; Redis cost per replica is in the README.
const (
	// MaxSkew is the clock difference between replicas a block's end may
	// show beyond the block time.
	MaxSkew = 30 * time.Second
	// queueLen bounds the batches waiting while Redis is away: with a
	// 100 ms interval, 6.4 seconds of counts; the oldest go first.
	queueLen = 64
	// tripQueueLen bounds the trips waiting for the next interval.
	tripQueueLen = 4096
	// streamMaxLen trims the events stream (approximately): a replica
	// that falls this many entries behind loses counts, never blocks.
	streamMaxLen = 1024
	// readCount bounds the entries one round trip reads.
	readCount = 512
	// maxBlocks bounds the blocks sorted set and a catch-up read.
	maxBlocks = 65536
	// timeout bounds a round trip; the first backoff is a tenth of it.
	timeout    = time.Second
	maxBackoff = 5 * time.Second
)

// Syncer exchanges one veil's limiter state with the other replicas
// through Redis, in a goroutine of its own. Queries never wait for it: they
// add to the zones' Tallies and, on a trip, call Trip, which never blocks.
type Syncer struct {
	o      Options
	m      metrics
	zones  []*Zone
	byName map[string]*Zone
	rdb    *redis.Client
	keys   struct{ events, blocks, epoch, secret, replicas string }
	secret atomic.Pointer[[SecretSize]byte] // the replicas' shared secret, once read
	id     [8]byte
	trips  chan trip
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once

	// The rest belongs to the goroutine.
	queue     []batch
	zadds     []redis.Z // block events for the sorted set
	own       ownBlocks
	lastID    string // the last events entry read
	epoch     string // the epoch key's value when we connected
	connected bool
	cleaned   time.Time
	replicas  int // the replicas sharing the limits, as last counted
}

// quietRedis keeps go-redis's own log lines (dial retries and the like)
// out of CoreDNS's log: the Syncer logs what an operator needs, once per
// change, not once per interval.
var quietRedis sync.Once

// discard is a go-redis logger that drops every line.
type discard struct{}

func (discard) Printf(context.Context, string, ...any) {}

// New makes a Syncer; Zone adds the zones it shares, Start starts it.
func New(o Options) (*Syncer, error) {
	quietRedis.Do(func() { redis.SetLogger(discard{}) })
	s := &Syncer{o: o, m: newMetrics(o.Server), byName: map[string]*Zone{}, trips: make(chan trip, tripQueueLen), done: make(chan struct{})}
	if _, err := crand.Read(s.id[:]); err != nil {
		return nil, err
	}
	ro := *o.Redis
	ro.DialTimeout, ro.ReadTimeout, ro.WriteTimeout = timeout, timeout, timeout
	ro.ContextTimeoutEnabled = true
	ro.MaxRetries = -1 // the next interval is the retry
	ro.DialerRetries = 1
	ro.PoolSize, ro.MinIdleConns = 2, 0
	ro.Protocol = 2
	ro.DisableIdentity = true
	ro.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	s.rdb = redis.NewClient(&ro)
	s.keys.events, s.keys.blocks, s.keys.epoch = o.Prefix+"events", o.Prefix+"blocks", o.Prefix+"epoch"
	s.keys.secret, s.keys.replicas = o.Prefix+"secret", o.Prefix+"replicas"
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Zone adds the zone name, whose limiter is l, to what the Syncer shares,
// and returns its handle. It is called before Start.
func (s *Syncer) Zone(name string, l *ratelimit.Limiter) *Zone {
	z := &Zone{name: name, limiter: l, tally: ratelimit.NewTally(TallySlots), blocks: blocksVec.WithLabelValues(s.o.Server, name), s: s}
	s.zones = append(s.zones, z)
	s.byName[name] = z
	return z
}

// Start runs the exchange until Stop.
func (s *Syncer) Start() {
	s.m.connected.Set(0)
	go s.run()
}

// Stop ends the exchange, aborting a round trip in flight, and closes the
// connection; it returns when the goroutine has ended. It may be called
// more than once, and without Start only closes the connection.
func (s *Syncer) Stop() {
	s.once.Do(func() {
		s.cancel()
		select {
		case <-s.done:
		case <-time.After(2 * timeout):
		}
		_ = s.rdb.Close()
	})
}

// run is the Syncer's goroutine: every interval it batches what was
// counted and exchanges it; after a failure it waits a growing backoff.
func (s *Syncer) run() {
	defer close(s.done)
	tick := time.NewTicker(s.o.Interval)
	defer tick.Stop()
	var retryAt time.Time
	backoff, failures := time.Duration(0), 0
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-tick.C:
		}
		s.collect()
		if time.Now().Before(retryAt) {
			continue
		}
		err := s.sync()
		if err == nil {
			backoff, failures = 0, 0
			continue
		}
		if s.ctx.Err() != nil {
			return
		}
		backoff = min(max(2*backoff, timeout/10), maxBackoff)
		retryAt = time.Now().Add(backoff/2 + rand.N(backoff/2+1))
		failures++
		s.m.errors.Inc()
		if failures == 1 || failures%100 == 0 {
			s.o.Log.Warningf("cluster: Redis %s: %v (%d failures in a row); limiting locally, retrying with backoff", s.o.Redis.Addr, err, failures)
		}
	}
}

// sync is one round trip, preceded by the catch-up if the connection is
// new or Redis lost its data.
func (s *Syncer) sync() error {
	ctx, cancel := context.WithTimeout(s.ctx, timeout)
	defer cancel()
	if !s.connected {
		if err := s.connect(ctx); err != nil {
			s.setConnected(false)
			return err
		}
	}
	err := s.exchange(ctx)
	if errors.Is(err, errEpoch) {
		s.o.Log.Infof("cluster: Redis %s lost the shared state (restarted or flushed); announcing this replica's blocks again", s.o.Redis.Addr)
		s.connected = false
		if err = s.connect(ctx); err == nil {
			err = s.exchange(ctx)
		}
	}
	s.setConnected(err == nil)
	return err
}

// setConnected records the outcome of a sync. The gauge is written every
// time, not only on a change, so that after a reload, when the old
// Syncer's last write may come after the new one's, it is right again
// within an interval.
func (s *Syncer) setConnected(up bool) {
	s.connected = up
	if up {
		s.m.connected.Set(1)
		return
	}
	s.m.connected.Set(0)
}

// errEpoch says the epoch key changed: Redis lost what the replicas wrote.
var errEpoch = errors.New("epoch changed")

// newEpoch returns a random epoch value.
func newEpoch() string {
	var b [8]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// describe is the Redis endpoint for log lines.
func (s *Syncer) describe() string { return fmt.Sprintf("%s (prefix %q)", s.o.Redis.Addr, s.o.Prefix) }
