//go:build e2e

package harness

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ToolTimeout bounds a run of Run or RunStdin.
const ToolTimeout = 30 * time.Second

// Output is what a program printed (stdout and stderr interleaved), how it
// exited and whether it was killed at its time budget.
type Output struct {
	Cmd    string        // the command line
	Text   string        // stdout and stderr
	Code   int           // the exit status; -1 if killed by a signal
	Killed bool          // killed at its budget
	Took   time.Duration // how long it ran
}

// String returns the command line, its exit status and its output.
func (o Output) String() string {
	return fmt.Sprintf("$ %s   (exit %d)\n%s", o.Cmd, o.Code, o.Text)
}

// Tail returns the command and the last n lines of its output.
func (o Output) Tail(n int) string {
	lines := strings.Split(strings.TrimRight(o.Text, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d lines]", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return fmt.Sprintf("$ %s   (exit %d, killed %v, %v)\n%s", o.Cmd, o.Code, o.Killed, o.Took.Round(time.Millisecond), strings.Join(lines, "\n"))
}

// Command says how RunBounded runs a program.
type Command struct {
	Dir    string        // the working directory; "" for the test's
	Env    []string      // the environment; nil for the test's plus LC_ALL=C
	Stdin  []byte        // standard input; nil for none
	Budget time.Duration // the program and its process group are killed after this
}

// RunBounded runs name with args as c says, in its own process group, which
// is killed at the budget. Being killed is not an error here (Output.Killed
// says so); a failure to start is fatal, a non-zero exit is for the caller
// to judge.
func RunBounded(t *testing.T, c Command, name string, args ...string) Output {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), c.Budget)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = c.Dir
	cmd.Env = c.Env
	if cmd.Env == nil {
		cmd.Env = append(os.Environ(), "LC_ALL=C")
	}
	o := Output{Cmd: name + " " + strings.Join(args, " ")}
	if c.Stdin != nil {
		cmd.Stdin = bytes.NewReader(c.Stdin)
		o.Cmd += " < stdin"
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	start := time.Now()
	err := cmd.Run()
	o.Took = time.Since(start)
	o.Killed = ctx.Err() != nil
	if o.Killed && cmd.Process != nil {
		// Anything the program left in its group goes too.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	o.Text = buf.String()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		o.Code = ee.ExitCode()
	case o.Killed:
		o.Code = -1
	default:
		t.Fatalf("%s: %v", o.Cmd, err)
	}
	t.Logf("$ %s   (exit %d, %v%s)", o.Cmd, o.Code, o.Took.Round(time.Millisecond), map[bool]string{true: ", killed at its budget"}[o.Killed])
	return o
}

// Run runs a tool for at most ToolTimeout and returns its output. A timeout
// or a failure to start is fatal; a non-zero exit is for the caller to
// judge.
func Run(t *testing.T, name string, args ...string) Output {
	t.Helper()
	o := RunBounded(t, Command{Budget: ToolTimeout}, name, args...)
	if o.Killed {
		t.Fatalf("timed out after %v:\n%s", ToolTimeout, o)
	}
	return o
}

// RunStdin is Run with input on the tool's standard input.
func RunStdin(t *testing.T, input []byte, name string, args ...string) Output {
	t.Helper()
	o := RunBounded(t, Command{Budget: ToolTimeout, Stdin: input}, name, args...)
	if o.Killed {
		t.Fatalf("timed out after %v:\n%s", ToolTimeout, o)
	}
	return o
}

// ExitZero fails the test unless o exited with status 0.
func ExitZero(t *testing.T, o Output) {
	t.Helper()
	if o.Code != 0 {
		t.Errorf("want exit status 0:\n%s", o)
	}
}

// Want fails the test for each of subs that o's output lacks.
func Want(t *testing.T, o Output, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(o.Text, s) {
			t.Errorf("output lacks %q:\n%s", s, o)
		}
	}
}

// DontWant fails the test for each of subs that o's output contains.
func DontWant(t *testing.T, o Output, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(o.Text, s) {
			t.Errorf("output contains %q:\n%s", s, o)
		}
	}
}
