//go:build e2e && enum

package enum

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/veildns/veil/test/harness"
)

// rrsetKey is an RRset: owner name (absolute) and type.
type rrsetKey struct {
	name  string
	qtype uint16
}

// zoneData is the generated zone example.com: its names and the run's
// nonce.
type zoneData struct {
	words   []string        // labels from the tools' lists (testdata/words.txt)
	labels  []string        // every owner name below the apex, relative to it, in zone order
	nested  []string        // of them, the names two labels below the apex
	all     map[string]bool // labels as a set
	special map[string]bool // labels a tool learns without guessing: NS, MX, the probe
	nonce   string
}

// newZone reads the word labels, adds random labels, which no tool list
// holds, and nestedCount nested names below one more random label, up to
// nameCount names.
//
// The nested names share one parent, an empty non-terminal that sorts
// after every other label of the zone, because of the walkers'
// limitations: dnsrecon's zone walk follows from a nested name only an NSEC
// whose next name is under the same parent, so a nested name elsewhere
// would end its walk there; ldns-walk asks for "name\000" after each name,
// which skips the names below a name that has records of its own. Both
// would miss names without veil too.
func newZone(t *testing.T) *zoneData {
	t.Helper()
	z := &zoneData{all: map[string]bool{}, special: map[string]bool{nsLabel: true, mxLabel: true, runIDLabel: true}}
	z.readWords(t)
	checkDnsmapList(t)
	// Random labels must not be guessable from any of the lists.
	inLists := map[string]bool{}
	for _, tool := range tools {
		if tool.list != "" {
			for w := range readList(t, tool.list) {
				inLists[w] = true
			}
		}
	}
	for _, w := range z.words {
		if !inLists[w] {
			t.Fatalf("%s: %q is in none of the tools' default lists: the lists changed, update %s", wordFile, w, wordFile)
		}
	}
	z.labels = append(z.labels, nsLabel, mxLabel, runIDLabel)
	z.labels = append(z.labels, z.words...)
	for l := range z.special {
		z.all[l] = true
	}
	z.addRandomLabels(t, inLists, nameCount-nestedCount)
	parent := "zz" + z.randomLabel(t, inLists, "z")[2:]
	if inLists[parent] || z.all[parent] {
		t.Fatalf("the nested names' parent %q is in a list or in the zone", parent)
	}
	for _, l := range z.labels {
		if l >= parent {
			t.Fatalf("label %q sorts after the nested names' parent %q", l, parent)
		}
	}
	for range nestedCount {
		n := z.randomLabel(t, inLists, "hqsx") + "." + parent
		z.all[n] = true
		z.labels = append(z.labels, n)
		z.nested = append(z.nested, n)
	}
	if len(z.labels) != nameCount {
		t.Fatalf("could only make %d names", len(z.labels))
	}
	z.nonce = harness.Nonce(t)
	return z
}

// readWords reads the word labels of wordFile into z.words and z.all.
func (z *zoneData) readWords(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(wordFile)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		w := strings.TrimSpace(line)
		if w == "" || strings.HasPrefix(w, "#") {
			continue
		}
		if _, ok := dns.IsDomainName(w); !ok || strings.Contains(w, ".") || z.all[w] {
			t.Fatalf("%s: bad or repeated label %q", wordFile, w)
		}
		z.words = append(z.words, w)
		z.all[w] = true
	}
}

// addRandomLabels adds random labels, in no list of inLists and not yet in
// the zone, until the zone has n labels.
func (z *zoneData) addRandomLabels(t *testing.T, inLists map[string]bool, n int) {
	t.Helper()
	for len(z.labels) < n {
		l := z.randomLabel(t, inLists, "hqsx")
		z.all[l] = true
		z.labels = append(z.labels, l)
	}
}

// randomLabel returns a random label of 8 characters, the first one of
// first, that is in no list of inLists and not yet in the zone.
func (z *zoneData) randomLabel(t *testing.T, inLists map[string]bool, first string) string {
	t.Helper()
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	for range 1000 {
		var rb [8]byte
		if _, err := rand.Read(rb[:]); err != nil {
			t.Fatal(err)
		}
		l := make([]byte, 0, 8)
		l = append(l, first[int(rb[0])%len(first)])
		for _, c := range rb[1:] {
			l = append(l, alphabet[int(c)%len(alphabet)])
		}
		s := string(l)
		if !z.all[s] && !inLists[s] {
			return s
		}
	}
	t.Fatal("no free random label")
	return ""
}

