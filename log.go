package veil

import (
	"net/netip"
	"sync/atomic"
	"time"

	clog "github.com/coredns/coredns/plugin/pkg/log"

	"github.com/veildns/veil/ratelimit"
)

// The log: veil writes a line only when it acts, sampled (at most one
// line per reason and logPeriod, saying how many events it stands for),
// so a flood cannot flood the log; every such line is one of the events
// of this file. Queries that pass are never logged.

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

// limitedEvent logs a query from a blocked prefix, sampled.
func (s *sampledLog) limitedEvent(act action, client netip.Addr, qname, zone string) {
	ok, more := s.allow(logLimited)
	if !ok {
		return
	}
	log.Infof("limited (%s) %q for zone %s from %s, a blocked prefix (%d more limited queries since the previous line)",
		limitedLabel(act), qname, zone, client, more)
}

// tripEvent logs a prefix the limiter flagged, sampled.
func (s *sampledLog) tripEvent(res ratelimit.Result, client netip.Addr, qname, zone string, block time.Duration, logOnly bool) {
	ok, more := s.allow(logTrip)
	if !ok {
		return
	}
	verb := "flagging"
	if logOnly {
		verb = "would flag (log-only)"
	}
	why := "too many denials"
	if res.Rule == ratelimit.RuleCanary {
		why = "a query for a canary name"
	}
	log.Warningf("%s prefix %s tier of %s for %s in zone %s: %s (%s rule, last name %q) (%d more prefixes since the previous line)",
		verb, res.Tripped, client, block, zone, why, res.Rule, qname, more)
}

// tokenEvent logs verification tokens hidden from an answer, sampled.
func (s *sampledLog) tokenEvent(logOnly bool, client netip.Addr, qname, zone string, n int) {
	ok, more := s.allow(logTokens)
	if !ok {
		return
	}
	verb := "hid"
	if logOnly {
		verb = "would hide (log-only)"
	}
	log.Infof("%s %d verification token(s) in the answer to %q for zone %s from %s (%d more answers since the previous line)",
		verb, n, qname, zone, client, more)
}

// signedTokensEvent logs a signed TXT RRset left whole, sampled.
func (s *sampledLog) signedTokensEvent(zone string) {
	ok, more := s.allow(logSigned)
	if !ok {
		return
	}
	log.Warningf("zone %s is signed: verification tokens in signed TXT RRsets are sent unchanged to DNSSEC-OK clients, since removing a record would fail validation (%d more answers since the previous line)",
		zone, more)
}
