//go:build e2e && enum

package enum

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/veildns/veil/test/harness"
)

// requiredPackages maps each program the test runs to its Debian package.
var requiredPackages = []struct{ bin, pkg string }{
	{"dnsrecon", "dnsrecon"},
	{"fierce", "fierce"},
	{"dnsenum", "dnsenum"},
	{"nmap", "nmap"},
	{"dnsmap", "dnsmap"},
	{"ldns-walk", "ldnsutils"},
	{"ldns-keygen", "ldnsutils"},
	{"ldns-signzone", "ldnsutils"},
	{"stdbuf", "coreutils"},
	{"unshare", "util-linux"},
	{"mount", "mount"},
}

// toolSpec describes one tool: how to run it against a listener, which
// wordlist it uses by default and how to read the names it found.
type toolSpec struct {
	name string
	pkg  string
	// list is its default wordlist; "" for the NSEC walkers, which can
	// learn every name of the zone.
	list string
	// minShare is the share of list the zone must hold (the floors:
	// half of nmap's short list, 15 % of the others).
	minShare float64
	walker   bool   // it walks the NSEC-signed zone
	addr     string // the listener of its own veil process
	// command returns the command line (program first) that runs the tool
	// against the listener addr; dir is the tool's own directory, for the
	// files the command needs.
	command func(t *testing.T, addr, dir string) []string
	// found matches one discovered name per match; submatch 1 is the name
	// relative to the apex (one label, or more for the nested names).
	found *regexp.Regexp
}

// rel is a name relative to zoneName: one or more labels.
const rel = `((?:[a-z0-9-]+\.)*[a-z0-9-]+)`

