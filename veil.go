// Package veil is a CoreDNS plugin that reduces what an authoritative server
// gives away to reconnaissance (MITRE ATT&CK T1590.002): to clients outside
// the operator's trusted networks it refuses zone transfers and ANY queries,
// blocks prefixes that enumerate names (the limiter, package ratelimit), and
// hides SaaS domain-verification tokens in TXT answers (package tokens); it
// counts every attempt in Prometheus metrics.
//
// Trusted clients get exactly what CoreDNS would send without veil: veil
// hands their request to the next plugin with the original response writer.
//
// A reader finds each capability by the prefix of its files:
//
//   - veil.go (this), setup.go (the Corefile), lifecycle.go (start-up,
//     reloads, shutdown), handler.go (one verdict per request, veil's own
//     replies), watch.go (the writer that sees an answer), zone.go and
//     zone_load.go (each zone, and what is read from its records),
//     clients.go (a client's address, the trusted and exempt networks),
//     shape.go (what an answer is), log.go (every log line), metrics.go
//     and gauges.go (the metrics all capabilities share);
//   - policy.go: transfers and ANY;
//   - limit*.go: the enumeration limiter's glue (package ratelimit holds
//     its table); cluster.go: sharing it with other replicas through
//     Redis (package cluster);
//   - decoy*.go, canary.go: what a flagged prefix gets (package decoy
//     makes the decoys), and canary names;
//   - tokens*.go: the verification-token filter (package tokens), and
//     the names that exist only for hidden tokens;
//   - onthefly.go: zones the dnssec plugin signs on the fly;
//   - directives.go: where veil goes in CoreDNS's plugin order;
//     growstack*.go: growing a query's stack while it is shallow.
package veil

import (
	"sync"
	"time"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/dnssec"

	"github.com/veildns/veil/cluster"
)

const pluginName = "veil"

// Veil is the plugin handler for one server block. All fields are set by
// setup and never changed afterwards, so ServeDNS needs no locking.
type Veil struct {
	// Next is the next plugin in the chain.
	Next plugin.Handler

	zones    zoneSet  // zones veil guards, longest match wins
	clients  netSet   // trusted (tagTrusted) and limit exempt (tagExempt) networks
	everyone everyone // which of those lists take in a whole address family
	transfer action   // what external AXFR/IXFR get: refuse or drop
	anyUDP   action   // what external ANY over UDP gets
	anyTCP   action   // what external ANY over TCP (and other stream transports) gets
	logOnly  bool     // count and log, but change no answer
	// untraced is set at start-up when the server block has no trace
	// plugin, so no request can carry a span and veil skips looking for
	// one (a context lookup per query).
	untraced bool

	logs   *sampledLog    // at most one log line per reason per period
	twins  twins          // how hidden names are answered (tokens_hidden.go)
	loader *zoneLoader    // keeps the zones' tokens.Absence and decoy profiles current
	limit  *limitSettings // nil: the enumeration limiter is off
	// cluster links the limiter to the other replicas (cluster.go); nil
	// without the cluster option. Set at start-up.
	cluster *cluster.Syncer
	// wallClock is the time token dates (reveal windows, expiry=) are
	// judged by: time.Now.
	wallClock func() time.Time

	// Set at start-up (lifecycle.go): the server block's view and
	// listeners, which a reload's new veil matches to take over the
	// limiter's tables; its on-the-fly signer; whether the limiter's
	// clock runs for v; and the once of its stop.
	view      string
	listeners []string
	signer    *dnssec.Dnssec // the dnssec plugin below veil, if any (onthefly.go)
	clockOn   bool
	stopOnce  sync.Once
}

// The tags of Veil.clients.
const (
	tagTrusted uint8 = 1 << iota
	tagExempt
)

// Name implements plugin.Handler.
func (v *Veil) Name() string { return pluginName }
