// Package enum holds veil's tests of the enumeration limiter: in-process
// integration tests (a scanner is blocked, its neighbour and trusted
// clients are not) and, with build tags e2e and enum, the limiter's
// acceptance test against dnsrecon, fierce, dnsenum, nmap and ldns-walk.
package enum

import (
	"testing"

	"github.com/veildns/veil/test/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }
