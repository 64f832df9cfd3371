package veil

import (
	"fmt"
	"slices"
)

// Before is the directive veil must run immediately before. Everything after
// it in the standard plugin.cfg (any, acl, cache, tsig, dnssec, transfer,
// file, auto, secondary, ...) sees only what veil lets through, while
// everything before it (prometheus, errors, log, dnstap) sees veil's answers.
const Before = "any"

// WithDirective returns a new directive list with "veil" inserted immediately
// before Before. The input slice is never modified, so the result can be handed
// to dnsserver.SetDirectives. It fails if Before is missing or veil is already
// listed.
func WithDirective(directives []string) ([]string, error) {
	if slices.Contains(directives, pluginName) {
		return nil, fmt.Errorf("directive %q is already in the list", pluginName)
	}
	i := slices.Index(directives, Before)
	if i < 0 {
		return nil, fmt.Errorf("directive %q not found; cannot place %q before it", Before, pluginName)
	}
	out := make([]string, 0, len(directives)+1)
	out = append(out, directives[:i]...)
	out = append(out, pluginName)
	out = append(out, directives[i:]...)
	return out, nil
}
