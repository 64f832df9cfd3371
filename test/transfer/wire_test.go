package transfer

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/miekg/dns"
)

// Helpers that compare raw DNS replies, as harness.RawExchange returns them.

// countRecords returns the number of answer records in msgs.
func countRecords(t *testing.T, msgs [][]byte) int {
	t.Helper()
	n := 0
	for _, b := range msgs {
		m := new(dns.Msg)
		if err := m.Unpack(b); err != nil {
			t.Fatal(err)
		}
		n += len(m.Answer)
	}
	return n
}

// equalTransfers reports whether two zone transfers carry the same header
// bytes per message, start and end with the same SOA and hold the same
// records, in whatever order.
func equalTransfers(t *testing.T, a, b [][]byte) bool {
	t.Helper()
	if len(a) != len(b) {
		return false
	}
	set := func(msgs [][]byte) (map[string]int, []dns.RR) {
		seen := map[string]int{}
		var all []dns.RR
		for _, raw := range msgs {
			m := new(dns.Msg)
			if err := m.Unpack(raw); err != nil {
				t.Fatal(err)
			}
			for _, rr := range m.Answer {
				seen[rr.String()]++
				all = append(all, rr)
			}
		}
		return seen, all
	}
	for i := range a {
		if len(a[i]) != len(b[i]) || !bytes.Equal(a[i][:12], b[i][:12]) {
			return false
		}
	}
	sa, ra := set(a)
	sb, rb := set(b)
	if len(ra) < 2 || len(ra) != len(rb) || ra[0].String() != rb[0].String() || ra[len(ra)-1].String() != rb[len(rb)-1].String() {
		return false
	}
	for k, n := range sa {
		if sb[k] != n {
			return false
		}
	}
	return true
}

// equalMessages reports whether a and b are the same messages, byte for
// byte.
func equalMessages(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// describe returns the rcode, answer count and bytes of each message, for
// failure messages.
func describe(msgs [][]byte) string {
	if len(msgs) == 0 {
		return "no answer"
	}
	s := ""
	for _, b := range msgs {
		m := new(dns.Msg)
		if err := m.Unpack(b); err != nil {
			s += fmt.Sprintf("[unparsable %x] ", b)
			continue
		}
		s += fmt.Sprintf("[%s %d answers %x] ", dns.RcodeToString[m.Rcode], len(m.Answer), b)
	}
	return s
}
