package veil

import "sync"

// runningVeils is the set of veil instances between their server's start
// and shutdown, for the collectors that compute gauges at scrape time.
type runningVeils struct {
	mu    sync.Mutex
	veils map[*Veil]struct{}
}

func (r *runningVeils) add(v *Veil) {
	r.mu.Lock()
	if r.veils == nil {
		r.veils = map[*Veil]struct{}{}
	}
	r.veils[v] = struct{}{}
	r.mu.Unlock()
}

func (r *runningVeils) remove(v *Veil) {
	r.mu.Lock()
	delete(r.veils, v)
	r.mu.Unlock()
}

// each calls f, under the set's lock, for every running veil whose counters
// have seen a query, with the (server, view) pairs it has counters for.
func (r *runningVeils) each(f func(v *Veil, pairs []*serverCounters)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for v := range r.veils {
		if l := v.counters.list.Load(); l != nil {
			f(v, *l)
		}
	}
}
