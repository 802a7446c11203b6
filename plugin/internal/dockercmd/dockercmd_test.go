package dockercmd

import (
	"testing"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/command/commands"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gotest.tools/v3/assert"
)

// The commands built here must be the ones docker itself has under
// "docker container": same flags, same types, defaults and shorthands.
func TestContainerCommandsAreDockers(t *testing.T) {
	cli, err := command.NewDockerCli()
	assert.NilError(t, err)
	root := &cobra.Command{Use: "docker"}
	commands.AddCommands(root, cli)
	for _, name := range []string{"run", "create"} {
		t.Run(name, func(t *testing.T) {
			want, _, err := root.Find([]string{"container", name})
			assert.NilError(t, err)
			got := Container(cli, name)
			assert.Assert(t, got != nil)
			assert.Equal(t, got.Name(), name)
			assert.DeepEqual(t, flagsOf(got.Flags()), flagsOf(want.Flags()))
			assert.Assert(t, len(flagsOf(got.Flags())) > 50, "docker's %s has its many flags", name)
		})
	}
	assert.Assert(t, Container(cli, "exec") == nil)
}

func flagsOf(fs *pflag.FlagSet) map[string]string {
	m := map[string]string{}
	fs.VisitAll(func(f *pflag.Flag) {
		m[f.Name] = f.Shorthand + " " + f.Value.Type() + " " + f.DefValue + " " + f.Usage
	})
	return m
}
