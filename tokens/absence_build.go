package tokens

import (
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Building an Absence from a zone's records: a tree of the zone's names,
// each marked public when it or a name below it holds a record the policy
// does not hide.

// node is one name of the zone, empty non-terminals included.
type node struct {
	name     string // lower case
	parent   *node
	children []*node
	public   bool // it or a name below it holds a record external clients see
	cut      bool // a delegation: the zone is not authoritative below it
	// The name's own records: the rules of its hidden TXT records, and
	// whether it holds a TXT record that stays and other data.
	hiddenTXT []int
	publicTXT bool
	data      bool
}

// AbsenceLimit is the most names an Absence holds: hidden roots, names
// whose TXT records are all hidden beside other data, and the children of
// the parents of such wildcards. A zone with more keeps the first ones;
// the names left out answer as the token filter alone answers them (the
// name exists, its tokens are not shown; a TXT query costs a second
// lookup of the chain).
const AbsenceLimit = 1 << 18

// NewAbsence builds the Absence of zone (lower case, fully qualified) from
// its records rrs (a zone transfer's, in any order) under the policy at
// now. It returns when the result may next change by itself (the earliest
// reveal window end or expiry= still to come among the zone's tokens; zero
// if none) and whether every hidden name fitted in AbsenceLimit.
func NewAbsence(zone string, rrs []dns.RR, p *Policy, now time.Time) (a *Absence, next time.Time, complete bool) {
	t := &nameTree{zone: zone, nodes: map[string]*node{}, policy: p, now: now}
	for _, rr := range rrs {
		t.add(rr)
		if rr.Header().Rrtype == dns.TypeDNSKEY && strings.EqualFold(rr.Header().Name, zone) {
			t.signed = true
		}
	}
	a = &Absence{zone: zone, roots: map[uint64]hiddenRoot{}, wild: map[uint64]hiddenParent{},
		bare: map[uint64]bareName{}, bareWild: map[uint64]bareName{}, signed: t.signed}
	complete = true
	for _, n := range t.nodes {
		if n.data && len(n.hiddenTXT) > 0 && !n.publicTXT && !t.belowCut(n) {
			if !a.addBare(n) {
				complete = false
			}
			continue
		}
		if n.public || n.parent == nil || !n.parent.public || t.belowCut(n) {
			continue
		}
		if !a.addRoot(n, t) {
			complete = false
		}
	}
	return a, t.next, complete
}

// addBare adds n, a name whose TXT records are all hidden and which holds
// other data, or the parent of such a wildcard; it reports false if that
// would pass AbsenceLimit.
func (a *Absence) addBare(n *node) bool {
	wild := strings.HasPrefix(n.name, "*.")
	size := a.size + 1
	if wild {
		size += len(n.parent.children)
	}
	if size > AbsenceLimit {
		return false
	}
	a.size = size
	if !wild {
		a.bare[hashName(n.name)] = bareName{name: n.name, rules: n.hiddenTXT}
		return true
	}
	b := bareName{name: n.parent.name, rules: n.hiddenTXT, children: make(map[uint64]struct{}, len(n.parent.children))}
	for _, c := range n.parent.children {
		b.children[hashName(c.name)] = struct{}{}
	}
	a.bareWild[hashName(b.name)] = b
	return true
}

// nameTree is the zone's names while an Absence is built.
type nameTree struct {
	zone   string
	nodes  map[string]*node
	policy *Policy
	now    time.Time
	owner  Owner
	next   time.Time
	signed bool
}

// add records rr in the tree: its owner and the names above it exist, and
// they are public unless rr is a hidden TXT or a DNSSEC record that goes
// with the owner's other records (RRSIG, NSEC).
func (t *nameTree) add(rr dns.RR) {
	h := rr.Header()
	name := strings.ToLower(h.Name)
	if !dns.IsSubDomain(t.zone, name) {
		return
	}
	n := t.node(name)
	switch h.Rrtype {
	case dns.TypeRRSIG, dns.TypeNSEC:
		return
	case dns.TypeNS:
		n.cut = name != t.zone
		n.data = true
	case dns.TypeTXT:
		if rule, hidden := t.hidden(rr.(*dns.TXT)); hidden {
			n.hiddenTXT = append(n.hiddenTXT, rule)
			return
		}
		n.publicTXT = true
	default:
		n.data = true
	}
	for ; n != nil && !n.public; n = n.parent {
		n.public = true
	}
}

// hidden reports whether the policy hides txt, and by which rule, and
// keeps the earliest time that may change.
func (t *nameTree) hidden(txt *dns.TXT) (int, bool) {
	t.owner.Set(txt.Hdr.Name)
	mt := t.policy.matcher.ClassifyAt(&t.owner, txt.Txt)
	if mt.Kind != Token {
		return 0, false
	}
	if c := t.policy.nextChange(mt.Rule, txt.Txt, t.now); !c.IsZero() && (t.next.IsZero() || c.Before(t.next)) {
		t.next = c
	}
	return mt.Rule, t.policy.Hides(mt.Rule, txt.Txt, t.now)
}

// node returns the node of name (lower case, at or below the zone),
// making it and the empty non-terminals above it. The apex is public.
func (t *nameTree) node(name string) *node {
	if n, ok := t.nodes[name]; ok {
		return n
	}
	n := &node{name: name}
	t.nodes[name] = n
	if name == t.zone {
		n.public = true
		return n
	}
	n.parent = t.node(parentName(name))
	n.parent.children = append(n.parent.children, n)
	return n
}

// belowCut reports whether a delegation lies above n: the zone holds no
// authoritative data there.
func (t *nameTree) belowCut(n *node) bool {
	for p := n.parent; p != nil; p = p.parent {
		if p.cut {
			return true
		}
	}
	return false
}

// addRoot adds the hidden root n, and its parent if n is a wildcard; it
// reports false if that would pass AbsenceLimit.
func (a *Absence) addRoot(n *node, t *nameTree) bool {
	parent := n.parent
	wild := strings.HasPrefix(n.name, "*.")
	size := a.size + 1
	if wild {
		size += len(parent.children)
	}
	if size > AbsenceLimit || len(n.name) > 255 {
		return false
	}
	a.size = size
	// The twin of a name below n goes under n's parent, where the zone
	// without n answers any missing name alike, unless a hidden wildcard
	// would synthesise the twin there: then under a leaf below n, where
	// nothing exists and no wildcard can.
	under := parent.name
	if w, ok := t.nodes["*."+parent.name]; ok && !w.public {
		under = leaf(n).name
	}
	a.roots[hashName(n.name)] = hiddenRoot{name: n.name, under: under}
	a.mark(n.name)
	a.names++
	if wild {
		hp := hiddenParent{name: parent.name, under: under, children: make(map[uint64]struct{}, len(parent.children))}
		for _, c := range parent.children {
			hp.children[hashName(c.name)] = struct{}{}
		}
		a.wild[hashName(parent.name)] = hp
		a.mark(parent.name)
	}
	return true
}

// mark records that a name of this length is in roots or wild.
func (a *Absence) mark(name string) {
	a.lengths[len(name)/64] |= 1 << (len(name) % 64)
}

// leaf returns a name at or below n with no name below it.
func leaf(n *node) *node {
	for len(n.children) > 0 {
		n = n.children[0]
	}
	return n
}

// parentName returns name without its first label.
func parentName(name string) string {
	if i, end := dns.NextLabel(name, 0); !end {
		return name[i:]
	}
	return "."
}
