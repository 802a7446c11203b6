package plugin

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdtest"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/docker/cli/cli-plugins/metadata"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// fakeBuildx installs a docker-buildx plugin that answers docker's
// metadata request, in a directory the config lists.
func fakeBuildx(t *testing.T, cli *cmdtest.FakeCLI, name string) {
	t.Helper()
	dir := t.TempDir()
	script := "#!/bin/sh\n" +
		`if [ "$1" = docker-cli-plugin-metadata ]; then echo '{"SchemaVersion":"0.1.0","Vendor":"test","Version":"v0.0.1"}'; fi` + "\n"
	assert.NilError(t, os.WriteFile(filepath.Join(dir, "docker-"+name), []byte(script), 0o755))
	cli.Cfg.CLIPluginsExtraDirs = []string{dir}
}

func TestBuildToolKind(t *testing.T) {
	tests := []struct {
		name   string
		plugin string // installed builder plugin, "" for none
		alias  string
		env    map[string]string
		want   cmdutil.BuilderKind
	}{
		{name: "buildx installed", plugin: "buildx", want: cmdutil.BuildxBuilder},
		{name: "DOCKER_BUILDKIT=0 keeps the classic builder", plugin: "buildx", env: map[string]string{"DOCKER_BUILDKIT": "0"}, want: cmdutil.ClassicBuilder},
		{name: "DOCKER_BUILDKIT=1 with buildx", plugin: "buildx", env: map[string]string{"DOCKER_BUILDKIT": "1"}, want: cmdutil.BuildxBuilder},
		{name: "a builder alias", plugin: "mybuilder", alias: "mybuilder", want: cmdutil.BuildxBuilder},
		// (Whether buildx itself is missing depends on the machine: its
		// plugin directories are searched too. An alias is not.)
		{name: "a builder alias that is not installed: the classic builder", plugin: "buildx", alias: "mybuilder", want: cmdutil.ClassicBuilder},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cli := cmdtest.NewFakeCLI(t, "")
			cli.Cfg.CLIPluginsExtraDirs = []string{t.TempDir()}
			if tc.plugin != "" {
				fakeBuildx(t, cli, tc.plugin)
			}
			if tc.alias != "" {
				cli.Cfg.Aliases = map[string]string{"builder": tc.alias}
			}
			tool := dockerBuildTool{cli: cli, getenv: func(k string) string { return tc.env[k] }}
			assert.Check(t, is.Equal(tool.Kind(), tc.want))
		})
	}
}

func TestBuildToolDockerCommand(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		env         map[string]string
		wantBin     string
		wantGlobals []string
	}{
		{
			name:        "as a plugin: docker's binary and its global options",
			args:        []string{"/usr/libexec/docker/cli-plugins/docker-acrtrust", "--config", "/tmp/cfg", "-H", "unix:///x.sock", "acrtrust", "build", "."},
			env:         map[string]string{metadata.ReexecEnvvar: "/usr/bin/docker"},
			wantBin:     "/usr/bin/docker",
			wantGlobals: []string{"--config", "/tmp/cfg", "-H", "unix:///x.sock"},
		},
		{
			name:    "as a plugin without global options",
			args:    []string{"docker-acrtrust", "acrtrust", "build", "."},
			env:     map[string]string{metadata.ReexecEnvvar: "docker"},
			wantBin: "docker",
		},
		{
			name:    "standalone",
			args:    []string{"docker-acrtrust", "build", "-t", "acrtrust", "."},
			wantBin: "docker",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tool := dockerBuildTool{getenv: func(k string) string { return tc.env[k] }, args: tc.args}
			bin, globals := tool.docker()
			assert.Check(t, is.Equal(bin, tc.wantBin))
			assert.Check(t, is.DeepEqual(globals, tc.wantGlobals))
		})
	}
}
