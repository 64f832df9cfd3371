//go:build e2e

package harness

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// DNSPort is the port the end-to-end tests' listeners use: most tools
// cannot be told another. Binding it needs root or CAP_NET_BIND_SERVICE.
const DNSPort = "53"

// ReadyTimeout bounds the start-up of a CoreDNS process with a few
// listeners.
const ReadyTimeout = 10 * time.Second

// Process is a program StartProcess runs for the rest of a test.
type Process struct {
	Name    string        // for messages
	Dir     string        // its working directory
	LogPath string        // where its stdout and stderr go
	Argv    []string      // the program and its arguments
	Timeout time.Duration // how long start-up may take
	Ready   func() error  // returns nil once the program is ready
	Hint    string        // what start-up needs, for the message if it fails
}

// StartProcess starts p and polls p.Ready, at most 200 times within
// p.Timeout, until it returns nil. The process is killed by its PID and
// reaped in t.Cleanup; if the test failed its log is printed. It returns
// the process, for a test that signals it itself.
func StartProcess(t *testing.T, p Process) *os.Process {
	t.Helper()
	logFile, err := os.Create(p.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(p.Argv[0], p.Argv[1:]...)
	cmd.Dir = p.Dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		t.Fatalf("start %s: %v", p.Name, err)
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
			t.Errorf("%s (pid %d) did not exit within 10s of SIGKILL", p.Name, cmd.Process.Pid)
			return
		}
		if t.Failed() {
			t.Logf("%s log (%s):\n%s", p.Name, p.LogPath, Tail(p.LogPath, 200))
		}
	})

	deadline := time.Now().Add(p.Timeout)
	var lastErr error
	for i := 0; i < 200 && time.Now().Before(deadline); i++ {
		select {
		case <-exited:
			t.Fatalf("%s exited before it was ready (%v); %s. Log:\n%s", p.Name, waitErr, p.Hint, Tail(p.LogPath, 50))
		default:
		}
		if lastErr = p.Ready(); lastErr == nil {
			return cmd.Process
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s not ready after %v: %v\nlog:\n%s", p.Name, p.Timeout, lastErr, Tail(p.LogPath, 50))
	return nil
}

// StartCoreDNS starts the binary bin with corefile (logging to coredns.log
// beside it) and waits until ready returns nil (see StartProcess). hint
// tells what start-up needs, for the failure message. It returns the
// process.
func StartCoreDNS(t *testing.T, bin, corefile string, timeout time.Duration, ready func() error, hint string) *os.Process {
	t.Helper()
	dir := filepath.Dir(corefile)
	return StartProcess(t, Process{
		Name: "coredns", Dir: dir, LogPath: filepath.Join(dir, "coredns.log"),
		Argv: []string{bin, "-conf", corefile}, Timeout: timeout, Ready: ready,
		Hint: "port 53 needs root or CAP_NET_BIND_SERVICE and " + hint,
	})
}

// Nonce returns 16 random hex digits: a zone served with it proves that a
// listener is this run's, not a stale server on the same address.
func Nonce(t testing.TB) string {
	t.Helper()
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// ProbeNonce asks addr, over UDP and TCP, for the TXT record qname and
// checks it holds nonce, so a stale server on the same address cannot pass
// for the one this run started.
func ProbeNonce(addr, qname, nonce string) error {
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
