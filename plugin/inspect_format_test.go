package plugin

import (
	"strings"
	"testing"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"

	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/sandbox"
)

func TestInspectFormat(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb, signed := signedSandbox(t)
	image := sb.Host() + "/app"
	hex := func(tag string) string { return strings.TrimPrefix(signed[tag], "sha256:") }

	t.Run("template per argument", func(t *testing.T) {
		d, cli, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		assert.NilError(t, runCommand(t, d, "inspect", "--format", "{{.Name}}:{{range .SignedTags}} {{.SignedTag}}={{.Digest}}{{end}}", image))
		assert.Equal(t, cli.OutBuf.String(), image+": v1="+hex("v1")+" v2="+hex("v2")+"\n")
	})

	t.Run("json is the default output", func(t *testing.T) {
		d1, cli1, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		assert.NilError(t, runCommand(t, d1, "inspect", image))
		d2, cli2, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		assert.NilError(t, runCommand(t, d2, "inspect", "--format", "json", image))
		assert.Equal(t, cli2.OutBuf.String(), cli1.OutBuf.String())
	})

	t.Run("pretty and format conflict", func(t *testing.T) {
		d, _, _ := cmdtest.SandboxDeps(t, sb, sandbox.UserPull, nil)
		err := runCommand(t, d, "inspect", "--pretty", "--format", "json", image)
		assert.Equal(t, exitCode(t, err), 125)
		assert.ErrorContains(t, err, "--pretty and --format cannot be used together")
	})
}

// TestFormatsAreDeclared: a command whose --format takes "json" only
// refuses a template as a usage error before it runs.
func TestFormatsAreDeclared(t *testing.T) {
	for _, args := range [][]string{
		{"doctor", "--format", "{{.Name}}", "reg.example/app:v1"},
		{"audit", "--format", "{{.Name}}", "reg.example"},
		{"migrate", "--format", "table", "reg.example/app:v1"},
	} {
		t.Run(args[0], func(t *testing.T) {
			d := cmdtest.NewTestDeps(t, cmdtest.NewFakeCLI(t, ""), nil)
			err := runCommand(t, d, args...)
			assert.Check(t, is.Equal(exitCode(t, err), 125))
			assert.Check(t, is.ErrorContains(err, `invalid --format "`+args[2]+`": `+args[0]+` writes text, or "json"`))
		})
	}
}
