package tokens

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// A corpus record: its line, and the TXT record as parsed from the zone
// file (escapes kept, as CoreDNS's file plugin holds it) and as unpacked
// from the wire (printable escapes resolved, '"', '\' and other bytes
// still escaped), which is what ClassifyAt receives.
type corpusRecord struct {
	line         int
	id           string // the rule id expected, token corpus only
	parsed, wire *dns.TXT
}

// readCorpus reads a corpus file: owner, [id,] character-strings in
// zone-file syntax, separated by tabs; '#' starts a comment line.
func readCorpus(t *testing.T, path string, withID bool) []corpusRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []corpusRecord
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<16)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		fields := strings.SplitN(line, "\t", 3)
		owner, id, strs := fields[0], "", fields[len(fields)-1]
		if withID {
			id = fields[1]
		}
		if len(fields) != map[bool]int{false: 2, true: 3}[withID] {
			t.Fatalf("%s:%d: want %d tab-separated fields", path, n, map[bool]int{false: 2, true: 3}[withID])
		}
		rr, err := dns.NewRR(owner + " 300 IN TXT " + strs)
		if err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		m := new(dns.Msg)
		m.SetQuestion(owner, dns.TypeTXT)
		m.Answer = []dns.RR{rr}
		wire, err := m.Pack()
		if err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		in := new(dns.Msg)
		if err := in.Unpack(wire); err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		recs = append(recs, corpusRecord{line: n, id: id, parsed: rr.(*dns.TXT), wire: in.Answer[0].(*dns.TXT)})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestOrdinaryCorpus: no ordinary TXT record of the corpus is a token, in
// either form. The counts are what docs/tokens-false-positives.md reports:
//
//	go test -count=1 -v -run 'Corpus' ./tokens/
func TestOrdinaryCorpus(t *testing.T) {
	m := newMatcher(t)
	recs := readCorpus(t, "testdata/ordinary-txt.txt", false)
	if len(recs) < 150 {
		t.Fatalf("%d records, want at least 150", len(recs))
	}
	fp := 0
	for _, r := range recs {
		for _, txt := range []*dns.TXT{r.parsed, r.wire} {
			if got := m.Classify(txt.Hdr.Name, txt.Txt); got.Kind == Token {
				fp++
				t.Errorf("line %d: %s %q classified as a token of %s", r.line, txt.Hdr.Name, txt.Txt, m.Rules()[got.Rule].ID)
				break
			}
		}
	}
	t.Logf("ordinary corpus: %d false positives / %d records", fp, len(recs))
}

// TestTokenCorpus: every token of the corpus, in its odd format, is
// classified as a token of its rule, in either form.
func TestTokenCorpus(t *testing.T) {
	m := newMatcher(t)
	recs := readCorpus(t, "testdata/token-txt.txt", true)
	if len(recs) < 40 {
		t.Fatalf("%d records, want at least 40", len(recs))
	}
	found := 0
	for _, r := range recs {
		ok := true
		for _, txt := range []*dns.TXT{r.parsed, r.wire} {
			got := m.Classify(txt.Hdr.Name, txt.Txt)
			if got.Kind != Token || m.Rules()[got.Rule].ID != r.id {
				ok = false
				t.Errorf("line %d: %s %q: %+v, want a token of %s", r.line, txt.Hdr.Name, txt.Txt, got, r.id)
			}
		}
		if ok {
			found++
		}
	}
	t.Logf("token corpus: %d detected / %d records", found, len(recs))
}
