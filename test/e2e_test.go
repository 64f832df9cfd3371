//go:build e2e

// End-to-end test of veil against the reconnaissance tools an attacker would
// point at an authoritative server: dig, kdig, dnsrecon and nmap.
//
// The test builds ./cmd/coredns (stock CoreDNS plus veil), writes a zone with
// names that must never leak and starts one CoreDNS process with three
// listeners on port 53 of distinct loopback addresses:
//
//	trusted   127.0.86.1  veil trusts 127.0.0.1, so the tools are trusted here
//	external  127.0.86.2  veil trusts only 127.0.0.250, so the tools are external
//	baseline  127.0.86.3  no veil at all: what CoreDNS alone sends
//
// Two listeners are needed because most tools cannot choose their source
// address: on Linux a query to any 127.x.y.z leaves from 127.0.0.1. Port 53
// is needed because dnsrecon always transfers from port 53 and the portrule
// of nmap's dns-zone-transfer script only matches 53/tcp; binding it needs
// root (or CAP_NET_BIND_SERVICE), which CI has.
//
// Run it with:
//
//	go test -tags e2e -run TestE2E -count=1 -v ./test/
//
// The tools are required (never skipped); on Debian:
// apt-get install bind9-dnsutils knot-dnsutils dnsrecon nmap
package test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const (
	e2eZone         = "example.net"
	e2eTrustedAddr  = "127.0.86.1" // veil trusts 127.0.0.1 here: the tools are trusted
	e2eExternalAddr = "127.0.86.2" // veil trusts only 127.0.0.250 here: the tools are external
	e2eBaselineAddr = "127.0.86.3" // no veil: the reference for "exactly what CoreDNS sends"
	e2eOtherSource  = "127.0.0.2"  // dig -b source that is external on the trusted listener
	e2ePort         = "53"
	e2eMetricsAddr  = "127.0.86.1:9153"

	e2eToolTimeout  = 30 * time.Second
	e2eBuildTimeout = 10 * time.Minute
	e2eReadyTimeout = 10 * time.Second
)

// e2eSecretNames are owner names and TXT data that only a zone transfer (or
// a real ANY answer) reveals; the trusted runs must show them, the external
// runs must not.
var e2eSecretNames = []string{"vpn-gw", "jenkins-ci", "secret-db", "mx-hidden", "e2e-leak-token-Zq7Xw3Rt"}

// e2eSecrets adds the addresses of those names: none of them may appear in
// any output from the external listener either.
var e2eSecrets = append(slices.Clone(e2eSecretNames),
	"198.51.100.71", "198.51.100.72", "198.51.100.73", "198.51.100.74", "2001:db8:5ec::db")

// e2eZoneTemplate is the zone. The first verb is the address of ns1, which
// is the listener serving the file: dnsrecon transfers from the addresses of
// the zone's SOA MNAME and NS names (looked up through -n), not from -n
// itself, so each listener's zone must name that listener. The second verb
// is a per-run nonce the readiness probe looks for, so a stale server left
// on the same address cannot pass for ours.
const e2eZoneTemplate = `$ORIGIN example.net.
$TTL 3600
@           IN SOA   ns1.example.net. hostmaster.example.net. 2026112601 7200 3600 1209600 3600
@           IN NS    ns1.example.net.
@           IN MX    10 mx-hidden.example.net.
@           IN TXT   "e2e-leak-token-Zq7Xw3Rt"
ns1         IN A     %s
run-id      IN TXT   "%s"
vpn-gw      IN A     198.51.100.71
jenkins-ci  IN A     198.51.100.72
secret-db   IN A     198.51.100.73
secret-db   IN AAAA  2001:db8:5ec::db
mx-hidden   IN A     198.51.100.74
`

// e2eCorefileTemplate has no "any" plugin, so a trusted ANY reaches the file
// plugin, and "transfer { to * }", so veil is all that protects the zone.
// Verbs: 1 trusted zone file, 2 external zone file.
const e2eCorefileTemplate = `example.net:53 {
    bind 127.0.86.1
    prometheus 127.0.86.1:9153
    errors
    log
    veil {
        trusted 127.0.0.1
    }
    transfer {
        to *
    }
    file %[1]s
}

example.net:53 {
    bind 127.0.86.2
    prometheus 127.0.86.1:9153
    errors
    log
    veil {
        trusted 127.0.0.250
    }
    transfer {
        to *
    }
    file %[2]s
}

example.net:53 {
    bind 127.0.86.3
    prometheus 127.0.86.1:9153
    errors
    log
    transfer {
        to *
    }
    file %[1]s
}
`

