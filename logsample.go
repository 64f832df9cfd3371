package veil

import (
	"net/netip"
	"sync/atomic"
	"time"

	clog "github.com/coredns/coredns/plugin/pkg/log"
)

var log = clog.NewWithPlugin(pluginName)

// Log sampling keys: the policy reasons, then these.
const (
	logLimited = int(numReasons) + iota // queries from blocked prefixes
	logTrip                             // prefixes blocked
	logTokens                           // tokens hidden
	logSigned                           // signed RRsets left with their tokens
	numLogKeys
)

// logPeriod is the shortest time between two log lines for the same reason.
const logPeriod = 10 * time.Second

// sampledLog writes at most one line per reason per logPeriod, so a flood of
// transfer or ANY attempts cannot flood the log. Each line says how many
// events it stands for.
type sampledLog struct {
	next       [numLogKeys]atomic.Int64 // unix nanoseconds before which no line is written
	suppressed [numLogKeys]atomic.Uint64
	now        func() time.Time
}

func newSampledLog() *sampledLog { return &sampledLog{now: time.Now} }

// allow reports whether a line for key may be written now, and how many
// events were suppressed since the previous line.
func (s *sampledLog) allow(key int) (bool, uint64) {
	now := s.now().UnixNano()
	next := s.next[key].Load()
	if now < next || !s.next[key].CompareAndSwap(next, now+int64(logPeriod)) {
		s.suppressed[key].Add(1)
		return false, 0
	}
	return true, s.suppressed[key].Swap(0)
}

// policyEvent logs a transfer or ANY policy action, sampled.
func (s *sampledLog) policyEvent(rs reason, act action, logOnly bool, client netip.Addr, qname, zone string) {
	ok, more := s.allow(int(rs))
	if !ok {
		return
	}
	verb := actionNames[act]
	if logOnly {
		verb = "would " + verb + " (log-only)"
	}
	log.Infof("%s %s %q for zone %s from %s (%d more %s requests since the previous line)",
		verb, reasonNames[rs], qname, zone, client, more, reasonNames[rs])
}
