//go:build e2e && enum

package enum

import (
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/veildns/veil/test/harness"
)

// runTool runs one tool against the baseline and against its own veil
// process and checks what it found.
func runTool(t *testing.T, bin, dir string, z *zoneData, keyBase string, tool toolSpec) toolResult {
	res := toolResult{tool: tool.name, walker: tool.walker}
	guess := z.guessable(t, tool)
	res.guess = guess
	toolDir := filepath.Join(dir, "run-"+tool.name)
	if err := os.MkdirAll(toolDir, 0o755); err != nil {
		t.Fatal(err)
	}

	runBaseline(t, tool, toolDir, guess, z, &res)
	runWithVeil(t, bin, dir, z, keyBase, tool, toolDir, guess, &res)
	return res
}

// runBaseline runs the tool against the baseline process (no veil), where
// it must find at least baselineMinFrac of its guessable names and nothing
// it cannot have guessed.
func runBaseline(t *testing.T, tool toolSpec, toolDir string, guess map[string]bool, z *zoneData, res *toolResult) {
	baseAddr := basePlainAddr
	if tool.walker {
		baseAddr = baseSignedAddr
	}
	argv := tool.command(t, baseAddr, toolDir)
	out := harness.RunBounded(t, harness.Command{Dir: toolDir, Env: toolEnv(tool, baseAddr, toolDir), Budget: baselineBudget}, argv[0], argv[1:]...)
	if out.Killed {
		t.Fatalf("%s did not finish within %v against the server without veil:\n%s", tool.name, baselineBudget, out.Tail(60))
	}
	found, stray := countFound(out.Text, tool, guess, z)
	res.baseFound, res.baseTook = len(found), out.Took
	t.Logf("without veil: %s found %d of the %d names of %s in its list (%.1f%%) in %v",
		tool.name, len(found), len(guess), zoneName, 100*float64(len(found))/float64(len(guess)), out.Took.Round(time.Millisecond))
	if float64(len(found)) < baselineMinFrac*float64(len(guess)) {
		t.Errorf("without veil %s found only %d of %d names (want at least %.0f%%): the setup does not let the tool work\n%s",
			tool.name, len(found), len(guess), 100*baselineMinFrac, out.Tail(80))
	}
	if len(stray) > 0 {
		t.Errorf("without veil %s found names it cannot have guessed (a zone transfer?): %v", tool.name, stray)
	}
}

// runWithVeil starts the tool's own veil process with the limiter and runs
// the tool against it for veilBudget, stopping it then; veil's
// limited-requests counter must move. A brute forcer reaches veil through
// a Recorder on the tool's address, from trustedSrc as before, and what it
// learned is what the distinguisher finds in the answers it got: the tools
// print every name that got an address, decoys too. A walker's names come
// from the NSEC records it printed, which no decoy holds. What the tools
// learned together is judged in TestEnumE2E.
func runWithVeil(t *testing.T, bin, dir string, z *zoneData, keyBase string, tool toolSpec, toolDir string, guess map[string]bool, res *toolResult) {
	// With veil, in a fresh process: the limiter's state is new.
	srvAddr := tool.addr
	var rec *harness.Recorder
	if !tool.walker {
		srvAddr = strings.Replace(tool.addr, "127.0.87.", "127.0.86.", 1)
	}
	startServer(t, bin, filepath.Join(dir, "veil-"+tool.name), z, keyBase, []listener{
		{addr: srvAddr, signed: tool.walker, veil: "trusted " + unusedTrusted + "\n        limit"},
	})
	if !tool.walker {
		rec = harness.StartRecorder(t, net.JoinHostPort(tool.addr, harness.DNSPort), net.JoinHostPort(srvAddr, harness.DNSPort), trustedSrc)
	}
	metricsAddr := net.JoinHostPort(srvAddr, "9153")
	server := "dns://" + net.JoinHostPort(srvAddr, harness.DNSPort)
	before := scrape(t, metricsAddr)
	argv := tool.command(t, tool.addr, toolDir)
	out := harness.RunBounded(t, harness.Command{Dir: toolDir, Env: toolEnv(tool, tool.addr, toolDir), Budget: veilBudget}, argv[0], argv[1:]...)
	after := scrape(t, metricsAddr)
	found, stray := countFound(out.Text, tool, guess, z)
	res.reported = len(found)
	if rec != nil {
		rec.Stop()
		found = learnedThrough(rec, guess, z)
	}
	res.veilFound, res.veilTook, res.veilKilled = found, out.Took, out.Killed
	delta := func(name string, labels ...string) float64 {
		labels = append(labels, "server", server)
		return after.Sum(name, labels...) - before.Sum(name, labels...)
	}
	res.udp = delta("coredns_dns_requests_total", "proto", "udp")
	res.tcp = delta("coredns_dns_requests_total", "proto", "tcp")
	res.limited = delta(limitedMetric)
	res.trips = delta(tripMetric)
	how := "finished"
	if out.Killed {
		how = "stopped at " + veilBudget.String()
	}
	t.Logf("with veil: %s learned %d of %d (%.1f%%; it printed %d of them), %s after %v; it sent %.0f queries over UDP and %.0f over TCP, veil limited %.0f of them and flagged its prefix %.0f times",
		tool.name, len(found), len(guess), 100*float64(len(found))/float64(len(guess)), res.reported, how, out.Took.Round(time.Millisecond),
		res.udp, res.tcp, res.limited, res.trips)
	t.Logf("veil counters of %s after the run:\n%s", server, veilLines(after, server))
	t.Logf("with veil: %s learned %v", tool.name, sortedNames(found))
	if out.Killed {
		t.Logf("with veil: the end of %s's output:\n%s", tool.name, out.Tail(15))
	}
	if len(stray) > 0 {
		t.Errorf("with veil %s found names it cannot have guessed (a zone transfer?): %v", tool.name, stray)
	}
	if res.limited <= 0 {
		t.Errorf("%s{server=%q} did not move during the %s run", limitedMetric, server, tool.name)
	}
}

