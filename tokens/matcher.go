package tokens

import (
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode"
)

// Origin says where a rule comes from; it is part of the metric label veil
// reports a hidden token under.
type Origin uint8

const (
	// FromCatalog is an entry of the embedded catalog.
	FromCatalog Origin = iota
	// FromOperator is a pattern from the Corefile.
	FromOperator
	// FromGeneric is a generic shape, for vendors not in the catalog.
	FromGeneric
)

// Rule is one way a token is recognised.
type Rule struct {
	// ID is the catalog entry's id, "custom" for operator patterns and
	// "generic" for generic shapes.
	ID        string
	Lifecycle Lifecycle
	Origin    Origin

	value, owner *regexp.Regexp // nil: any
	prefix       string         // lower-case literal prefix of value, "" if none
	prefixOnly   bool           // value is ^prefix and nothing more: no regexp needed
	ownerPrefix  string         // lower-case literal prefix of owner, "" if none
	shape        ruleShape      // the value shape of an always-public owner-only entry
}

// Rule IDs of the rules that are not catalog entries.
const (
	CustomID  = "custom"
	GenericID = "generic"
)

// Kind is what a TXT record is.
type Kind uint8

const (
	// None is a record that is not a token.
	None Kind = iota
	// Public is a record that must stay public (SPF, DMARC, DKIM, ...).
	Public
	// Token is a verification token; Match.Rule says whose.
	Token
)

// Match is the classification of one record.
type Match struct {
	Kind Kind
	Rule int // index into Matcher.Rules, for Kind == Token
}

// keyDelims end the key of a "key=value" token.
const keyDelims = "=:"

// headLen is how much of a value is lower-cased for prefix checks; every
// catalog prefix is shorter.
const headLen = 64

// Matcher classifies TXT records. It is immutable and safe for concurrent
// use. ClassifyAt does not allocate unless a regular expression must be
// run on a record made of several character-strings or not in normal form
// (normalize.go).
type Matcher struct {
	rules []Rule
	// Rules whose literal value prefix is a whole key ("google-site-
	// verification="), by that key; rules with another literal value
	// prefix; rules without one but with a literal owner prefix; and the
	// rest, which every record is checked against.
	byKey    map[string][]int
	byValue  *prefixTrie
	byOwner  *prefixTrie
	anyFirst []int
	generic  int // index of the generic rule
	tail     int // how far beyond a value's first key delimiter prefixes reach
}

// NewMatcher returns a matcher for the catalog entries plus the operator's
// extra value patterns (RE2, matched case-insensitively against the value's
// normal form, each reported as CustomID with lifecycle Unknown).
func NewMatcher(entries []Entry, custom []string) (*Matcher, error) {
	m := &Matcher{byKey: map[string][]int{}, byValue: newPrefixTrie(), byOwner: newPrefixTrie()}
	add := func(r Rule, value, owner string) error {
		var err error
		if value != "" {
			if r.value, err = regexp.Compile("(?i)" + value); err != nil {
				return fmt.Errorf("pattern %q: %w", value, err)
			}
			r.prefix, r.prefixOnly = literalPrefix(value)
		}
		if owner != "" {
			if r.owner, err = regexp.Compile("(?i)" + owner); err != nil {
				return fmt.Errorf("owner pattern %q: %w", owner, err)
			}
			r.ownerPrefix, _ = literalPrefix(owner)
		}
		i := len(m.rules)
		m.rules = append(m.rules, r)
		switch {
		case r.prefix != "" && strings.IndexAny(r.prefix, keyDelims) == len(r.prefix)-1:
			m.byKey[r.prefix] = append(m.byKey[r.prefix], i)
		case r.prefix != "":
			m.byValue.add(r.prefix, i)
		case r.ownerPrefix != "":
			m.byOwner.add(r.ownerPrefix, i)
		default:
			m.anyFirst = append(m.anyFirst, i)
		}
		return nil
	}
	for _, e := range entries {
		r := Rule{ID: e.ID, Lifecycle: e.Lifecycle, Origin: FromCatalog}
		if e.Lifecycle.AlwaysPublic() && e.Value == "" {
			// Such an entry is public by its owner label: without a
			// value shape, any token stored there would be.
			var ok bool
			if r.shape, ok = ruleShapes[e.ID]; !ok {
				return nil, fmt.Errorf("catalog entry %s: always public, with neither a value pattern nor a value shape", e.ID)
			}
		}
		if err := add(r, e.Value, e.Owner); err != nil {
			return nil, fmt.Errorf("catalog entry %s: %w", e.ID, err)
		}
	}
	for _, p := range custom {
		if err := add(Rule{ID: CustomID, Origin: FromOperator}, p, ""); err != nil {
			return nil, err
		}
	}
	// The head normHead keeps must cover every prefix: the public tags
	// reach 12 bytes past their '=' ("v=tlsrptv1" and the byte after it).
	m.tail = 12
	for _, r := range m.rules {
		if d := strings.IndexAny(r.prefix, keyDelims); d >= 0 {
			m.tail = max(m.tail, len(r.prefix)-d-1)
		}
	}
	m.generic = len(m.rules)
	m.rules = append(m.rules, Rule{ID: GenericID, Origin: FromGeneric})
	return m, nil
}

// literalPrefix returns the lower-cased literal text a pattern anchored with
// ^ must start with, or "" when it has none (or is not anchored); only is
// set when the pattern is that prefix and nothing more, so that checking the
// prefix is the whole match.
func literalPrefix(pattern string) (prefix string, only bool) {
	re, err := syntax.Parse(pattern, syntax.Perl|syntax.FoldCase)
	if err != nil {
		return "", false
	}
	re = re.Simplify()
	if re.Op != syntax.OpConcat || len(re.Sub) < 2 || re.Sub[0].Op != syntax.OpBeginText {
		return "", false
	}
	var b strings.Builder
	only = true
	for _, s := range re.Sub[1:] {
		if s.Op != syntax.OpLiteral {
			only = false
			break
		}
		for _, r := range s.Rune {
			if r >= unicode.MaxASCII {
				return b.String(), false
			}
			b.WriteRune(unicode.ToLower(r))
		}
	}
	if b.Len() > headLen {
		return b.String()[:headLen], false
	}
	return b.String(), only && b.Len() > 0
}

// Rules returns the matcher's rules; Match.Rule indexes it.
func (m *Matcher) Rules() []Rule { return m.rules }
