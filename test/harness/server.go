package harness

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/plugin/metrics"
)

// Server is a CoreDNS instance started in this process.
type Server struct {
	Addr       string // 127.0.0.1:port, UDP and TCP
	MetricsURL string // the /metrics URL of its prometheus plugin
	Label      string // the "server" label of its metrics
	Port2      int    // the port {port2} stands for, if the Corefile has it

	// What Reload needs: the placeholders' values, and the instance
	// serving now.
	vars *strings.Replacer
	inst *instanceRef
}

// instanceRef is the caddy instance a Server runs as; a reload that takes
// replaces it.
type instanceRef struct {
	mu   sync.Mutex
	inst *caddy.Instance
}

// Reload loads corefile into the running server as SIGUSR1 does (caddy's
// Restart), with the placeholders of StartServer standing for the same
// values, and returns the error of a reload that failed, after which the
// old configuration serves on. The server's MetricsURL stays right only
// if the Corefile gives prometheus a fixed address ({port2}).
func (s Server) Reload(t *testing.T, corefile string) error {
	t.Helper()
	startMu.Lock()
	defer startMu.Unlock()
	s.inst.mu.Lock()
	defer s.inst.mu.Unlock()
	input := caddy.CaddyfileInput{Contents: []byte(s.vars.Replace(corefile)), Filepath: "Corefile", ServerTypeName: "dns"}
	next, err := s.inst.inst.Restart(input)
	if err == nil {
		s.inst.inst = next
	}
	return err
}

var startMu sync.Mutex

// StartServer starts CoreDNS from corefile, in which {port} stands for a
// free port (UDP and TCP), {port2}, if present, for another, {zones} for
// the shared zones directory (ZonesDir) and {testdata} for the calling
// package's own testdata directory. It stops the server when the test ends.
// The package's TestMain must have called Main.
func StartServer(t testing.TB, corefile string) Server {
	t.Helper()
	return startServer(t, corefile, false)
}

// StartServerShutdown is StartServer, and when the test ends it also runs
// the plugins' shutdown callbacks, as CoreDNS does when it exits, which
// stop their goroutines (veil's clock, zone readers and Redis exchange).
// The prometheus plugin's callback closes its listener for good, so the
// Corefile must give it an address of its own: {port2}.
func StartServerShutdown(t testing.TB, corefile string) Server {
	t.Helper()
	return startServer(t, corefile, true)
}

func startServer(t testing.TB, corefile string, shutdown bool) Server {
	t.Helper()
	startMu.Lock()
	defer startMu.Unlock()
	caddy.Quiet, dnsserver.Quiet = true, true
	testdata, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	port, port2 := FreePort(t), 0
	if strings.Contains(corefile, "{port2}") {
		for range 10 {
			if port2 = FreePort(t); port2 != port {
				break
			}
		}
		if port2 == port {
			t.Fatal("no second free port")
		}
	}
	vars := strings.NewReplacer("{port}", fmt.Sprint(port), "{port2}", fmt.Sprint(port2),
		"{zones}", ZonesDir(t), "{testdata}", testdata)
	corefile = vars.Replace(corefile)
	inst, err := caddy.Start(caddy.CaddyfileInput{Contents: []byte(corefile), Filepath: "Corefile", ServerTypeName: "dns"})
	if err != nil {
		t.Fatalf("starting CoreDNS: %v\n%s", err, corefile)
	}
	ref := &instanceRef{inst: inst}
	t.Cleanup(func() {
		ref.mu.Lock()
		defer ref.mu.Unlock()
		_ = ref.inst.Stop()
		if shutdown {
			_ = ref.inst.ShutdownCallbacks()
		}
	})
	return Server{
		Addr:       net.JoinHostPort(TrustedIP, fmt.Sprint(port)),
		MetricsURL: "http://" + metrics.ListenAddr + "/metrics",
		Label:      fmt.Sprintf("dns://%s:%d", TrustedIP, port),
		Port2:      port2,
		vars:       vars,
		inst:       ref,
	}
}

// handedOut holds the ports FreePort returned in this process. A port is
// never returned twice: a server on a port an earlier test's server had
// would have the same listener, and veil carries a stopped server's
// limiter table (its blocks and counts) over to a new one on the same
// listener, as it does across a reload.
var handedOut struct {
	sync.Mutex
	ports map[int]bool
}

// FreePort returns a port that is free for both UDP and TCP on 127.0.0.1
// and that it has not returned before in this process.
func FreePort(t testing.TB) int {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 50 {
		l, err := net.Listen("tcp", TrustedIP+":0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		if handedOut.ports[port] {
			l.Close()
			continue
		}
		u, err := net.ListenPacket("udp", fmt.Sprintf("%s:%d", TrustedIP, port))
		l.Close()
		if err == nil {
			u.Close()
			if handedOut.ports == nil {
				handedOut.ports = map[int]bool{}
			}
			handedOut.ports[port] = true
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}