// learnedThrough returns the guessable names the distinguisher finds
// learned in the exchanges rec relayed.
func learnedThrough(rec *harness.Recorder, guess map[string]bool, z *zoneData) map[string]bool {
	var obs []observed
	suffix := "." + zoneName + "."
	for _, e := range rec.Exchanges() {
		if e.Answer == nil || len(e.Query.Question) != 1 {
			continue
		}
		name := strings.ToLower(e.Query.Question[0].Name)
		label, ok := strings.CutSuffix(name, suffix)
		if !ok {
			continue
		}
		obs = append(obs, observed{name: name, exists: z.all[label], at: e.At, latency: e.Latency, msg: e.Answer})
	}
	found := map[string]bool{}
	for _, n := range distinguish(obs).learnedNames() {
		if label := strings.TrimSuffix(n, suffix); guess[label] {
			found[label] = true
		}
	}
	return found
}

// toolEnv returns the environment of a tool run: unbuffered output so a
// killed run keeps what it printed, and for dnsenum the name server Net::DNS
// uses when it resolves a name server's name itself (it would otherwise ask
// the system resolver).
func toolEnv(tool toolSpec, addr, dir string) []string {
	env := append(os.Environ(), "LC_ALL=C", "PYTHONUNBUFFERED=1")
	if tool.name == "dnsenum" {
		perlDir := filepath.Join(dir, "perl")
		_ = os.MkdirAll(perlDir, 0o755)
		_ = os.WriteFile(filepath.Join(perlDir, "EnumAutoflush.pm"),
			[]byte("package EnumAutoflush;\nuse IO::Handle;\nSTDOUT->autoflush(1);\nSTDERR->autoflush(1);\n1;\n"), 0o644)
		env = append(env, "RES_NAMESERVERS="+addr, "RES_SEARCHLIST=", "LOCALDOMAIN=", "RES_OPTIONS=",
			"PERL5LIB="+perlDir, "PERL5OPT=-MEnumAutoflush")
	}
	return env
}

// countFound returns the guessable names the tool's output shows it found,
// and the names of the zone it found that it could not have guessed.
func countFound(text string, tool toolSpec, guess map[string]bool, z *zoneData) (found map[string]bool, stray []string) {
	found = map[string]bool{}
	seen := map[string]bool{}
	for _, m := range tool.found.FindAllStringSubmatch(text, -1) {
		label := strings.TrimSuffix(strings.ToLower(m[1]), "."+zoneName)
		switch {
		case guess[label]:
			found[label] = true
		case z.special[label]:
		case z.all[label] && !seen[label]:
			seen[label] = true
			stray = append(stray, label)
		}
	}
	slices.Sort(stray)
	return found, stray
}

// sortedNames returns the names of a set in order.
func sortedNames(set map[string]bool) []string {
	return slices.Sorted(maps.Keys(set))
}