var tools = []toolSpec{
	{
		// Debian's dnsrecon 1.1.3 looks for its default namelist.txt next
		// to cli.py, where the package does not install it, and stops with
		// "No valid dictionary files"; -D names the file the package ships.
		// --lifetime 1 (default 3 s) and 32 threads, as before. dnsrecon -t
		// brt prints what it found only when every lookup is done, which
		// against veil is after the 60 s budget: it runs through
		// dnsreconStream, which prints each answer of DnsHelper.get_ip (the
		// brute force's only lookup, A then AAAA) when it arrives and
		// changes nothing else.
		name: "dnsrecon", pkg: "dnsrecon", list: "/usr/share/dnsrecon/namelist.txt", minShare: 0.15,
		addr: "127.0.87.11",
		command: func(t *testing.T, addr, dir string) []string {
			script := filepath.Join(dir, "dnsrecon_stream.py")
			harness.WriteFile(t, script, dnsreconStream)
			return []string{interpreter(t, "dnsrecon"), script, "-t", "brt", "-d", zoneName, "-n", addr,
				"-D", "/usr/share/dnsrecon/namelist.txt", "--lifetime", "1", "--threads", "32"}
		},
		found: regexp.MustCompile(`(?m)^(?:\[\+\]|learned:)\s+(?:A|AAAA|CNAME)\s+` + rel + `\.example\.com\s`),
	},
	{
		// fierce looks names up one after the other with dnspython's
		// default timeouts, printing each find; it has no option to
		// shorten them.
		name: "fierce", pkg: "fierce", list: "/usr/lib/python3/dist-packages/fierce/lists/default.txt", minShare: 0.15,
		addr: "127.0.87.12",
		command: func(_ *testing.T, addr, _ string) []string {
			return []string{"fierce", "--domain", zoneName, "--dns-servers", addr}
		},
		found: regexp.MustCompile(`(?m)^Found: ` + rel + `\.example\.com\.`),
	},
	{
		// No --enum, -s, -w, -p: no Google scraping and no whois;
		// --noreverse: no reverse lookups. -f is the default list, named so
		// a different working directory cannot change it. 5 threads (as
		// --enum would use) and a 1 s timeout (default 10 s). It prints each
		// find (stdout made unbuffered by toolEnv).
		name: "dnsenum", pkg: "dnsenum", list: "/usr/share/dnsenum/dns.txt", minShare: 0.15,
		addr: "127.0.87.13",
		command: func(_ *testing.T, addr, _ string) []string {
			return []string{"dnsenum", "--dnsserver", addr, "--noreverse", "--nocolor", "--threads", "5", "-t", "1",
				"-f", "/usr/share/dnsenum/dns.txt", zoneName}
		},
		found: regexp.MustCompile(`(?m)^` + rel + `\.example\.com\.\s+\d+\s+IN\s+A\s`),
	},
	{
		// No target: dns-brute runs as a prerule script. --dns-servers is
		// where nselib's dns.query sends its questions; -n: no reverse
		// lookups through the system resolver. As dns-brute.nse (nmap
		// 7.93) is written: without dns-brute.hostlist it reads
		// nselib/data/vhosts-default.lst (128 names); it first asks A of
		// one random 24-letter name and AAAA of another (wildcard check),
		// then splits the list into chunks of floor(128/threads)+2 names
		// (10 with the 16 threads set here; the default is 5 threads), one
		// thread per chunk (13 here), and each thread asks A, then AAAA,
		// for each of its names in turn. nselib's dns.query sends over UDP
		// only: a query without a reply is sent a second time after the
		// timeout (4 s at the default timing -T3) and given up after
		// another 4 s; an empty TC=1 reply counts as no answer, with no
		// retry over TCP. The script's table is printed only when every
		// thread is done, so the run has -dd: the script's debug2 line
		// "Hostname: NAME IP: ADDR" is printed (stdbuf: line by line) the
		// moment a thread learns a name, and a run stopped at 60 s keeps
		// them.
		name: "nmap", pkg: "nmap", list: "/usr/share/nmap/nselib/data/vhosts-default.lst", minShare: 0.50,
		addr: "127.0.87.14",
		command: func(_ *testing.T, addr, _ string) []string {
			return []string{"stdbuf", "-oL", "nmap", "-n", "-sn", "-dd", "--dns-servers", addr, "--script", "dns-brute",
				"--script-args", "dns-brute.domain=" + zoneName + ",dns-brute.threads=16"}
		},
		// "|_" starts the last line of nmap's script output.
		found: regexp.MustCompile(`(?m)(?:^\|_?\s+|\] Hostname: )` + rel + `\.example\.com (?:- |IP: )`),
	},
	{
		// dnsmap has no server option: it resolves through the C library,
		// so it runs in a mount namespace whose /etc/resolv.conf names its
		// listener only (the glibc defaults otherwise: 5 s timeout, 2
		// attempts, TCP after TC=1). Without -w it uses its built-in list,
		// compiled in; testdata/dnsmap-builtin.txt is that list, extracted
		// from the binary. It looks names up one after the other with a
		// random delay of up to 10 ms, printing each find (stdbuf: line by
		// line).
		name: "dnsmap", pkg: "dnsmap", list: "testdata/dnsmap-builtin.txt", minShare: 0.15,
		addr: "127.0.87.16",
		command: func(t *testing.T, addr, dir string) []string {
			return inResolvNamespace(t, addr, dir, "stdbuf", "-oL", "dnsmap", zoneName)
		},
		found: regexp.MustCompile(`(?m)^` + rel + `\.example\.com\r?\nIP(?:v6)? address #`),
	},
	{
		// stdbuf: ldns-walk writes through stdio, so a stopped run would
		// lose what it found unless stdout is line buffered. Each answer,
		// an NXDOMAIN for "name\000" with the NSEC that covers it, gives
		// the next name; ldns resends a lost UDP query after 5 s and
		// retries over TCP after TC=1.
		name: "ldns-walk", pkg: "ldnsutils", walker: true,
		addr: "127.0.87.15",
		command: func(_ *testing.T, addr, _ string) []string {
			return []string{"stdbuf", "-oL", "ldns-walk", "@" + addr, zoneName}
		},
		found: regexp.MustCompile(`(?m)^` + rel + `\.example\.com\.\s`),
	},
	{
		// nmap's dns-nsec-enum is a port rule: -sU -p 53 finds the
		// listener's port open, then the script asks A of "0.example.com",
		// takes the next name from the NSEC of the denial, asks A of
		// "0.<next name>", and so on (UDP, nselib's dns.query: one resend
		// after 4 s; a query without an NSEC in its answer ends the walk).
		// nmap 7.93's script joins labels without dots (join() passes "."
		// to remove_empty instead of table.concat; nmap/nmap#2544, fixed
		// upstream after 7.93), so it asks "0example.com", gets REFUSED and
		// finds nothing: the run uses a copy with that one line fixed
		// (nsecEnumScript), named dns-nsec-enum.nse. -d prints "adding
		// NAME" the moment the walk learns a name (stdbuf: line by line).
		name: "nmap-nsec", pkg: "nmap", walker: true,
		addr: "127.0.87.17",
		command: func(t *testing.T, addr, dir string) []string {
			return []string{"stdbuf", "-oL", "nmap", "-n", "-Pn", "-sU", "-p", "53", "-d",
				"--dns-servers", addr, "--script", nsecEnumScript(t, dir),
				"--script-args", "dns-nsec-enum.domains=" + zoneName, addr}
		},
		found: regexp.MustCompile(`(?m)(?:^\|_?\s+|\] adding )` + rel + `(?:\.example\.com)?\s*$`),
	},
	{
		// dnsrecon -t zonewalk asks the zone's SOA (through -n) for the
		// primary's address, here the listener itself, and walks from
		// there, printing each name's records as it learns them; a
		// timeout (default lifetime 3 s) ends the walk. Its walk leaves a
		// nested name only for a name under the same parent, which is why
		// the zone's nested names all sit under its last label, an empty
		// non-terminal (see newZone).
		name: "dnsrecon-walk", pkg: "dnsrecon", walker: true,
		addr: "127.0.87.18",
		command: func(_ *testing.T, addr, _ string) []string {
			return []string{"dnsrecon", "-t", "zonewalk", "-d", zoneName, "-n", addr}
		},
		found: regexp.MustCompile(`(?m)^\[[*+]\]\s+(?:A|AAAA|CNAME)\s+` + rel + `\.example\.com\s`),
	},
}

