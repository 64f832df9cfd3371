// Package test holds veil's integration tests: each starts a real CoreDNS
// server in this process from a Corefile and talks to it over UDP and TCP
// from different loopback source addresses. 127.0.0.1 is the trusted
// client, 127.0.0.2 an external one. The end-to-end tests (build tag e2e)
// run the built binary against real DNS clients and recon tools.
package test

import (
	"fmt"
	"os"
	"testing"

	_ "github.com/coredns/coredns/core" // The dns server type.
	"github.com/coredns/coredns/core/dnsserver"
	_ "github.com/coredns/coredns/plugin/any"
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/file"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/metrics"
	_ "github.com/coredns/coredns/plugin/trace"
	_ "github.com/coredns/coredns/plugin/transfer"
	_ "github.com/coredns/coredns/plugin/tsig"
	_ "github.com/coredns/coredns/plugin/view"

	"github.com/veildns/veil"
)

// TestMain puts veil into the directive list exactly as cmd/coredns does.
func TestMain(m *testing.M) {
	directives, err := veil.WithDirective(dnsserver.Directives)
	if err == nil {
		err = dnsserver.SetDirectives(directives)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "veil:", err)
		os.Exit(2)
	}
	os.Exit(m.Run())
}
