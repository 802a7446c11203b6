//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/internal/ptytest"
	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// These tests run the real binary standalone (docker-acrtrust ...) on a
// real pseudo-terminal, the way a person types passphrases: the prompts are
// notary's, input is hidden, new keys are asked twice and short passphrases
// are refused.

func buildBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "acrtrust-terminal-test-")
		if built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "docker-acrtrust")
		built.out, built.err = exec.Command("go", "build", "-o", built.bin, ".").CombinedOutput()
	})
	assert.NilError(t, built.err, string(built.out))
	return built.bin
}

// built is the binary, built once for all the tests of the package.
var built struct {
	once     sync.Once
	dir, bin string
	out      []byte
	err      error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		_ = os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// openPTY returns the master and the slave side of a new pseudo-terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, s, err := ptytest.Open()
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

// session is the binary running on a terminal, with what it printed so far.
type session struct {
	t      *testing.T
	master *os.File
	mu     sync.Mutex
	out    bytes.Buffer
	// changed is closed (and replaced) each time output arrives; drained
	// is closed once the terminal has nothing more to read.
	changed chan struct{}
	drained chan struct{}
	done    chan error
}

func startOnTerminal(t *testing.T, bin string, env []string, args ...string) *session {
	t.Helper()
	master, slave := openPTY(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	assert.NilError(t, cmd.Start())
	_ = slave.Close()
	s := &session{t: t, master: master, changed: make(chan struct{}), drained: make(chan struct{}), done: make(chan error, 1)}
	go func() {
		defer close(s.drained)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			close(s.changed)
			s.changed = make(chan struct{})
			s.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() { _ = master.Close() })
	return s
}

func (s *session) output() string {
	out, _ := s.outputAndChange()
	return out
}

// outputAndChange returns the output so far and a channel that is closed
// when more arrives.
func (s *session) outputAndChange() (string, <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String(), s.changed
}

// answer waits for the n-th prompt with text, then types answer.
func (s *session) answer(text string, n int, answer string) {
	s.t.Helper()
	s.prompted(text, n)
	_, err := io.WriteString(s.master, answer+"\r")
	assert.NilError(s.t, err)
}

// prompted waits for the n-th occurrence of a passphrase prompt's text and
// for echo to be off.
func (s *session) prompted(text string, n int) {
	s.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		out, changed := s.outputAndChange()
		if strings.Count(out, text) >= n {
			break
		}
		select {
		case <-changed:
		case <-deadline:
			s.t.Fatalf("waited for %q (#%d); the terminal shows:\n%s", text, n, s.output())
		}
	}
	// The prompt is printed just before echo is turned off: type only once
	// it is, as a person would, or the terminal itself echoes what is typed.
	// A terminal's modes change without an event to wait for: look again
	// every few milliseconds.
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		tio, err := unix.IoctlGetTermios(int(s.master.Fd()), unix.TCGETS)
		assert.NilError(s.t, err)
		if tio.Lflag&unix.ECHO == 0 {
			break
		}
		select {
		case <-tick.C:
		case <-deadline:
			s.t.Fatalf("echo was never turned off for %q; the terminal shows:\n%s", text, s.output())
		}
	}
}

func (s *session) wait() error {
	s.t.Helper()
	select {
	case err := <-s.done:
		// The process is gone: the terminal reads what it printed, then
		// ends.
		select {
		case <-s.drained:
		case <-time.After(10 * time.Second):
			s.t.Fatalf("the terminal was not drained; it shows:\n%s", s.output())
		}
		return err
	case <-time.After(60 * time.Second):
		s.t.Fatalf("the command did not finish; the terminal shows:\n%s", s.output())
		return nil
	}
}

// dockerConfig makes a DOCKER_CONFIG logged in to sb as user.
func dockerConfig(t *testing.T, sb *sandbox.Sandbox, user string) string {
	t.Helper()
	dir := t.TempDir()
	assert.NilError(t, sb.InstallCA(dir))
	cfg := map[string]any{"auths": map[string]any{
		sb.Host(): map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + sandbox.Password))},
	}}
	b, err := json.Marshal(cfg)
	assert.NilError(t, err)
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600))
	return dir
}

func baseEnv(configDir string) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + configDir, "DOCKER_CONFIG=" + configDir, "TERM=dumb"}
}

