package enum

import (
	"strings"
	"testing"

	"github.com/veildns/veil/test/harness"
)

// TestLimiterBlocksSurviveReload: a prefix the limiter blocked stays
// blocked across a reload of the same zones (SIGUSR1 and the reload plugin
// both reload this way), also when the reload changes the limits but not
// the table size; a reload that changes the table size starts the zone
// with an empty table, as README says.
func TestLimiterBlocksSurviveReload(t *testing.T) {
	corefile := harness.Corefile(harness.LimitVeil)
	s := harness.StartServer(t, corefile)
	tripClient(t, harness.ExternalIP, s.Addr)
	for _, step := range []struct {
		name, corefile string
		blocked        bool
	}{
		{"same Corefile", corefile, true},
		{"new rate and burst", strings.Replace(corefile, "ratio 0.8 20 30s", "ratio 0.8 20 30s\n\t\t\trate 20\n\t\t\tburst 80", 1), true},
		{"Corefile of the start", corefile, true},
		{"new table size", strings.Replace(corefile, "ratio 0.8 20 30s", "ratio 0.8 20 30s\n\t\t\ttable 4096", 1), false},
	} {
		if err := s.Reload(t, step.corefile); err != nil {
			t.Fatalf("%s: reload: %v", step.name, err)
		}
		answered := answeredOf(t, harness.ExternalIP, s.Addr, 10)
		if step.blocked && answered != 0 {
			t.Errorf("after a reload with the %s: %d of 10 queries of the blocked client answered, want 0", step.name, answered)
		}
		if !step.blocked && answered != 10 {
			t.Errorf("after a reload with the %s: %d of 10 queries of the client answered, want 10 (a new table)", step.name, answered)
		}
		if got := answeredOf(t, harness.ThirdIP, s.Addr, 3); got != 3 {
			t.Errorf("after a reload with the %s: %d of 3 queries of another client answered, want 3", step.name, got)
		}
	}
}

// answeredOf sends n resolver-like UDP queries for a name that exists from
// src and returns how many got their answer (an empty TC=1 answer or
// silence is a blocked query's).
func answeredOf(t *testing.T, src, addr string, n int) int {
	t.Helper()
	c := harness.Client("udp", src)
	c.Timeout = harness.NoAnswerWait
	answered := 0
	for range n {
		if r, _, err := c.Exchange(harness.ResolverQuery(slipName), addr); err == nil && len(r.Answer) == 1 {
			answered++
		}
	}
	return answered
}
