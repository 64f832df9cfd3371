//go:build e2e

package harness

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Named is a recursive resolver, BIND's named, that the end-to-end tests
// put between clients and veil: it listens on Addr (127.0.0.1 and a port
// of its own: named listens only on addresses an interface has), asks
// the listeners of its stub zones from a source address of its own (as a
// resolver is, to veil), and, with trust anchors, validates.
type Named struct {
	Addr string
}

// NamedZone is a zone named resolves by asking Servers (addresses, port
// 53) directly, as a static stub, with TrustAnchor ("" for none: the zone
// is not validated) its key.
type NamedZone struct {
	Name        string
	Servers     []string
	TrustAnchor string // a trust-anchors clause (SigningKey.TrustAnchor)
}

// StartNamed starts named in dir for zones, asking them from src, and
// waits until it resolves the first zone's SOA. It is killed by its PID
// when the test ends.
func StartNamed(t *testing.T, dir, src string, zones []NamedZone) Named {
	t.Helper()
	if _, err := exec.LookPath("named"); err != nil {
		t.Fatalf("named not found in PATH (%v): install the Debian package bind9", err)
	}
	port := FreePort(t)
	var conf strings.Builder
	fmt.Fprintf(&conf, `options {
	directory %q;
	pid-file %q;
	listen-on port %d { 127.0.0.1; };
	listen-on-v6 { none; };
	query-source address %s;
	recursion yes;
	allow-recursion { 127.0.0.0/8; };
	allow-query { 127.0.0.0/8; };
	dnssec-validation yes;
	synth-from-dnssec yes;
	max-cache-size 64m;
	minimal-responses no;
};
`, dir, filepath.Join(dir, "named.pid"), port, src)
	for _, z := range zones {
		fmt.Fprintf(&conf, "zone %q {\n\ttype static-stub;\n\tserver-addresses { %s; };\n};\n", z.Name, strings.Join(z.Servers, "; "))
		conf.WriteString(z.TrustAnchor)
	}
	addr := net.JoinHostPort(TrustedIP, fmt.Sprint(port))
	path := filepath.Join(dir, "named.conf")
	WriteFile(t, path, conf.String())
	soa := dns.Fqdn(zones[0].Name)
	StartProcess(t, Process{
		Name: "named", Dir: dir, LogPath: filepath.Join(dir, "named.log"),
		Argv: []string{"named", "-g", "-c", path}, Timeout: 20 * time.Second,
		Ready: func() error {
			c := &dns.Client{Timeout: 500 * time.Millisecond}
			m := new(dns.Msg)
			m.SetQuestion(soa, dns.TypeSOA)
			r, _, err := c.Exchange(m, addr)
			if err != nil {
				return err
			}
			if r.Rcode != dns.RcodeSuccess || len(r.Answer) == 0 {
				return fmt.Errorf("named answers %s for %s SOA", dns.RcodeToString[r.Rcode], soa)
			}
			return nil
		},
		Hint: "named needs the bind9 package",
	})
	return Named{Addr: addr}
}
