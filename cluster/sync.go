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
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"

	"github.com/veildns/veil/ratelimit"
)

// Options configure a Syncer.
type Options struct {
	// Redis says where and as whom to connect; New sets its timeouts,
	// retries and pool size.
	Redis *redis.Options
	// Prefix starts the names of the keys the replicas share.
	Prefix string
	// Interval is how often the Syncer sends its counts and reads the
	// others'.
	Interval time.Duration
	// Block is this replica's block time: a block from another replica
	// may end at most Block plus MaxSkew from now.
	Block time.Duration
	// Now is the limiters' clock, in milliseconds.
	Now func() int64
	// Exempt reports whether a prefix lies inside a trusted or exempt
	// network: a block of it is rejected.
	Exempt func(netip.Prefix) bool
	// Metrics are where the Syncer counts what it does.
	Metrics Metrics
	// Log receives a line when the connection comes and goes.
	Log Logger
}

// Logger is what the Syncer logs to: CoreDNS's plugin logger.
type Logger interface {
	Infof(format string, args ...any)
	Warningf(format string, args ...any)
}

// Metrics are the counters and gauges a Syncer moves. Sent and Received
// are indexed by Kind, Rejected by Reason; index 0 of each is unused.
type Metrics struct {
	Connected      prometheus.Gauge
	RoundTrip      prometheus.Observer
	Errors         prometheus.Counter
	Sent, Received [NumKinds]prometheus.Counter
	Rejected       [NumReasons]prometheus.Counter
	BatchesDropped prometheus.Counter
	// Dropped counts records that found no room before they were
	// batched: a block event when the trip queue is full. (The caller
	// counts a full Tally here too.)
	Dropped prometheus.Counter
}

// Zone is one zone whose limiter the replicas share.
type Zone struct {
	Name    string
	Limiter *ratelimit.Limiter
	Tally   *ratelimit.Tally   // the counts this replica sends
	Blocks  prometheus.Counter // blocks installed from other replicas
}

// Trip is a block this replica's limiter imposed, to publish.
type Trip struct {
	Zone  int           // index of the zone in the Syncer's zones
	Key   ratelimit.Key // the client's key; only the tier's prefix is sent
	Tier  ratelimit.Tier
	Rule  Rule
	Until int64 // on the Now clock
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
	zones  []Zone
	byName map[string]int
	rdb    *redis.Client
	keys   struct{ events, blocks, epoch string }
	id     [8]byte
	trips  chan Trip
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
}

// quietRedis keeps go-redis's own log lines (dial retries and the like)
// out of CoreDNS's log: the Syncer logs what an operator needs, once per
// change, not once per interval.
var quietRedis sync.Once

// discard is a go-redis logger that drops every line.
type discard struct{}

func (discard) Printf(context.Context, string, ...any) {}

// New makes a Syncer for zones; Start starts it.
func New(o Options, zones []Zone) (*Syncer, error) {
	quietRedis.Do(func() { redis.SetLogger(discard{}) })
	s := &Syncer{o: o, zones: zones, byName: map[string]int{}, trips: make(chan Trip, tripQueueLen), done: make(chan struct{})}
	for i, z := range zones {
		s.byName[z.Name] = i
	}
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
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Start runs the exchange until Stop.
func (s *Syncer) Start() {
	s.o.Metrics.Connected.Set(0)
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

// Trip queues a block to publish. It never blocks: when the queue is full
// the block stays local, counted in Metrics.Dropped.
func (s *Syncer) Trip(t Trip) {
	select {
	case s.trips <- t:
	default:
		s.o.Metrics.Dropped.Inc()
	}
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
		s.o.Metrics.Errors.Inc()
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
		s.o.Metrics.Connected.Set(1)
		return
	}
	s.o.Metrics.Connected.Set(0)
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
