package veil

import (
	"hash/maphash"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/miekg/dns"

	"github.com/veildns/veil/tokens"
)

// This file makes a hidden record look like no record. A name that holds
// nothing but hidden tokens (a zone's tokens.Absence knows them, loaded by
// zone_load.go) is answered, for every query type, with what the rest
// of the chain answers for a twin: a name that does not exist either,
// where the zone without the tokens answers alike. A name that keeps other
// records but loses its whole TXT answer gets the chain's NODATA for a
// type it does not hold. Either way the answer is the backend's own, cache
// included, so its flags, sections and TTLs are those of a genuine
// negative answer.

// twins holds what makes a server's twins: the key that draws a twin's
// label from the question name, and the private-use type (RFC 6895) whose
// NODATA stands for a TXT answer that lost every record. Both are drawn at
// setup, so nobody outside can ask for a twin and age its cache entry.
type twins struct {
	seed  maphash.Seed
	qtype uint16
}

// newTwins draws a server's twin key and type.
func newTwins() twins {
	return twins{seed: maphash.MakeSeed(), qtype: 65280 + uint16(rand.IntN(255))}
}

// key is the twin label's hash of a lower-case question name.
func (t twins) key(lower string) uint64 { return maphash.String(t.seed, lower) }

// hides reports whether any name of z is hidden: its Absence holds names.
func (z *zone) hides() bool { return z.absent.Load().Hides() }

// hiddenName reports whether qname, in z, is answered through a twin: the
// name exists only for hidden records. It does not allocate.
func (z *zone) hiddenName(qname string) bool {
	_, ok := z.absent.Load().Under(qname)
	return ok
}

// bareName reports whether qname, in z, holds other data and TXT records
// that are all hidden: a TXT query there is answered with the chain's
// NODATA for a type the name does not hold (hide), in one lookup, as
// long as the zone's NODATA takes. It does not allocate.
func (z *zone) bareName(qname string) bool {
	_, ok := z.absent.Load().Bare(qname)
	return ok
}

// hideFlags returns the flags of a query the limiter does not watch: a
// watcher to hide it with, if it asks for a hidden name or for the TXT
// records of a name whose TXT records are all hidden.
func (z *zone) hideFlags(q *dns.Question) verdictFlags {
	if z.hiddenName(q.Name) || q.Qtype == dns.TypeTXT && z.bareName(q.Name) {
		return doFilter | doHide
	}
	return 0
}

// hide makes the request veil sends on for a name the zone hides, if the
// question is at one. A DNSSEC-OK query in a signed zone is left alone,
// since such a client sees signed tokens whole (tokens.Policy.Find).
//
//   - A name that exists only for hidden records, or below one, is asked
//     for through its twin, which answers as the name would without them.
//   - A TXT query at a name whose TXT records are all hidden asks for the
//     private-use type that stands for a type the name does not hold
//     (twins), and the records it keeps from the client are counted and
//     logged as hidden.
//
// Either way it is one lookup of the chain, as the answer it imitates is.
func (ww *watcher) hide() {
	a := ww.zone.absent.Load()
	name := ww.req.Question[0].Name
	if parent, ok := a.Under(name); ok {
		ww.hideName(a, parent)
		return
	}
	if ww.req.Question[0].Qtype == dns.TypeTXT {
		if rules, ok := a.Bare(name); ok {
			ww.hideTXT(a, rules)
		}
	}
}

// hideName asks for the twin of a name that exists only for hidden
// records (hide).
func (ww *watcher) hideName(a *tokens.Absence, parent string) {
	do := dnssecOK(ww.req)
	if a.Signed() && do {
		return
	}
	q := ww.req.Question[0]
	ww.filter = true
	ww.counters.tokensAbsent.Inc()
	ww.sendAs(q.Name, parent, q.Qtype, do && ww.v.signer != nil)
}

// hideTXT asks for a type the name does not hold, for a TXT query at a
// name whose TXT records, of rules, are all hidden (hide).
func (ww *watcher) hideTXT(a *tokens.Absence, rules []int) {
	if a.Signed() && dnssecOK(ww.req) {
		return
	}
	name := ww.req.Question[0].Name
	for _, rule := range rules {
		ww.counters.tokenCounter(ww.zone, rule, false).Inc()
	}
	ww.v.logs.tokenEvent(false, ww.client, name, ww.zone.name, len(rules))
	ww.sendAs(name, "", ww.v.twins.qtype, false)
}

