package plugin

import (
	"context"
	"fmt"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"

	"github.com/acrtrust/docker-acrtrust/trust"
)

type revokeOptions struct {
	remote string
	yes    bool
}

func newRevokeCommand(d *cmdutil.Deps) *cobra.Command {
	var opts revokeOptions
	cmd := &cobra.Command{
		Use:   "revoke [OPTIONS] IMAGE[:TAG]",
		Short: "Remove trust for an image",
		Long: `Remove the signature of IMAGE:TAG, or of every signed tag of IMAGE when no
tag is given, from each role the local keys can sign, in one publish. After
that the tag no longer pulls with content trust.

Revoking every tag asks for confirmation first, unless -y is given. When
stdin is not a terminal, -y is required.`,
		Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.remote = args[0]
			return runRevoke(cmd.Context(), d, opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.yes, "yes", "y", false, "Do not prompt for confirmation")
	return cmd
}

func runRevoke(ctx context.Context, d *cmdutil.Deps, opts revokeOptions) error {
	ref, err := trust.ParseRef(opts.remote)
	if err != nil {
		return err
	}
	if ref.Tag == "" && ref.Digest != "" {
		return trust.ErrDigestReference
	}
	if ref.Tag == "" && !opts.yes {
		question := fmt.Sprintf("Confirm you would like to delete all signature data for %s?", opts.remote)
		ok, err := cmdutil.Confirm(ctx, d.CLI.In(), d.CLI.Out(), question, "deleting all signature data for "+opts.remote, "-y")
		if err != nil {
			return err
		}
		if !ok {
			// As docker: declining is not an error.
			return nil
		}
	}

	repo, err := cmdutil.OpenTrust(ctx, d, ref, true)
	if err != nil {
		return err
	}
	if _, err := trust.Revoke(ctx, repo, ref.Tag); err != nil {
		return fmt.Errorf("could not remove signature for %s: %w", opts.remote, d.Fail(trust.OpTrustWrite, ref, err))
	}
	_, _ = fmt.Fprintf(d.CLI.Out(), "Successfully deleted signature for %s\n", opts.remote)
	return nil
}
