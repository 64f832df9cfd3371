// Package veil is a CoreDNS plugin that reduces what an authoritative server
// gives away to reconnaissance (MITRE ATT&CK T1590.002): to clients outside
// the operator's trusted networks it refuses zone transfers and ANY queries,
// blocks prefixes that enumerate names (the limiter, package ratelimit), and
// hides SaaS domain-verification tokens in TXT answers (package tokens); it
// counts every attempt in Prometheus metrics.
//
// Trusted clients get exactly what CoreDNS would send without veil: veil
// hands their request to the next plugin with the original response writer.
package veil

import (
	"sync/atomic"
	"time"

	"github.com/coredns/coredns/plugin"

	"github.com/veildns/veil/ratelimit"
)

const pluginName = "veil"

// Veil is the plugin handler for one server block. All fields are set by
// setup and never changed afterwards, so ServeDNS needs no locking.
type Veil struct {
	// Next is the next plugin in the chain.
	Next plugin.Handler

	zones    zoneSet   // zones veil guards, longest match wins
	trusted  prefixSet // client networks that see the unmodified zone
	clientsN netSet    // trusted (tagTrusted) and limit exempt (tagExempt), compiled for the hot path
	transfer action    // what external AXFR/IXFR get: refuse or drop
	anyUDP   action    // what external ANY over UDP gets
	anyTCP   action    // what external ANY over TCP (and other stream transports) gets
	logOnly  bool      // count and log, but change no answer
	// untraced is set at start-up when the server block has no trace
	// plugin, so no request can carry a span and veil skips looking for
	// one (a context lookup per query).
	untraced bool

	counters *counterCache // per server/view request counters, hot path
	logs     *sampledLog   // at most one log line per reason per period

	limit    *limitSettings       // nil: the enumeration limiter is off
	limiters []*ratelimit.Limiter // one table per zone, indexed like zones
	trips    []*tripRing          // recent trips per zone, for the blocked-prefixes gauge
	slips    atomic.Uint64        // blocked UDP queries seen, for the slip ratio
	clock    func() int64         // nil: coarseMillis; tests set their own (see millis)

	tokens    []*tokenPolicy   // per zone; nil: tokens are not filtered in that zone
	wallClock func() time.Time // the time token dates are judged by; tests replace it
}

// The tags of clientsN.
const (
	tagTrusted uint8 = 1 << iota
	tagExempt
)

// millis returns the limiter's time in milliseconds: the coarse monotonic
// clock (clock.go), or a test's clock if it set one.
func (v *Veil) millis() int64 {
	if v.clock != nil {
		return v.clock()
	}
	return coarseMillis()
}

// Name implements plugin.Handler.
func (v *Veil) Name() string { return pluginName }
