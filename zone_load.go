package veil

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/transfer"

	"github.com/miekg/dns"

	"github.com/veildns/veil/decoy"
	"github.com/veildns/veil/tokens"
)

// absenceRefresh is how often veil looks for a new version of a zone (its
// SOA serial, through the plugin that holds it) to rebuild what it reads
// from the zone's records, its tokens.Absence and its decoy.Profile: a name
// that a zone file reload turns into a token-only name is answered as
// absent at most this long after the reload.
const absenceRefresh = 10 * time.Second

// absence is a zone's tokens.Absence and what its loader knows about it.
type absence struct {
	atomic.Pointer[tokens.Absence]
	serial uint32    // the SOA serial it was built from
	until  time.Time // when the policy's decisions may change by themselves
	loaded bool
	failed bool // the last load failed (logged once until one succeeds)
}

// zoneLoader keeps what veil reads from its zones' records current: the
// Absence of every zone whose tokens are filtered, the decoy Profile of
// every zone whose flagged prefixes get decoys. It reads the records as
// the chain's transfer plugins (file, auto, secondary, ...) hand them out:
// once at start-up, then every absenceRefresh in the background. It never
// runs on the query path.
type zoneLoader struct {
	zones []*zone
	from  []transfer.Transferer
	now   func() time.Time
	key   func() decoy.Key // the decoys' key, which the cluster may share late
	opts  decoy.Options
	stop  chan struct{}
	done  chan struct{}
}

// startLoader loads what veil reads from its zones' records from the
// plugins of the chain that implement transfer.Transferer, and keeps it
// current until stopLoader. Zones without such a plugin keep an empty
// Absence and no decoys.
func (v *Veil) startLoader(handlers []plugin.Handler) {
	l := &zoneLoader{now: v.wallClock, stop: make(chan struct{}), done: make(chan struct{})}
	if v.limit != nil {
		l.key, l.opts = v.decoyKey, decoy.Options{Networks: v.limit.decoys.networks}
	}
	for _, z := range v.zones {
		if z.tokens != nil || z.decoys != nil {
			l.zones = append(l.zones, z)
		}
	}
	for _, h := range handlers {
		if tr, ok := h.(transfer.Transferer); ok {
			l.from = append(l.from, tr)
		}
	}
	v.loader = l
	l.refresh() // without a plugin to read from, it warns once per zone
	if len(l.zones) == 0 || len(l.from) == 0 {
		close(l.done)
		return
	}
	go l.run()
}

// stopLoader stops the loader and waits for it.
func (v *Veil) stopLoader() {
	if l := v.loader; l != nil {
		select {
		case <-l.stop:
		default:
			close(l.stop)
		}
		<-l.done
	}
}

func (l *zoneLoader) run() {
	defer close(l.done)
	t := time.NewTicker(absenceRefresh)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			l.refresh()
		}
	}
}

func (l *zoneLoader) refresh() {
	for _, z := range l.zones {
		l.load(z)
	}
}

// load rebuilds z's Absence and decoy Profile if the zone's serial
// changed, the policy's decisions did, or the decoys' key did.
func (l *zoneLoader) load(z *zone) {
	a, now := &z.absent, l.now()
	serial := a.serial
	if !a.loaded || !a.until.IsZero() && !now.Before(a.until) || z.decoys != nil && z.decoys.key != l.key() {
		serial = 0 // the whole zone
	}
	rrs, err := l.transfer(z.name, serial)
	if err != nil {
		if !a.failed {
			log.Warningf("zone %s: cannot read the zone's records (%v): names that hold only hidden tokens answer NODATA instead of NXDOMAIN, and flagged clients get no decoys", z.name, err)
		}
		a.failed = true
		return
	}
	a.failed = false
	if len(rrs) == 1 && serial != 0 {
		return // unchanged: the transfer's IXFR fallback sent the SOA alone
	}
	var until time.Time
	if z.tokens != nil {
		idx, u, complete := tokens.NewAbsence(z.name, rrs, z.tokens, now)
		if !complete {
			log.Warningf("zone %s: more than %d names exist only for hidden tokens; those past the limit answer NODATA instead of NXDOMAIN", z.name, tokens.AbsenceLimit)
		}
		a.Store(idx)
		until = u
	}
	if z.decoys != nil {
		z.decoys.load(z.name, rrs, l.key(), l.opts)
	}
	a.serial, a.until, a.loaded = soaSerial(rrs), until, true
}

// errNoTransferer says no plugin of the chain holds the zone's records.
var errNoTransferer = errors.New("no plugin of the server block transfers the zone (file, auto, secondary, ...)")

// transfer returns the zone's records from the first plugin authoritative
// for it: the whole zone, or, if serial is its current serial, its SOA
// alone.
func (l *zoneLoader) transfer(zone string, serial uint32) ([]dns.RR, error) {
	for _, tr := range l.from {
		ch, err := tr.Transfer(zone, serial)
		if errors.Is(err, transfer.ErrNotAuthoritative) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var rrs []dns.RR
		for chunk := range ch {
			rrs = append(rrs, chunk...)
		}
		if len(rrs) > 1 {
			rrs = rrs[:len(rrs)-1] // the closing SOA
		}
		return rrs, nil
	}
	return nil, errNoTransferer
}

// soaSerial returns the serial of the first SOA of rrs.
func soaSerial(rrs []dns.RR) uint32 {
	for _, rr := range rrs {
		if soa, ok := rr.(*dns.SOA); ok {
			return soa.Serial
		}
	}
	return 0
}
