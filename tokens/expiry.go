package tokens

import (
	"strings"
	"time"
)

// Expiry returns the time in an "expiry=" attribute of a TXT value, the
// IETF domain-verification draft's way for a vendor to say how long its
// token is needed: "token=...; expiry=2026-12-31T00:00:00Z". Attributes are
// separated by semicolons (spaces around them are ignored); the time is RFC
// 3339, or a date alone, meaning the end of that day in UTC. ok is false if
// there is no well-formed expiry.
func Expiry(value string) (t time.Time, ok bool) {
	for attr := range strings.SplitSeq(value, ";") {
		attr = strings.TrimSpace(attr)
		k, v, found := strings.Cut(attr, "=")
		if !found || !strings.EqualFold(strings.TrimSpace(k), "expiry") {
			continue
		}
		v = strings.TrimSpace(v)
		if t, err := time.Parse(time.RFC3339, v); err == nil {
			return t, true
		}
		if d, err := time.Parse(time.DateOnly, v); err == nil {
			return d.Add(24 * time.Hour), true
		}
		return time.Time{}, false
	}
	return time.Time{}, false
}
