//go:build amd64 || arm64

package veil

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"unsafe"

	"github.com/coredns/coredns/plugin"

	"github.com/miekg/dns"
)

// minimalStacksEnv marks the test binary that inMinimalStacks starts.
const minimalStacksEnv = "VEIL_TEST_MINIMAL_STACKS"

// inMinimalStacks reports whether the test runs in a process whose new
// goroutines start on the runtime's minimum stack (2 KiB), so whether a
// call grows the stack does not depend on what the garbage collector saw
// earlier. If not, it runs the test in such a process (GODEBUG
// adaptivestackstart=0, which only takes effect at start-up) and reports
// its result.
func inMinimalStacks(t *testing.T) bool {
	t.Helper()
	if os.Getenv(minimalStacksEnv) == "1" {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), minimalStacksEnv+"=1", "GODEBUG=adaptivestackstart=0")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
		t.Errorf("in a process with minimal stacks: %v\n%s", err, out)
	}
	return false
}

// stackUser needs about 1.5 KiB of stack: more than a fresh goroutine's
// stack has free, less than growStack leaves free.
//
//go:noinline
func stackUser(n int) {
	var buf [growStackFrame * 3 / 4]byte
	buf[n%len(buf)] = byte(n)
	stackSink = buf[(n*7)%len(buf)]
}

// stackSink keeps stackUser's buffer from being optimised away.
var stackSink byte

// movedBy reports whether the goroutine's stack moved (was grown by
// copying) while f ran, from the address of a local before and after.
//
//go:noinline
func movedBy(f func()) bool {
	var mark byte
	before := uintptr(unsafe.Pointer(&mark))
	f()
	return uintptr(unsafe.Pointer(&mark)) != before
}

// onFreshGoroutine runs f on a new goroutine, whose stack is the minimum,
// and returns its result.
func onFreshGoroutine(f func() bool) bool {
	c := make(chan bool)
	go func() { c <- f() }()
	return <-c
}

func TestGrowStack(t *testing.T) {
	if !inMinimalStacks(t) {
		return
	}
	// Without growStack, stackUser grows a fresh goroutine's stack; this
	// is what makes the next assertion mean something.
	if !onFreshGoroutine(func() bool { return movedBy(func() { stackUser(1) }) }) {
		t.Fatal("stackUser did not grow a fresh goroutine's stack; the test cannot tell growStack works")
	}
	moved := onFreshGoroutine(func() bool {
		growStack()
		return movedBy(func() { stackUser(2) })
	})
	if moved {
		t.Error("the stack grew after growStack: growStack did not leave its frame free")
	}
}

// TestServeDNSGrowsStackBeforeNext checks that the next plugin runs on a
// stack veil has already grown, for a trusted and an external client: a
// next plugin that needs 1.5 KiB does not grow it.
func TestServeDNSGrowsStackBeforeNext(t *testing.T) {
	if !inMinimalStacks(t) {
		return
	}
	var moved bool
	next := plugin.HandlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		moved = movedBy(func() { stackUser(3) })
		m := new(dns.Msg).SetReply(r)
		w.WriteMsg(m)
		return dns.RcodeSuccess, nil
	})
	v := newTestVeil(t, "veil {\n trusted 192.0.2.0/24\n limit\n}", next)
	for _, addr := range []string{trustedV4, externalV4} {
		w := newTestWriter(t, addr, false)
		r := query("www.example.org.", dns.TypeA, true)
		onFreshGoroutine(func() bool {
			v.ServeDNS(context.Background(), w, r)
			return true
		})
		if moved {
			t.Errorf("from %s: the next plugin grew the stack; veil did not grow it first", addr)
		}
		if len(w.msgs) != 1 {
			t.Fatalf("from %s: no answer written", addr)
		}
	}
	// And without veil the same next plugin does grow it: the check above
	// can fail.
	w, r := newTestWriter(t, externalV4, false), query("www.example.org.", dns.TypeA, true)
	onFreshGoroutine(func() bool {
		next.ServeDNS(context.Background(), w, r)
		return true
	})
	if !moved {
		t.Error("the next plugin alone did not grow a fresh stack; the test cannot tell veil grows it")
	}
}
