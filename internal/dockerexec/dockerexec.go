// Package dockerexec runs the docker CLI itself as a child process with
// this process's terminal, forwards signals to it and hands back its exit
// status. `run` and `create` use it so that every flag, the terminal
// handling of -it, attach and detach keys, --rm, --sig-proxy and the exit
// codes are docker's own, not a copy of them.
package dockerexec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	cliflags "github.com/docker/cli/cli/flags"
	"github.com/spf13/pflag"
)

// The variables docker sets for a plugin (cli-plugins/metadata and
// socket): the child is docker itself, not a plugin, and must not see them.
const (
	envReexec = "DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND"
	envSocket = "DOCKER_CLI_PLUGIN_SOCKET"
)

// Cmd is one run of the docker CLI.
type Cmd struct {
	Path string   // the docker CLI (see Find)
	Args []string // its arguments, without the program name
	// Stdin, Stdout and Stderr are the child's; an *os.File (a terminal)
	// is handed over as it is, so that docker can put it in raw mode.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Env is the child's environment; nil means this process's, without
	// the variables docker sets for plugins.
	Env []string
}

// Run runs c and returns docker's exit status: the container's status for
// `docker run`, 125 when docker itself failed, 126 or 127 when the
// container's command could not be run, 128+N when docker died of signal
// N. The error is non-nil only when docker could not be started. When ctx
// ends (the docker CLI that started this plugin was interrupted), docker
// gets SIGINT, as a Ctrl-C would give it, and Run still waits for it.
func Run(ctx context.Context, c Cmd) (int, error) {
	cmd := exec.Command(c.Path, c.Args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.Stdin, c.Stdout, c.Stderr
	cmd.Env = c.Env
	if cmd.Env == nil {
		cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
			return strings.HasPrefix(kv, envReexec+"=") || strings.HasPrefix(kv, envSocket+"=")
		})
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, forwarded...)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("starting %s: %w", c.Path, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	interrupted := false
	foreground := inForeground()
	for {
		select {
		case s := <-sigs:
			if foreground && slices.Contains(fromTerminal, s) {
				continue
			}
			interrupted = true
			_ = cmd.Process.Signal(s)
		case <-ctx.Done():
			if !interrupted {
				interrupted = true
				_ = cmd.Process.Signal(syscall.SIGINT)
			}
			ctx = context.Background() // once
		case err := <-done:
			return exitStatus(err)
		}
	}
}

func exitStatus(err error) (int, error) {
	if err == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return 0, err
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ee.ExitCode(), nil
}

// Find returns the docker CLI to run: the one that started this plugin
// (docker tells plugins in DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND), else
// docker from PATH. getenv is os.Getenv or a stand-in.
func Find(getenv func(string) string) (string, error) {
	name := getenv(envReexec)
	if name == "" {
		name = "docker"
	}
	if strings.ContainsRune(name, filepath.Separator) {
		return name, nil
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("finding the docker CLI: %w", err)
	}
	return p, nil
}

// GlobalArgs returns the global docker options (--context, -H, --config,
// --tls..., --debug, -l) this plugin was started with, read with docker's
// own global flag set from osArgs (os.Args), so that the docker that runs
// the container talks to the same engine with the same configuration. A
// plugin's arguments are docker's: [plugin, globals..., name, command...].
// Run standalone, or when they cannot be read, there are none.
func GlobalArgs(osArgs []string, name string) []string {
	if len(osArgs) < 2 {
		return nil
	}
	fs := pflag.NewFlagSet("docker", pflag.ContinueOnError)
	fs.SetInterspersed(false)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	cliflags.NewClientOptions().InstallFlags(fs)
	fs.Bool("version", false, "")
	fs.BoolP("help", "h", false, "")
	args := osArgs[1:]
	if err := fs.Parse(args); err != nil {
		return nil
	}
	rest := fs.Args()
	if len(rest) == 0 || rest[0] != name {
		return nil
	}
	globals := args[:len(args)-len(rest)]
	if len(globals) == 0 || fs.ArgsLenAtDash() >= 0 {
		return nil // none, or "--" before the plugin's name: not a docker command line
	}
	return append([]string{}, globals...)
}

// Complete asks the docker CLI at path for the shell completions of args
// (cobra's hidden __complete command, which every shell completion script
// of docker uses) and returns them with cobra's directive.
func Complete(ctx context.Context, path string, args []string) ([]string, int, error) {
	out, err := exec.CommandContext(ctx, path, append([]string{"__complete"}, args...)...).Output()
	if err != nil {
		return nil, 0, fmt.Errorf("completing with %s: %w", path, err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	last := lines[len(lines)-1]
	directive, err := strconv.Atoi(strings.TrimPrefix(last, ":"))
	if !strings.HasPrefix(last, ":") || err != nil {
		return nil, 0, fmt.Errorf("completing with %s: no directive in %q", path, last)
	}
	return lines[:len(lines)-1], directive, nil
}
