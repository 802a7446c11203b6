package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli-plugins/manager"
	"github.com/docker/cli/cli-plugins/metadata"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

// buildToolOf returns the build tool: d.builder when a test set one, else
// the docker CLI that runs this plugin.
func buildToolOf(d *cmdutil.Deps) cmdutil.BuildTool {
	if d.Builder != nil {
		return d.Builder
	}
	return dockerBuildTool{cli: d.CLI, getenv: d.Getenv, args: os.Args}
}

// dockerBuildTool runs `docker build` with the docker CLI binary that ran
// this plugin, with the global options it was given (--config, --context,
// -H, ...), as docker/cli's plugin runner does for `docker system
// dial-stdio`.
type dockerBuildTool struct {
	cli    command.Cli
	getenv func(string) string
	args   []string // os.Args of this process
}

// Kind decides as docker/cli's processBuilder (cmd/docker/builder.go) does:
// DOCKER_BUILDKIT=0 keeps the classic builder; otherwise buildx (or the
// builder alias in config.json) when that plugin is installed and works.
func (t dockerBuildTool) Kind() cmdutil.BuilderKind {
	if v := t.getenv("DOCKER_BUILDKIT"); v != "" {
		if on, err := strconv.ParseBool(v); err == nil && !on {
			return cmdutil.ClassicBuilder
		}
	}
	name := "buildx"
	if alias, ok := t.cli.ConfigFile().Aliases["builder"]; ok && alias != "" {
		name = alias
	}
	p, err := manager.GetPlugin(name, t.cli, &cobra.Command{Use: "docker"})
	if err != nil || p == nil || p.Err != nil {
		return cmdutil.ClassicBuilder
	}
	return cmdutil.BuildxBuilder
}

// docker returns the docker binary and the global options before the
// plugin's name on this plugin's command line.
func (t dockerBuildTool) docker() (string, []string) {
	bin := t.getenv(metadata.ReexecEnvvar)
	if bin == "" {
		// Standalone (docker-acrtrust build): no global options to pass on.
		return "docker", nil
	}
	// Docker runs a plugin with its own arguments: the global options,
	// then the plugin's name, then the plugin's arguments.
	for i, a := range t.args {
		if i > 0 && a == "acrtrust" {
			return bin, append([]string(nil), t.args[1:i]...)
		}
	}
	return bin, nil
}

func (t dockerBuildTool) Run(ctx context.Context, args []string, stdin io.Reader) error {
	bin, globals := t.docker()
	cmd := exec.CommandContext(ctx, bin, append(append(globals, "build"), args...)...)
	// The builder's progress display needs the terminal itself, not a pipe,
	// as docker/cli's plugin manager hands its plugins os.Stdin/Stdout/Stderr.
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if stdin != nil {
		cmd.Stdin = stdin
	}
	// The variables docker sets for this plugin are not for the child CLI;
	// nor is DOCKER_CONTENT_TRUST: this plugin has applied it (a docker CLI
	// older than v29 would otherwise apply its own, and pull by tag).
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "DOCKER_CLI_PLUGIN_") || strings.HasPrefix(kv, "DOCKER_CONTENT_TRUST=") {
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		// docker build has said why; pass its exit code on.
		return cli.StatusError{StatusCode: exit.ExitCode(), Status: fmt.Sprintf("docker build failed (exit status %d)", exit.ExitCode())}
	}
	return err
}