func TestPassphrasesOnATerminal(t *testing.T) {
	t.Parallel() // it owns its sandbox
	if testing.Short() {
		t.Skip("integration: builds the binary and runs the in-process sandbox")
	}
	bin := buildBinary(t)
	sb, err := sandbox.Start(sandbox.Options{})
	assert.NilError(t, err)
	t.Cleanup(func() { _ = sb.Close() })
	ctx := context.Background()
	for _, tag := range []string{"v1", "v2"} {
		_, err := sb.PushRandomImage(ctx, "app", tag)
		assert.NilError(t, err)
	}
	cfg := dockerConfig(t, sb, sandbox.UserSigner)
	const rootPass, repoPass = "correct horse root", "correct horse repo"

	// First signature: new root key and new repository key, each twice.
	s := startOnTerminal(t, bin, baseEnv(cfg), "sign", sb.Host()+"/app:v1")
	s.answer("Enter passphrase for new root key with ID", 1, "k9x2q")
	s.answer("Passphrase is too short", 1, rootPass)
	s.answer("Repeat passphrase for new root key with ID", 1, rootPass+" typo")
	s.answer("Passphrases do not match", 1, rootPass)
	s.answer("Repeat passphrase for new root key with ID", 2, rootPass)
	s.answer("Enter passphrase for new repository key with ID", 1, repoPass)
	s.answer("Repeat passphrase for new repository key with ID", 1, repoPass)
	err = s.wait()
	out := s.output()
	assert.NilError(t, err, out)
	assert.Check(t, is.Contains(out, "Successfully signed "+sb.Host()+"/app:v1"))
	for _, secret := range []string{rootPass, repoPass, "k9x2q"} {
		assert.Check(t, !strings.Contains(out, secret), "passphrase %q echoed on the terminal:\n%s", secret, out)
	}

	// Second signature: only the repository key's passphrase; a wrong one is asked again.
	s = startOnTerminal(t, bin, baseEnv(cfg), "sign", sb.Host()+"/app:v2")
	s.answer("Enter passphrase for repository key with ID", 1, "wrong passphrase")
	s.answer("Passphrase incorrect. Please retry.", 1, repoPass)
	err = s.wait()
	out = s.output()
	assert.NilError(t, err, out)
	assert.Check(t, !strings.Contains(out, "root key"), "a later signature must not ask for the root key:\n%s", out)
	assert.Check(t, is.Contains(out, "Successfully signed "+sb.Host()+"/app:v2"))
	assert.Check(t, !strings.Contains(out, repoPass) && !strings.Contains(out, "wrong passphrase"))
}

// unsignedApp builds the binary and starts a sandbox with app:v1 pushed
// unsigned; cfg is a DOCKER_CONFIG logged in as the signer.
func unsignedApp(t *testing.T) (bin string, sb *sandbox.Sandbox, cfg string) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration: builds the binary and runs the in-process sandbox")
	}
	bin = buildBinary(t)
	sb, err := sandbox.Start(sandbox.Options{})
	assert.NilError(t, err)
	t.Cleanup(func() { _ = sb.Close() })
	_, err = sb.PushRandomImage(context.Background(), "app", "v1")
	assert.NilError(t, err)
	return bin, sb, dockerConfig(t, sb, sandbox.UserSigner)
}

func TestNoTerminalNoPassphraseFailsAtOnce(t *testing.T) {
	t.Parallel() // it owns its sandbox
	bin, sb, cfg := unsignedApp(t)

	// stdin is an open pipe that never says anything: Docker's prompt would
	// wait on it forever.
	pr, pw, err := os.Pipe()
	assert.NilError(t, err)
	defer pw.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "sign", sb.Host()+"/app:v1")
	cmd.Env = baseEnv(cfg)
	cmd.Stdin = pr
	out, err := cmd.CombinedOutput()
	assert.Assert(t, ctx.Err() == nil, "the command hung waiting for stdin")
	var exit *exec.ExitError
	assert.Assert(t, errors.As(err, &exit), "want a non-zero exit, got %v\n%s", err, out)
	assert.Equal(t, exit.ExitCode(), 1)
	assert.Check(t, is.Contains(string(out), "DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE"))
	assert.Check(t, is.Contains(string(out), "DOCKER_CONTENT_TRUST_REPOSITORY_PASSPHRASE"))
}

// TestCtrlCAtAPassphrasePrompt: Ctrl-C while a passphrase is asked ends the
// command at once with exit 130, says that it was interrupted and nothing
// was signed, and leaves the terminal echoing again.
func TestCtrlCAtAPassphrasePrompt(t *testing.T) {
	t.Parallel() // it owns its sandbox
	bin, sb, cfg := unsignedApp(t)

	s := startOnTerminal(t, bin, baseEnv(cfg), "sign", sb.Host()+"/app:v1")
	s.prompted("Enter passphrase for new root key with ID", 1) // echo is off now

	_, err := s.master.Write([]byte{0x03}) // Ctrl-C
	assert.NilError(t, err)
	err = s.wait()
	out := s.output()
	var exit *exec.ExitError
	assert.Assert(t, errors.As(err, &exit), "want a non-zero exit, got %v\n%s", err, out)
	assert.Check(t, is.Equal(exit.ExitCode(), 130), out)
	assert.Check(t, is.Contains(out, "failed to sign "+sb.Host()+"/app:v1"))
	assert.Check(t, is.Contains(out, "interrupted while waiting for a key passphrase"))
	tio, err := unix.IoctlGetTermios(int(s.master.Fd()), unix.TCGETS)
	assert.NilError(t, err)
	assert.Check(t, tio.Lflag&unix.ECHO != 0, "the terminal was left without echo")
}
