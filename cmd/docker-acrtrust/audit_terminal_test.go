//go:build linux

package main

import (
	"context"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// TestAuditProgressOnATerminal: on a terminal, audit draws repositories
// done of listed on stderr, and clears the line before the table.
func TestAuditProgressOnATerminal(t *testing.T) {
	t.Parallel() // it owns its sandbox
	if testing.Short() {
		t.Skip("integration: needs the in-process sandbox (run without -short)")
	}
	sb, err := sandbox.Start(sandbox.Options{})
	assert.NilError(t, err)
	defer sb.Close()
	_, err = sb.SeedMany(context.Background(), "many/r", 150, 2)
	assert.NilError(t, err)
	bin := buildBinary(t)
	cfg := dockerConfig(t, sb, sandbox.UserPull)

	s := startOnTerminal(t, bin, baseEnv(cfg), "audit", sb.Host())
	assert.NilError(t, s.wait())
	out := s.output()
	assert.Check(t, is.Regexp(`\r\[=+\] 150/150 repositories`, out))
	assert.Check(t, is.Contains(out, "\r\x1b[KREPOSITORY"), "the bar is cleared before the table")
	assert.Check(t, is.Contains(out, "150 repositories (150 with trust data): 300 signed, 0 unsigned"))
}
