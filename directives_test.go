package veil

import (
	"slices"
	"testing"

	"github.com/coredns/coredns/core/dnsserver"
)

func TestWithDirective(t *testing.T) {
	in := []string{"prometheus", "errors", "log", "dnstap", "any", "acl", "cache", "file"}
	orig := slices.Clone(in)
	got, err := WithDirective(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"prometheus", "errors", "log", "dnstap", "veil", "any", "acl", "cache", "file"}
	if !slices.Equal(got, want) {
		t.Errorf("WithDirective = %v, want %v", got, want)
	}
	if !slices.Equal(in, orig) {
		t.Errorf("input changed to %v", in)
	}
	if _, err := WithDirective(want); err == nil {
		t.Error("inserting veil twice succeeded")
	}
	if _, err := WithDirective([]string{"log", "file"}); err == nil {
		t.Error("inserting without an any directive succeeded")
	}
}

// The real CoreDNS v1.15 directive list: veil lands after the plugins that
// must see its answers and before every plugin it protects.
func TestWithDirectiveStandardList(t *testing.T) {
	got, err := WithDirective(dnsserver.Directives)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(dnsserver.Directives)+1 {
		t.Fatalf("len = %d, want %d", len(got), len(dnsserver.Directives)+1)
	}
	at := slices.Index(got, pluginName)
	for _, d := range []string{"prometheus", "log", "errors", "dnstap"} {
		if i := slices.Index(got, d); i < 0 || i > at {
			t.Errorf("%s at %d, must come before veil at %d", d, i, at)
		}
	}
	for _, d := range []string{"any", "acl", "cache", "tsig", "dnssec", "transfer", "file", "auto", "secondary"} {
		if i := slices.Index(got, d); i < at {
			t.Errorf("%s at %d, must come after veil at %d", d, i, at)
		}
	}
	if got[at+1] != "any" {
		t.Errorf("veil is followed by %q, want any", got[at+1])
	}
}
