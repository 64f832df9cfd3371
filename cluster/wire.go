package cluster

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/veildns/veil/ratelimit"
)

// The wire format of a batch, the payload of one Stream entry (field "b")
// or one member of the blocks sorted set. Binary, fixed-size records, every
// field checked on the way in: whoever can write the shared keys should at
// worst have a record rejected and counted.
//
//	header  24 bytes: "VL", version, 0, replica id (8), sent (unix ms, 8),
//	        zones (u16), records (u16)
//	zones   each: length (u8, 1..255), the zone's name in lower case
//	records 24 bytes each: kind, flags (bit 0 stream, bit 1 IPv6), tier,
//	        rule, zone index (u16), 0 (u16), prefix bits (u64: IPv4 in the
//	        low 32 bits, IPv6's first 64), value (u64: a count, or a
//	        block's end in unix ms)
//
// All integers are big-endian.
const (
	// Version is the wire format's version; a batch of another is
	// rejected (reason "version").
	Version     = 1
	headerLen   = 24
	recordLen   = 24
	flagStream  = 1
	flagV6      = 2
	maxZoneLen  = 255
	maxCountVal = 1 << 24 // a count above this is malformed: more answers than a replica gives in an interval

	// MaxBatchBytes bounds a payload; a longer one is rejected whole
	// (reason "oversized").
	MaxBatchBytes = 1 << 20
	// MaxRecords is the most records a replica puts in one batch; it
	// splits a longer one.
	MaxRecords = 4096
)

// Kind is what a record says.
type Kind uint8

// The kinds of record.
const (
	KindDenials Kind = iota + 1 // N denials charged to a client key
	KindAnswers                 // N answers charged to a stub-like client key
	KindBlock                   // a tier of a key blocked until Until
	kindEnd
)

// NumKinds bounds Kind values, for arrays indexed by kind.
const NumKinds = int(kindEnd)

var kindNames = [NumKinds]string{"", "denials", "answers", "block"}

// String returns the kind's "kind" metric label.
func (k Kind) String() string {
	if int(k) < NumKinds {
		return kindNames[k]
	}
	return "unknown"
}

// Record is one fact a replica tells the others.
type Record struct {
	Zone string
	Kind Kind
	// Key is the client key: Addr the prefix's address (the IPv4 address,
	// or an IPv6 address with the bits past the tier zero).
	Key  ratelimit.Key
	Tier ratelimit.Tier // KindBlock: the tier blocked; counts: the client tier
	// Rule is the rule a KindBlock block broke: one of ratelimit's, or
	// a newer version's, which is carried and applied as a block all the
	// same.
	Rule ratelimit.Rule
	// N is the count of KindDenials and KindAnswers.
	N uint32
	// Until is when a KindBlock block ends, in unix milliseconds.
	Until int64
}

// Header is a batch's header.
type Header struct {
	Replica [8]byte
	Sent    int64 // unix ms
}

// Encode returns the payload of a batch of records, which must be at most
// MaxRecords, of at most 256 zones, each well-formed (as Decode accepts).
func Encode(h Header, records []Record) []byte {
	zoneIndex := map[string]int{}
	var zones []string
	size := headerLen + len(records)*recordLen
	for _, r := range records {
		if _, ok := zoneIndex[r.Zone]; !ok {
			zoneIndex[r.Zone] = len(zones)
			zones = append(zones, r.Zone)
			size += 1 + len(r.Zone)
		}
	}
	b := make([]byte, 0, size)
	b = append(b, 'V', 'L', Version, 0)
	b = append(b, h.Replica[:]...)
	b = binary.BigEndian.AppendUint64(b, uint64(h.Sent))
	b = binary.BigEndian.AppendUint16(b, uint16(len(zones)))
	b = binary.BigEndian.AppendUint16(b, uint16(len(records)))
	for _, z := range zones {
		b = append(b, byte(len(z)))
		b = append(b, z...)
	}
	for _, r := range records {
		b = appendRecord(b, r, zoneIndex[r.Zone])
	}
	return b
}

func appendRecord(b []byte, r Record, zone int) []byte {
	var flags byte
	if r.Key.Stream {
		flags |= flagStream
	}
	var bits uint64
	if r.Key.Addr.Is4() {
		a := r.Key.Addr.As4()
		bits = uint64(binary.BigEndian.Uint32(a[:]))
	} else {
		flags |= flagV6
		a := r.Key.Addr.As16()
		bits = binary.BigEndian.Uint64(a[:8])
	}
	value := uint64(r.N)
	if r.Kind == KindBlock {
		value = uint64(r.Until)
	}
	b = append(b, byte(r.Kind), flags, byte(r.Tier), byte(r.Rule))
	b = binary.BigEndian.AppendUint16(b, uint16(zone))
	b = append(b, 0, 0)
	b = binary.BigEndian.AppendUint64(b, bits)
	return binary.BigEndian.AppendUint64(b, value)
}

