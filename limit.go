package veil

import (
	"net/netip"
	"sync"

	"github.com/miekg/dns"

	"github.com/veildns/veil/cluster"
	"github.com/veildns/veil/ratelimit"
)

// This file is the enumeration limiter's glue on the query path: gate
// decides what a query from a blocked prefix gets, probeClient and charge
// count each watched answer against the client's prefixes, and tripped
// records a new block. Its settings are parsed in limit_setup.go, its
// clock is limit_clock.go, its metrics limit_metrics.go; cluster.go shares
// its counts with other replicas; a reload hands its table over
// (lifecycle.go).

// limitSettings is the parsed "limit" block, shared by the block's zones
// (each has its own table).
type limitSettings struct {
	cfg     ratelimit.Config
	decoys  decoySettings     // what a flagged prefix gets, and the canaries
	cluster *cluster.Settings // nil: this replica's table is its own
}

// limitedActions are the actions a query from a blocked prefix gets, with
// their "action" label of LimitedCount: under log-only it is watched and
// answered as usual.
var limitedActions = [...]struct {
	act   action
	label string
}{{actSlip, "slip"}, {actDrop, "drop"}, {actRefuse, "refuse"}, {actWatch, "log_only"}}

// limitedLabel returns the LimitedCount label of a limiter's action.
func limitedLabel(act action) string {
	for _, la := range limitedActions {
		if la.act == act {
			return la.label
		}
	}
	return ""
}

// admit is the limiter's admission of a query it charges, in a zone with a
// prefix blocked, with canary names, or for a stub-like client: a canary
// flags the client at once (canary.go); gate turns the verdict of a
// flagged client into the limiter's answer; and a stub-like client's query
// is charged to its stub budget as it arrives, unless it is blocked, so
// the query that trips is the first to get the limiter's answer.
//
//go:noinline
func (v *Veil) admit(vd verdict, client netip.Addr, r *dns.Msg) verdict {
	z, qname := vd.zone, r.Question[0].Name
	if len(z.canaries) != 0 && z.isCanary(qname) {
		v.canaryHit(vd, client, qname)
	}
	if z.limiter.AnyBlocked(coarseMillis()) {
		vd = v.gate(vd, client, r)
	}
	if vd.act == actWatch && vd.has(stubLike) && v.chargeStub(vd, client, qname) && !vd.has(flagged) {
		vd = v.gate(vd, client, r)
	}
	return vd
}

// gate runs while some prefix of the zone is blocked: it reads the client's
// prefixes from the table and, if they are flagged, turns the verdict of
// query r, which the limiter charges, into the limiter's answer: a
// watched query whose answer decoy.go chooses, in a zone that responds
// with decoys, or a blocked one.
//
//go:noinline
func (v *Veil) gate(vd verdict, client netip.Addr, r *dns.Msg) verdict {
	now := coarseMillis()
	lim, stream := vd.zone.limiter, vd.has(viaStream)
	udp, _ := lim.Blocked(ratelimit.Key{Addr: client}, now)
	own := udp
	if stream {
		// A TCP client whose UDP traffic is blocked is the scanner or the
		// victim of a spoofer; its own TCP answers tell which, sooner.
		if udp {
			vd.flags |= suspect
		}
		own, _ = lim.Blocked(ratelimit.Key{Addr: client, Stream: true}, now)
	}
	switch {
	case vd.zone.decoys != nil && !v.logOnly && (udp || own):
		// Flagged over either transport: a decoy costs the client only
		// its misses. Answers with DNSSEC records, which no decoy can
		// imitate, are blocked only where the client's own transport is.
		vd.flags |= flagged
		if own {
			vd.flags |= blockedOwn
		}
		return vd
	case !own:
		return vd
	}
	act := v.blockAction(vd, client, r)
	vd.counters.limited[act].Inc()
	v.logs.limitedEvent(act, client, r.Question[0].Name, vd.zone.name)
	vd.act = act
	vd.flags |= limited
	return vd
}

// blockAction is what a query from a blocked prefix gets: over TCP,
// REFUSED with EDE 15 (Blocked); over UDP no answer, but about 1 in slip
// queries an empty TC=1 answer, so a real client whose address was
// spoofed retries over TCP, where its own counters judge it (ratelimit's
// Slips); under log-only, its usual answer.
func (v *Veil) blockAction(vd verdict, client netip.Addr, r *dns.Msg) action {
	switch q := &r.Question[0]; {
	case v.logOnly:
		return actWatch
	case vd.has(viaStream):
		return actRefuse
	case vd.zone.limiter.Slips(client, r.Id, q.Qtype, q.Name):
		return actSlip
	}
	return actDrop
}

// probeClient hashes the client's prefixes into the zone's table once, for
// charge, and reads the time the answer will be charged at.
func (ww *watcher) probeClient(vd verdict) {
	ww.stream, ww.stub = vd.has(viaStream), vd.has(stubLike)
	ww.zone.limiter.Probe(ratelimit.Key{Addr: ww.client, Stream: ww.stream}, &ww.probe)
	ww.probe.Suspect, ww.now = vd.has(suspect), coarseMillis()
}

