package plugin

import (
	"testing"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
)

// runCommand runs the whole command tree with args, as docker would.
func runCommand(t testing.TB, d *cmdutil.Deps, args ...string) error {
	t.Helper()
	return cmdtest.RunTree(t, newRootCommand(d, "test"), d, args...)
}
