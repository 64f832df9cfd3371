package veil

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/coredns/caddy"

	"github.com/veildns/veil/tokens"
)

const allowedTokenOptions = "hide, reveal, pattern"

// tokenSettings is one parsed "tokens" directive of the veil block.
type tokenSettings struct {
	zones    []string // empty: all of veil's zones
	off      bool
	patterns []string
	steps    []tokenStep // hide and reveal, in Corefile order
}

type tokenStep struct {
	hide  bool
	ids   []string // vendor ids, or "all"
	until time.Time
}

// parseTokens parses
//
//	tokens [ZONE...] off
//	tokens [ZONE...] {
//	    hide VENDOR...|all
//	    reveal VENDOR...|all [until DATE]
//	    pattern REGEXP...
//	}
//
// Vendor ids are checked once the matcher exists (buildTokenPolicies).
func parseTokens(c *caddy.Controller, args []string, zones zoneSet) (*tokenSettings, error) {
	ts := &tokenSettings{}
	for _, a := range args {
		if a == "off" {
			ts.off = true
			continue
		}
		z := strings.ToLower(a)
		if !strings.HasSuffix(z, ".") {
			z += "."
		}
		if !slices.Contains(zones, z) {
			return nil, c.Errf("tokens: %q is not one of veil's zones (%s); allowed: tokens [ZONE...] off or tokens [ZONE...] { ... }", a, strings.Join(zones, " "))
		}
		ts.zones = append(ts.zones, z)
	}
	hasBlock := c.NextArg()
	if ts.off && hasBlock {
		return nil, c.Errf("tokens: off takes no block")
	}
	for hasBlock && c.Next() && c.Val() != "}" {
		opt := c.Val()
		args := c.RemainingArgs()
		if slices.Contains(args, "}") || slices.Contains(args, "{") {
			return nil, c.Errf("tokens: put each option of the tokens block on a line of its own, and the closing } on its own line")
		}
		switch opt {
		case "hide", "reveal":
			step, err := parseTokenStep(c, opt, args)
			if err != nil {
				return nil, err
			}
			ts.steps = append(ts.steps, step)
		case "pattern":
			if len(args) == 0 {
				return nil, c.Errf("tokens: pattern: missing regular expression; allowed: one or more RE2 expressions matched case-insensitively against the TXT value, such as ^internal-verification=")
			}
			for _, p := range args {
				if _, err := regexp.Compile(p); err != nil {
					return nil, c.Errf("tokens: pattern: %q: %v; allowed: RE2 syntax, such as ^internal-verification=", p, err)
				}
			}
			ts.patterns = append(ts.patterns, args...)
		default:
			return nil, c.Errf("tokens: unknown option %q; allowed: %s", opt, allowedTokenOptions)
		}
	}
	return ts, nil
}

func parseTokenStep(c *caddy.Controller, opt string, args []string) (tokenStep, error) {
	step := tokenStep{hide: opt == "hide"}
	if i := slices.Index(args, "until"); i >= 0 {
		if opt != "reveal" || i != len(args)-2 {
			return step, c.Errf("tokens: %s: got %q; allowed: reveal VENDOR...|all until DATE (such as 2026-12-31 or 2026-12-31T12:00:00Z)", opt, strings.Join(args, " "))
		}
		t, err := parseUntil(args[i+1])
		if err != nil {
			return step, c.Errf("tokens: reveal: until %q is not a date; allowed: YYYY-MM-DD (visible through that day, UTC) or an RFC 3339 time", args[i+1])
		}
		step.until, args = t, args[:i]
	}
	if len(args) == 0 {
		return step, c.Errf("tokens: %s: missing vendor; allowed: one or more vendor ids from the catalog, generic, custom, or all", opt)
	}
	catalog, err := tokens.Catalog()
	if err != nil {
		return step, c.Errf("tokens: %v", err)
	}
	for _, id := range args {
		if id == "all" || id == tokens.GenericID || id == tokens.CustomID {
			continue
		}
		known, public := false, true
		for _, e := range catalog {
			if e.ID == id {
				known = true
				public = public && e.Lifecycle.AlwaysPublic()
			}
		}
		switch {
		case !known:
			return step, c.Errf("tokens: %v", errUnknownVendor(opt, id))
		case step.hide && public:
			return step, c.Errf("tokens: %v", errAlwaysPublic(id))
		}
	}
	step.ids = args
	return step, nil
}

// parseUntil reads a date (the window lasts through that day, UTC) or an
// RFC 3339 time.
func parseUntil(s string) (time.Time, error) {
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		return d.Add(24 * time.Hour), nil
	}
	return time.Parse(time.RFC3339, s)
}

// buildTokenPolicies turns the parsed tokens directives into one policy
// per zone (nil where tokens are off). Without any directive every zone gets
// the default policy.
func buildTokenPolicies(c *caddy.Controller, zones zoneSet, settings []*tokenSettings) ([]*tokenPolicy, error) {
	catalog, err := tokens.Catalog()
	if err != nil {
		return nil, c.Errf("tokens: %v", err)
	}
	out := make([]*tokenPolicy, len(zones))
	defaults := (*tokenPolicy)(nil)
	for zi, zone := range zones {
		var mine []*tokenSettings
		for _, ts := range settings {
			if len(ts.zones) == 0 || slices.Contains(ts.zones, zone) {
				mine = append(mine, ts)
			}
		}
		if slices.ContainsFunc(mine, func(ts *tokenSettings) bool { return ts.off }) {
			continue
		}
		if len(mine) == 0 {
			if defaults == nil {
				m, err := tokens.NewMatcher(catalog, nil)
				if err != nil {
					return nil, c.Errf("tokens: %v", err)
				}
				defaults = newTokenPolicy(m)
			}
			out[zi] = defaults
			continue
		}
		var patterns []string
		for _, ts := range mine {
			patterns = append(patterns, ts.patterns...)
		}
		m, err := tokens.NewMatcher(catalog, patterns)
		if err != nil {
			return nil, c.Errf("tokens: pattern: %v; allowed: RE2 syntax", err)
		}
		p := newTokenPolicy(m)
		for _, ts := range mine {
			for _, step := range ts.steps {
				if err := p.apply(step); err != nil {
					return nil, c.Errf("tokens: %v", err)
				}
			}
		}
		out[zi] = p
	}
	return out, nil
}

// apply carries out one hide or reveal line; later lines override earlier
// ones, so "hide all" then "reveal google" hides all but Google's tokens.
func (p *tokenPolicy) apply(step tokenStep) error {
	verb := "reveal"
	if step.hide {
		verb = "hide"
	}
	for _, id := range step.ids {
		matched, public := false, 0
		for i, r := range p.matcher.Rules() {
			if id != "all" && r.ID != id {
				continue
			}
			matched = true
			if r.Lifecycle.AlwaysPublic() {
				public++
				continue
			}
			p.rules[i] = ruleState{hide: step.hide, revealUntil: step.until}
		}
		switch {
		case !matched:
			return errUnknownVendor(verb, id)
		case step.hide && id != "all" && public > 0:
			return errAlwaysPublic(id)
		}
	}
	return nil
}

func errUnknownVendor(verb, id string) error {
	return fmt.Errorf("%s: unknown vendor %q; allowed: a vendor id from tokens/catalog.json (such as google, microsoft, atlassian, github), generic, custom, or all", verb, id)
}

func errAlwaysPublic(id string) error {
	return fmt.Errorf("hide: %q records are pre-claim or ACME records that must stay public (hiding them would allow subdomain takeover or break certificate issuance); they cannot be hidden", id)
}
