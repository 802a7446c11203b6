package signer

import (
	"context"
	"fmt"
	"strings"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/explain"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"

	"github.com/acrtrust/docker-acrtrust/trust"
)

type signerRemoveOptions struct {
	signer string
	repos  []string
	force  bool
}

func newSignerRemoveCommand(d *cmdutil.Deps) *cobra.Command {
	var opts signerRemoveOptions
	cmd := &cobra.Command{
		Use:   "remove [OPTIONS] NAME REPOSITORY [REPOSITORY...]",
		Short: "Remove a signer",
		Long: `Remove signer NAME from each REPOSITORY: its delegation targets/NAME goes,
and so do its keys in targets/releases (the whole role when no other
signer's key is left in it). Changing delegations needs the repository key.

When the signer signed the current targets/releases metadata and no other
signer did, tags signed only there stop pulling until another signer signs
again; the command then asks for confirmation, unless -f is given. When
stdin is not a terminal, -f is required in that case.`,
		Args: cli.RequiresMinArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.signer = args[0]
			opts.repos = args[1:]
			return runSignerRemove(cmd.Context(), d, opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.force, "force", "f", false, "Do not prompt for confirmation before removing the most recent signer")
	return cmd
}

func runSignerRemove(ctx context.Context, d *cmdutil.Deps, opts signerRemoveOptions) error {
	var failed []string
	for _, repo := range opts.repos {
		_, _ = fmt.Fprintf(d.CLI.Out(), "Removing signer %q from %s...\n", opts.signer, repo)
		removed, err := removeSignerFromRepo(ctx, d, opts.signer, repo, opts.force)
		switch {
		case err != nil:
			_, _ = fmt.Fprintln(d.CLI.Err(), explain.Error(d, err).Error()+"\n")
			failed = append(failed, repo)
		case removed:
			_, _ = fmt.Fprintf(d.CLI.Out(), "Successfully removed %s from %s\n\n", opts.signer, repo)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("error removing signer from: %s", strings.Join(failed, ", "))
	}
	return nil
}

// removeSignerFromRepo removes signer from one repository and reports
// whether it did (the user may decline).
func removeSignerFromRepo(ctx context.Context, d *cmdutil.Deps, signer, repoName string, force bool) (bool, error) {
	if trust.SignerRole(signer) == trust.ReleasesRole {
		return false, trust.ErrReleasesNotRemovable
	}
	ref, err := trust.ParseRef(repoName)
	if err != nil {
		return false, err
	}
	repo, err := cmdutil.OpenTrust(ctx, d, ref, true)
	if err != nil {
		return false, err
	}
	plan, err := trust.PlanSignerRemoval(ctx, repo, signer)
	if err != nil {
		return false, d.Fail(trust.OpTrustWrite, ref, err)
	}
	if plan.LastReleasesSigner && !force {
		question := fmt.Sprintf("The signer %q signed the last released version of %s. "+
			"Removing this signer will make %s unpullable. "+
			"Are you sure you want to continue?", signer, repoName, repoName)
		action := fmt.Sprintf("removing %q, the last signer of a released version of %s (it would make %s unpullable),", signer, repoName, repoName)
		ok, err := cmdutil.Confirm(ctx, d.CLI.In(), d.CLI.Out(), question, action, "-f")
		if err != nil || !ok {
			return false, err
		}
	}
	if err := trust.RemoveSigner(ctx, repo, plan); err != nil {
		return false, d.Fail(trust.OpTrustWrite, ref, err)
	}
	return true, nil
}