// dnsreconStream runs dnsrecon (as /usr/bin/dnsrecon does) with
// DnsHelper.get_ip printing each record it returns, the moment it returns
// it: dnsrecon -t brt itself prints only when every lookup is done.
const dnsreconStream = `import os
import shutil
import sys
import threading

# The package lives next to the script /usr/bin/dnsrecon links to.
sys.path.insert(0, os.path.dirname(os.path.realpath(shutil.which("dnsrecon"))))
from dnsrecon.lib.dnshelper import DnsHelper

_get_ip = DnsHelper.get_ip


_lock = threading.Lock()


def get_ip(self, hostname):
    found = _get_ip(self, hostname)
    with _lock:
        for record in found:
            sys.stdout.write("learned: " + " ".join(str(f) for f in record) + "\n")
        sys.stdout.flush()
    return found


DnsHelper.get_ip = get_ip
sys.argv[0] = "dnsrecon"
from dnsrecon import __main__
__main__.main()
`

// interpreter returns the interpreter of the script prog, from its "#!"
// line: dnsrecon's Python, whose modules may differ from those of the
// python3 first in PATH.
func interpreter(t *testing.T, prog string) string {
	t.Helper()
	path, err := exec.LookPath(prog)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	fields := strings.Fields(strings.TrimPrefix(line, "#!"))
	if !strings.HasPrefix(line, "#!") || len(fields) != 1 {
		t.Fatalf("%s: want a \"#!\" line naming the interpreter alone, got %q", path, line)
	}
	return fields[0]
}

// nsecBug is the line of nmap 7.93's dns-nsec-enum.nse that drops the dots
// between labels, and nsecFix the line as upstream fixed it.
const (
	nsecBug = `return table.concat(remove_empty(components, "."))`
	nsecFix = `return table.concat(remove_empty(components), ".")`
)

// nsecEnumScript returns the dns-nsec-enum script to run: a copy in dir
// with the join bug fixed if the installed script has it, else the
// installed script's name.
func nsecEnumScript(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile("/usr/share/nmap/scripts/dns-nsec-enum.nse")
	if err != nil {
		t.Fatalf("nmap's dns-nsec-enum script: %v", err)
	}
	if !strings.Contains(string(b), nsecBug) {
		return "dns-nsec-enum"
	}
	path := filepath.Join(dir, "dns-nsec-enum.nse")
	harness.WriteFile(t, path, strings.Replace(string(b), nsecBug, nsecFix, 1))
	return path
}

// inResolvNamespace returns the command line that runs args in a mount
// namespace whose /etc/resolv.conf names addr only.
func inResolvNamespace(t *testing.T, addr, dir string, args ...string) []string {
	t.Helper()
	resolv := filepath.Join(dir, "resolv.conf."+addr)
	harness.WriteFile(t, resolv, "nameserver "+addr+"\n")
	return append([]string{"unshare", "--mount", "sh", "-c", `mount --bind "$1" /etc/resolv.conf && shift && exec "$@"`,
		"sh", resolv}, args...)
}
