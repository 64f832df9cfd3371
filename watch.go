package veil

import (
	"context"
	"net/netip"
	"sync"

	"github.com/miekg/dns"

	"github.com/veildns/veil/ratelimit"
)

// watcher wraps the writer of an external query whose answer veil must
// see: it hides verification tokens (tokens.go), then charges the answer
// to the client's prefixes (limit.go), in that order, so an answer that
// became NXDOMAIN counts as a denial. It holds only what those two need.
//
// Watchers are pooled: a watched query then allocates nothing unless its
// answer changes. Without the pool the watcher, which escapes to the next
// plugin, is a heap allocation per query, and veil + limit took 85 ns more
// per query in a paired VeilAdded measurement (docs/performance.md).
type watcher struct {
	dns.ResponseWriter
	v        *Veil
	zone     *zone
	counters *zoneCounters
	client   netip.Addr

	// The request (its question shapes a filtered answer and names log
	// lines) and its context (the token filter asks the next plugin for
	// the zone's SOA with it).
	ctx context.Context
	req *dns.Msg

	filter bool // hide verification tokens
	hid    bool // tokens were taken out of the answer
	// What signing the changed answer anew needs, in a zone signed on
	// the fly (onthefly.go); nil elsewhere.
	resign *resigning

	// The request veil sends on: req, or, changed for a hidden name
	// (tokens_hidden.go), rw's.
	sent *dns.Msg
	rw   *rewritten

	// The limiter's: the client probed into the zone's table, whether over
	// a stream transport, and the time.
	limit  bool
	stream bool
	stub   bool // the client asks like a stub: every answer counts (ObserveStub)
	probe  ratelimit.Probe
	now    int64

	// The client's prefix is flagged (decoy.go): its answer is chosen by
	// writeFlagged; blockedOwn, its own transport's key is blocked too.
	// wouldDecoy: flagged under log-only, a decoy is only counted.
	flagged, blockedOwn, wouldDecoy bool
}

var watcherPool = sync.Pool{New: func() any { return new(watcher) }}

// watch returns a pooled watcher for a request from client with verdict vd.
func (v *Veil) watch(ctx context.Context, w dns.ResponseWriter, r *dns.Msg, vd verdict, client netip.Addr) *watcher {
	ww := watcherPool.Get().(*watcher)
	ww.ResponseWriter, ww.v, ww.zone, ww.counters, ww.client = w, v, vd.zone, vd.counters, client
	ww.ctx, ww.req, ww.filter, ww.limit = ctx, r, vd.has(doFilter), vd.has(doLimit)
	ww.sent, ww.rw, ww.hid, ww.resign = r, nil, false, nil
	ww.flagged, ww.blockedOwn = vd.has(flagged), vd.has(blockedOwn)
	ww.wouldDecoy = vd.has(limited) && vd.zone.decoys != nil
	if vd.has(doHide) {
		ww.hide()
	}
	if ww.limit {
		ww.probeClient(vd)
	}
	return ww
}

// WriteMsg filters and charges the answer, then writes it, or, for a
// flagged prefix, what decoy.go chooses. An answer veil changed in a zone
// signed on the fly is signed anew (onthefly.go).
func (ww *watcher) WriteMsg(m *dns.Msg) error {
	if ww.rw != nil {
		ww.noteSpelling(m)
		m = ww.asAnswer(m)
	}
	if ww.filter {
		m = ww.filterTokens(m)
	}
	if ww.resign != nil {
		m = ww.signAnew(m)
	}
	if ww.limit {
		ww.charge(m)
	}
	if ww.flagged {
		return ww.writeFlagged(m)
	}
	if ww.wouldDecoy {
		ww.noteWouldDecoy(m)
	}
	return ww.ResponseWriter.WriteMsg(m)
}

// Write handles a backend that writes a packed message rather than calling
// WriteMsg: the message is unpacked so it is filtered and charged like any
// other. Bytes that do not unpack go out unchanged (there is nothing to
// filter in them, and the client deserves whatever the backend meant).
func (ww *watcher) Write(b []byte) (int, error) {
	m := new(dns.Msg)
	if err := m.Unpack(b); err != nil {
		return ww.ResponseWriter.Write(b)
	}
	if err := ww.WriteMsg(m); err != nil {
		return 0, err
	}
	return len(b), nil
}

// release drops the request's objects, which a pooled watcher would keep
// alive, and returns it to the pool; the rest is overwritten by the next
// query. The veil, zone and counters it still points to live as long as
// the server; after a reload the pool lets go of them within two garbage
// collections. release is small enough to inline.
func (ww *watcher) release() {
	ww.ResponseWriter, ww.ctx, ww.req, ww.sent, ww.rw, ww.resign = nil, nil, nil, nil, nil, nil
	watcherPool.Put(ww)
}

// ask sends req, an internal query, down the chain in the query's context
// and returns the answer, nil if there is none: the one way veil asks the
// chain a question of its own (a twin's, an unsigned twin of a black lie,
// a decoy's template).
func (ww *watcher) ask(req *dns.Msg) *dns.Msg {
	cw := &captureWriter{ResponseWriter: ww.ResponseWriter}
	ctx := ww.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	if _, err := ww.v.next(ctx, cw, req); err != nil {
		return nil
	}
	return cw.msg
}

// captureWriter keeps the response of an internal query instead of sending
// it.
type captureWriter struct {
	dns.ResponseWriter
	msg *dns.Msg
}

// WriteMsg implements dns.ResponseWriter.
func (cw *captureWriter) WriteMsg(m *dns.Msg) error {
	cw.msg = m
	return nil
}

// Write implements dns.ResponseWriter.
func (cw *captureWriter) Write(b []byte) (int, error) {
	m := new(dns.Msg)
	if err := m.Unpack(b); err != nil {
		return 0, err
	}
	cw.msg = m
	return len(b), nil
}
