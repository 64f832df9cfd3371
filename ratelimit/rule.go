package ratelimit

// Rule is the rule whose limit a prefix broke: why it is blocked. Its
// String is the name the metrics, the logs and the other replicas use;
// its value is what the cluster's wire format carries, so a rule keeps its
// number for good and a new one takes the next.
type Rule uint8

// The rules. A Result that tripped nothing has RuleNone.
const (
	RuleNone   Rule = iota
	RuleRate        // the leaky bucket of denials (ObserveDenial)
	RuleRatio       // the share of denials among responses (ObserveDenial)
	RuleStub        // the stub budget of answers (ObserveStub)
	RuleCanary      // a canary name was asked (the caller's Install)
	NumRules        // the rules this version knows are below this
)

var ruleNames = [NumRules]string{"none", "rate", "ratio", "stub", "canary"}

// String returns the rule's name, such as "rate", or "unknown" for a
// value this version does not know (a newer replica's rule).
func (r Rule) String() string {
	if r < NumRules {
		return ruleNames[r]
	}
	return "unknown"
}

// Known reports whether this version knows the rule.
func (r Rule) Known() bool { return r > RuleNone && r < NumRules }
