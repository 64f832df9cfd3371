package tokens

import "strings"

// Classifying one record: ClassifyAt and the helpers it runs on every TXT
// record of an answer, written not to allocate.

// Owner is what a classification needs to know of an owner name. The
// records of an RRset share their owner, so a caller classifying a whole
// response sets it once per name and passes it to ClassifyAt.
type Owner struct {
	name   string
	first  string // the first label
	lower  [headLen]byte
	n      int         // lower[:n] is the first label in lower case
	labels publicLabel // the public labels of the name (public.go)
	set    bool
}

// Set makes o describe name; it does nothing if o already does.
func (o *Owner) Set(name string) {
	if o.set && o.name == name {
		return
	}
	o.name, o.first, o.set = name, firstLabel(name), true
	o.n = len(lowerString(o.lower[:0], o.first))
	o.labels = publicLabels(name)
}

// ClassifyAt returns what the TXT record with character-strings txt, at
// the owner o describes, is. Records that must stay public win over every
// rule; then catalog entries, then the operator's patterns, then the
// generic shapes. A record is public by its value's shape, at any owner
// or at the owners where that shape is expected (public.go); an owner
// label alone never makes it public.
func (m *Matcher) ClassifyAt(o *Owner, txt []string) Match {
	// The head (the lower-cased start of the value's normal form) stays
	// apart from rec: rec may hold strings derived from txt, and escape
	// analysis, which does not tell fields apart, would then move the
	// head's buffer to the heap.
	var buf [headLen]byte
	head, delim, changed := normHead(buf[:0], txt, m.tail)
	rec := record{txt: txt, changed: changed}
	if isPublicValue(head) || o.labels != 0 && rec.publicAt(o, head) {
		return Match{Kind: Public}
	}
	if mt := m.byRules(o, head, delim, &rec); mt.Rule >= 0 {
		return mt
	}
	// The ACME label has the shape of a generic dedicated label
	// (_VENDOR-challenge) but is a public one: what is no ACME digest
	// there is judged by its value.
	if lfirst := o.lower[:o.n]; string(lfirst) != "_acme-challenge" && genericOwner(lfirst) {
		return Match{Kind: Token, Rule: m.generic}
	}
	if genericValue(head, delim) || genericDotValue(head) {
		return Match{Kind: Token, Rule: m.generic}
	}
	return Match{}
}

// record is one TXT value being classified, with its normal form built
// once a check needs it. It lives on ClassifyAt's stack.
type record struct {
	txt     []string
	changed bool   // the head showed the value is not in normal form
	value   string // the normal form, once built
	built   bool
	one     [1]string
}

// normal returns the value's normal form as one string, built on first
// need: the joined strings when they are in normal form, else the
// normalizer's output (which may allocate).
func (rec *record) normal() string {
	if !rec.built {
		if rec.changed || needsNorm(rec.txt) {
			rec.value = normalize(rec.txt)
		} else {
			rec.value = joinTXT(rec.txt)
		}
		rec.built = true
	}
	return rec.value
}

// inNormalForm reports whether the record's strings are in normal form.
func (rec *record) inNormalForm() bool { return !rec.changed && !needsNorm(rec.txt) }

// normalTxt returns the value as character-strings in normal form: the
// record's own when they are, else its normal form as one string.
func (rec *record) normalTxt() []string {
	if rec.inNormalForm() {
		return rec.txt
	}
	rec.one[0] = rec.normal()
	return rec.one[:]
}

// publicAt reports whether the record has a shape expected at one of the
// owner's public labels. A value not in normal form (rare: it may
// allocate) is judged by its normal form, closing quote gone.
func (rec *record) publicAt(o *Owner, head []byte) bool {
	if !rec.inNormalForm() {
		var lb [headLen]byte
		if isPublicValue(lowerString(lb[:0], rec.normal())) {
			return true
		}
	}
	return isPublicAt(o.labels, head, rec.normalTxt())
}

// byRules returns the first rule, in catalog order, that claims the
// record (Rule -1 for none): an operator pattern or a shorter prefix must
// not take a token from its catalog vendor.
func (m *Matcher) byRules(o *Owner, head []byte, delim int, rec *record) Match {
	found := Match{Rule: -1}
	try := func(i int) {
		if found.Rule >= 0 && found.Rule < i {
			return
		}
		if m.claims(i, o, head, rec) {
			found = Match{Kind: Token, Rule: i}
		}
	}
	if delim >= 0 {
		for _, i := range m.byKey[string(head[:delim+1])] {
			try(i)
		}
	}
	m.byValue.walk(head, try)
	m.byOwner.walk(o.lower[:o.n], try)
	for _, i := range m.anyFirst {
		try(i)
	}
	return found
}

// claims reports whether rule i matches the record at owner o.
func (m *Matcher) claims(i int, o *Owner, head []byte, rec *record) bool {
	r := &m.rules[i]
	if r.owner != nil && (!hasPrefix(o.lower[:o.n], r.ownerPrefix) || !r.owner.MatchString(o.first)) {
		return false
	}
	if r.shape != shapeAny && !hasShape(r.shape, rec.normalTxt()) {
		return false // an always-public entry: its label alone is no door
	}
	if r.value != nil && (!hasPrefix(head, r.prefix) || !r.prefixOnly && !r.value.MatchString(rec.normal())) {
		return false
	}
	return true
}

// hasPrefix is bytes.HasPrefix for a string prefix, without a conversion
// that could allocate.
func hasPrefix(b []byte, p string) bool {
	return len(b) >= len(p) && string(b[:len(p)]) == p
}

// lowerHeadOne is normHead for the usual single character-string: the
// delimiter is found with the vectorised IndexByte, then the head (up to
// the delimiter and tail bytes beyond it, at most headLen bytes) is copied
// and lowered in one pass. Every prefix a rule or public tag checks ends
// within tail bytes of the delimiter (NewMatcher makes tail long enough),
// so the rest of a long token value is never touched. It reports false,
// and normHead runs the normalizer instead, if the head is not in normal
// form: a leading blank or quote, an escape, a blank beside the delimiter,
// a trailing blank in a value without one.
func lowerHeadOne(dst []byte, s string, tail int) ([]byte, int, bool) {
	if s != "" && (isBlank(s[0]) || isQuote(s[0])) {
		return dst, -1, false
	}
	probe := s[:min(len(s), headLen)]
	delim := strings.IndexByte(probe, '=')
	if c := strings.IndexByte(probe, ':'); c >= 0 && (delim < 0 || c < delim) {
		delim = c
	}
	n := len(probe)
	if delim >= 0 {
		n = min(n, delim+1+tail)
		if delim > 0 && isBlank(s[delim-1]) || delim+1 < len(s) && isBlank(s[delim+1]) {
			return dst, -1, false
		}
	} else if n == len(s) && n > 0 && isBlank(s[n-1]) {
		return dst, -1, false
	}
	dst = dst[:n]
	copy(dst, s)
	for i, c := range dst {
		if 'A' <= c && c <= 'Z' {
			dst[i] = c + 'a' - 'A'
		} else if c == '\\' {
			return dst[:0], -1, false
		}
	}
	return dst, delim, true
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
