package cluster

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/veildns/veil/ratelimit"
)

var testHeader = Header{Replica: [8]byte{1, 2, 3, 4, 5, 6, 7, 8}, Sent: 1_800_000_000_000}

// validRecords has one record of each kind and family.
func validRecords() []Record {
	return []Record{
		{Zone: "example.org.", Kind: KindDenials, Key: ratelimit.Key{Addr: netip.MustParseAddr("192.0.2.7")}, Tier: ratelimit.TierV4Host, N: 12},
		{Zone: "example.org.", Kind: KindAnswers, Key: ratelimit.Key{Addr: netip.MustParseAddr("2001:db8:1:2::"), Stream: true}, Tier: ratelimit.TierV6Net, N: 1},
		{Zone: "example.net.", Kind: KindBlock, Key: ratelimit.Key{Addr: netip.MustParseAddr("198.51.100.0")}, Tier: ratelimit.TierV4Net, Rule: ratelimit.RuleRate, Until: 1_800_000_120_000},
		{Zone: "example.net.", Kind: KindBlock, Key: ratelimit.Key{Addr: netip.MustParseAddr("2001:db8::")}, Tier: ratelimit.TierV6Org, Rule: ratelimit.RuleStub, Until: 1_800_000_060_000},
	}
}

func encodeRecords(rs []Record) []byte { return Encode(testHeader, rs) }

func decodeAll(t *testing.T, b []byte) ([]Record, []Reason, error) {
	t.Helper()
	var got []Record
	var rejected []Reason
	_, err := Decode(b, func(r Record) { got = append(got, r) }, func(r Reason) { rejected = append(rejected, r) })
	return got, rejected, err
}

