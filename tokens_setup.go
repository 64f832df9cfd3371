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
	line     int // the directive's Corefile line, for errors about two directives
	patterns []string
	steps    []tokenStep // hide and reveal, in Corefile order
}

// tokenStep is one hide or reveal line.
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
func parseTokens(c *caddy.Controller, args []string, zones []string) (*tokenSettings, error) {
	ts := &tokenSettings{line: c.Line()}
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
	if ts.off && c.NextArg() {
		return nil, c.Errf("tokens: off takes no block")
	}
	err := eachBlockOption(c, "tokens", func(opt string, args []string) error {
		switch opt {
		case "hide", "reveal":
			step, err := parseTokenStep(c, opt, args)
			ts.steps = append(ts.steps, step)
			return err
		case "pattern":
			if len(args) == 0 {
				return c.Errf("tokens: pattern: missing regular expression; allowed: one or more RE2 expressions matched case-insensitively against the TXT value, such as ^internal-verification=")
			}
			for _, p := range args {
				if _, err := regexp.Compile(p); err != nil {
					return c.Errf("tokens: pattern: %q: %v; allowed: RE2 syntax, such as ^internal-verification=", p, err)
				}
			}
			ts.patterns = append(ts.patterns, args...)
			return nil
		}
		return c.Errf("tokens: unknown option %q; allowed: %s", opt, allowedTokenOptions)
	})
	return ts, err
}

// parseTokenStep parses "hide VENDOR...|all" or "reveal VENDOR...|all
// [until DATE]", checking the vendors against the catalog here, where the
// error can name the line.
func parseTokenStep(c *caddy.Controller, opt string, args []string) (tokenStep, error) {
	step := tokenStep{hide: opt == "hide"}
	if i := slices.Index(args, "until"); i >= 0 {
		if opt != "reveal" || i != len(args)-2 {
			return step, c.Errf("tokens: %s: got %q; allowed: reveal VENDOR...|all until DATE (such as 2026-12-31 or 2026-12-31T12:00:00Z)", opt, strings.Join(args, " "))
		}
		t, err := tokens.ParseDate(args[i+1])
		if err != nil {
			return step, c.Errf("tokens: reveal: until %q is not a date; allowed: YYYY-MM-DD (visible through that day, UTC) or an RFC 3339 time", args[i+1])
		}
		step.until, args = t, args[:i]
	}
	if len(args) == 0 {
		return step, c.Errf("tokens: %s: missing vendor; allowed: one or more vendor ids from the catalog, generic, custom, or all", opt)
	}
	if err := tokens.CheckVendors(step.hide, args); err != nil {
		return step, c.Errf("tokens: %v", err)
	}
	step.ids = args
	return step, nil
}

// buildTokenPolicies turns the parsed tokens directives into one policy
// per zone (nil where tokens are off). Without any directive every zone gets
// the default policy.
func buildTokenPolicies(c *caddy.Controller, zones []string, settings []*tokenSettings) ([]*tokens.Policy, error) {
	catalog, err := tokens.Catalog()
	if err != nil {
		return nil, c.Errf("tokens: %v", err)
	}
	out := make([]*tokens.Policy, len(zones))
	var defaults *tokens.Policy
	for zi, zone := range zones {
		var mine []*tokenSettings
		for _, ts := range settings {
			if len(ts.zones) == 0 || slices.Contains(ts.zones, zone) {
				mine = append(mine, ts)
			}
		}
		if off := slices.IndexFunc(mine, func(ts *tokenSettings) bool { return ts.off }); off >= 0 {
			// A zone named in "tokens ZONE off" is off even if a zone-less
			// block gives every zone a policy; any other policy for a zone
			// that is off contradicts it.
			explicit := len(mine[off].zones) > 0
			if on := slices.IndexFunc(mine, func(ts *tokenSettings) bool { return !ts.off && (!explicit || len(ts.zones) > 0) }); on >= 0 {
				return nil, offAndOn(c, zone, mine[off].line, mine[on].line)
			}
			continue
		}
		if len(mine) == 0 && defaults != nil {
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
		p := tokens.NewPolicy(m)
		for _, ts := range mine {
			for _, step := range ts.steps {
				if err := p.Apply(step.hide, step.ids, step.until); err != nil {
					return nil, c.Errf("tokens: %v", err)
				}
			}
		}
		if len(mine) == 0 {
			defaults = p
		}
		out[zi] = p
	}
	return out, nil
}

// offAndOn reports a zone that one tokens directive turns off and another
// gives a policy, at the later of the two lines; off would win silently.
func offAndOn(c *caddy.Controller, zone string, offLine, onLine int) error {
	return fmt.Errorf("%s:%d - Error during parsing: tokens: zone %s is turned off at line %d and given a policy at line %d; use one of them",
		c.File(), max(offLine, onLine), zone, offLine, onLine)
}
