//go:build e2e && enum

package enum

import (
	"regexp"
	"time"
)

// requiredPackages maps each program the test runs to its Debian package.
var requiredPackages = []struct{ bin, pkg string }{
	{"dnsrecon", "dnsrecon"},
	{"fierce", "fierce"},
	{"dnsenum", "dnsenum"},
	{"nmap", "nmap"},
	{"ldns-walk", "ldnsutils"},
	{"ldns-keygen", "ldnsutils"},
	{"ldns-signzone", "ldnsutils"},
	{"stdbuf", "coreutils"},
}

// toolSpec describes one tool: how to run it against a listener, which
// wordlist it uses by default and how to read the names it found.
type toolSpec struct {
	name   string
	pkg    string
	list   string        // its default wordlist; "" for ldns-walk, which walks the whole zone
	signed bool          // it needs the NSEC-signed zone
	addr   string        // the listener of its own veil process
	budget time.Duration // time allowed against veil; the run is killed after it
	args   func(addr string) []string
	// found matches one discovered name per match; submatch 1 is its first
	// label (the zone's names are all one label below the apex).
	found *regexp.Regexp
}

var tools = []toolSpec{
	{
		// Debian's dnsrecon 1.1.3 looks for its default namelist.txt next
		// to cli.py, where the package does not install it, and stops with
		// "No valid dictionary files"; -D names the file the package ships.
		// --lifetime 1 (default 3 s) and 32 threads bound the run when veil
		// drops queries: dnsrecon prints nothing until every lookup is done.
		name: "dnsrecon", pkg: "dnsrecon", list: "/usr/share/dnsrecon/namelist.txt",
		addr: "127.0.87.11", budget: 150 * time.Second,
		args: func(addr string) []string {
			return []string{"-t", "brt", "-d", zoneName, "-n", addr, "-D", "/usr/share/dnsrecon/namelist.txt",
				"--lifetime", "1", "--threads", "32"}
		},
		found: regexp.MustCompile(`(?m)^\[\+\]\s+(?:A|AAAA|CNAME)\s+([a-z0-9-]+)\.example\.com\s`),
	},
	{
		// fierce looks names up one after the other with dnspython's
		// default timeouts; it has no option to shorten them.
		name: "fierce", pkg: "fierce", list: "/usr/lib/python3/dist-packages/fierce/lists/default.txt",
		addr: "127.0.87.12", budget: 90 * time.Second,
		args: func(addr string) []string {
			return []string{"--domain", zoneName, "--dns-servers", addr}
		},
		found: regexp.MustCompile(`(?m)^Found: ([a-z0-9-]+)\.example\.com\.`),
	},
	{
		// No --enum, -s, -w, -p: no Google scraping and no whois;
		// --noreverse: no reverse lookups. -f is the default list, named so
		// a different working directory cannot change it. 5 threads (as
		// --enum would use) and a 1 s timeout (default 10 s) bound the run.
		name: "dnsenum", pkg: "dnsenum", list: "/usr/share/dnsenum/dns.txt",
		addr: "127.0.87.13", budget: 90 * time.Second,
		args: func(addr string) []string {
			return []string{"--dnsserver", addr, "--noreverse", "--nocolor", "--threads", "5", "-t", "1",
				"-f", "/usr/share/dnsenum/dns.txt", zoneName}
		},
		found: regexp.MustCompile(`(?m)^([a-z0-9-]+)\.example\.com\.\s+\d+\s+IN\s+A\s`),
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
		// retry over TCP. The script prints its findings only when every
		// thread is done, so a run killed at its budget shows nothing. 36
		// of its 128 names are in the zone (9 of them with AAAA): 213 of
		// its 258 questions get denials (83 %).
		name: "nmap", pkg: "nmap", list: "/usr/share/nmap/nselib/data/vhosts-default.lst",
		addr: "127.0.87.14", budget: 300 * time.Second,
		args: func(addr string) []string {
			return []string{"-n", "-sn", "--dns-servers", addr, "--script", "dns-brute",
				"--script-args", "dns-brute.domain=" + zoneName + ",dns-brute.threads=16"}
		},
		// "|_" starts the last line of nmap's script output.
		found: regexp.MustCompile(`(?m)^\|_?\s+([a-z0-9-]+)\.example\.com - `),
	},
	{
		// stdbuf: ldns-walk writes through stdio, so a killed run would
		// lose what it found unless stdout is line buffered. Each answer,
		// an NXDOMAIN for "name\000" with the NSEC that covers it, gives
		// the next name; ldns resends a lost UDP query after 5 s and
		// retries over TCP after TC=1.
		name: "ldns-walk", pkg: "ldnsutils", signed: true,
		addr: "127.0.87.15", budget: 90 * time.Second,
		args: func(addr string) []string {
			return []string{"-oL", "ldns-walk", "@" + addr, zoneName}
		},
		found: regexp.MustCompile(`(?m)^([a-z0-9-]+)\.example\.com\.\s`),
	},
}
