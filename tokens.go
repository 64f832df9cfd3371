package veil

import (
	"github.com/miekg/dns"

	"github.com/veildns/veil/tokens"
)

// This file is the token filter's glue on an answer: the zone's
// tokens.Policy finds the records to hide and rewrites the answer; veil
// counts and logs them. A name that the zone holds only for hidden tokens
// is tokens_hidden.go's, the names are loaded by zone_load.go, the
// settings parsed in tokens_setup.go, the metrics tokens_metrics.go.

// filterTokens returns the answer an external client gets: m without the
// verification tokens the zone's policy hides (tokens.Policy.Hide says in
// which shape). m is never modified: a changed answer is a new message.
func (ww *watcher) filterTokens(m *dns.Msg) *dns.Msg {
	// Room for a few hidden records on the stack; more move to the heap.
	var buf [4]tokens.Found
	found, signed := ww.zone.tokens.Find(m, ww.v.wallClock(), buf[:0])
	if signed && !ww.v.logOnly && !ww.zone.absent.Load().Signed() {
		if r := ww.resigning(); r != nil {
			// Signed on the fly: the signatures go, and WriteMsg has
			// the answer without the tokens signed anew (onthefly.go).
			m = m.Copy()
			r.strip(m)
			found, signed = ww.zone.tokens.Find(m, ww.v.wallClock(), found[:0])
		}
	}
	if signed {
		ww.counters.tokensSigned.Inc()
		ww.v.logs.signedTokensEvent(ww.zone.name)
	}
	if len(found) == 0 {
		return m
	}
	return ww.hideTokens(m, found)
}

// hideTokens counts and logs the records found and, unless veil only logs,
// returns m without them.
//
//go:noinline
func (ww *watcher) hideTokens(m *dns.Msg, found []tokens.Found) *dns.Msg {
	v, z := ww.v, ww.zone
	for _, f := range found {
		ww.counters.tokenCounter(z, f.Rule, v.logOnly).Inc()
	}
	v.logs.tokenEvent(v.logOnly, ww.client, ww.req.Question[0].Name, z.name, len(found))
	if v.logOnly {
		return m
	}
	ww.hid = true
	return z.tokens.Hide(m, ww.req.Question[0], found, ww.nodata)
}
