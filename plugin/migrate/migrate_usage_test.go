package migrate

import (
	"bytes"
	"strings"
	"testing"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
)

// helpUnderDocker prints `docker acrtrust ARGS --help` as the docker CLI
// does for a plugin: its root command, with docker's usage template.
func helpUnderDocker(t *testing.T, args ...string) string {
	t.Helper()
	cli2 := cmdtest.NewFakeCLI(t, "")
	d := cmdtest.NewTestDeps(t, cli2, nil)
	docker := &cobra.Command{Use: "docker [OPTIONS] acrtrust [ARG...]", SilenceUsage: true, SilenceErrors: true, TraverseChildren: true}
	cli.SetupPluginRootCommand(docker)
	docker.AddCommand(cmdtest.Root(d, NewCommand(d)))
	var visit func(*cobra.Command)
	visit = func(c *cobra.Command) {
		c.DisableFlagsInUseLine = true
		for _, sub := range c.Commands() {
			visit(sub)
		}
	}
	visit(docker)
	var out bytes.Buffer
	docker.SetOut(&out)
	docker.SetErr(&out)
	docker.SetArgs(append(append([]string{"acrtrust"}, args...), "--help"))
	assert.NilError(t, docker.Execute())
	return out.String()
}

// TestMigrateUsageNamesItsImages: `migrate --help` under docker showed
// "migrate [OPTIONS] COMMAND", as for a group, though migrate takes images
// (its cert subcommand made docker's template treat it as one) (issue 17).
func TestMigrateUsageNamesItsImages(t *testing.T) {
	out := helpUnderDocker(t, "migrate")
	assert.Check(t, strings.HasPrefix(out, "Usage:  docker acrtrust migrate [OPTIONS] NAME[:TAG] [NAME[:TAG]...]\n"+
		"        docker acrtrust migrate COMMAND\n\n"), out)
	assert.Check(t, is.Contains(out, "\nManagement Commands:\n  cert "))

	// Its subcommands keep docker's usage lines.
	out = helpUnderDocker(t, "migrate", "cert")
	assert.Check(t, strings.HasPrefix(out, "Usage:  docker acrtrust migrate cert [OPTIONS] COMMAND\n"), out)
	out = helpUnderDocker(t, "migrate", "cert", "generate-test")
	assert.Check(t, strings.HasPrefix(out, "Usage:  docker acrtrust migrate cert generate-test [OPTIONS] NAME\n"), out)
}
