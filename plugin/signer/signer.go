package signer

import (
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

func NewCommand(d *cmdutil.Deps) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "signer",
		Short: "Manage entities who can sign Docker images",
		Args:  cmdutil.GroupArgs,
		RunE:  command.ShowHelp(d.CLI.Err()),
	}
	cmd.AddCommand(
		newSignerAddCommand(d),
		newSignerRemoveCommand(d),
	)
	return cmd
}