// errReject carries the reason a whole payload was rejected.
type errReject struct{ reason Reason }

func (e errReject) Error() string { return "rejected: " + e.reason.String() }

// reasonOf returns the reason of a Decode error.
func reasonOf(err error) Reason {
	var r errReject
	if errors.As(err, &r) {
		return r.reason
	}
	return ReasonMalformed
}

// Decode checks a payload and calls accept with each well-formed record
// and reject with the reason of each other; an error (see reasonOf) means
// the whole payload was rejected and neither was called.
func Decode(b []byte, accept func(Record), reject func(Reason)) (Header, error) {
	var h Header
	if len(b) > MaxBatchBytes {
		return h, errReject{ReasonOversized}
	}
	if len(b) < headerLen || b[0] != 'V' || b[1] != 'L' {
		return h, errReject{ReasonMalformed}
	}
	if b[2] != Version {
		return h, errReject{ReasonVersion}
	}
	copy(h.Replica[:], b[4:12])
	h.Sent = int64(binary.BigEndian.Uint64(b[12:20]))
	nz, nr := int(binary.BigEndian.Uint16(b[20:22])), int(binary.BigEndian.Uint16(b[22:24]))
	if b[3] != 0 || h.Sent <= 0 {
		return h, errReject{ReasonMalformed}
	}
	zones, rest, ok := decodeZones(b[headerLen:], nz)
	if !ok || len(rest) != nr*recordLen {
		return h, errReject{ReasonMalformed}
	}
	for i := range nr {
		r, reason := decodeRecord(rest[i*recordLen:(i+1)*recordLen], zones)
		if reason != reasonNone {
			reject(reason)
			continue
		}
		accept(r)
	}
	return h, nil
}

// decodeZones reads n zone names; each must be a lower-case, fully
// qualified name.
func decodeZones(b []byte, n int) (zones []string, rest []byte, ok bool) {
	zones = make([]string, 0, n)
	for range n {
		if len(b) < 1 || b[0] == 0 || len(b) < 1+int(b[0]) {
			return nil, nil, false
		}
		z := string(b[1 : 1+int(b[0])])
		if !plausibleZone(z) {
			return nil, nil, false
		}
		zones = append(zones, z)
		b = b[1+int(b[0]):]
	}
	return zones, b, true
}

// plausibleZone reports whether z could be a zone veil guards: printable
// ASCII without upper case or spaces, ending in a dot.
func plausibleZone(z string) bool {
	if len(z) == 0 || len(z) > maxZoneLen || z[len(z)-1] != '.' {
		return false
	}
	for i := range len(z) {
		if c := z[i]; c <= ' ' || c >= 0x7f || (c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// decodeRecord checks one record: a known kind, a rule for a block (any
// rule: a newer replica's too), flags, a tier of the flagged family, prefix bits inside the tier, a zone index in range,
// and a count in range.
func decodeRecord(b []byte, zones []string) (Record, Reason) {
	r := Record{Kind: Kind(b[0]), Tier: ratelimit.Tier(b[2]), Rule: ratelimit.Rule(b[3])}
	flags, zone := b[1], int(binary.BigEndian.Uint16(b[4:6]))
	bits, value := binary.BigEndian.Uint64(b[8:16]), binary.BigEndian.Uint64(b[16:24])
	if r.Kind == 0 || r.Kind >= kindEnd || flags&^(flagStream|flagV6) != 0 || b[6] != 0 || b[7] != 0 || zone >= len(zones) {
		return r, ReasonMalformed
	}
	r.Zone, r.Key.Stream = zones[zone], flags&flagStream != 0
	if flags&flagV6 == 0 {
		if bits>>32 != 0 {
			return r, ReasonFamily
		}
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], uint32(bits))
		r.Key.Addr = netip.AddrFrom4(a)
	} else {
		var a [16]byte
		binary.BigEndian.PutUint64(a[:8], bits)
		r.Key.Addr = netip.AddrFrom16(a)
	}
	p, ok := ratelimit.TierPrefix(r.Key.Addr, r.Tier)
	if !ok {
		return r, ReasonFamily
	}
	if p.Addr() != r.Key.Addr {
		return r, ReasonMalformed // bits past the tier's prefix
	}
	if r.Kind == KindBlock {
		if r.Rule == ratelimit.RuleNone || int64(value) <= 0 {
			return r, ReasonMalformed
		}
		r.Until = int64(value)
		return r, reasonNone
	}
	if r.Rule != 0 || r.Tier != ratelimit.ClientTier(r.Key.Addr) || value == 0 || value > maxCountVal {
		return r, ReasonMalformed
	}
	r.N = uint32(value)
	return r, reasonNone
}
