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

// keyDelims end the key of a "key=value" token.
const keyDelims = "=:"

// headLen is how much of a value is lower-cased for prefix checks; every
// catalog prefix is shorter.
const headLen = 64

// Matcher classifies TXT records. It is immutable and safe for concurrent
// use. Classify does not allocate unless the record is a candidate token
// made of several character-strings.
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
// extra value patterns (RE2, matched case-insensitively, each reported as
// CustomID with lifecycle Unknown).
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
		if err := add(Rule{ID: e.ID, Lifecycle: e.Lifecycle, Origin: FromCatalog}, e.Value, e.Owner); err != nil {
			return nil, fmt.Errorf("catalog entry %s: %w", e.ID, err)
		}
	}
	for _, p := range custom {
		if err := add(Rule{ID: CustomID, Origin: FromOperator}, p, ""); err != nil {
			return nil, err
		}
	}
	// The head lowerHead keeps must cover every prefix: the public tags
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

// Classify returns what the TXT record at owner (a domain name in
// presentation form, fully qualified or not) with character-strings txt is.
// Records that must stay public win over every rule; then catalog entries,
// then the operator's patterns, then the generic shapes.
func (m *Matcher) Classify(owner string, txt []string) Match {
	var o Owner
	o.Set(owner)
	return m.ClassifyAt(&o, txt)
}

// Owner is what a classification needs to know of an owner name. The
// records of an RRset share their owner, so a caller classifying a whole
// response sets it once per name and passes it to ClassifyAt.
type Owner struct {
	name   string
	first  string // the first label
	lower  [headLen]byte
	n      int  // lower[:n] is the first label in lower case
	public bool // the name has a label under which TXT stays public
	set    bool
}

// Set makes o describe name; it does nothing if o already does.
func (o *Owner) Set(name string) {
	if o.set && o.name == name {
		return
	}
	o.name, o.first, o.set = name, firstLabel(name), true
	o.n = len(lowerString(o.lower[:0], o.first))
	o.public = isPublicOwner(name)
}

// ClassifyAt is Classify for an owner already described by o.
func (m *Matcher) ClassifyAt(o *Owner, txt []string) Match {
	var buf [headLen]byte
	head, delim := lowerHead(buf[:0], txt, m.tail)
	if o.public || isPublicValue(head) {
		return Match{Kind: Public}
	}
	first, lfirst := o.first, o.lower[:o.n]

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
	if delim >= 0 {
		for _, i := range m.byKey[string(head[:delim+1])] {
			try(i)
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
	if genericValue(head, delim) {
		return Match{Kind: Token, Rule: m.generic}
	}
	return Match{}
}

// hasPrefix is bytes.HasPrefix for a string prefix, without a conversion
// that could allocate.
func hasPrefix(b []byte, p string) bool {
	return len(b) >= len(p) && string(b[:len(p)]) == p
}

// lowerHead appends to dst the lower-cased head of the concatenation of
// txt: up to the first key delimiter ('=' or ':') and tail bytes beyond it,
// at most headLen bytes. It returns the head and the delimiter's index in
// it, or -1. Every prefix a rule or public tag checks ends within tail
// bytes of the delimiter (NewMatcher makes tail long enough), so the rest
// of a long token value is never touched.
func lowerHead(dst []byte, txt []string, tail int) ([]byte, int) {
	if len(txt) == 1 {
		return lowerHeadOne(dst, txt[0], tail)
	}
	delim, limit := -1, headLen
	for _, s := range txt {
		for i := 0; i < len(s) && len(dst) < limit; i++ {
			c := s[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			} else if (c == '=' || c == ':') && delim < 0 {
				delim = len(dst)
				limit = min(headLen, delim+1+tail)
			}
			dst = append(dst, c)
		}
		if len(dst) >= limit {
			break
		}
	}
	return dst, delim
}

// lowerHeadOne is lowerHead for the usual single character-string: the
// delimiter is found with the vectorised IndexByte, then the head is copied
// and lowered in one pass.
func lowerHeadOne(dst []byte, s string, tail int) ([]byte, int) {
	probe := s[:min(len(s), headLen)]
	delim := strings.IndexByte(probe, '=')
	if c := strings.IndexByte(probe, ':'); c >= 0 && (delim < 0 || c < delim) {
		delim = c
	}
	n := len(probe)
	if delim >= 0 {
		n = min(n, delim+1+tail)
	}
	dst = dst[:n]
	copy(dst, s)
	for i, c := range dst {
		if 'A' <= c && c <= 'Z' {
			dst[i] = c + 'a' - 'A'
		}
	}
	return dst, delim
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