// e2eTools maps each tool to the Debian package that provides it.
var e2eTools = []struct{ name, pkg string }{
	{"dig", "bind9-dnsutils"},
	{"kdig", "knot-dnsutils"},
	{"dnsrecon", "dnsrecon"},
	{"nmap", "nmap"},
}

// e2eAttempts counts the requests veil must have acted on, so the metrics
// check expects only what the subtests that ran actually sent.
type e2eAttempts struct {
	extAXFR, extIXFR, extANY int // from 127.0.0.1 to the external listener
	trustedListenerAXFR      int // from 127.0.0.2 to the trusted listener
}

func TestE2E(t *testing.T) {
	for _, tool := range e2eTools {
		if _, err := exec.LookPath(tool.name); err != nil {
			t.Fatalf("%s not found in PATH (%v): install the Debian package %s", tool.name, err, tool.pkg)
		}
	}

	bin := e2eBuildBinary(t)
	dir := t.TempDir()
	e2eStartServer(t, bin, dir)

	before := e2eScrape(t)
	var n e2eAttempts

	t.Run("dig_axfr", func(t *testing.T) { e2eDigAXFR(t, &n) })
	t.Run("dig_ixfr", func(t *testing.T) { e2eDigIXFR(t, &n) })
	t.Run("dnsrecon", func(t *testing.T) { e2eDNSRecon(t, &n) })
	t.Run("nmap", func(t *testing.T) { e2eNmap(t, &n) })
	t.Run("kdig_any", func(t *testing.T) { e2eKdigANY(t, &n) })
	t.Run("metrics", func(t *testing.T) { e2eCheckMetrics(t, before, e2eScrape(t), n) })
}

// e2eBuildBinary builds ./cmd/coredns of the module in ".." into a temporary
// directory and returns the binary's path.
func e2eBuildBinary(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !bytes.Contains(mod, []byte("module github.com/veildns/veil\n")) {
		t.Fatalf("%s is not the root of github.com/veildns/veil (run the test from its test directory): %v", root, err)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go not found in PATH: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "coredns")
	ctx, cancel := context.WithTimeout(t.Context(), e2eBuildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", bin, "./cmd/coredns")
	cmd.Dir = root
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/coredns: %v\n%s", err, out)
	}
	t.Logf("built %s in %v", bin, time.Since(start).Round(time.Millisecond))
	return bin
}

// e2eStartServer writes the zones and Corefile into dir, starts CoreDNS and
// waits until all three listeners answer with this run's nonce. The process
// is killed and reaped in t.Cleanup; if the test failed its log is printed.
func e2eStartServer(t *testing.T, bin, dir string) {
	t.Helper()
	nonceBytes := make([]byte, 8)
	if _, err := rand.Read(nonceBytes); err != nil {
		t.Fatal(err)
	}
	nonce := hex.EncodeToString(nonceBytes)
	trustedZone := filepath.Join(dir, "db.example.net.trusted")
	externalZone := filepath.Join(dir, "db.example.net.external")
	corefile := filepath.Join(dir, "Corefile")
	e2eWrite(t, trustedZone, fmt.Sprintf(e2eZoneTemplate, e2eTrustedAddr, nonce))
	e2eWrite(t, externalZone, fmt.Sprintf(e2eZoneTemplate, e2eExternalAddr, nonce))
	e2eWrite(t, corefile, fmt.Sprintf(e2eCorefileTemplate, trustedZone, externalZone))

	e2eRunCoreDNS(t, bin, corefile, e2eReadyTimeout, func() error { return e2eProbe(nonce) },
		fmt.Sprintf("free addresses %s, %s, %s", e2eTrustedAddr, e2eExternalAddr, e2eBaselineAddr))
}

// e2eRunCoreDNS starts bin with corefile (logging to coredns.log beside it)
// and waits until ready returns nil (see e2eRunProcess). hint tells what
// start-up needs, for the failure message.
func e2eRunCoreDNS(t *testing.T, bin, corefile string, timeout time.Duration, ready func() error, hint string) {
	t.Helper()
	dir := filepath.Dir(corefile)
	e2eRunProcess(t, "coredns", dir, filepath.Join(dir, "coredns.log"), []string{bin, "-conf", corefile}, timeout, ready,
		"port 53 needs root or CAP_NET_BIND_SERVICE and "+hint)
}

