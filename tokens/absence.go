package tokens

import (
	"math/bits"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Absence knows, for one zone, which names exist only for the records the
// policy hides, so that an external client's query at such a name, or
// below it, can be answered as the zone without those records answers:
// with the answer the zone gives a name that does not exist at the same
// place (NXDOMAIN, or what a wildcard there synthesises), for every query
// type. It is built from the zone's records (NewAbsence) and never changed
// afterwards, so it is safe for concurrent use.
//
// The names are the hidden roots: the highest names whose subtree (the
// name, the empty non-terminals it hangs from that have nothing else below
// them, and every name below it) holds nothing but hidden TXT records and
// their DNSSEC records. A wildcard that is a hidden root also hides every
// name it would synthesise: the names below its parent that do not exist.
//
// Each such query is answered through a twin: a name that does not exist
// in the zone either, placed where the zone without the hidden records
// would answer it the same way (Under says where). The caller asks the
// rest of the chain, cache included, for the twin (TwinName) and gives
// the client that answer under its own question.
type Absence struct {
	zone  string
	roots map[uint64]hiddenRoot   // by hashName of the lower-case name
	wild  map[uint64]hiddenParent // parents of hidden wildcards
	// Names whose TXT records are all hidden and which hold other data,
	// and the parents of such wildcards (Bare).
	bare     map[uint64]bareName
	bareWild map[uint64]bareName
	lengths  [4]uint64 // bit n: a name of length n is in roots or wild
	signed   bool      // the apex holds a DNSKEY
	names    int       // hidden roots
	size     int       // names held: roots and wildcard parents' children
}

// hiddenRoot is one hidden root and where its twins go.
type hiddenRoot struct {
	name  string // lower case
	under string // the twins' parent
}

// hiddenParent is the parent of a wildcard that is a hidden root: a name
// below it whose child of the parent does not exist is synthesised from
// the wildcard.
type hiddenParent struct {
	name     string              // lower case
	under    string              // the twins' parent
	children map[uint64]struct{} // hashNames of the parent's children
}

// bareName is a name whose TXT records are all hidden and which holds
// other data (or the parent of such a wildcard, with its children): the
// rules of its hidden records.
type bareName struct {
	name     string // lower case
	rules    []int
	children map[uint64]struct{} // a wildcard's parent: hashNames of its children
}

// Bare reports whether qname holds other data and TXT records that the
// policy all hides (its own, or a wildcard's that synthesises it), so
// that a TXT query gets the zone's NODATA; it returns the matcher rules of
// the hidden records. It does not allocate.
func (a *Absence) Bare(qname string) (rules []int, ok bool) {
	if a == nil || len(a.bare)+len(a.bareWild) == 0 {
		return nil, false
	}
	if b, ok := a.bare[hashName(qname)]; ok && strings.EqualFold(b.name, qname) {
		return b.rules, true
	}
	if len(a.bareWild) == 0 {
		return nil, false
	}
	i, end := dns.NextLabel(qname, 0)
	if end {
		return nil, false
	}
	if w, ok := a.bareWild[hashName(qname[i:])]; ok && strings.EqualFold(w.name, qname[i:]) {
		if _, exists := w.children[hashName(qname)]; !exists {
			return w.rules, true
		}
	}
	return nil, false
}

// Hides reports whether the Absence holds any name: a hidden one, or one
// whose TXT records are all hidden.
func (a *Absence) Hides() bool {
	return a != nil && len(a.roots)+len(a.wild)+len(a.bare)+len(a.bareWild) > 0
}

// Empty reports whether no name of the zone is hidden: Under always says
// no. A nil Absence is empty.
func (a *Absence) Empty() bool { return a == nil || len(a.roots)+len(a.wild) == 0 }

// Names returns the number of hidden roots.
func (a *Absence) Names() int {
	if a == nil {
		return 0
	}
	return a.names
}

// Signed reports whether the zone is signed (its apex holds a DNSKEY). A
// DNSSEC-OK client of a signed zone gets signed TXT RRsets whole (Find),
// so a hidden root exists for it: a caller does not use a twin then.
func (a *Absence) Signed() bool { return a != nil && a.signed }

// Under reports whether qname, a name at or below the zone, is a name the
// zone holds only for hidden records, a name below one, or a name a hidden
// wildcard synthesises; if so it returns the parent under which the twin
// of qname goes. It does not allocate.
//
// It runs on every external query of a zone with hidden names, so it
// looks only at the suffixes of qname whose length a hidden name (or the
// parent of a hidden wildcard) has, read from a bitmap of lengths: a name
// no hidden name is as long as any suffix of costs a few instructions
// (BenchmarkAbsence/under-miss; walking every label took 10 ns a query).
func (a *Absence) Under(qname string) (parent string, ok bool) {
	if a.Empty() {
		return "", false
	}
	lo, hi := len(a.zone), min(len(qname), 255)
	for w := lo >> 6; w <= hi>>6; w++ {
		set := a.lengths[w]
		for set != 0 {
			b := bits.TrailingZeros64(set)
			set &= set - 1
			n := w<<6 + b
			if n < lo || n > hi {
				continue
			}
			if i := len(qname) - n; labelStart(qname, i) {
				if parent, ok := a.at(qname, i); ok {
					return parent, true
				}
			}
		}
	}
	return "", false
}

// at reports whether qname[i:] is a hidden root, or the parent of a hidden
// wildcard that synthesises qname: one whose child on the way to qname
// does not exist.
func (a *Absence) at(qname string, i int) (parent string, ok bool) {
	s := qname[i:]
	h := hashName(s)
	if r, ok := a.roots[h]; ok && strings.EqualFold(r.name, s) {
		return r.under, true
	}
	if w, ok := a.wild[h]; ok && i > 0 && strings.EqualFold(w.name, s) {
		if _, exists := w.children[hashName(qname[childStart(qname, i):])]; !exists {
			return w.under, true
		}
	}
	return "", false
}

// labelStart reports whether a label of name starts at i: at 0, or after
// a dot that no backslash escapes.
func labelStart(name string, i int) bool {
	if i == 0 {
		return true
	}
	if name[i-1] != '.' {
		return false
	}
	backslashes := 0
	for j := i - 2; j >= 0 && name[j] == '\\'; j-- {
		backslashes++
	}
	return backslashes%2 == 0
}

// childStart returns where the label of name that ends just before i
// (a label start) begins.
func childStart(name string, i int) int {
	start := 0
	for {
		next, end := dns.NextLabel(name, start)
		if end || next >= i {
			return start
		}
		start = next
	}
}

// TwinName returns the twin of qname under parent (a result of Under): a
// name under parent that does not exist and answers as qname would without
// the hidden records (NXDOMAIN, or what a wildcard at parent synthesises).
// Its label is qname's label under parent, a dash and a hash of qname
// in lower case under key: the same name every time (a cache below ages
// its answer as it would age qname's), one that nobody without the key can
// ask for, and one that sorts next to qname's own label, so the zone's
// lookup of it walks the names a lookup of qname walks, and takes as long
// (a label that would not fit, or that holds escapes, is replaced by
// "veil").
//
// With spelled, qname itself, spelled as the client spelled it (case and
// escapes), goes in front of a "veil-" label: a cache that keys names
// without case then keeps one entry for every spelling of qname, spelled
// as its first asker spelled it, as it keeps qname's own, and Untwin reads
// that spelling back from the answer (a zone signed on the fly names qname
// in its NSEC). If that would make the name too long, the twin is a short
// one.
func TwinName(qname, parent string, key func(lower string) uint64, spelled bool) string {
	const hex = "0123456789abcdef"
	h := key(strings.ToLower(qname))
	var b strings.Builder
	b.Grow(len(qname) + twinLabelLen + len(parent))
	if spelled && len(qname)+twinLabelLen+len(parent) <= 254 {
		b.WriteString(qname)
		b.WriteString("veil-")
	} else {
		b.WriteString(labelUnder(qname, parent))
		b.WriteString("-")
	}
	for shift := 60; shift >= 0; shift -= 4 {
		b.WriteByte(hex[h>>uint(shift)&0xf])
	}
	b.WriteByte('.')
	b.WriteString(parent)
	return b.String()
}

// labelUnder returns the label of qname just under parent, as qname spells
// it, if parent is an ancestor of qname and the label is short and plain;
// otherwise "veil".
func labelUnder(qname, parent string) string {
	end := len(qname) - len(parent)
	if end <= 1 || !strings.EqualFold(qname[end:], parent) || qname[end-1] != '.' {
		return "veil"
	}
	start := strings.LastIndexByte(qname[:end-1], '.') + 1
	label := qname[start : end-1]
	if len(label) > 40 || strings.IndexByte(label, '\\') >= 0 {
		return "veil"
	}
	return label
}

// twinLabelLen is the length of a twin's drawn label and its dot.
const twinLabelLen = len("veil-0123456789abcdef.")

// Untwin returns the name of length n that twin, a spelling of its twin,
// is the twin of, as that spelling spells it. It reports false for a twin
// without the name in front (a name too long for it).
func Untwin(twin string, n int) (string, bool) {
	if len(twin) < n+twinLabelLen || !strings.EqualFold(twin[n:n+5], "veil-") {
		return "", false
	}
	return twin[:n], true
}

// hashName is FNV-1a over name in ASCII lower case: names compare without
// case (RFC 4343), and the query path hashes a name without copying it.
func hashName(name string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// nextChange returns the earliest time after now at which the policy's
// decision on the TXT record txt of rule may change: its reveal window
// ends, or the expiry it carries passes. Zero: never.
func (p *Policy) nextChange(rule int, txt []string, now time.Time) time.Time {
	var t time.Time
	if until := p.rules[rule].revealUntil; until.After(now) {
		t = until
	}
	if exp, ok := Expiry(joinTXT(txt)); ok && exp.After(now) && (t.IsZero() || exp.Before(t)) {
		t = exp
	}
	return t
}
