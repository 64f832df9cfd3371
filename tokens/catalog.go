package tokens

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"sync"
)

// Lifecycle is what a vendor documents about its token once the domain is
// verified. It decides veil's default.
type Lifecycle uint8

const (
	// Unknown means nothing documented. Hidden by default.
	Unknown Lifecycle = iota
	// OneTime means the vendor checks once; the record may go afterwards.
	// Hidden by default.
	OneTime
	// Rechecked means the vendor checks again and un-verifies the domain when the
	// token has gone (Google, Atlassian, GitLab Pages). Visible by default.
	Rechecked
	// PreClaim means the record stops someone else from claiming the name on the
	// vendor's platform (subdomain takeover); it is always public.
	PreClaim
	// NeverHide marks transient records a client must see (ACME DNS-01); always
	// public.
	NeverHide
)

var lifecycleNames = [...]string{Unknown: "unknown", OneTime: "one-time", Rechecked: "rechecked", PreClaim: "pre-claim", NeverHide: "never-hide"}

// String returns the catalog's spelling of l.
func (l Lifecycle) String() string { return lifecycleNames[l] }

// AlwaysPublic reports whether records of this lifecycle must never be
// hidden, whatever the policy says.
func (l Lifecycle) AlwaysPublic() bool { return l == PreClaim || l == NeverHide }

// UnmarshalText implements encoding.TextUnmarshaler.
func (l *Lifecycle) UnmarshalText(b []byte) error {
	for i, n := range lifecycleNames {
		if n == string(b) {
			*l = Lifecycle(i)
			return nil
		}
	}
	return fmt.Errorf("unknown lifecycle %q", b)
}

// Entry is one pattern of the catalog.
type Entry struct {
	// ID is the vendor's short, stable name: a metric label value and what
	// an operator writes in the Corefile. Several entries may share one.
	ID     string `json:"id"`
	Vendor string `json:"vendor"`
	// Value matches the concatenated character-strings of the TXT record,
	// case-insensitively; empty matches any value.
	Value string `json:"value"`
	// Owner matches the first label of the record's owner name,
	// case-insensitively; empty matches any owner.
	Owner     string    `json:"owner"`
	Lifecycle Lifecycle `json:"lifecycle"`
	// Source is the public document the pattern rests on.
	Source string `json:"source"`
	// SampleOwner and Sample are a realistic record, for tests: the first
	// label of the owner ("@" for the zone apex) and the TXT value.
	SampleOwner string `json:"sample_owner"`
	Sample      string `json:"sample"`
}

//go:embed catalog.json
var catalogJSON []byte

var idPattern = regexp.MustCompile(`^[a-z0-9_]{2,24}$`)

// Catalog returns the embedded catalog. It is parsed and checked once; the
// package's tests guarantee that the embedded file is valid.
var Catalog = sync.OnceValues(func() ([]Entry, error) { return parseCatalog(catalogJSON) })

func parseCatalog(b []byte) ([]Entry, error) {
	var es []Entry
	if err := json.Unmarshal(b, &es); err != nil {
		return nil, fmt.Errorf("token catalog: %w", err)
	}
	for i, e := range es {
		if !idPattern.MatchString(e.ID) {
			return nil, fmt.Errorf("token catalog entry %d: id %q is not %s", i, e.ID, idPattern)
		}
		if e.Value == "" && e.Owner == "" {
			return nil, fmt.Errorf("token catalog entry %d (%s): neither value nor owner pattern", i, e.ID)
		}
		for _, p := range []string{e.Value, e.Owner} {
			if _, err := regexp.Compile(p); err != nil {
				return nil, fmt.Errorf("token catalog entry %d (%s): %w", i, e.ID, err)
			}
		}
	}
	return es, nil
}