// e2eRunProcess starts argv in dir, logging to logPath, and polls ready,
// at most 200 times within timeout, until it returns nil. The process is
// killed and reaped in t.Cleanup; if the test failed its log is printed.
// hint says what start-up needs, for the message if the process exits
// before it is ready.
func e2eRunProcess(t *testing.T, name, dir, logPath string, argv []string, timeout time.Duration, ready func() error, hint string) {
	t.Helper()
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		logFile.Close()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Errorf("%s (pid %d) did not exit within 10s of SIGKILL", name, cmd.Process.Pid)
			return
		}
		if t.Failed() {
			t.Logf("%s log (%s):\n%s", name, logPath, e2eTail(logPath, 200))
		}
	})

	deadline := time.Now().Add(timeout)
	var lastErr error
	for i := 0; i < 200 && time.Now().Before(deadline); i++ {
		select {
		case <-exited:
			t.Fatalf("%s exited before it was ready (%v); %s. Log:\n%s", name, waitErr, hint, e2eTail(logPath, 50))
		default:
		}
		if lastErr = ready(); lastErr == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s not ready after %v: %v\nlog:\n%s", name, timeout, lastErr, e2eTail(logPath, 50))
}

// e2eProbe asks every listener, over UDP and TCP, for this run's nonce.
func e2eProbe(nonce string) error {
	for _, addr := range []string{e2eTrustedAddr, e2eExternalAddr, e2eBaselineAddr} {
		if err := e2eProbeNonce(net.JoinHostPort(addr, e2ePort), "run-id."+e2eZone+".", nonce); err != nil {
			return err
		}
	}
	return nil
}

// e2eProbeNonce asks addr, over UDP and TCP, for the TXT record qname and
// checks it holds nonce, so a stale server on the same address cannot pass
// for the one this run started.
func e2eProbeNonce(addr, qname, nonce string) error {
	for _, network := range []string{"udp", "tcp"} {
		c := &dns.Client{Net: network, Timeout: 300 * time.Millisecond}
		m := new(dns.Msg)
		m.SetQuestion(qname, dns.TypeTXT)
		r, _, err := c.Exchange(m, addr)
		if err != nil {
			return fmt.Errorf("%s %s: %w", network, addr, err)
		}
		if r.Rcode != dns.RcodeSuccess || len(r.Answer) != 1 {
			return fmt.Errorf("%s %s: unexpected answer %v", network, addr, r)
		}
		if txt, ok := r.Answer[0].(*dns.TXT); !ok || len(txt.Txt) != 1 || txt.Txt[0] != nonce {
			return fmt.Errorf("%s %s: answer %v is not this run's nonce %s (another server on this address?)", network, addr, r.Answer[0], nonce)
		}
	}
	return nil
}

// --- the tools ---

func e2eDigAXFR(t *testing.T, n *e2eAttempts) {
	zone := e2eZone

	// External: REFUSED with EDE 18 (dig hides the header of a transfer
	// unless +comments is given), nothing from the zone.
	out := e2eRun(t, "dig", "@"+e2eExternalAddr, "-p", e2ePort, zone, "AXFR", "+comments", "+edns")
	n.extAXFR++
	e2eWant(t, out, "status: REFUSED", "EDE: 18 (Prohibited)", "; Transfer failed.")
	e2eNoLeak(t, out)
	e2eOnlyTypes(t, out)

	// A TSIG that the server cannot verify must not count as TSIG-signed.
	out = e2eRun(t, "dig", "@"+e2eExternalAddr, "-p", e2ePort, "-y", "hmac-sha256:e2e-bogus-key:YmFkYmFkYmFkYmFkYmFkYmFkYmFkYmFk", zone, "AXFR", "+comments")
	n.extAXFR++
	e2eWant(t, out, "status: REFUSED", "; Transfer failed.")
	e2eNoLeak(t, out)
	e2eOnlyTypes(t, out)

	// dig can choose its source address: from 127.0.0.2 the trusted
	// listener treats it as external.
	out = e2eRun(t, "dig", "-b", e2eOtherSource, "@"+e2eTrustedAddr, "-p", e2ePort, zone, "AXFR", "+comments", "+edns")
	n.trustedListenerAXFR++
	e2eWant(t, out, "status: REFUSED", "EDE: 18 (Prohibited)", "; Transfer failed.")
	e2eNoLeak(t, out)
	e2eOnlyTypes(t, out)

	// Trusted: the whole zone, byte for byte what CoreDNS without veil sends.
	out = e2eRun(t, "dig", "@"+e2eTrustedAddr, "-p", e2ePort, zone, "AXFR", "+comments", "+edns")
	e2eExitZero(t, out)
	e2eWant(t, out, e2eSecretNames...)
	e2eWant(t, out, "XFR size: 12 records")
	e2eSameAsBaseline(t, out, e2eRun(t, "dig", "@"+e2eBaselineAddr, "-p", e2ePort, zone, "AXFR", "+comments", "+edns"))
}