// charge counts an answer against the client's prefixes: a positive answer
// in the client tier's ratio window only (inlined, the common case), a
// denial in every tier, where it may trip a block. (A stub-like client's
// stub budget was charged when its query arrived: chargeStub.)
func (ww *watcher) charge(m *dns.Msg) {
	if !isDenial(m) && (ww.v.signer == nil || !isBlackLie(m) || !ww.hiddenOutcome()) {
		ww.zone.limiter.ObservePositive(&ww.probe, ww.now)
		return
	}
	// A signed denial counts less only for a resolver-like client that is
	// no suspect: the validating resolvers the weight is for. A stub-like
	// one (a walker with DO) and one that moved to TCP once blocked over
	// UDP are judged as any.
	ww.chargeDenial(ww.zone.decoys != nil && !ww.stub && !ww.probe.Suspect && carriesDNSSEC(m))
}

// chargeDenial is charge for a denial. A denial over TCP is charged to
// the prefix's UDP budget as well: a TCP source cannot be spoofed, so its
// evidence is the client's own, and a scanner that splits its guesses over
// both transports gets one budget, not two. Not the other way round: a
// spoofed UDP source must not block a real client's TCP queries. A signed
// denial (one with DNSSEC records, in a zone that responds with decoys)
// counts the configured fraction of one (decoy.go): no decoy can take its
// place, so a flag would block, and it is judged at the looser limits a
// block needs.
//
//go:noinline
func (ww *watcher) chargeDenial(signed bool) {
	lim := ww.zone.limiter
	observe := lim.ObserveDenial
	if signed {
		observe = lim.ObserveSignedDenial
	}
	ww.counters.denials.Inc()
	ww.noteDenial(observe(&ww.probe, ww.now), ww.stream)
	share := !signed || ww.v.shareSigned()
	if share {
		ww.share(&ww.probe, ratelimit.ChargeDenial)
	}
	if ww.stream {
		var udp ratelimit.Probe
		lim.Probe(ratelimit.Key{Addr: ww.client}, &udp)
		ww.noteDenial(observe(&udp, ww.now), false)
		if share {
			ww.share(&udp, ratelimit.ChargeDenial)
		}
	}
}

// chargeStub charges a stub-like client's query to its stub budget as it
// arrives, before the chain answers it, and reports whether it tripped: a
// tool that asks many questions at once gets no more true answers than
// the budget, whatever it has in flight.
// The budget is its address's over UDP: a query over TCP counts there too
// (a TCP source's evidence is its own), while the TCP key is judged by
// its denials alone, so a client that moved to TCP after a truncated
// answer, its address blocked over UDP by a spoofer, keeps its answers.
//
//go:noinline
func (v *Veil) chargeStub(vd verdict, client netip.Addr, qname string) bool {
	z, now := vd.zone, coarseMillis()
	var p ratelimit.Probe
	z.limiter.Probe(ratelimit.Key{Addr: client}, &p)
	res := z.limiter.ObserveStub(&p, now)
	if res.Collision {
		vd.counters.collisions.Inc()
	}
	if res.Tripped != ratelimit.NoTier {
		v.tripped(z, vd.counters, res, ratelimit.Key{Addr: client}, qname, now)
	}
	if z.cluster != nil {
		z.cluster.Charge(&p, ratelimit.ChargeStub)
	}
	return res.Tripped != ratelimit.NoTier
}

// noteDenial counts a collision and records a trip of a charged denial,
// to the client's key on the transport stream says.
func (ww *watcher) noteDenial(res ratelimit.Result, stream bool) {
	if res.Collision {
		ww.counters.collisions.Inc()
	}
	if res.Tripped != ratelimit.NoTier {
		key := ratelimit.Key{Addr: ww.client, Stream: stream}
		ww.v.tripped(ww.zone, ww.counters, res, key, ww.req.Question[0].Name, ww.now)
	}
}

// tripped records that a prefix was blocked: counted, remembered for the
// blocked-prefixes gauge, logged, and published to the other replicas.
func (v *Veil) tripped(z *zone, zc *zoneCounters, res ratelimit.Result, key ratelimit.Key, qname string, now int64) {
	TripCount.WithLabelValues(zc.server, z.name, zc.view, res.Tripped.String(), res.Rule.String()).Inc()
	until := now + v.limit.cfg.Block.Milliseconds()
	z.trips.add(until, zc)
	if z.cluster != nil {
		z.cluster.Trip(key, res.Tripped, res.Rule, until)
	}
	v.logs.tripEvent(res, key.Addr, qname, z.name, v.limit.cfg.Block, v.logOnly)
}

// tripRing remembers the expiry of the most recent blocks of one zone, so
// the blocked-prefixes gauge can count the blocks still in force. It holds
// tripRingSize entries; beyond that the gauge undercounts.
type tripRing struct {
	mu      sync.Mutex
	entries [tripRingSize]tripEntry
	next    int
}

const tripRingSize = 4096

// tripEntry is one block: when it ends, and the listener and view whose
// query tripped it.
type tripEntry struct {
	expiry   int64
	counters *zoneCounters
}

func (tr *tripRing) add(expiry int64, zc *zoneCounters) {
	tr.mu.Lock()
	tr.entries[tr.next] = tripEntry{expiry: expiry, counters: zc}
	tr.next = (tr.next + 1) % tripRingSize
	tr.mu.Unlock()
}

// active counts the blocks in force at now, per listener and view.
func (tr *tripRing) active(now int64) map[*zoneCounters]int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	out := map[*zoneCounters]int{}
	for _, e := range tr.entries {
		if e.counters != nil && e.expiry > now {
			out[e.counters]++
		}
	}
	return out
}
