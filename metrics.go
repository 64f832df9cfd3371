package veil

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/metrics"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/veildns/veil/ratelimit"
)

var (
	// RequestCount counts the requests veil saw for its zones, by client
	// class: "trusted" (source in a trusted network), "tsig" (a transfer
	// request signed with a TSIG key the server verified) or "external".
	RequestCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "requests_total",
		Help:      "Counter of requests for veil's zones, by client class.",
	}, []string{"server", "zone", "view", "class"})

	// PolicyCount counts the external requests veil refused, dropped or
	// answered itself, by reason (axfr, ixfr, any) and action (refuse, drop,
	// hinfo). mode is "enforce", or "log_only" when veil only counted what it
	// would have done and passed the request on.
	PolicyCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "policy_actions_total",
		Help:      "Counter of external requests veil refused, dropped or answered itself, by reason and action.",
	}, []string{"server", "zone", "view", "reason", "action", "mode"})

	// LimitedCount counts queries from blocked prefixes by action: slip
	// (UDP, empty TC=1 answer), drop (UDP), refuse (TCP, REFUSED with EDE 15)
	// or log_only (counted and answered as usual).
	LimitedCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "limited_requests_total",
		Help:      "Counter of queries from prefixes the enumeration limiter blocked, by action.",
	}, []string{"server", "zone", "view", "action"})

	// TripCount counts prefixes the limiter blocked, by tier (v4_32, v4_24,
	// v6_64, v6_56, v6_48) and rule (rate or ratio).
	TripCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "limiter_trips_total",
		Help:      "Counter of client prefixes the enumeration limiter blocked, by prefix tier and rule.",
	}, []string{"server", "zone", "view", "tier", "rule"})

	// CollisionCount counts denials whose two table slots disagreed because
	// another prefix shares one of them; many collisions mean the table is
	// too small for the traffic.
	CollisionCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "limiter_collisions_total",
		Help:      "Counter of denials charged to limiter slots shared with another prefix.",
	}, []string{"server", "zone", "view"})

	// TokensHiddenCount counts verification-token TXT records taken out of
	// answers to external clients, by vendor: a catalog id, "custom" for the
	// operator's patterns or "generic" for the generic shapes. mode is
	// "log_only" when veil only counted what it would have hidden.
	TokensHiddenCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "tokens_hidden_total",
		Help:      "Counter of verification-token TXT records hidden from external clients, by vendor.",
	}, []string{"server", "zone", "view", "vendor", "mode"})

	// TokensSignedCount counts answers to external clients that kept a
	// token the policy hides because its TXT RRset was signed (an RRSIG in
	// the answer): removing a record would fail DNSSEC validation.
	TokensSignedCount = promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      "tokens_signed_unfiltered_total",
		Help:      "Counter of answers whose signed TXT RRsets kept tokens the policy hides, so DNSSEC validation still succeeds.",
	}, []string{"server", "zone", "view"})
)

// class is the client class of a request, the "class" label of RequestCount.
type class uint8

const (
	classTrusted class = iota
	classTSIG
	classExternal
	numClasses
)

var classNames = [numClasses]string{"trusted", "tsig", "external"}

// reason is why veil acted on a request, the "reason" label of PolicyCount.
type reason uint8

const (
	reasonAXFR reason = iota
	reasonIXFR
	reasonANY
	numReasons
)

var reasonNames = [numReasons]string{"axfr", "ixfr", "any"}

// modeLabel returns the "mode" label value.
func modeLabel(logOnly bool) string {
	if logOnly {
		return "log_only"
	}
	return "enforce"
}

// serverCounters holds the request counters of one (server, view) pair, one
// row per zone, resolved once so the hot path only does an atomic add.
type serverCounters struct {
	server, view string
	requests     [][numClasses]prometheus.Counter
	limited      [][numLimitActions]prometheus.Counter
	collisions   []prometheus.Counter
	tokensSigned []prometheus.Counter
	// tokensHidden holds, per zone, a TokensHiddenCount series per rule of
	// the zone's token policy and mode (enforce, log_only), made on first
	// use so /metrics lists only vendors that were seen.
	tokensHidden [][]atomic.Pointer[prometheus.Counter]
}

// tokenCounter returns the TokensHiddenCount series of a zone's rule.
func (sc *serverCounters) tokenCounter(zi, rule int, zone, vendor string, logOnly bool) prometheus.Counter {
	i := rule * 2
	if logOnly {
		i++
	}
	slot := &sc.tokensHidden[zi][i]
	if c := slot.Load(); c != nil {
		return *c
	}
	// Racing first uses get the same series: WithLabelValues is idempotent.
	c := TokensHiddenCount.WithLabelValues(sc.server, zone, sc.view, vendor, modeLabel(logOnly))
	slot.Store(&c)
	return c
}