func e2eDigIXFR(t *testing.T, n *e2eAttempts) {
	zone := e2eZone

	// External IXFR over UDP: REFUSED, no records, EDE 18 when the query
	// has EDNS (dig's default).
	out := e2eRun(t, "dig", "@"+e2eExternalAddr, "-p", e2ePort, zone, "IXFR=1", "+notcp", "+comments", "+edns")
	n.extIXFR++
	e2eWant(t, out, "status: REFUSED", "ANSWER: 0,", "EDE: 18 (Prohibited)", "(UDP)")
	e2eNoLeak(t, out)
	e2eOnlyTypes(t, out)

	// Without EDNS there is no OPT record to carry the EDE (RFC 6891).
	out = e2eRun(t, "dig", "@"+e2eExternalAddr, "-p", e2ePort, zone, "IXFR=1", "+notcp", "+comments", "+noedns")
	n.extIXFR++
	e2eWant(t, out, "status: REFUSED", "ANSWER: 0,", "(UDP)")
	e2eDontWant(t, out, "OPT PSEUDOSECTION", "EDE:")
	e2eNoLeak(t, out)
	e2eOnlyTypes(t, out)

	// External IXFR over TCP (dig's default for IXFR).
	out = e2eRun(t, "dig", "@"+e2eExternalAddr, "-p", e2ePort, zone, "IXFR=1", "+comments", "+edns")
	n.extIXFR++
	e2eWant(t, out, "status: REFUSED", "EDE: 18 (Prohibited)")
	e2eNoLeak(t, out)
	e2eOnlyTypes(t, out)

	// Trusted IXFR over UDP: CoreDNS's transfer plugin itself refuses
	// transfers over UDP; veil must not add its EDE, the answer must be
	// exactly CoreDNS's.
	out = e2eRun(t, "dig", "@"+e2eTrustedAddr, "-p", e2ePort, zone, "IXFR=1", "+notcp", "+comments", "+edns")
	e2eDontWant(t, out, "EDE:")
	e2eSameAsBaseline(t, out, e2eRun(t, "dig", "@"+e2eBaselineAddr, "-p", e2ePort, zone, "IXFR=1", "+notcp", "+comments", "+edns"))

	// Trusted IXFR over TCP from serial 1: the full zone.
	out = e2eRun(t, "dig", "@"+e2eTrustedAddr, "-p", e2ePort, zone, "IXFR=1", "+comments", "+edns")
	e2eExitZero(t, out)
	e2eWant(t, out, e2eSecretNames...)
	e2eSameAsBaseline(t, out, e2eRun(t, "dig", "@"+e2eBaselineAddr, "-p", e2ePort, zone, "IXFR=1", "+comments", "+edns"))
}

func e2eDNSRecon(t *testing.T, n *e2eAttempts) {
	// dnsrecon looks up the SOA and NS through -n, then transfers over TCP
	// port 53 from each name server address it found.
	out := e2eRun(t, "dnsrecon", "-t", "axfr", "-d", e2eZone, "-n", e2eExternalAddr)
	n.extAXFR++
	e2eWant(t, out, "Trying NS server "+e2eExternalAddr, "Zone Transfer Failed", "REFUSED")
	e2eDontWant(t, out, "Zone Transfer was successful", "Trying NS server "+e2eTrustedAddr)
	e2eNoLeak(t, out)

	out = e2eRun(t, "dnsrecon", "-t", "axfr", "-d", e2eZone, "-n", e2eTrustedAddr)
	e2eExitZero(t, out)
	e2eWant(t, out, "Trying NS server "+e2eTrustedAddr, "Zone Transfer was successful")
	e2eWant(t, out, e2eSecretNames...)
}

