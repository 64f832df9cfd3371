package tokens

import (
	"fmt"
	"slices"
	"time"
)

// Policy decides, for one zone, which verification tokens external clients
// do not see. It is built at setup (NewPolicy, then Apply for each hide and
// reveal line) and never changed afterwards, so it is safe for concurrent
// use from then on.
type Policy struct {
	matcher *Matcher
	rules   []ruleState // indexed like matcher.Rules()
}

// ruleState is the operator's decision for one matcher rule.
type ruleState struct {
	hide bool
	// revealUntil, if set, ends a verification window: the token is
	// visible before it and hidden from it on.
	revealUntil time.Time
}

// NewPolicy returns the default policy over m: tokens of one-time vendors,
// vendors with no documented lifecycle, operator patterns and generic
// shapes are hidden; re-checked vendors stay visible, since hiding them
// un-verifies the domain; pre-claim and never-hide records are always
// public.
func NewPolicy(m *Matcher) *Policy {
	p := &Policy{matcher: m, rules: make([]ruleState, len(m.Rules()))}
	for i, r := range m.Rules() {
		p.rules[i].hide = r.Lifecycle == Unknown || r.Lifecycle == OneTime
	}
	return p
}

// Matcher returns the matcher the policy decides over; Found.Rule indexes
// its Rules.
func (p *Policy) Matcher() *Matcher { return p.matcher }

// Apply carries out one hide or reveal line of the Corefile for the vendor
// ids (catalog ids, GenericID, CustomID, or "all"); until, if not zero,
// ends a reveal window (see ParseDate). Later lines override earlier ones,
// so "hide all" then "reveal google" hides all but Google's tokens. Records
// that must stay public are never hidden: "hide all" passes over them, and
// hiding one by its id is an error, as is an id no rule of the matcher has
// (CustomID without operator patterns included).
func (p *Policy) Apply(hide bool, ids []string, until time.Time) error {
	for _, id := range ids {
		matched, public := false, 0
		for i, r := range p.matcher.Rules() {
			if id != "all" && r.ID != id {
				continue
			}
			matched = true
			if r.Lifecycle.AlwaysPublic() {
				public++
				continue
			}
			p.rules[i] = ruleState{hide: hide, revealUntil: until}
		}
		switch {
		case !matched:
			return errUnknownVendor(verb(hide), id)
		case hide && id != "all" && public > 0:
			return errAlwaysPublic(id)
		}
	}
	return nil
}

// CheckVendors checks the vendor ids of a hide (hide set) or reveal line
// against the embedded catalog, before any matcher exists, so that the
// Corefile parser can report a mistake at its line: every id must be "all",
// GenericID, CustomID or a catalog id, and a hide line must not name a
// vendor all of whose records must stay public. Its errors are those of
// Apply (or of Catalog).
func CheckVendors(hide bool, ids []string) error {
	catalog, err := Catalog()
	if err != nil {
		return err
	}
	for _, id := range ids {
		if id == "all" || id == GenericID || id == CustomID {
			continue
		}
		known, public := false, true
		for _, e := range catalog {
			if e.ID == id {
				known = true
				public = public && e.Lifecycle.AlwaysPublic()
			}
		}
		switch {
		case !known:
			return errUnknownVendor(verb(hide), id)
		case hide && public:
			return errAlwaysPublic(id)
		}
	}
	return nil
}

// Hides reports whether a token of rule (an index into the matcher's
// Rules) with character-strings txt is hidden from external clients at now.
// An expired token ("expiry=" in the past, see Expiry) is hidden whatever
// the policy says, unless its record must stay public.
func (p *Policy) Hides(rule int, txt []string, now time.Time) bool {
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
	if exp, ok := Expiry(joinTXT(txt)); ok && !now.Before(exp) {
		return true
	}
	return false
}

// Exposed returns the ids of the vendors whose tokens external clients see
// at now, sorted: re-checked and pre-claim vendors by default, and those
// revealed (until their window ends). ACME challenges are not a vendor's
// token and are not listed.
func (p *Policy) Exposed(now time.Time) []string {
	var ids []string
	for i, r := range p.matcher.Rules() {
		if r.Lifecycle.AlwaysPublic() && r.Lifecycle != PreClaim {
			continue
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

// verb is the Corefile option of a hide or reveal line.
func verb(hide bool) string {
	if hide {
		return "hide"
	}
	return "reveal"
}

// errUnknownVendor is the error for an id that names no vendor.
func errUnknownVendor(verb, id string) error {
	return fmt.Errorf("%s: unknown vendor %q; allowed: a vendor id from tokens/catalog.json (such as google, microsoft, atlassian, github), generic, custom, or all", verb, id)
}

// errAlwaysPublic is the error for a hide line naming records that must
// stay public.
func errAlwaysPublic(id string) error {
	return fmt.Errorf("hide: %q records are pre-claim or ACME records that must stay public (hiding them would allow subdomain takeover or break certificate issuance); they cannot be hidden", id)
}