// counterCache maps the (server, view) of a request to its counters without
// allocating or taking a lock once the pair has been seen. The set of pairs
// is bounded by the Corefile: one per listener address and view that routes
// to this server block. Lookups read an immutable slice; a new pair copies it.
type counterCache struct {
	zones      []string
	ruleCounts []int // per zone, the rules of its token policy (0: tokens off)
	limits     bool  // the limiter is on: make its counters too
	// zeroSeries, if set, creates at 0 the event counters a new (server,
	// view) can move in a zone (see Veil.zeroSeries).
	zeroSeries func(server, zone, view string)
	// view is the server block's view, once known at start-up (viewKnown);
	// until then get reads it from each request's context.
	view      string
	viewKnown bool
	// only, set at start-up when the server block has a single listener
	// (the usual case), is the counters of every request: get then need
	// not look the server up in the request's context.
	only *serverCounters
	mu   sync.Mutex // serialises adding a pair
	list atomic.Pointer[[]*serverCounters]
}

func newCounterCache(zones []string, limits bool, ruleCounts []int) *counterCache {
	return &counterCache{zones: zones, limits: limits, ruleCounts: ruleCounts}
}

// get returns the counters for the server and view in ctx. It is small
// enough to inline, so a single listener's lookup costs one load.
func (cc *counterCache) get(ctx context.Context) *serverCounters {
	if cc.only != nil {
		return cc.only
	}
	return cc.lookup(ctx)
}

// lookup is get for a server block with several listeners.
func (cc *counterCache) lookup(ctx context.Context) *serverCounters {
	server, view := metrics.WithServer(ctx), cc.view
	if !cc.viewKnown {
		view = metrics.WithView(ctx)
	}
	if l := cc.list.Load(); l != nil {
		for _, sc := range *l {
			if sc.server == server && sc.view == view {
				return sc
			}
		}
	}
	return cc.add(server, view)
}

// start is called once the servers are made and before they serve: it
// fixes the view get reports (CoreDNS gives each server block, and so each
// veil, at most one view) and creates the counters of each of the block's
// listeners, and with them the zero-valued series, before their first
// request, so a counter whose first event comes after start-up rises from
// 0, which rate() and increase() see. servers are the listeners' labels as
// metrics.WithServer reports them; with just one, get returns its counters
// without reading the request's context.
func (cc *counterCache) start(view string, servers []string) {
	cc.view, cc.viewKnown = view, true
	for _, server := range servers {
		if sc := cc.add(server, view); len(servers) == 1 {
			cc.only = sc
		}
	}
}

func (cc *counterCache) add(server, view string) *serverCounters {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	var old []*serverCounters
	if l := cc.list.Load(); l != nil {
		old = *l
		for _, sc := range old {
			if sc.server == server && sc.view == view {
				return sc
			}
		}
	}
	sc := &serverCounters{
		server:       server,
		view:         view,
		requests:     make([][numClasses]prometheus.Counter, len(cc.zones)),
		limited:      make([][numLimitActions]prometheus.Counter, len(cc.zones)),
		collisions:   make([]prometheus.Counter, len(cc.zones)),
		tokensSigned: make([]prometheus.Counter, len(cc.zones)),
		tokensHidden: make([][]atomic.Pointer[prometheus.Counter], len(cc.zones)),
	}
	for zi, zone := range cc.zones {
		sc.tokensSigned[zi] = TokensSignedCount.WithLabelValues(server, zone, view)
		sc.tokensHidden[zi] = make([]atomic.Pointer[prometheus.Counter], 2*cc.ruleCounts[zi])
		for c := range numClasses {
			sc.requests[zi][c] = RequestCount.WithLabelValues(server, zone, view, classNames[c])
		}
		if cc.limits {
			for a := range numLimitActions {
				sc.limited[zi][a] = LimitedCount.WithLabelValues(server, zone, view, limitActionNames[a])
			}
			sc.collisions[zi] = CollisionCount.WithLabelValues(server, zone, view)
		}
		if cc.zeroSeries != nil {
			cc.zeroSeries(server, zone, view)
		}
	}
	next := make([]*serverCounters, len(old), len(old)+1)
	copy(next, old)
	next = append(next, sc)
	cc.list.Store(&next)
	return sc
}

// zeroSeries creates, at 0, the policy-action and trip counters veil's
// configuration can move for a zone, so that rate() and increase() see
// the first event after a start (a series born at 1 shows no increase) and
// alerts on them fire on the first external transfer. Only combinations the
// configuration can produce are made: the configured actions in the current
// mode, and the limiter's tiers and rules.
func (v *Veil) zeroSeries(server, zone, view string) {
	mode := modeLabel(v.logOnly)
	for _, ra := range [...]struct {
		r reason
		a action
	}{{reasonAXFR, v.transfer}, {reasonIXFR, v.transfer}, {reasonANY, v.anyUDP}, {reasonANY, v.anyTCP}} {
		if ra.a != actionPass {
			PolicyCount.WithLabelValues(server, zone, view, reasonNames[ra.r], actionNames[ra.a], mode)
		}
	}
	if v.limit == nil {
		return
	}
	for t := range ratelimit.NumTiers {
		TripCount.WithLabelValues(server, zone, view, t.String(), "rate")
		if v.limit.cfg.Ratio > 0 && (t == ratelimit.TierV4Host || t == ratelimit.TierV6Net) {
			TripCount.WithLabelValues(server, zone, view, t.String(), "ratio")
		}
	}
}
