// Package dockercmd builds docker's own "docker container run" and
// "docker container create" commands, for their flag definitions.
//
// docker/cli v29 builds its commands in unexported functions registered at
// package init in an internal registry; the only public way to them,
// cli/command/commands.AddCommands, links every docker command (stack,
// service, swarm, ...) into the binary, and their package init (the
// compose schema compiler, swarmkit, Prometheus, etcd raft) cost every
// process of the plugin, a trusted pull's two included, 13 ms
// (docs/benchmarks.md). This package links only cli/command/container and
// calls its two constructors by name. If docker/cli renames them, the
// build fails at link time (it cannot go wrong at run time); then use
// commands.AddCommands again, or the name they have.
package dockercmd

import (
	_ "unsafe" // go:linkname

	"github.com/docker/cli/cli/command"
	_ "github.com/docker/cli/cli/command/container" // the constructors below
	"github.com/spf13/cobra"
)

//go:linkname newRunCommand github.com/docker/cli/cli/command/container.newRunCommand
func newRunCommand(dockerCLI command.Cli) *cobra.Command

//go:linkname newCreateCommand github.com/docker/cli/cli/command/container.newCreateCommand
func newCreateCommand(dockerCLI command.Cli) *cobra.Command

// Container returns docker's "docker container NAME" command for run and
// create, and nil for any other name.
func Container(dockerCLI command.Cli, name string) *cobra.Command {
	switch name {
	case "run":
		return newRunCommand(dockerCLI)
	case "create":
		return newCreateCommand(dockerCLI)
	}
	return nil
}
