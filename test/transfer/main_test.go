// Package transfer holds veil's integration and end-to-end tests of zone
// transfers and ANY: refusals to external clients, transfers to trusted
// and TSIG-signed ones, the RFC 8482 answer to ANY, byte-identical answers
// to trusted clients, bad input and the NOTIFY-opcode transfer leak, and
// (build tag e2e) the same against dig, kdig, dnsrecon and nmap.
package transfer

import (
	"testing"

	"github.com/veildns/veil/test/harness"
)

func TestMain(m *testing.M) { harness.Main(m) }