// rewritten is a query veil sends on changed, for a name the zone hides:
// the request, its question, the twin it asks for ("" for a TXT query at
// a name whose TXT records are all hidden, which asks for the name's
// private-use type), and room for the answer it turns back into the
// client's. One allocation, not pooled: a plugin below may keep a request
// past the query (the cache's prefetch), one above may keep the answer
// (log).
type rewritten struct {
	req    dns.Msg
	q      [1]dns.Question
	twin   string
	answer dns.Msg
}

// sendAs makes the request veil sends on: the client's, asking for qtype
// at the twin of qname under parent (tokens.TwinName), or at qname itself
// if parent is "".
func (ww *watcher) sendAs(qname, parent string, qtype uint16, spelled bool) {
	rw := new(rewritten)
	rw.req = *ww.req
	name := qname
	if parent != "" {
		name = tokens.TwinName(qname, parent, ww.v.twins.key, spelled)
		rw.twin = name
	}
	rw.q[0] = dns.Question{Name: name, Qtype: qtype, Qclass: ww.req.Question[0].Qclass}
	rw.req.Question = rw.q[:]
	ww.sent, ww.rw = &rw.req, rw
}

// asAnswer returns m, the chain's answer to the request veil sent, as the
// answer to the client's question: the question is the client's, and the
// twin, where the answer names it (a wildcard's synthesised records), is
// the question name in lower case, as the file plugin writes it. m is not
// modified, and its records are shared where they need no change.
func (ww *watcher) asAnswer(m *dns.Msg) *dns.Msg {
	out := new(dns.Msg)
	if ww.rw != nil && ww.rw.answer.Question == nil {
		out = &ww.rw.answer // the first answer of the query uses the room allocated for it
	}
	*out = *m
	out.Question = ww.req.Question
	if ww.rw == nil || ww.rw.twin == "" {
		return out
	}
	twin, lower := ww.rw.twin, strings.ToLower(ww.req.Question[0].Name)
	out.Answer = renamed(m.Answer, twin, lower)
	out.Ns = renamed(m.Ns, twin, lower)
	out.Extra = renamed(m.Extra, twin, lower)
	return out
}

// renamed returns sec with the records owned by twin renamed to name, in a
// new slice of copies; sec itself if it holds none.
func renamed(sec []dns.RR, twin, name string) []dns.RR {
	for i, rr := range sec {
		if !strings.EqualFold(rr.Header().Name, twin) {
			continue
		}
		out := slices.Clone(sec)
		for j := i; j < len(out); j++ {
			if strings.EqualFold(out[j].Header().Name, twin) {
				out[j] = dns.Copy(out[j])
				out[j].Header().Name = name
			}
		}
		return out
	}
	return sec
}

// noteSpelling notes, in a zone signed on the fly and for a DNSSEC-OK
// client, the client's name as m, the chain's answer to the name veil
// asked for (the twin's, or the client's own), spells it in its black
// lie: a cache below veil keeps the spelling of its first asker, which
// TwinName took from that asker's name, and the answer for the client's
// own name would carry it (signAnew writes it into the new black lie).
func (ww *watcher) noteSpelling(m *dns.Msg) {
	r := ww.resigning()
	if r == nil {
		return
	}
	owner := blackLieOwner(m, ww.sent.Question[0].Name)
	if ww.rw == nil || ww.rw.twin == "" {
		r.spelled = owner
		return
	}
	r.spelled, _ = tokens.Untwin(owner, len(ww.req.Question[0].Name))
}

// nodata returns the chain's NODATA for the name veil asked for, with a
// type that name does not hold, as the answer to the client's question:
// the answer a client gets when the name has no TXT record at all. It
// returns nil if the chain answers otherwise (isNODATA).
func (ww *watcher) nodata() *dns.Msg {
	req := ww.sent.Copy()
	req.Question[0].Qtype = ww.v.twins.qtype
	m := ww.ask(req)
	if m == nil || !isNODATA(m) {
		return nil
	}
	ww.noteSpelling(m)
	return ww.asAnswer(m)
}
