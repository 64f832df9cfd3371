package ratelimit

import "testing"

// Every rule a trip can name has a label-safe name, and the values stay
// what the cluster's wire format has carried since version 1.
func TestRuleNames(t *testing.T) {
	for r, want := range map[Rule]string{RuleNone: "none", RuleRate: "rate", RuleRatio: "ratio", RuleStub: "stub", RuleCanary: "canary", NumRules: "unknown", 200: "unknown"} {
		if got := r.String(); got != want {
			t.Errorf("Rule(%d).String() = %q, want %q", r, got, want)
		}
	}
	if RuleRate != 1 || RuleRatio != 2 || RuleStub != 3 || RuleCanary != 4 {
		t.Error("a rule's value changed: the cluster's wire format carries it")
	}
	if RuleNone.Known() || !RuleStub.Known() || NumRules.Known() {
		t.Error("Known is wrong at the edges")
	}
}