func e2eNmap(t *testing.T, n *e2eAttempts) {
	// dns-zone-transfer's portrule matches only 53/tcp (an -sU scan never
	// runs it), so this is a TCP connect scan of port 53. -n: no reverse
	// lookups through the system resolver.
	nmap := func(addr string) e2eOutput {
		return e2eRun(t, "nmap", "-n", "-Pn", "-sT", "-p", e2ePort,
			"--script", "dns-zone-transfer", "--script-args", "dns-zone-transfer.domain="+e2eZone, addr)
	}
	out := nmap(e2eExternalAddr)
	n.extAXFR++
	e2eExitZero(t, out)
	e2eWant(t, out, "53/tcp open") // else the script never ran
	e2eNoLeak(t, out)

	out = nmap(e2eTrustedAddr)
	e2eExitZero(t, out)
	e2eWant(t, out, "53/tcp open", "| dns-zone-transfer:")
	e2eWant(t, out, e2eSecretNames...)
}

func e2eKdigANY(t *testing.T, n *e2eAttempts) {
	for _, tr := range []struct{ flag, proto string }{{"+notcp", "UDP"}, {"+tcp", "TCP"}} {
		// External: exactly one record, the RFC 8482 HINFO at the
		// question name.
		out := e2eRun(t, "kdig", "@"+e2eExternalAddr, "-p", e2ePort, e2eZone, "ANY", tr.flag)
		n.extANY++
		e2eExitZero(t, out)
		e2eWant(t, out, "status: NOERROR", "("+tr.proto+")")
		e2eNoLeak(t, out)
		recs := e2eRecords(out.text)
		if len(recs) != 1 || strings.Join(recs[0], " ") != `example.net. 3600 IN HINFO "RFC8482" ""` {
			t.Errorf("external ANY over %s: want only example.net. 3600 IN HINFO \"RFC8482\" \"\", got %q\n%s", tr.proto, recs, out)
		}

		// Trusted: exactly what CoreDNS without veil sends, never the
		// synthesized HINFO. (CoreDNS's file plugin has no ANY support and
		// answers NODATA with the SOA, so there are no real records to
		// expect here; the comparison with the baseline is the check.)
		out = e2eRun(t, "kdig", "@"+e2eTrustedAddr, "-p", e2ePort, e2eZone, "ANY", tr.flag)
		e2eExitZero(t, out)
		e2eWant(t, out, "("+tr.proto+")")
		e2eDontWant(t, out, "RFC8482")
		e2eSameAsBaseline(t, out, e2eRun(t, "kdig", "@"+e2eBaselineAddr, "-p", e2ePort, e2eZone, "ANY", tr.flag))
	}
}

// --- metrics ---

func e2eCheckMetrics(t *testing.T, before, after e2eMetrics, n e2eAttempts) {
	ext := "dns://" + net.JoinHostPort(e2eExternalAddr, e2ePort)
	tru := "dns://" + net.JoinHostPort(e2eTrustedAddr, e2ePort)
	base := "dns://" + net.JoinHostPort(e2eBaselineAddr, e2ePort)
	const policy, requests = "coredns_veil_policy_actions_total", "coredns_veil_requests_total"
	delta := func(name string, labels ...string) float64 {
		return after.sum(name, labels...) - before.sum(name, labels...)
	}
	atLeast := func(what string, got float64, want int) {
		t.Helper()
		if got < float64(want) {
			t.Errorf("%s: increased by %v, want at least %d", what, got, want)
		}
	}
	exactly := func(what string, got float64, want int) {
		t.Helper()
		if got != float64(want) {
			t.Errorf("%s: increased by %v, want exactly %d", what, got, want)
		}
	}
	// External listener: every attempt counted with the right reason and
	// action, and nothing in log-only mode or dropped.
	atLeast("external axfr refuse", delta(policy, "server", ext, "zone", e2eZone+".", "reason", "axfr", "action", "refuse", "mode", "enforce"), n.extAXFR)
	atLeast("external ixfr refuse", delta(policy, "server", ext, "zone", e2eZone+".", "reason", "ixfr", "action", "refuse", "mode", "enforce"), n.extIXFR)
	atLeast("external any hinfo", delta(policy, "server", ext, "zone", e2eZone+".", "reason", "any", "action", "hinfo", "mode", "enforce"), n.extANY)
	exactly("external drop actions", delta(policy, "server", ext, "action", "drop"), 0)
	exactly("external log_only actions", delta(policy, "server", ext, "mode", "log_only"), 0)
	atLeast("external requests class=external", delta(requests, "server", ext, "class", "external"), n.extAXFR+n.extIXFR+n.extANY)
	exactly("external requests class=trusted", delta(requests, "server", ext, "class", "trusted"), 0)
	exactly("external requests class=tsig (bogus TSIG must not count)", delta(requests, "server", ext, "class", "tsig"), 0)

	// Trusted listener: no policy action except the dig -b 127.0.0.2 AXFR.
	exactly("trusted-listener axfr refuse", delta(policy, "server", tru, "reason", "axfr", "action", "refuse", "mode", "enforce"), n.trustedListenerAXFR)
	exactly("trusted-listener all policy actions", delta(policy, "server", tru), n.trustedListenerAXFR)
	exactly("trusted-listener requests class=external", delta(requests, "server", tru, "class", "external"), n.trustedListenerAXFR)
	if got := delta(requests, "server", tru, "class", "trusted"); got <= 0 {
		t.Errorf("trusted-listener requests class=trusted: increased by %v, want > 0", got)
	}

	// The baseline server block has no veil.
	if got := after.sum(policy, "server", base) + after.sum(requests, "server", base); got != 0 {
		t.Errorf("baseline listener (no veil) has veil counters summing to %v", got)
	}
	if t.Failed() {
		t.Logf("veil metrics after the runs:\n%s", after.text)
	}
}

