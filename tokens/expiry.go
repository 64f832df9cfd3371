package tokens

import (
	"strings"
	"time"
)

// Expiry returns the time in an "expiry=" attribute of a TXT value, the
// IETF domain-verification draft's way for a vendor to say how long its
// token is needed: "token=...; expiry=2026-12-31T00:00:00Z". Attributes are
// separated by semicolons (spaces around them are ignored); the time is as
// ParseDate reads it. ok is false if there is no well-formed expiry.
func Expiry(value string) (t time.Time, ok bool) {
	for attr := range strings.SplitSeq(value, ";") {
		attr = strings.TrimSpace(attr)
		k, v, found := strings.Cut(attr, "=")
		if !found || !strings.EqualFold(strings.TrimSpace(k), "expiry") {
			continue
		}
		t, err := ParseDate(strings.TrimSpace(v))
		return t, err == nil
	}
	return time.Time{}, false
}

// ParseDate reads the end of a period: a date alone ("2026-12-31") means
// the end of that day in UTC (the next midnight, 2027-01-01T00:00:00Z),
// anything else must be an RFC 3339 time. It reads both an "expiry=" value
// and the date of a "reveal ... until DATE" line.
func ParseDate(s string) (time.Time, error) {
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return d.Add(24 * time.Hour), nil
	}
	return time.Parse(time.RFC3339, s)
}