func TestWireRoundTrip(t *testing.T) {
	want := validRecords()
	b := encodeRecords(want)
	h, err := Decode(b, func(Record) {}, func(r Reason) { t.Errorf("rejected %v", r) })
	if err != nil || h != testHeader {
		t.Fatalf("Decode header = %+v, %v; want %+v", h, err, testHeader)
	}
	got, _, _ := decodeAll(t, b)
	if len(got) != len(want) {
		t.Fatalf("decoded %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("record %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

// TestWireRejectsPayloads: a payload whose framing does not hold is
// rejected whole, with its reason, and no record is applied.
func TestWireRejectsPayloads(t *testing.T) {
	good := encodeRecords(validRecords())
	mutate := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	cases := []struct {
		name    string
		payload []byte
		want    Reason
	}{
		{"empty", nil, ReasonMalformed},
		{"not a batch", []byte("hello world, this is not veil"), ReasonMalformed},
		{"short header", good[:headerLen-1], ReasonMalformed},
		{"version 2", mutate(func(b []byte) []byte { b[2] = 2; return b }), ReasonVersion},
		{"version 0", mutate(func(b []byte) []byte { b[2] = 0; return b }), ReasonVersion},
		{"reserved byte", mutate(func(b []byte) []byte { b[3] = 1; return b }), ReasonMalformed},
		{"sent 0", mutate(func(b []byte) []byte { clear(b[12:20]); return b }), ReasonMalformed},
		{"truncated record", good[:len(good)-1], ReasonMalformed},
		{"trailing byte", append(bytes.Clone(good), 0), ReasonMalformed},
		{"more records claimed", mutate(func(b []byte) []byte { b[23]++; return b }), ReasonMalformed},
		{"zone length past end", mutate(func(b []byte) []byte { b[headerLen] = 255; return b }), ReasonMalformed},
		{"zone upper case", mutate(func(b []byte) []byte { b[headerLen+1] = 'E'; return b }), ReasonMalformed},
		{"zone without final dot", mutate(func(b []byte) []byte { b[headerLen+int(b[headerLen])] = 'x'; return b }), ReasonMalformed},
		{"oversized", append(bytes.Clone(good), make([]byte, MaxBatchBytes)...), ReasonOversized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, rejected, err := decodeAll(t, tc.payload)
			if err == nil || reasonOf(err) != tc.want {
				t.Fatalf("Decode error %v, want reason %v", err, tc.want)
			}
			if len(got) != 0 || len(rejected) != 0 {
				t.Errorf("a rejected payload yielded records %v and rejections %v", got, rejected)
			}
		})
	}
}

// TestWireRejectsRecords: a record that does not hold is rejected with its
// reason; the batch's other records are kept.
func TestWireRejectsRecords(t *testing.T) {
	// Offsets within the first record (a v4 denials count).
	zonesLen := 1 + len("example.org.") + 1 + len("example.net.")
	rec := headerLen + zonesLen
	set := func(off int, v ...byte) func([]byte) { return func(b []byte) { copy(b[rec+off:], v) } }
	setU64 := func(off int, v uint64) func([]byte) {
		return func(b []byte) { binary.BigEndian.PutUint64(b[rec+off:], v) }
	}
	cases := []struct {
		name string
		mut  func([]byte)
		want Reason
	}{
		{"kind 0", set(0, 0), ReasonMalformed},
		{"kind 9", set(0, 9), ReasonMalformed},
		{"unknown flag", set(1, 4), ReasonMalformed},
		{"v6 tier on a v4 key", set(2, byte(ratelimit.TierV6Net)), ReasonFamily},
		{"tier past the last", set(2, byte(ratelimit.NumTiers)), ReasonFamily},
		{"v4 key with bits past 32", setU64(8, 1<<40|7), ReasonFamily},
		{"count of a wider tier", set(2, byte(ratelimit.TierV4Net)), ReasonMalformed},
		{"rule on a count", set(3, 1), ReasonMalformed},
		{"zone index out of range", set(4, 0, 2), ReasonMalformed},
		{"reserved bytes", set(6, 0, 1), ReasonMalformed},
		{"count 0", setU64(16, 0), ReasonMalformed},
		{"count too large", setU64(16, maxCountVal+1), ReasonMalformed},
		{"block with host bits", func(b []byte) { set(0, byte(KindBlock), 0, byte(ratelimit.TierV4Net), byte(ratelimit.RuleRate))(b) }, ReasonMalformed},
		{"block without rule", func(b []byte) { set(0, byte(KindBlock), 0, byte(ratelimit.TierV4Host), 0)(b) }, ReasonMalformed},
		{"block ending before 1970", func(b []byte) {
			set(0, byte(KindBlock), 0, byte(ratelimit.TierV4Host), byte(ratelimit.RuleRate))(b)
			setU64(16, 1<<63)(b)
		}, ReasonMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := encodeRecords(validRecords())
			tc.mut(b)
			got, rejected, err := decodeAll(t, b)
			if err != nil {
				t.Fatalf("whole payload rejected: %v", err)
			}
			if len(rejected) != 1 || rejected[0] != tc.want {
				t.Errorf("rejections %v, want [%v]", rejected, tc.want)
			}
			if want := validRecords()[1:]; len(got) != len(want) || got[0] != want[0] {
				t.Errorf("other records: got %+v, want %+v", got, want)
			}
		})
	}
}

// FuzzDecode: whatever Redis holds, Decode does not panic, rejects or
// accepts every record it announces, and what it accepts encodes back to
// a record that decodes the same.
func FuzzDecode(f *testing.F) {
	f.Add(encodeRecords(validRecords()))
	f.Add(encodeRecords(validRecords()[2:]))
	f.Add([]byte("VL\x01\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var got []Record
		n := 0
		_, err := Decode(b, func(r Record) { got = append(got, r); n++ }, func(Reason) { n++ })
		if err != nil {
			if n != 0 {
				t.Fatalf("rejected payload yielded %d records", n)
			}
			return
		}
		if want := int(binary.BigEndian.Uint16(b[22:24])); n != want {
			t.Fatalf("%d records seen, header says %d", n, want)
		}
		if len(got) == 0 {
			return
		}
		again, rejected, err := decodeAll(t, encodeRecords(got))
		if err != nil || len(rejected) != 0 || len(again) != len(got) {
			t.Fatalf("re-encoded accepted records: %v, %v", err, rejected)
		}
		for i := range got {
			if again[i] != got[i] {
				t.Fatalf("record %d: %+v became %+v", i, got[i], again[i])
			}
		}
	})
}

// TestWireCarriesUnknownRules: a block by a rule this version does not
// know (a newer replica's) decodes as a block with that rule, which
// encodes back the same, so replicas of different versions share a Redis.
func TestWireCarriesUnknownRules(t *testing.T) {
	rs := validRecords()[2:3]
	rs[0].Rule = ratelimit.NumRules + 7
	got, rejected, err := decodeAll(t, encodeRecords(rs))
	if err != nil || len(rejected) != 0 || len(got) != 1 || got[0] != rs[0] {
		t.Fatalf("a block by rule %d: got %+v, rejected %v, %v", rs[0].Rule, got, rejected, err)
	}
	if got[0].Rule.Known() || got[0].Rule.String() != "unknown" {
		t.Errorf("rule %d: Known %v, String %q", got[0].Rule, got[0].Rule.Known(), got[0].Rule.String())
	}
}
