package veil

import (
	"sync/atomic"

	"github.com/miekg/dns"

	"github.com/veildns/veil/decoy"
	"github.com/veildns/veil/tokens"
)

// This file is what a flagged prefix gets in a zone that responds with
// decoys (respond decoy, the default): every name that exists keeps its
// true answer, NODATA included, and a name that does not exist gets a
// decoy, the answer the backend gives one of the zone's hosts, renamed and
// readdressed (package decoy). The scanner cannot tell its hits from its
// misses any more, nor when that began; a resolver's users lose only their
// typos while the flag lasts. An answer with DNSSEC records, which a decoy
// cannot imitate without failing validation, gets the block's answer
// instead, where the client's own transport is blocked.

// decoyState is a zone's decoy profile, which the zone loader rebuilds
// from the zone's records (zone_load.go).
type decoyState struct {
	profile atomic.Pointer[decoy.Profile]
	key     decoy.Key // the key profile was made under (the loader's)
}

// load makes the zone's profile from its records rrs under key k. It runs
// in the zone loader, never on the query path.
func (d *decoyState) load(zone string, rrs []dns.RR, k decoy.Key, opts decoy.Options) {
	p := decoy.NewProfile(zone, rrs, k, opts)
	if p.Hosts() == 0 {
		log.Warningf("zone %s: no host (a name with nothing but A or AAAA records) to take the shape of: flagged clients get the block's answer for names that do not exist", zone)
	}
	d.profile.Store(p)
	d.key = k
}

// processKey is the decoy key of a veil given neither "decoy key" nor a
// cluster that shares one: drawn once per process, so a reload keeps the
// decoys, a restart draws new ones.
var processKey = decoy.NewKey()

// decoyKey returns the key v's decoys are made under: the Corefile's,
// the one the replicas share through Redis once known, or the process's.
func (v *Veil) decoyKey() decoy.Key {
	if k := v.limit.decoys.key; k != nil {
		return *k
	}
	if k, ok := v.clusterDecoyKey(); ok {
		return k
	}
	return processKey
}

// writeFlagged writes m, the chain's answer to a query of a flagged
// prefix, already charged: true for a name that exists, a decoy for one
// that does not, the block's answer for an answer with DNSSEC records.
//
// Both ways cost the same, so a scanner cannot time them apart: a decoy is
// the chain's lookup of a name that does not exist, then of a host (the
// template), then the decoy made; a true answer is the lookup of the name,
// then of a name that does not exist (the template's twin,
// tokens.TwinName), then a decoy made of it and dropped: one NXDOMAIN and
// one host each way. The second lookup is of one name per template either
// way, so a cache in front of the backend holds it about as often; the
// question's own twin, new with every new name, missed the cache where a
// decoy's template hit it, and a new host's true answer came microseconds
// slower than a decoy (BenchmarkDecoyTell, docs/performance.md).
func (ww *watcher) writeFlagged(m *dns.Msg) error {
	if carriesDNSSEC(m) {
		if ww.blockedOwn {
			return ww.writeBlocked()
		}
		return ww.ResponseWriter.WriteMsg(m)
	}
	q := &ww.req.Question[0]
	p := ww.zone.decoys.profile.Load()
	template, ok := p.Template(q.Name)
	if m.Rcode != dns.RcodeNameError {
		if ok {
			ww.askAt(tokens.TwinName(template, ww.zone.name, ww.v.twins.key, false))
			_ = p.Answer(m, q.Name, q.Name)
		}
		ww.counters.flaggedAnswered.Inc()
		return ww.ResponseWriter.WriteMsg(m)
	}
	var tm *dns.Msg
	if ok {
		tm = ww.askAt(template)
	}
	if tm == nil || tm.Rcode != dns.RcodeSuccess || carriesDNSSEC(tm) {
		// No host to imitate (a zone without one, or a backend that
		// failed): the block's answer.
		return ww.writeBlocked()
	}
	d := p.Answer(tm, template, q.Name)
	d.Id, d.Question = ww.req.Id, ww.req.Question
	ww.counters.flaggedDecoy.Inc()
	ww.counters.decoys[0].Inc()
	return ww.ResponseWriter.WriteMsg(d)
}

// noteWouldDecoy counts, under log-only, an answer a flagged prefix would
// have got as a decoy.
func (ww *watcher) noteWouldDecoy(m *dns.Msg) {
	if m.Rcode == dns.RcodeNameError && !carriesDNSSEC(m) {
		ww.counters.decoys[1].Inc()
	}
}

// askAt asks the chain the client's question at name, and returns the
// answer (nil if there is none).
func (ww *watcher) askAt(name string) *dns.Msg {
	req := new(dns.Msg)
	*req = *ww.req
	req.Question = []dns.Question{{Name: name, Qtype: ww.req.Question[0].Qtype, Qclass: ww.req.Question[0].Qclass}}
	return ww.ask(req)
}

// writeBlocked writes what a query from a blocked prefix gets (gate's
// blockAction), and counts it.
func (ww *watcher) writeBlocked() error {
	vd := verdict{zone: ww.zone, counters: ww.counters}
	if ww.stream {
		vd.flags = viaStream
	}
	act := ww.v.blockAction(vd, ww.client, ww.req)
	ww.counters.limited[act].Inc()
	ww.v.logs.limitedEvent(act, ww.client, ww.req.Question[0].Name, ww.zone.name)
	switch act {
	case actRefuse:
		return ww.ResponseWriter.WriteMsg(refusal(ww.req, dns.ExtendedErrorCodeBlocked))
	case actSlip:
		return ww.ResponseWriter.WriteMsg(truncated(ww.req))
	}
	return nil // dropped (UDP only: a stream gets REFUSED)
}