// e2eMetrics is a scrape of /metrics: the veil samples and the raw text.
type e2eMetrics struct {
	samples []e2eSample
	text    string
}

type e2eSample struct {
	name   string
	labels map[string]string
	value  float64
}

// sum adds the samples of name whose labels include all the given
// label/value pairs.
func (m e2eMetrics) sum(name string, labelPairs ...string) float64 {
	var total float64
next:
	for _, s := range m.samples {
		if s.name != name {
			continue
		}
		for i := 0; i+1 < len(labelPairs); i += 2 {
			if s.labels[labelPairs[i]] != labelPairs[i+1] {
				continue next
			}
		}
		total += s.value
	}
	return total
}

var (
	e2eSampleRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)`)
	e2eLabelRE  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// e2eScrape fetches /metrics and keeps the coredns_veil_ samples.
func e2eScrape(t *testing.T) e2eMetrics {
	t.Helper()
	return e2eScrapeFrom(t, e2eMetricsAddr, "coredns_veil_")
}

// e2eScrapeFrom fetches /metrics from addr and keeps the samples whose
// names start with one of prefixes.
func e2eScrapeFrom(t *testing.T, addr string, prefixes ...string) e2eMetrics {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	url := "http://" + addr + "/metrics"
	var body []byte
	var lastErr error
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; i < 50 && time.Now().Before(deadline); i++ {
		resp, err := client.Get(url)
		if err == nil {
			body, err = io.ReadAll(io.LimitReader(resp.Body, 16<<20))
			resp.Body.Close()
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("status %s", resp.Status)
			}
		}
		if lastErr = err; err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if lastErr != nil {
		t.Fatalf("GET %s: %v", url, lastErr)
	}
	var m e2eMetrics
	var text strings.Builder
	for line := range strings.Lines(string(body)) {
		if !slices.ContainsFunc(prefixes, func(p string) bool { return strings.HasPrefix(line, p) }) {
			continue
		}
		text.WriteString(line)
		sm := e2eSampleRE.FindStringSubmatch(strings.TrimSpace(line))
		if sm == nil {
			t.Fatalf("cannot parse metrics line %q", line)
		}
		v, err := strconv.ParseFloat(sm[3], 64)
		if err != nil {
			t.Fatalf("cannot parse value in metrics line %q: %v", line, err)
		}
		s := e2eSample{name: sm[1], labels: map[string]string{}, value: v}
		for _, lm := range e2eLabelRE.FindAllStringSubmatch(sm[2], -1) {
			s.labels[lm[1]] = lm[2]
		}
		m.samples = append(m.samples, s)
	}
	m.text = text.String()
	return m
}

// --- running tools and checking their output ---

// e2eOutput is what a tool printed (stdout and stderr interleaved) and how
// it exited.
type e2eOutput struct {
	cmd  string
	text string
	code int
}

func (o e2eOutput) String() string {
	return fmt.Sprintf("$ %s   (exit %d)\n%s", o.cmd, o.code, o.text)
}

// e2eRun runs a tool with a timeout and returns its output. A timeout or a
// failure to start is fatal; a non-zero exit is for the caller to judge.
func e2eRun(t *testing.T, name string, args ...string) e2eOutput {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), e2eToolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	start := time.Now()
	err := cmd.Run()
	o := e2eOutput{cmd: name + " " + strings.Join(args, " "), text: buf.String()}
	if ctx.Err() != nil {
		t.Fatalf("timed out after %v:\n%s", e2eToolTimeout, o)
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		o.code = ee.ExitCode()
	default:
		t.Fatalf("%s: %v", o.cmd, err)
	}
	t.Logf("$ %s   (exit %d, %v)", o.cmd, o.code, time.Since(start).Round(time.Millisecond))
	return o
}

func e2eExitZero(t *testing.T, o e2eOutput) {
	t.Helper()
	if o.code != 0 {
		t.Errorf("want exit status 0:\n%s", o)
	}
}

func e2eWant(t *testing.T, o e2eOutput, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(o.text, s) {
			t.Errorf("output lacks %q:\n%s", s, o)
		}
	}
}

func e2eDontWant(t *testing.T, o e2eOutput, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(o.text, s) {
			t.Errorf("output contains %q:\n%s", s, o)
		}
	}
}

// e2eNoLeak fails if any secret name or address appears in the output.
func e2eNoLeak(t *testing.T, o e2eOutput) {
	t.Helper()
	for _, s := range e2eSecrets {
		if strings.Contains(o.text, s) {
			t.Errorf("LEAK: %q from the zone is in the output of an external client:\n%s", s, o)
		}
	}
}

// e2eOnlyTypes fails if dig/kdig output has a record other than SOA, NS or
// HINFO.
func e2eOnlyTypes(t *testing.T, o e2eOutput) {
	t.Helper()
	for _, r := range e2eRecords(o.text) {
		switch r[3] {
		case "SOA", "NS", "HINFO":
		default:
			t.Errorf("external client got a %s record %q:\n%s", r[3], strings.Join(r, " "), o)
		}
	}
}

// e2eRecords returns the fields of the resource record lines in dig or kdig
// output: lines "NAME TTL CLASS TYPE RDATA..." outside comments.
func e2eRecords(text string) [][]string {
	var recs [][]string
	for line := range strings.Lines(text) {
		if strings.HasPrefix(line, ";") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || f[2] != "IN" {
			continue
		}
		if _, err := strconv.ParseUint(f[1], 10, 32); err != nil {
			continue
		}
		recs = append(recs, f)
	}
	return recs
}

// e2eVolatile matches dig and kdig lines that differ between two identical
// answers: the command line (with the server address), server, times, sizes
// of the query round trip.
var e2eVolatile = regexp.MustCompile(`^(; <<>> DiG |;; (SERVER|WHEN|Query time|Time|From)[: ])`)

var e2eMsgID = regexp.MustCompile(`id: \d+`)

// e2eNormalize drops the volatile lines and message IDs, and sorts the
// record lines: CoreDNS's file plugin sends the RRsets of a name in map
// order (MX and TXT at the apex swap places between two transfers), so only
// the set of records is comparable.
func e2eNormalize(text string) string {
	var b strings.Builder
	var recs []string
	for line := range strings.Lines(text) {
		switch {
		case e2eVolatile.MatchString(line):
		case len(e2eRecords(line)) == 1:
			recs = append(recs, strings.Join(strings.Fields(line), " "))
		default:
			b.WriteString(e2eMsgID.ReplaceAllString(line, "id: N"))
		}
	}
	slices.Sort(recs)
	b.WriteString("\nrecords:\n" + strings.Join(recs, "\n"))
	return b.String()
}

// e2eSameAsBaseline fails unless the trusted listener's answer, as the tool
// shows it, is the baseline's (CoreDNS without veil).
func e2eSameAsBaseline(t *testing.T, trusted, baseline e2eOutput) {
	t.Helper()
	if trusted.code != baseline.code || e2eNormalize(trusted.text) != e2eNormalize(baseline.text) {
		t.Errorf("trusted answer differs from CoreDNS without veil:\n--- trusted\n%s\n--- baseline\n%s", trusted, baseline)
	}
}

// --- files ---

func e2eWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// e2eTail returns the last n lines of a file.
func e2eTail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(cannot read %s: %v)", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
