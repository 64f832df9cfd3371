package veil

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/metrics"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// The limiter's metrics are in limit_metrics.go, the token filter's in
// tokens_metrics.go; the gauges of each are computed by the collector in gauges.go.

var (
	// RequestCount counts the requests veil saw for its zones, by client
	// class: "trusted" (source in a trusted network), "tsig" (a transfer
	// request signed with a TSIG key the server verified) or "external".
	RequestCount = newCounterVec("requests_total",
		"Counter of requests for veil's zones, by client class.",
		"server", "zone", "view", "class")

	// PolicyCount counts the external requests veil refused, dropped or
	// answered itself, by reason (axfr, ixfr, any) and action (refuse, drop,
	// hinfo). mode is "enforce", or "log_only" when veil only counted what it
	// would have done and passed the request on.
	PolicyCount = newCounterVec("policy_actions_total",
		"Counter of external requests veil refused, dropped or answered itself, by reason and action.",
		"server", "zone", "view", "reason", "action", "mode")
)

// newCounterVec makes and registers a counter vector named
// coredns_veil_NAME, as promauto does.
func newCounterVec(name, help string, labels ...string) *prometheus.CounterVec {
	return promauto.NewCounterVec(prometheus.CounterOpts{
		Namespace: plugin.Namespace,
		Subsystem: pluginName,
		Name:      name,
		Help:      help,
	}, labels)
}

// class is the client class of a request, the "class" label of RequestCount.
type class uint8

const (
	classTrusted class = iota
	classTSIG
	classExternal
	numClasses
)

var classNames = [numClasses]string{"trusted", "tsig", "external"}

// reason is why veil acted on a request by its policy, the "reason" label
// of PolicyCount.
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

// zoneCounters holds a zone's counters for one (server, view) pair,
// resolved once so the hot path only does an atomic add.
type zoneCounters struct {
	server, view string
	requests     [numClasses]prometheus.Counter
	limited      [numActions]prometheus.Counter // by the limiter's action; nil: the limiter is off
	collisions   prometheus.Counter             // nil: the limiter is off
	denials      prometheus.Counter             // nil: the limiter is off
	// The queries of flagged prefixes in a zone that responds with decoys
	// that got their true answer, and those that got a decoy (limited,
	// "answered" and "decoy"); decoys, by mode (enforce, log_only).
	flaggedAnswered, flaggedDecoy prometheus.Counter
	decoys                        [2]prometheus.Counter
	canaryHits                    prometheus.Counter // nil: the limiter is off
	tokensSigned                  prometheus.Counter
	tokensAbsent                  prometheus.Counter
	// tokensHidden holds a TokensHiddenCount series per rule of the zone's
	// token policy and mode (enforce, log_only), made on first use so
	// /metrics lists only vendors that were seen.
	tokensHidden []atomic.Pointer[prometheus.Counter]
}

// counterCache maps the (server, view) of a request to a zone's counters
// without allocating or taking a lock once the pair has been seen. The set
// of pairs is bounded by the Corefile: one per listener address and view
// that routes to this server block. Lookups read an immutable slice; a new
// pair copies it.
type counterCache struct {
	// build makes the zone's counters for a new pair, and their
	// zero-valued series.
	build func(server, view string) *zoneCounters
	// view is the server block's view, once known at start-up (viewKnown);
	// until then get reads it from each request's context.
	view      string
	viewKnown bool
	// only, set at start-up when the server block has a single listener
	// (the usual case), is the counters of every request: get then need
	// not look the server up in the request's context.
	only *zoneCounters
	mu   sync.Mutex // serialises adding a pair
	list atomic.Pointer[[]*zoneCounters]
}

// get returns the counters for the server and view in ctx. It is small
// enough to inline, so a single listener's lookup costs one load.
func (cc *counterCache) get(ctx context.Context) *zoneCounters {
	if cc.only != nil {
		return cc.only
	}
	return cc.lookup(ctx)
}

// lookup is get for a server block with several listeners.
func (cc *counterCache) lookup(ctx context.Context) *zoneCounters {
	server, view := metrics.WithServer(ctx), cc.view
	if !cc.viewKnown {
		view = metrics.WithView(ctx)
	}
	for _, zc := range cc.all() {
		if zc.server == server && zc.view == view {
			return zc
		}
	}
	return cc.add(server, view)
}

// all returns the counters of every pair seen so far.
func (cc *counterCache) all() []*zoneCounters {
	if l := cc.list.Load(); l != nil {
		return *l
	}
	return nil
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
		if zc := cc.add(server, view); len(servers) == 1 {
			cc.only = zc
		}
	}
}

func (cc *counterCache) add(server, view string) *zoneCounters {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	old := cc.all()
	for _, zc := range old {
		if zc.server == server && zc.view == view {
			return zc
		}
	}
	zc := cc.build(server, view)
	next := make([]*zoneCounters, len(old), len(old)+1)
	copy(next, old)
	next = append(next, zc)
	cc.list.Store(&next)
	return zc
}

// newCounters returns z's counters for a (server, view) pair, with every
// series the configuration can move created at 0, so that rate() and
// increase() see the first event after a start (a series born at 1 shows
// no increase) and alerts fire on the first external transfer. Only
// combinations the configuration can produce are made.
func (v *Veil) newCounters(z *zone, server, view string) *zoneCounters {
	zc := &zoneCounters{server: server, view: view}
	for c := range numClasses {
		zc.requests[c] = RequestCount.WithLabelValues(server, z.name, view, classNames[c])
	}
	mode := modeLabel(v.logOnly)
	for _, ra := range [...]struct {
		r reason
		a action
	}{{reasonAXFR, v.transfer}, {reasonIXFR, v.transfer}, {reasonANY, v.anyUDP}, {reasonANY, v.anyTCP}} {
		if ra.a != actPass {
			PolicyCount.WithLabelValues(server, z.name, view, reasonNames[ra.r], actionNames[ra.a], mode)
		}
	}
	if z.limiter != nil {
		v.limitCounters(zc, z.name)
	}
	zc.tokensSigned = TokensSignedCount.WithLabelValues(server, z.name, view)
	zc.tokensAbsent = TokensAbsentCount.WithLabelValues(server, z.name, view)
	if z.tokens != nil {
		zc.tokensHidden = make([]atomic.Pointer[prometheus.Counter], 2*len(z.tokens.Matcher().Rules()))
	}
	return zc
}
