package harness

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Redis is a redis-server (Debian's package) a test runs on a loopback
// port, without persistence, stopped by its PID when the test ends.
type Redis struct {
	Addr string // 127.0.0.1:port
	t    *testing.T
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{}
}

// StartRedis starts redis-server on a free loopback port and waits until
// it answers PING. A missing redis-server fails the test: .ci/run and the
// README's test command install it.
func StartRedis(t *testing.T) *Redis {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server not found: install Debian's redis-server package (apt-get install redis-server)")
	}
	r := &Redis{t: t, dir: t.TempDir(), port: FreePort(t)}
	r.Addr = net.JoinHostPort(TrustedIP, strconv.Itoa(r.port))
	r.start()
	t.Cleanup(r.Kill)
	return r
}

// start runs redis-server and waits for it, at most 100 polls in 5 s.
func (r *Redis) start() {
	r.t.Helper()
	logPath := filepath.Join(r.dir, "redis.log")
	r.cmd = exec.Command("redis-server", "--port", strconv.Itoa(r.port), "--bind", TrustedIP,
		"--save", "", "--appendonly", "no", "--dir", r.dir, "--logfile", logPath)
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start redis-server: %v", err)
	}
	done := make(chan struct{})
	r.done = done
	go func(cmd *exec.Cmd) {
		_ = cmd.Wait()
		close(done)
	}(r.cmd)
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; i < 100 && time.Now().Before(deadline); i++ {
		if r.ping() == nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	r.Kill()
	log, _ := os.ReadFile(logPath)
	r.t.Fatalf("redis-server on %s did not answer PING within 5s; log:\n%s", r.Addr, log)
}

// ping sends PING in the Redis protocol and expects +PONG.
func (r *Redis) ping() error {
	c, err := net.DialTimeout("tcp", r.Addr, 200*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// Kill stops redis-server with SIGKILL (after SIGCONT, should it be
// paused), by its PID, and waits for it: what
// a crash or a lost node looks like to its clients. The data is lost.
func (r *Redis) Kill() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGCONT)
	_ = r.cmd.Process.Kill()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		r.t.Errorf("redis-server (pid %d) did not exit within 10s of SIGKILL", r.cmd.Process.Pid)
	}
	r.cmd = nil
}

// Pause stops redis-server with SIGSTOP: it keeps its connections and
// answers nothing, like a Redis that is overloaded or cut off by a
// partition. Resume continues it.
func (r *Redis) Pause() { r.signal(syscall.SIGSTOP) }

// Resume continues a paused redis-server with SIGCONT.
func (r *Redis) Resume() { r.signal(syscall.SIGCONT) }

func (r *Redis) signal(sig syscall.Signal) {
	r.t.Helper()
	if r.cmd == nil || r.cmd.Process == nil {
		r.t.Fatal("redis-server is not running")
	}
	if err := r.cmd.Process.Signal(sig); err != nil {
		r.t.Fatalf("signal %v to redis-server: %v", sig, err)
	}
}

// Restart starts redis-server again on the same port, empty.
func (r *Redis) Restart() {
	r.t.Helper()
	r.Kill()
	r.start()
}
