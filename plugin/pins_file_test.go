package plugin

import (
	"os"
	"path/filepath"
	"testing"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
)

// TestPinsFileCutShortNamesItsLine: a pins file with a syntax error says
// where (the line the file ends on) and what, and is not passed off as a
// connection problem: nothing was connected to (issue 17).
func TestPinsFileCutShortNamesItsLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pins.json")
	assert.NilError(t, os.WriteFile(path, []byte("{\"trust_pinning\": {\n  \"certs\": {\n    \"reg.example/app\": [\"x\"]\n"), 0o644))
	want := "pins file " + path + ", line 3: the file ends before the JSON does: a closing brace, bracket or quote is missing"
	for _, args := range [][]string{
		{"pull", "reg.example/app:v1"},
		{"resolve", "reg.example/app:v1"},
		{"inspect", "reg.example/app"},
		{"pin", "list"},
	} {
		t.Run(args[0], func(t *testing.T) {
			cli := cmdtest.NewFakeCLI(t, "")
			d := cmdtest.NewTestDeps(t, cli, map[string]string{"ACRTRUST_PINS": path})
			eng := &cmdtest.FakeEngine{}
			d.Engine = eng
			err := runCommand(t, d, args...)
			assert.Assert(t, err != nil)
			all := err.Error() + "\n" + cli.ErrBuf.String()
			assert.Check(t, is.Contains(all, want))
			assert.Check(t, !is.Contains(all, "error establishing connection")().Success(), all)
			assert.Check(t, is.Contains(all, "Fix it (it is notary's trust_pinning JSON, see docs/security.md)"))
			assert.Check(t, is.Len(eng.Pulled, 0))
		})
	}
}