// checkDnsmapList checks that dnsmap's binary still holds every word of
// the built-in list the test assumes (testdata/dnsmap-builtin.txt), each
// a NUL-terminated string.
func checkDnsmapList(t *testing.T) {
	t.Helper()
	path, err := exec.LookPath("dnsmap")
	if err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	for w := range readList(t, dnsmapList) {
		if !bytes.Contains(bin, []byte("\x00"+w+"\x00")) {
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		t.Fatalf("%s holds %d words of %s no longer: %v; extract the list again (see the file's header)",
			path, len(missing), dnsmapList, missing[:min(len(missing), 20)])
	}
}

// text returns the zone file; nsAddr is the address of the NS name, the
// listener that serves the file, so tools that ask the zone's name server
// (fierce's and dnsenum's transfer attempts) stay on that listener.
func (z *zoneData) text(nsAddr string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "$ORIGIN %s.\n$TTL 3600\n", zoneName)
	fmt.Fprintf(&b, "@ IN SOA %s.%s. hostmaster.%s. 2026112601 7200 3600 1209600 300\n", nsLabel, zoneName, zoneName)
	fmt.Fprintf(&b, "@ IN NS %s.%s.\n", nsLabel, zoneName)
	fmt.Fprintf(&b, "@ IN MX 10 %s.%s.\n", mxLabel, zoneName)
	fmt.Fprintf(&b, "@ IN TXT \"v=spf1 -all\"\n")
	fmt.Fprintf(&b, "%s IN A %s\n", nsLabel, nsAddr)
	fmt.Fprintf(&b, "%s IN TXT %q\n", runIDLabel, z.nonce)
	for i, l := range z.labels {
		if l == nsLabel || l == runIDLabel {
			continue
		}
		fmt.Fprintf(&b, "%s IN A 127.88.%d.%d\n", l, i/250, 1+i%250)
		if i%4 == 0 {
			fmt.Fprintf(&b, "%s IN AAAA 2001:db8:88::%x\n", l, i+1)
		}
		if i%8 == 0 {
			fmt.Fprintf(&b, "%s IN TXT \"host %d of the enumeration test\"\n", l, i)
		}
	}
	return b.String()
}

// expectations parses the zone served at nsAddr into its RRsets (A, AAAA,
// MX, TXT), as rr.String() sorted.
func (z *zoneData) expectations(t *testing.T, nsAddr string) map[rrsetKey][]string {
	t.Helper()
	exp := map[rrsetKey][]string{}
	zp := dns.NewZoneParser(strings.NewReader(z.text(nsAddr)), zoneName+".", "")
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		h := rr.Header()
		k := rrsetKey{name: strings.ToLower(h.Name), qtype: h.Rrtype}
		exp[k] = append(exp[k], rr.String())
	}
	if err := zp.Err(); err != nil {
		t.Fatalf("parsing the generated zone: %v", err)
	}
	for k := range exp {
		slices.Sort(exp[k])
	}
	return exp
}

// guessable returns the names of the zone the tool can find: those in its
// default list, or all of them for the NSEC walkers. The zone must hold at
// least tool.minShare of the list.
func (z *zoneData) guessable(t *testing.T, tool toolSpec) map[string]bool {
	t.Helper()
	g := map[string]bool{}
	if tool.walker {
		for _, l := range z.labels {
			g[l] = true
		}
		return g
	}
	list := readList(t, tool.list)
	for _, w := range z.words {
		if list[w] {
			g[w] = true
		}
	}
	if floor := int(math.Ceil(tool.minShare * float64(len(list)))); len(g) < floor {
		t.Fatalf("only %d labels of %s are in %s's default list %s (%d names), want at least %d (%.0f%%): the list changed, update %s",
			len(g), wordFile, tool.name, tool.list, len(list), floor, 100*tool.minShare, wordFile)
	}
	return g
}

// typo returns a label that is an existing word with one typing error and
// is not in the zone.
func (z *zoneData) typo(rng *mrand.Rand) string {
	for range 1000 {
		w := []byte(z.words[rng.IntN(len(z.words))])
		i := rng.IntN(len(w))
		var s string
		switch rng.IntN(3) {
		case 0: // doubled key
			s = string(w[:i+1]) + string(w[i:])
		case 1: // dropped key
			s = string(w[:i]) + string(w[i+1:])
		default: // neighbouring key
			c := w[i]
			if c >= 'a' && c < 'z' {
				c++
			} else {
				c = 'q'
			}
			s = string(w[:i]) + string(c) + string(w[i+1:])
		}
		if s != "" && !z.all[s] && s[0] != '-' && s[len(s)-1] != '-' {
			return s
		}
	}
	return "no-such-host-e2e"
}

// readList reads a wordlist into a set of lowercase labels; lines that
// start with "#" are comments (only testdata/dnsmap-builtin.txt has them).
func readList(t *testing.T, path string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading wordlist: %v", err)
	}
	set := map[string]bool{}
	for line := range strings.Lines(string(b)) {
		if w := strings.ToLower(strings.TrimSpace(line)); w != "" && !strings.HasPrefix(w, "#") {
			set[w] = true
		}
	}
	return set
}
