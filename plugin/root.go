package plugin

import (
	"github.com/docker/cli/cli"
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
		Args:          cli.NoArgs,
		RunE:          command.ShowHelp(d.cli.Err()),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.SetFlagErrorFunc(flagErrorFunc)
	cmd.AddCommand(
		newPushCommand(d),
		newPullCommand(d),
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
		newVersionCommand(d, version),
	)
	explainErrors(cmd, d)
	return cmd
}

// explainErrors makes every command's error go through d.userError, the one
// place that turns trust errors into sentences with a remedy.
func explainErrors(cmd *cobra.Command, d *deps) {
	// Wrong arguments are usage errors (exit 125), like unknown flags.
	if check := cmd.Args; check != nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				return cli.StatusError{Status: err.Error(), StatusCode: exitUsage}
			}
			return nil
		}
	}
	if run := cmd.RunE; run != nil {
		cmd.RunE = func(c *cobra.Command, args []string) error {
			return d.userError(run(c, args))
		}
	}
	for _, sub := range cmd.Commands() {
		explainErrors(sub, d)
	}
}
