package plugin

import (
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

// NewRootCommand returns the "acrtrust" command with all its subcommands.
// version is the build's version, shown by "docker acrtrust version".
func NewRootCommand(dockerCLI command.Cli, version string) *cobra.Command {
	return newRootCommand(newDeps(dockerCLI), version)
}

func newRootCommand(d *deps, version string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "acrtrust",
		Short: "Docker Content Trust for Azure Container Registry",
		Long: `Sign images when you push them and pull only signed images, with the trust
data (Notary v1 / TUF) that Azure Container Registry keeps for each repository.
Keys and metadata are Docker's own, under $DOCKER_CONFIG/trust.`,
		Args:          groupArgs,
		RunE:          command.ShowHelp(d.cli.Err()),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.SetFlagErrorFunc(flagErrorFunc)
	addGlobalFlags(cmd.PersistentFlags(), d)
	cmd.AddCommand(
		newPushCommand(d),
		newPullCommand(d),
		newBuildCommand(d),
		newResolveCommand(d),
		newVerifyCommand(d),
		newAuditCommand(d),
		newRefreshCommand(d),
		newDoctorCommand(d),
		newSignCommand(d),
		newInspectCommand(d),
		newRevokeCommand(d),
		newSignerCommand(d),
		newKeyCommand(d),
		newPinCommand(d),
		newMigrateCommand(d),
		newVersionCommand(d, version),
	)
	explainErrors(cmd, d)
	return cmd
}
