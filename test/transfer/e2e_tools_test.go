//go:build e2e

package transfer

import (
	"strings"
	"testing"

	"github.com/veildns/veil/test/harness"
)

// The tools of TestE2E, each against the external, trusted and baseline
// listeners.

// e2eDigAXFR: dig AXFR is refused with EDE 18 externally, also with a bogus
// TSIG and from 127.0.0.2 on the trusted listener, and gets the whole zone,
// as CoreDNS alone sends it, where it is trusted.
func e2eDigAXFR(t *testing.T, n *e2eAttempts) {
	zone := e2eZone

	// External: REFUSED with EDE 18 (dig hides the header of a transfer
	// unless +comments is given), nothing from the zone.
	out := harness.Run(t, "dig", "@"+e2eExternalAddr, "-p", harness.DNSPort, zone, "AXFR", "+comments", "+edns")
	n.extAXFR++
	harness.Want(t, out, "status: REFUSED", "EDE: 18 (Prohibited)", "; Transfer failed.")
	e2eNoLeak(t, out)
	e2eOnlyTypes(t, out)

	// A TSIG that the server cannot verify must not count as TSIG-signed.
	out = harness.Run(t, "dig", "@"+e2eExternalAddr, "-p", harness.DNSPort, "-y", "hmac-sha256:e2e-bogus-key:YmFkYmFkYmFkYmFkYmFkYmFkYmFkYmFk", zone, "AXFR", "+comments")
	n.extAXFR++
	harness.Want(t, out, "status: REFUSED", "; Transfer failed.")
	e2eNoLeak(t, out)
	e2eOnlyTypes(t, out)

	// dig can choose its source address: from 127.0.0.2 the trusted
	// listener treats it as external.
	out = harness.Run(t, "dig", "-b", e2eOtherSource, "@"+e2eTrustedAddr, "-p", harness.DNSPort, zone, "AXFR", "+comments", "+edns")
	n.trustedListenerAXFR++
	harness.Want(t, out, "status: REFUSED", "EDE: 18 (Prohibited)", "; Transfer failed.")
	e2eNoLeak(t, out)
	e2eOnlyTypes(t, out)

	// Trusted: the whole zone, byte for byte what CoreDNS without veil sends.
	out = harness.Run(t, "dig", "@"+e2eTrustedAddr, "-p", harness.DNSPort, zone, "AXFR", "+comments", "+edns")
	harness.ExitZero(t, out)
	harness.Want(t, out, e2eSecretNames...)
	harness.Want(t, out, "XFR size: 12 records")
	e2eSameAsBaseline(t, out, harness.Run(t, "dig", "@"+e2eBaselineAddr, "-p", harness.DNSPort, zone, "AXFR", "+comments", "+edns"))
}

// e2eDigIXFR: dig IXFR over UDP and TCP is refused externally (with EDE 18
// when the query has EDNS) and answered as CoreDNS alone answers it where
// it is trusted.
func e2eDigIXFR(t *testing.T, n *e2eAttempts) {
	zone := e2eZone

	// External IXFR over UDP: REFUSED, no records, EDE 18 when the query
	// has EDNS (dig's default).
	out := harness.Run(t, "dig", "@"+e2eExternalAddr, "-p", harness.DNSPort, zone, "IXFR=1", "+notcp", "+comments", "+edns")
	n.extIXFR++
	harness.Want(t, out, "status: REFUSED", "ANSWER: 0,", "EDE: 18 (Prohibited)", "(UDP)")
	e2eNoLeak(t, out)
	e2eOnlyTypes(t, out)

	// Without EDNS there is no OPT record to carry the EDE (RFC 6891).
	out = harness.Run(t, "dig", "@"+e2eExternalAddr, "-p", harness.DNSPort, zone, "IXFR=1", "+notcp", "+comments", "+noedns")
	n.extIXFR++
	harness.Want(t, out, "status: REFUSED", "ANSWER: 0,", "(UDP)")
	harness.DontWant(t, out, "OPT PSEUDOSECTION", "EDE:")
	e2eNoLeak(t, out)
	e2eOnlyTypes(t, out)

	// External IXFR over TCP (dig's default for IXFR).
	out = harness.Run(t, "dig", "@"+e2eExternalAddr, "-p", harness.DNSPort, zone, "IXFR=1", "+comments", "+edns")
	n.extIXFR++
	harness.Want(t, out, "status: REFUSED", "EDE: 18 (Prohibited)")
	e2eNoLeak(t, out)
	e2eOnlyTypes(t, out)

	// Trusted IXFR over UDP: CoreDNS's transfer plugin itself refuses
	// transfers over UDP; veil must not add its EDE, the answer must be
	// exactly CoreDNS's.
	out = harness.Run(t, "dig", "@"+e2eTrustedAddr, "-p", harness.DNSPort, zone, "IXFR=1", "+notcp", "+comments", "+edns")
	harness.DontWant(t, out, "EDE:")
	e2eSameAsBaseline(t, out, harness.Run(t, "dig", "@"+e2eBaselineAddr, "-p", harness.DNSPort, zone, "IXFR=1", "+notcp", "+comments", "+edns"))

	// Trusted IXFR over TCP from serial 1: the full zone.
	out = harness.Run(t, "dig", "@"+e2eTrustedAddr, "-p", harness.DNSPort, zone, "IXFR=1", "+comments", "+edns")
	harness.ExitZero(t, out)
	harness.Want(t, out, e2eSecretNames...)
	e2eSameAsBaseline(t, out, harness.Run(t, "dig", "@"+e2eBaselineAddr, "-p", harness.DNSPort, zone, "IXFR=1", "+comments", "+edns"))
}

