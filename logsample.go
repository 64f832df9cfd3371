package veil

import (
	"net/netip"
	"sync/atomic"
	"time"

	clog "github.com/coredns/coredns/plugin/pkg/log"
)

var log = clog.NewWithPlugin(pluginName)

// logPeriod is the shortest time between two log lines for the same reason.
const logPeriod = 10 * time.Second

// sampledLog writes at most one line per reason per logPeriod, so a flood of
// transfer or ANY attempts cannot flood the log. Each line says how many
// events it stands for.
type sampledLog struct {
	next       [numReasons]atomic.Int64 // unix nanoseconds before which no line is written
	suppressed [numReasons]atomic.Uint64
	now        func() time.Time
}

func newSampledLog() *sampledLog { return &sampledLog{now: time.Now} }

// event records one policy action and logs it if the reason's period has
// passed.
func (s *sampledLog) event(rs reason, act action, logOnly bool, client netip.Addr, qname, zone string) {
	now := s.now().UnixNano()
	next := s.next[rs].Load()
	if now < next || !s.next[rs].CompareAndSwap(next, now+int64(logPeriod)) {
		s.suppressed[rs].Add(1)
		return
	}
	more := s.suppressed[rs].Swap(0)
	verb := actionNames[act]
	if logOnly {
		verb = "would " + verb + " (log-only)"
	}
	log.Infof("%s %s %q for zone %s from %s (%d more %s requests since the previous line)",
		verb, reasonNames[rs], qname, zone, client, more, reasonNames[rs])
}
