// Package tokens holds veil's integration and end-to-end tests of the
// verification-token filter: external clients see the zone without the
// hidden tokens, byte for byte; trusted clients see everything; the cache
// keeps the two views apart; signed zones still validate; reveal windows
// open and close; and (build tag e2e) dig, kdig and dnsrecon see the same.
package tokens

import (
	"testing"

	"github.com/veildns/veil/test/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }
