//go:build e2e && linux

package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/internal/ptytest"
)

// openPTY returns the master and the slave side of a new pseudo-terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, s, err := ptytest.Open()
	if err != nil {
		skipOrFail(t, err.Error())
	}
	return m, s
}

// terminalRun is `docker acrtrust ARGS...` on a terminal of its own.
type terminalRun struct {
	master *os.File
	mu     sync.Mutex
	out    bytes.Buffer
	done   chan int
}

func (c *client) onTerminal(t *testing.T, args ...string) *terminalRun {
	t.Helper()
	master, slave := openPTY(t)
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, h.docker, append([]string{"acrtrust"}, args...)...)
	cmd.Env = c.environ()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	assert.NilError(t, cmd.Start())
	_ = slave.Close()
	r := &terminalRun{master: master, done: make(chan int, 1)}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			r.mu.Lock()
			r.out.Write(buf[:n])
			r.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() {
		err := cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
			r.done <- 0
		case errors.As(err, &ee):
			r.done <- ee.ExitCode()
		default:
			r.done <- -1
		}
	}()
	return r
}

func (r *terminalRun) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.String()
}

// waitFor waits until the terminal shows text.
func (r *terminalRun) waitFor(t *testing.T, text string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(r.output(), text) {
		if time.Now().After(deadline) {
			t.Fatalf("the terminal never showed %q; it shows:\n%s", text, r.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *terminalRun) exitCode(t *testing.T) int {
	t.Helper()
	select {
	case code := <-r.done:
		return code
	case <-time.After(60 * time.Second):
		t.Fatalf("still running; the terminal shows:\n%s", r.output())
	}
	return -1
}

// TestRunInteractiveTerminal: `run -it` gets this terminal: what is typed
// reaches the container, and Ctrl-C is the container's (docker's raw mode
// passes it on), which exits with its own status.
func TestRunInteractiveTerminal(t *testing.T) {
	c := newClient(t).withPassphrases()
	repo := newRepo(t)
	c.pushTool(t, repo, "v1", false)

	t.Run("typed input reaches the container", func(t *testing.T) {
		r := c.onTerminal(t, "run", "-it", "--rm", "-e", "READ=1", repo+":v1")
		r.waitFor(t, "reading")
		_, err := r.master.Write([]byte("hello from the terminal\r"))
		assert.NilError(t, err)
		r.waitFor(t, "read=hello from the terminal")
		assert.Check(t, is.Equal(r.exitCode(t), 0), r.output())
		assert.Check(t, !strings.Contains(r.output(), "not a TTY"), r.output())
	})

	t.Run("Ctrl-C reaches the container", func(t *testing.T) {
		r := c.onTerminal(t, "run", "-it", "--rm", "-e", "WAIT=1", repo+":v1")
		r.waitFor(t, "waiting")
		_, err := r.master.Write([]byte{3}) // Ctrl-C
		assert.NilError(t, err)
		r.waitFor(t, "got interrupt")
		assert.Check(t, is.Equal(r.exitCode(t), 130), r.output())
	})
}

// TestRunSignalWithoutTerminal: a SIGTERM to docker, without a terminal,
// reaches the container through the plugin and docker's --sig-proxy.
func TestRunSignalWithoutTerminal(t *testing.T) {
	c := newClient(t).withPassphrases()
	repo := newRepo(t)
	c.pushTool(t, repo, "v1", false)
	c.acrtrust(t, "pull", repo+":v1") // so that the run starts at once

	var out syncedBuffer
	cmd := exec.Command(h.docker, "acrtrust", "run", "--rm", "-e", "WAIT=1", repo+":v1")
	cmd.Env = c.environ()
	cmd.Stdout, cmd.Stderr = &out, &out
	assert.NilError(t, cmd.Start())
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(out.String(), "waiting") {
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			t.Fatalf("the container never started:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	assert.NilError(t, cmd.Process.Signal(syscall.SIGTERM))
	err := cmd.Wait()
	assert.Check(t, is.Contains(out.String(), "got "), "the container got no signal:\n%s", out.String())
	var ee *exec.ExitError
	assert.Check(t, errors.As(err, &ee) && ee.ExitCode() >= 128, "exit: %v\n%s", err, out.String())
}

type syncedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncedBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncedBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
