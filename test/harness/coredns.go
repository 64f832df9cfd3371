package harness

import (
	"fmt"
	"os"
	"testing"

	// The dns server type and the plugins the integration tests' Corefiles
	// use, registered as cmd/coredns registers them.
	_ "github.com/coredns/coredns/core"
	"github.com/coredns/coredns/core/dnsserver"
	_ "github.com/coredns/coredns/plugin/any"      // any: the trusted ANY answer
	_ "github.com/coredns/coredns/plugin/bind"     // bind: loopback listeners
	_ "github.com/coredns/coredns/plugin/cache"    // cache: below veil
	_ "github.com/coredns/coredns/plugin/dnssec"   // dnssec: zones signed on the fly
	_ "github.com/coredns/coredns/plugin/errors"   // errors
	_ "github.com/coredns/coredns/plugin/file"     // file: the test zones
	_ "github.com/coredns/coredns/plugin/log"      // log: the example Corefile
	_ "github.com/coredns/coredns/plugin/metrics"  // prometheus: the scraped counters
	_ "github.com/coredns/coredns/plugin/trace"    // trace: spans through veil
	_ "github.com/coredns/coredns/plugin/transfer" // transfer: to * behind veil
	_ "github.com/coredns/coredns/plugin/tsig"     // tsig: signed transfers
	_ "github.com/coredns/coredns/plugin/view"     // view: the view label

	"github.com/veildns/veil"
)

// Main is the TestMain of a package whose tests start CoreDNS in-process:
// it puts veil into the directive list exactly as cmd/coredns does, then
// runs the tests and exits with their status.
func Main(m *testing.M) {
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
