//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// TestPinsFIFODoesNotHang: a pins path that names a FIFO used to block
// every command, version included. Now version runs, and a command that
// reads pins says what the path is.
func TestPinsFIFODoesNotHang(t *testing.T) {
	bin := buildBinary(t)
	cfg := t.TempDir()
	fifo := filepath.Join(t.TempDir(), "pins.json")
	assert.NilError(t, syscall.Mkfifo(fifo, 0o600))
	env := append(baseEnv(cfg), "ACRTRUST_PINS="+fifo)
	for _, tc := range []struct {
		args []string
		ok   bool
		want string
	}{
		{[]string{"version"}, true, ""},
		{[]string{"pin", "list"}, false, "is a named pipe (FIFO), not a regular file"},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		cmd := exec.CommandContext(ctx, bin, tc.args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		assert.Check(t, ctx.Err() == nil, "%v hung on the FIFO", tc.args)
		cancel()
		assert.Check(t, is.Equal(err == nil, tc.ok), "%v: %v\n%s", tc.args, err, out)
		assert.Check(t, is.Contains(string(out), tc.want), tc.args)
	}
}

// TestSIGTERMEndsABlockedCommand: a command blocked on something that does
// not watch its context (here: reading --repos from a FIFO whose writer
// never writes) ends at the first SIGTERM with exit code 130, after a
// short grace; the first SIGTERM used to be swallowed.
func TestSIGTERMEndsABlockedCommand(t *testing.T) {
	bin := buildBinary(t)
	fifo := filepath.Join(t.TempDir(), "repos")
	assert.NilError(t, syscall.Mkfifo(fifo, 0o600))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "audit", "--repos", fifo, "127.0.0.1:1")
	cmd.Env = baseEnv(t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	assert.NilError(t, cmd.Start())
	// Opening the FIFO for writing returns once the command opened it to
	// read: it is then blocked reading, with its signal handler in place.
	w, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	assert.NilError(t, err)
	defer w.Close()
	assert.NilError(t, cmd.Process.Signal(syscall.SIGTERM))
	err = cmd.Wait()
	assert.Check(t, ctx.Err() == nil, "SIGTERM did not end the command; stderr:\n%s", stderr.String())
	var ee *exec.ExitError
	assert.Assert(t, errors.As(err, &ee), "%v", err)
	assert.Check(t, is.Equal(ee.ExitCode(), 130), stderr.String())
	assert.Check(t, is.Contains(stderr.String(), "interrupted"))
}
