package veil

import (
	"slices"
	"time"

	"github.com/veildns/veil/tokens"
)

// tokenPolicy decides, for one zone, which verification tokens external
// clients do not see. It is built at setup and never changed.
type tokenPolicy struct {
	matcher *tokens.Matcher
	rules   []ruleState // indexed like matcher.Rules()
}

// ruleState is the operator's decision for one matcher rule.
type ruleState struct {
	hide bool
	// revealUntil, if set, ends a verification window: the token is
	// visible before it and hidden from it on.
	revealUntil time.Time
}

// newTokenPolicy returns the default policy over m: tokens of one-time
// vendors, vendors with no documented lifecycle, operator patterns and
// generic shapes are hidden; re-checked vendors stay visible, since hiding
// them un-verifies the domain; pre-claim and never-hide records are always
// public.
func newTokenPolicy(m *tokens.Matcher) *tokenPolicy {
	p := &tokenPolicy{matcher: m, rules: make([]ruleState, len(m.Rules()))}
	for i, r := range m.Rules() {
		p.rules[i].hide = r.Lifecycle == tokens.Unknown || r.Lifecycle == tokens.OneTime
	}
	return p
}

// hidden reports whether a token of rule with TXT value (the joined
// character-strings) is hidden from external clients at now. An expired
// token ("expiry=" in the past) is hidden whatever the policy says, unless
// its record must stay public.
func (p *tokenPolicy) hidden(rule int, txt []string, now time.Time) bool {
	r := p.matcher.Rules()[rule]
	if r.Lifecycle.AlwaysPublic() {
		return false
	}
	st := p.rules[rule]
	if st.hide {
		return true
	}
	if !st.revealUntil.IsZero() && !now.Before(st.revealUntil) {
		return true
	}
	if exp, ok := tokens.Expiry(joinTXT(txt)); ok && !now.Before(exp) {
		return true
	}
	return false
}

// exposed returns the ids of the vendors whose tokens external clients see
// at now, sorted.
func (p *tokenPolicy) exposed(now time.Time) []string {
	var ids []string
	for i, r := range p.matcher.Rules() {
		if r.Lifecycle.AlwaysPublic() && r.Lifecycle != tokens.PreClaim {
			continue // ACME challenges are not a vendor's token
		}
		st := p.rules[i]
		if st.hide || (!st.revealUntil.IsZero() && !now.Before(st.revealUntil)) {
			continue
		}
		if !slices.Contains(ids, r.ID) {
			ids = append(ids, r.ID)
		}
	}
	slices.Sort(ids)
	return ids
}

func joinTXT(txt []string) string {
	if len(txt) == 1 {
		return txt[0]
	}
	n := 0
	for _, s := range txt {
		n += len(s)
	}
	b := make([]byte, 0, n)
	for _, s := range txt {
		b = append(b, s...)
	}
	return string(b)
}
