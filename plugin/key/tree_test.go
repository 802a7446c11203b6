package key

import (
	"testing"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
)

// runCommand runs the key group below a root command, as docker would.
func runCommand(t testing.TB, d *cmdutil.Deps, args ...string) error {
	t.Helper()
	return cmdtest.RunTree(t, cmdtest.Root(d, NewCommand(d)), d, args...)
}
