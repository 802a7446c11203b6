package runargs_test

import (
	"errors"
	"testing"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/command/commands"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/internal/runargs"
)

// dockerFlags returns the flag set of docker's own `docker container NAME`.
func dockerFlags(t *testing.T, name string) *pflag.FlagSet {
	t.Helper()
	cli, err := command.NewDockerCli()
	assert.NilError(t, err)
	root := &cobra.Command{Use: "docker"}
	commands.AddCommands(root, cli)
	c, _, err := root.Find([]string{"container", name})
	assert.NilError(t, err)
	assert.Equal(t, c.Name(), name)
	return c.Flags()
}

type ownFlags struct {
	disable bool
	require string
	offline bool
}

func ownSet(o *ownFlags) *pflag.FlagSet {
	fs := pflag.NewFlagSet("own", pflag.ContinueOnError)
	fs.BoolVar(&o.disable, "disable-content-trust", false, "")
	fs.StringVar(&o.require, "require", "", "")
	fs.BoolVar(&o.offline, "offline", false, "")
	return fs
}

func TestSplit(t *testing.T) {
	const img = "reg.example/app@sha256:abc"
	for _, tc := range []struct {
		name    string
		args    []string
		image   string
		command []string
		docker  []string // what docker gets, with IMAGE replaced by img
		own     ownFlags
	}{
		{name: "image only", args: []string{"app:v1"}, image: "app:v1", docker: []string{img}},
		{
			name: "interactive tty cluster", args: []string{"-it", "--rm", "app:v1", "sh"},
			image: "app:v1", command: []string{"sh"}, docker: []string{"-it", "--rm", img, "sh"},
		},
		{
			name: "values after the flag and after =", args: []string{"-e", "X=Y", "--name", "n", "-v", "a:b", "--env=Z=1", "-eW=2", "app:v1"},
			image: "app:v1", docker: []string{"-e", "X=Y", "--name", "n", "-v", "a:b", "--env=Z=1", "-eW=2", img},
		},
		{
			name: "a value that looks like an image", args: []string{"--entrypoint", "/bin/echo", "-p", "8080:80", "-w", "/tmp", "app:v1", "hello"},
			image: "app:v1", command: []string{"hello"}, docker: []string{"--entrypoint", "/bin/echo", "-p", "8080:80", "-w", "/tmp", img, "hello"},
		},
		{
			name: "bool flags with =false", args: []string{"--rm=false", "-d=false", "--init=true", "--sig-proxy=false", "app:v1"},
			image: "app:v1", docker: []string{"--rm=false", "-d=false", "--init=true", "--sig-proxy=false", img},
		},
		{
			name:  "the command's own flags are passed through untouched",
			args:  []string{"--rm", "app:v1", "ls", "-la", "--color=never", "--rm", "--require", "x", "--", "-e"},
			image: "app:v1", command: []string{"ls", "-la", "--color=never", "--rm", "--require", "x", "--", "-e"},
			docker: []string{"--rm", img, "ls", "-la", "--color=never", "--rm", "--require", "x", "--", "-e"},
		},
		{
			name:  "our own flags are removed, docker's kept in order",
			args:  []string{"--require", "both", "-i", "--disable-content-trust=false", "--offline", "-t", "app:v1"},
			image: "app:v1", docker: []string{"-i", "-t", img},
			own: ownFlags{require: "both", offline: true},
		},
		{
			name: "-- before IMAGE", args: []string{"-t", "--", "app:v1", "-x"},
			image: "app:v1", command: []string{"-x"}, docker: []string{"-t", "--", img, "-x"},
		},
		{
			name: "-h is docker's hostname, not help", args: []string{"-h", "box", "app:v1"},
			image: "app:v1", docker: []string{"-h", "box", img},
		},
		{
			name: "repeatable and list flags", args: []string{"--label", "a=b", "-l", "c=d", "--add-host", "h:1.2.3.4", "--mount", "type=tmpfs,dst=/x", "app:v1"},
			image: "app:v1", docker: []string{"--label", "a=b", "-l", "c=d", "--add-host", "h:1.2.3.4", "--mount", "type=tmpfs,dst=/x", img},
		},
		{
			name: "a value that starts with a dash", args: []string{"-e", "-x", "--user", "-1", "app:v1"},
			image: "app:v1", docker: []string{"-e", "-x", "--user", "-1", img},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, sub := range []string{"run", "create"} {
				if sub == "create" && slicesContains(tc.args, "--sig-proxy=false") {
					continue // run's own flag; create has no --sig-proxy
				}
				var got ownFlags
				line, err := runargs.Split(ownSet(&got), dockerFlags(t, sub), tc.args)
				assert.NilError(t, err, sub)
				assert.Check(t, is.Equal(line.Image, tc.image), sub)
				assert.Check(t, is.DeepEqual(line.Command, append([]string{}, tc.command...)), sub)
				assert.Check(t, is.DeepEqual(line.DockerArgs(img), tc.docker), sub)
				assert.Check(t, is.Equal(got, tc.own), sub)
			}
		})
	}
}

func TestValue(t *testing.T) {
	var o ownFlags
	line, err := runargs.Split(ownSet(&o), dockerFlags(t, "run"), []string{"--pull", "never", "-q", "app", "--pull", "always"})
	assert.NilError(t, err)
	v, given := line.Value("pull")
	assert.Check(t, is.Equal(v, "never"))
	assert.Check(t, given)
	v, _ = line.Value("quiet")
	assert.Check(t, is.Equal(v, "true"))
	v, given = line.Value("platform")
	assert.Check(t, is.Equal(v, ""))
	assert.Check(t, !given)
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestSplitRefuses(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
		is      error
	}{
		{name: "no image", args: []string{"--rm", "-it"}, is: runargs.ErrNoImage},
		{name: "nothing", args: nil, is: runargs.ErrNoImage},
		{name: "a value flag at the end", args: []string{"--name"}, wantErr: "flag needs an argument: --name"},
		{name: "an unknown flag", args: []string{"--no-such-flag", "app"}, wantErr: "unknown flag: --no-such-flag"},
		{name: "an unknown shorthand", args: []string{"-Y", "app"}, wantErr: "unknown shorthand flag: 'Y' in -Y"},
		{name: "a bad value, as docker checks it", args: []string{"--memory", "lots", "app"}, wantErr: "invalid argument"},
		{name: "help", args: []string{"--help"}, is: pflag.ErrHelp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o ownFlags
			_, err := runargs.Split(ownSet(&o), dockerFlags(t, "run"), tc.args)
			if tc.is != nil {
				assert.Check(t, errors.Is(err, tc.is), "got %v", err)
				return
			}
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
}

// BenchmarkSplit is what run and create spend before the trust lookup:
// building docker's own run command for its flags, and splitting a
// command line with them.
func BenchmarkSplit(b *testing.B) {
	args := []string{"-it", "--rm", "-e", "X=Y", "--name", "n", "-v", "a:b", "app:v1", "sh", "-c", "true"}
	for range b.N {
		cli, err := command.NewDockerCli()
		if err != nil {
			b.Fatal(err)
		}
		root := &cobra.Command{Use: "docker"}
		commands.AddCommands(root, cli)
		c, _, err := root.Find([]string{"container", "run"})
		if err != nil {
			b.Fatal(err)
		}
		var o ownFlags
		if _, err := runargs.Split(ownSet(&o), c.Flags(), args); err != nil {
			b.Fatal(err)
		}
	}
}
