package plugin

import (
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

func newSignerCommand(d *deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "signer",
		Short: "Manage entities who can sign Docker images",
		Args:  groupArgs,
		RunE:  command.ShowHelp(d.cli.Err()),
	}
	cmd.AddCommand(
		newSignerAddCommand(d),
		newSignerRemoveCommand(d),
	)
	return cmd
}