// e2eDNSRecon: dnsrecon -t axfr fails externally and succeeds where it is
// trusted.
func e2eDNSRecon(t *testing.T, n *e2eAttempts) {
	// dnsrecon looks up the SOA and NS through -n, then transfers over TCP
	// port 53 from each name server address it found.
	out := harness.Run(t, "dnsrecon", "-t", "axfr", "-d", e2eZone, "-n", e2eExternalAddr)
	n.extAXFR++
	harness.Want(t, out, "Trying NS server "+e2eExternalAddr, "Zone Transfer Failed", "REFUSED")
	harness.DontWant(t, out, "Zone Transfer was successful", "Trying NS server "+e2eTrustedAddr)
	e2eNoLeak(t, out)

	out = harness.Run(t, "dnsrecon", "-t", "axfr", "-d", e2eZone, "-n", e2eTrustedAddr)
	harness.ExitZero(t, out)
	harness.Want(t, out, "Trying NS server "+e2eTrustedAddr, "Zone Transfer was successful")
	harness.Want(t, out, e2eSecretNames...)
}

// e2eNmap: nmap's dns-zone-transfer script finds nothing externally and
// the zone where it is trusted.
func e2eNmap(t *testing.T, n *e2eAttempts) {
	// dns-zone-transfer's portrule matches only 53/tcp (an -sU scan never
	// runs it), so this is a TCP connect scan of port 53. -n: no reverse
	// lookups through the system resolver.
	nmap := func(addr string) harness.Output {
		return harness.Run(t, "nmap", "-n", "-Pn", "-sT", "-p", harness.DNSPort,
			"--script", "dns-zone-transfer", "--script-args", "dns-zone-transfer.domain="+e2eZone, addr)
	}
	out := nmap(e2eExternalAddr)
	n.extAXFR++
	harness.ExitZero(t, out)
	harness.Want(t, out, "53/tcp open") // else the script never ran
	e2eNoLeak(t, out)

	out = nmap(e2eTrustedAddr)
	harness.ExitZero(t, out)
	harness.Want(t, out, "53/tcp open", "| dns-zone-transfer:")
	harness.Want(t, out, e2eSecretNames...)
}

// e2eKdigANY: kdig ANY over UDP and TCP gets only the RFC 8482 HINFO
// externally and what CoreDNS alone sends where it is trusted.
func e2eKdigANY(t *testing.T, n *e2eAttempts) {
	for _, tr := range []struct{ flag, proto string }{{"+notcp", "UDP"}, {"+tcp", "TCP"}} {
		// External: exactly one record, the RFC 8482 HINFO at the
		// question name.
		out := harness.Run(t, "kdig", "@"+e2eExternalAddr, "-p", harness.DNSPort, e2eZone, "ANY", tr.flag)
		n.extANY++
		harness.ExitZero(t, out)
		harness.Want(t, out, "status: NOERROR", "("+tr.proto+")")
		e2eNoLeak(t, out)
		recs := e2eRecords(out.Text)
		if len(recs) != 1 || strings.Join(recs[0], " ") != `example.net. 3600 IN HINFO "RFC8482" ""` {
			t.Errorf("external ANY over %s: want only example.net. 3600 IN HINFO \"RFC8482\" \"\", got %q\n%s", tr.proto, recs, out)
		}

		// Trusted: exactly what CoreDNS without veil sends, never the
		// synthesized HINFO. (CoreDNS's file plugin has no ANY support and
		// answers NODATA with the SOA, so there are no real records to
		// expect here; the comparison with the baseline is the check.)
		out = harness.Run(t, "kdig", "@"+e2eTrustedAddr, "-p", harness.DNSPort, e2eZone, "ANY", tr.flag)
		harness.ExitZero(t, out)
		harness.Want(t, out, "("+tr.proto+")")
		harness.DontWant(t, out, "RFC8482")
		e2eSameAsBaseline(t, out, harness.Run(t, "kdig", "@"+e2eBaselineAddr, "-p", harness.DNSPort, e2eZone, "ANY", tr.flag))
	}
}
