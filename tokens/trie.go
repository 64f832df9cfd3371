package tokens

// prefixTrie finds the rules whose literal prefix starts a string: a walk
// down the trie takes one step per byte of the string and stops where no
// prefix continues, so a record pays for the few bytes it shares with a
// prefix, not for the number of rules.
type prefixTrie struct {
	nodes []trieNode // nodes[0] is the root
	root  [256]int32 // the root's children by byte, 0 for none: one index instead of a search on the widest node
}

type trieNode struct {
	edges []trieEdge
	rules []int // rules whose prefix ends here, in rule order
}

type trieEdge struct {
	c    byte
	next int32
}

func newPrefixTrie() *prefixTrie { return &prefixTrie{nodes: make([]trieNode, 1)} }

// add files rule under prefix.
func (t *prefixTrie) add(prefix string, rule int) {
	n := 0
	for i := 0; i < len(prefix); i++ {
		next := int32(-1)
		for _, e := range t.nodes[n].edges {
			if e.c == prefix[i] {
				next = e.next
				break
			}
		}
		if next < 0 {
			next = int32(len(t.nodes))
			t.nodes = append(t.nodes, trieNode{})
			t.nodes[n].edges = append(t.nodes[n].edges, trieEdge{c: prefix[i], next: next})
			if n == 0 {
				t.root[prefix[i]] = next
			}
		}
		n = int(next)
	}
	t.nodes[n].rules = append(t.nodes[n].rules, rule)
}

// walk calls f with every rule whose prefix starts s, shortest prefix
// first.
func (t *prefixTrie) walk(s []byte, f func(rule int)) {
	n := 0
	for i := 0; ; i++ {
		for _, r := range t.nodes[n].rules {
			f(r)
		}
		if i == len(s) {
			return
		}
		next := int32(-1)
		if n == 0 {
			if next = t.root[s[i]]; next == 0 {
				return
			}
		} else {
			for _, e := range t.nodes[n].edges {
				if e.c == s[i] {
					next = e.next
					break
				}
			}
			if next < 0 {
				return
			}
		}
		n = int(next)
	}
}
