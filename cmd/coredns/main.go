// Command coredns is CoreDNS v1.15 with its standard plugin set and veil
// compiled in, veil placed immediately before the "any" directive.
package main

import (
	"log"

	"github.com/coredns/coredns/core/dnsserver"
	_ "github.com/coredns/coredns/core/plugin" // The standard CoreDNS plugin set.
	"github.com/coredns/coredns/coremain"

	"github.com/veildns/veil"
)

func main() {
	directives, err := veil.WithDirective(dnsserver.Directives)
	if err != nil {
		log.Fatalf("veil: %v", err)
	}
	if err := dnsserver.SetDirectives(directives); err != nil {
		log.Fatalf("veil: %v", err)
	}
	coremain.Run()
}
