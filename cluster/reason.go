package cluster

// Reason is why a record or a payload from Redis was rejected: the
// "reason" label of the rejected-events metric.
type Reason uint8

// The reasons.
const (
	reasonNone      Reason = iota
	ReasonMalformed        // not a batch, or a field out of range
	ReasonVersion          // a wire format this replica does not know
	ReasonOversized        // a payload over MaxBatchBytes
	ReasonFamily           // a tier of the other address family, or an IPv4 key with bits past 32
	ReasonFuture           // a block ending later than this replica's own block time allows
	ReasonZone             // a zone this replica does not guard
	ReasonExempt           // a block of a prefix inside a trusted or exempt network
	reasonEnd
)

// NumReasons bounds Reason values, for arrays indexed by reason.
const NumReasons = int(reasonEnd)

var reasonNames = [NumReasons]string{"", "malformed", "version", "oversized", "family", "future", "zone", "exempt"}

// String returns the reason's label.
func (r Reason) String() string {
	if int(r) < NumReasons {
		return reasonNames[r]
	}
	return "unknown"
}

// Reasons lists the reasons a record can be rejected for, in label order.
func Reasons() []Reason {
	out := make([]Reason, 0, NumReasons-1)
	for r := ReasonMalformed; r < reasonEnd; r++ {
		out = append(out, r)
	}
	return out
}
