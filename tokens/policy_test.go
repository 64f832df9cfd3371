package tokens

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// policyStep is one hide or reveal line.
type policyStep struct {
	hide  bool
	ids   []string
	until string // a ParseDate argument, "" for none
}

// applySteps returns the default policy over the catalog and the custom
// patterns, with the steps applied.
func applySteps(t *testing.T, custom []string, steps ...policyStep) *Policy {
	t.Helper()
	p := NewPolicy(newMatcher(t, custom...))
	for _, s := range steps {
		var until time.Time
		if s.until != "" {
			var err error
			if until, err = ParseDate(s.until); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Apply(s.hide, s.ids, until); err != nil {
			t.Fatalf("Apply(%v, %v, %v): %v", s.hide, s.ids, until, err)
		}
	}
	return p
}

// hides reports whether p hides the record at owner with value at now.
func hides(t *testing.T, p *Policy, owner, value string, now time.Time) bool {
	t.Helper()
	mt := p.Matcher().Classify(owner, []string{value})
	return mt.Kind == Token && p.Hides(mt.Rule, []string{value}, now)
}

// Times and TXT values of the policy tests.
var (
	jun        = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	lastMinute = time.Date(2026, 12, 31, 23, 59, 0, 0, time.UTC)
	newYear    = time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
)

const (
	googleTXT   = "google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ"
	msTXT       = "MS=ms64239401"
	docusignTXT = "docusign=1b0a6754-49b1-4db5-8540-d2c12664b289"
	expiredTXT  = "examplecorp-verification=abc; expiry=2020-01-01"
	futureTXT   = "examplecorp-verification=abc; expiry=2099-01-01"
	internalTXT = "internal-id=42"
)

// policyRec is a record and whether a policy hides it at a time.
type policyRec struct {
	owner, value string
	now          time.Time
	hidden       bool
}

// policyCases are policies built from hide and reveal lines, the vendors
// they expose in June 2026, and records they hide or not.
var policyCases = []struct {
	name    string
	custom  []string
	steps   []policyStep
	exposed []string // at jun
	recs    []policyRec
}{
	{
		name:    "defaults",
		exposed: []string{"atlassian", "azure_asuid", "github_pages", "gitlab_pages", "google"},
		recs: []policyRec{
			{"example.org.", googleTXT, jun, false}, {"example.org.", msTXT, jun, true}, {"example.org.", docusignTXT, jun, true},
			{"_github-pages-challenge-acme.example.org.", "3a64cd63e42a9263bd186598d42dc7", jun, false}, {"asuid.example.org.", "7C9D2E4F6A8B0C1D3E5F7A9B1C3D5E7F", jun, false},
			{"_github-challenge-acme-org.example.org.", "8b9e", jun, true},
		},
	},
	{
		name:    "hide all, then reveal one",
		custom:  []string{"^internal-id="},
		steps:   []policyStep{{hide: true, ids: []string{"all"}}, {ids: []string{"docusign"}}},
		exposed: []string{"azure_asuid", "docusign", "github_pages"},
		recs: []policyRec{
			{"example.org.", googleTXT, jun, true}, {"example.org.", docusignTXT, jun, false}, {"example.org.", internalTXT, jun, true},
			{"_github-pages-challenge-acme.example.org.", "3a64cd63e42a9263bd186598d42dc7", jun, false}, {"asuid.example.org.", "7C9D2E4F6A8B0C1D3E5F7A9B1C3D5E7F", jun, false},
		},
	},
	{
		name:    "reveal until the end of a day, hide a re-checked vendor",
		steps:   []policyStep{{ids: []string{"docusign"}, until: "2026-12-31"}, {hide: true, ids: []string{"google"}}},
		exposed: []string{"atlassian", "azure_asuid", "docusign", "github_pages", "gitlab_pages"},
		recs: []policyRec{
			{"example.org.", docusignTXT, lastMinute, false}, {"example.org.", docusignTXT, newYear, true},
			{"example.org.", googleTXT, jun, true},
		},
	},
	{
		name:  "expiry: in the past hidden even when revealed, in the future not",
		steps: []policyStep{{ids: []string{GenericID}}},
		recs: []policyRec{
			{"old.example.org.", expiredTXT, jun, true}, {"future.example.org.", futureTXT, jun, false},
			{"_dmarc.example.org.", "v=DMARC1; expiry=2020-01-01", jun, false},
		},
	},
	{
		name:   "custom patterns revealed and hidden by their id",
		custom: []string{"^internal-id="},
		steps:  []policyStep{{ids: []string{CustomID}}, {hide: true, ids: []string{"custom"}}, {ids: []string{"custom"}, until: "2026-06-01T12:00:00Z"}},
		recs:   []policyRec{{"example.org.", internalTXT, jun.Add(-time.Second), false}, {"example.org.", internalTXT, jun, true}},
	},
}

func TestPolicy(t *testing.T) {
	for _, c := range policyCases {
		t.Run(c.name, func(t *testing.T) {
			p := applySteps(t, c.custom, c.steps...)
			if c.exposed != nil {
				if got := p.Exposed(jun); !slices.Equal(got, c.exposed) {
					t.Errorf("Exposed: %v, want %v", got, c.exposed)
				}
			}
			for _, r := range c.recs {
				if got := hides(t, p, r.owner, r.value, r.now); got != r.hidden {
					t.Errorf("%s TXT %q at %s: hidden %v, want %v", r.owner, r.value, r.now.Format(time.RFC3339), got, r.hidden)
				}
			}
		})
	}
	// A window that has closed drops its vendor from Exposed.
	p := applySteps(t, nil, policyStep{ids: []string{"docusign"}, until: "2026-12-31"})
	if got := p.Exposed(lastMinute); !slices.Contains(got, "docusign") {
		t.Errorf("Exposed inside the window: %v", got)
	}
	if got := p.Exposed(newYear); slices.Contains(got, "docusign") {
		t.Errorf("Exposed after the window: %v", got)
	}
}

const (
	unknownVendorText = `: unknown vendor "nosuchvendor"; allowed: a vendor id from tokens/catalog.json (such as google, microsoft, atlassian, github), generic, custom, or all`
	alwaysPublicText  = `hide: "github_pages" records are pre-claim or ACME records that must stay public (hiding them would allow subdomain takeover or break certificate issuance); they cannot be hidden`
)

// Apply and CheckVendors reject the same ids with the same words.
func TestPolicyErrors(t *testing.T) {
	cases := []struct {
		hide     bool
		ids      []string
		want     string // "" for no error
		applyToo bool   // Apply without custom patterns gives the same
	}{
		{false, []string{"google", "nosuchvendor"}, "reveal" + unknownVendorText, true},
		{true, []string{"nosuchvendor"}, "hide" + unknownVendorText, true},
		{true, []string{"microsoft", "github_pages"}, alwaysPublicText, true},
		{true, []string{"acme_challenge"}, strings.Replace(alwaysPublicText, "github_pages", "acme_challenge", 1), true},
		{false, []string{"github_pages", "azure_asuid"}, "", true},
		{true, []string{"all", GenericID}, "", true},
		// Only Apply knows whether the zone has operator patterns.
		{true, []string{CustomID}, "", false},
	}
	for _, c := range cases {
		err := CheckVendors(c.hide, c.ids)
		if got := errText(err); got != c.want {
			t.Errorf("CheckVendors(%v, %v) = %q, want %q", c.hide, c.ids, got, c.want)
		}
		if !c.applyToo {
			continue
		}
		if got := errText(NewPolicy(newMatcher(t)).Apply(c.hide, c.ids, time.Time{})); got != c.want {
			t.Errorf("Apply(%v, %v) = %q, want %q", c.hide, c.ids, got, c.want)
		}
	}
	want := `hide: unknown vendor "custom"` + unknownVendorText[len(`: unknown vendor "nosuchvendor"`):]
	if got := errText(NewPolicy(newMatcher(t)).Apply(true, []string{CustomID}, time.Time{})); got != want {
		t.Errorf("Apply custom without patterns = %q, want %q", got, want)
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestParseDate(t *testing.T) {
	for s, want := range map[string]string{
		"2026-12-31":                "2027-01-01T00:00:00Z",
		"2024-02-28":                "2024-02-29T00:00:00Z",
		"2026-12-31T12:00:00Z":      "2026-12-31T12:00:00Z",
		"2026-12-31T12:00:00+02:00": "2026-12-31T10:00:00Z",
	} {
		got, err := ParseDate(s)
		if err != nil || got.UTC().Format(time.RFC3339) != want {
			t.Errorf("ParseDate(%q) = %v, %v; want %s", s, got, err, want)
		}
	}
	for _, s := range []string{"", "tomorrow", "2026-13-01", "2026-12-31 12:00", "31/12/2026", "2026-12-31T12:00:00"} {
		if got, err := ParseDate(s); err == nil {
			t.Errorf("ParseDate(%q) = %v, want an error", s, got)
		}
	}
}
