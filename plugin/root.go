package plugin

import (
	"github.com/acrtrust/docker-acrtrust/plugin/audit"
	"github.com/acrtrust/docker-acrtrust/plugin/doctor"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/explain"
	"github.com/acrtrust/docker-acrtrust/plugin/key"
	"github.com/acrtrust/docker-acrtrust/plugin/migrate"
	"github.com/acrtrust/docker-acrtrust/plugin/pin"
	"github.com/acrtrust/docker-acrtrust/plugin/signer"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

// NewRootCommand returns the "acrtrust" command with all its subcommands.
// version is the build's version, shown by "docker acrtrust version".
func NewRootCommand(dockerCLI command.Cli, version string) *cobra.Command {
	return newRootCommand(cmdutil.NewDeps(dockerCLI), version)
}

func newRootCommand(d *cmdutil.Deps, version string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "acrtrust",
		Short: "Docker Content Trust for Azure Container Registry",
		Long: `Sign images when you push them and pull only signed images, with the trust
data (Notary v1 / TUF) that Azure Container Registry keeps for each repository.
Keys and metadata are Docker's own, under $DOCKER_CONFIG/trust.`,
		Args:          cmdutil.GroupArgs,
		RunE:          command.ShowHelp(d.CLI.Err()),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.SetFlagErrorFunc(explain.FlagErrorFunc)
	cmdutil.AddGlobalFlags(cmd.PersistentFlags(), d)
	cmd.AddCommand(
		newPushCommand(d),
		newPullCommand(d),
		newBuildCommand(d),
		newRunCommand(d),
		newCreateCommand(d),
		newCopyCommand(d),
		newResolveCommand(d),
		newVerifyCommand(d),
		audit.NewCommand(d),
		newRefreshCommand(d),
		doctor.NewCommand(d),
		newSignCommand(d),
		newInspectCommand(d),
		newRevokeCommand(d),
		signer.NewCommand(d),
		key.NewCommand(d),
		pin.NewCommand(d),
		migrate.NewCommand(d),
		newVersionCommand(d, version),
	)
	explain.Commands(cmd, d)
	return cmd
}
