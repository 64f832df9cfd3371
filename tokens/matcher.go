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
	// Dedicated is set when the owner label alone identified the token
	// (_github-challenge-org): such a name holds nothing but the token.
	Dedicated bool
}

// headLen is how much of a value is lower-cased for prefix checks; every
// catalog prefix is shorter.
const headLen = 64

// Matcher classifies TXT records. It is immutable and safe for concurrent
// use. Classify does not allocate unless the record is a candidate token
// made of several character-strings.
type Matcher struct {
	rules []Rule
	// Rules with a literal value prefix, rules without one but with a
	// literal owner prefix, and the rest, which every record is checked
	// against.
	byValue  *prefixTrie
	byOwner  *prefixTrie
	anyFirst []int
	generic  int // index of the generic rule
}

// NewMatcher returns a matcher for the catalog entries plus the operator's
// extra value patterns (RE2, matched case-insensitively, each reported as
// CustomID with lifecycle Unknown).
func NewMatcher(entries []Entry, custom []string) (*Matcher, error) {
	m := &Matcher{byValue: newPrefixTrie(), byOwner: newPrefixTrie()}
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
		if err := add(Rule{ID: e.ID, Lifecycle: e.Lifecycle, Origin: FromCatalog}, e.Value, e.Owner); err != nil {
			return nil, fmt.Errorf("catalog entry %s: %w", e.ID, err)
		}
	}
	for _, p := range custom {
		if err := add(Rule{ID: CustomID, Origin: FromOperator}, p, ""); err != nil {
			return nil, err
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

// Classify returns what the TXT record at owner (a domain name in
// presentation form, fully qualified or not) with character-strings txt is.
// Records that must stay public win over every rule; then catalog entries,
// then the operator's patterns, then the generic shapes.
func (m *Matcher) Classify(owner string, txt []string) Match {
	var buf [headLen]byte
	head := lowerHead(buf[:0], txt)
	if isPublicValue(head) || isPublicOwner(owner) {
		return Match{Kind: Public}
	}
	first := firstLabel(owner)
	var obuf [headLen]byte
	lfirst := lowerString(obuf[:0], first)

	value := "" // the joined value, built on first need
	joined := false
	matchValue := func(re *regexp.Regexp) bool {
		if !joined {
			value, joined = joinTXT(txt), true
		}
		return re.MatchString(value)
	}
	check := func(i int) (Match, bool) {
		r := &m.rules[i]
		if r.owner != nil && (!hasPrefix(lfirst, r.ownerPrefix) || !r.owner.MatchString(first)) {
			return Match{}, false
		}
		if r.value != nil && (!hasPrefix(head, r.prefix) || !r.prefixOnly && !matchValue(r.value)) {
			return Match{}, false
		}
		return Match{Kind: Token, Rule: i, Dedicated: r.value == nil}, true
	}
	// The first rule in catalog order wins: an operator pattern or a
	// shorter prefix must not take a token from its catalog vendor.
	found := Match{Rule: -1}
	try := func(i int) {
		if found.Rule >= 0 && found.Rule < i {
			return
		}
		if mt, ok := check(i); ok {
			found = mt
		}
	}
	m.byValue.walk(head, try)
	m.byOwner.walk(lfirst, try)
	for _, i := range m.anyFirst {
		try(i)
	}
	if found.Rule >= 0 {
		return found
	}
	if genericOwner(lfirst) {
		return Match{Kind: Token, Rule: m.generic, Dedicated: true}
	}
	if genericValue(head) {
		return Match{Kind: Token, Rule: m.generic}
	}
	return Match{}
}

// hasPrefix is bytes.HasPrefix for a string prefix, without a conversion
// that could allocate.
func hasPrefix(b []byte, p string) bool {
	return len(b) >= len(p) && string(b[:len(p)]) == p
}

// lowerHead appends the lower-cased first headLen bytes of the
// concatenation of txt to dst.
func lowerHead(dst []byte, txt []string) []byte {
	for _, s := range txt {
		if dst = lowerString(dst, s); len(dst) == headLen {
			break
		}
	}
	return dst
}

func lowerString(dst []byte, s string) []byte {
	for i := 0; i < len(s) && len(dst) < cap(dst); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		dst = append(dst, c)
	}
	return dst
}

// firstLabel returns the first label of a presentation-form name. An escaped
// dot does not end a label.
func firstLabel(name string) string {
	for i := 0; i < len(name); i++ {
		switch name[i] {
		case '\\':
			i++
		case '.':
			return name[:i]
		}
	}
	return name
}

// joinTXT returns the concatenation of a TXT record's character-strings.
func joinTXT(txt []string) string {
	if len(txt) == 1 {
		return txt[0]
	}
	return strings.Join(txt, "")
}
