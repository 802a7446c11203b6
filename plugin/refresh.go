package plugin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/acrtrust/docker-acrtrust/internal/safetext"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/explain"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"

	"github.com/acrtrust/docker-acrtrust/trust"
)

type refreshOptions struct {
	names          []string
	expiringWithin string
	dryRun         bool
	sign           cmdutil.SignOptions
}

func newRefreshCommand(d *cmdutil.Deps) *cobra.Command {
	var opts refreshOptions
	cmd := &cobra.Command{
		Use:   "refresh [OPTIONS] NAME [NAME...]",
		Short: "Re-sign trust metadata that expires soon, without changing any signed tag",
		Long: `Re-sign the targets and delegation metadata of each repository that expires
within --expiring-within, without adding, changing or removing any signed tag
(notary's "witness"), in one publish per repository. Once targets or
delegation metadata expires, every trusted pull of the repository fails.

The keys of the roles to re-sign must be here (the repository key for
targets, the signer's key for a delegation); refresh refuses, naming the
role and its key IDs, when they are not. When root expires within six months
notary re-signs it in the same publish, which needs the root key too.

With --sign both, every tag that content trust signs also gets a Notation
signature on its signed digest where this key has not signed it yet, so
that the two formats stay in step during the move to Notation; with --sign
notation, only that (content trust is read, not re-signed). The Notation key
is --key and --cert, --plugin and --id, or else notation's default key.

"docker acrtrust audit" prints the refresh command for what it finds expiring.`,
		Args: cli.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.names = args
			return runRefresh(cmd.Context(), d, opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&opts.expiringWithin, "expiring-within", "30d", `Re-sign metadata expiring within this duration ("720h", "30d")`)
	flags.BoolVar(&opts.dryRun, "dry-run", false, "Only show what would be re-signed")
	cmdutil.AddSignFlags(flags, &opts.sign)
	return cmd
}

func runRefresh(ctx context.Context, d *cmdutil.Deps, opts refreshOptions) error {
	window, err := cmdutil.ParseDuration("--expiring-within", opts.expiringWithin)
	if err != nil {
		return err
	}
	plan, err := newSignPlan(ctx, d, opts.sign)
	if err != nil {
		return err
	}
	var failed []string
	for _, name := range opts.names {
		if err := refreshOne(ctx, d, name, window, opts, plan); err != nil {
			msg := explain.Error(d, err).Error()
			_, _ = fmt.Fprintf(d.CLI.Err(), "%s: %s\n", safetext.Escape(name), msg)
			failed = append(failed, name)
		}
	}
	if len(failed) > 0 {
		return cli.StatusError{StatusCode: cmdutil.ExitFailure, Status: fmt.Sprintf("%d of %d repositories could not be refreshed: %s", len(failed), len(opts.names), strings.Join(failed, ", "))}
	}
	return nil
}

func refreshOne(ctx context.Context, d *cmdutil.Deps, name string, window time.Duration, opts refreshOptions, plan *signPlan) error {
	ref, err := cmdutil.ParseTrustRef(name, false)
	if err != nil {
		return err
	}
	if plan.dct() {
		if err := refreshDCT(ctx, d, ref, window, opts); err != nil {
			return err
		}
	}
	if plan.notation() {
		return refreshNotation(ctx, d, ref, opts, plan)
	}
	return nil
}

// refreshNotation signs with Notation the digest of every tag content trust
// signs in ref's repository, where this key has not signed it yet.
func refreshNotation(ctx context.Context, d *cmdutil.Deps, ref trust.Ref, opts refreshOptions, plan *signPlan) error {
	targets, err := trustedTargets(ctx, d, ref, true)
	if err != nil {
		return err
	}
	gun := ref.GUN().String()
	if len(targets) == 0 {
		_, _ = fmt.Fprintf(d.CLI.Out(), "%s: no signed tag to sign with Notation\n", gun)
		return nil
	}
	refs := make([]trust.Ref, len(targets))
	for i, t := range targets {
		refs[i] = ref.WithTag(t.Name)
	}
	if opts.dryRun {
		_, _ = fmt.Fprintf(d.CLI.Out(), "%s: would sign with Notation what content trust signs for %s (digests this key signed already are skipped)\n", gun, refNames(refs))
		return nil
	}
	return plan.run(ctx, d, refs, targets, d.CLI.Out(), nil)
}

// refreshDCT re-signs the content trust metadata of ref's repository that
// expires within window.
func refreshDCT(ctx context.Context, d *cmdutil.Deps, ref trust.Ref, window time.Duration, opts refreshOptions) error {
	out := d.CLI.Out()
	gun := ref.GUN().String()
	repo, err := d.OpenRepo(ctx, ref, !opts.dryRun)
	if err != nil {
		return d.Fail(trust.OpTrustRead, ref, cmdutil.ConnectionError(err))
	}
	trustDir := d.TrustDir()
	plan, err := trust.PlanRefresh(ctx, repo, trustDir, time.Now(), window)
	var missing *trust.MissingKeysError
	if errors.As(err, &missing) {
		return cmdutil.WithRemedy(err, missingKeysRemedy(missing))
	}
	if err != nil {
		return d.Fail(trust.OpTrustRead, ref, err)
	}
	if len(plan.Roles) == 0 {
		_, _ = fmt.Fprintf(out, "%s: nothing expires within %s\n", gun, opts.expiringWithin)
		return nil
	}
	verb := "Re-signing"
	if opts.dryRun {
		verb = "Would re-sign"
	}
	for _, e := range plan.Roles {
		_, _ = fmt.Fprintf(out, "%s: %s the %s metadata (expires %s)\n", gun, verb, e.Role, e.Expires.UTC().Format(time.DateOnly))
	}
	if plan.Root != nil {
		_, _ = fmt.Fprintf(out, "%s: %s root too (expires %s)\n", gun, verb, plan.Root.Expires.UTC().Format(time.DateOnly))
	}
	if opts.dryRun {
		return nil
	}
	if _, err := trust.Refresh(ctx, repo, plan); err != nil {
		return d.Fail(trust.OpTrustWrite, ref, err)
	}
	// Read back what the server now serves.
	if _, err := repo.ListTargets(); err != nil {
		return d.Fail(trust.OpTrustRead, ref, trust.Classify(ref.GUN(), err))
	}
	exp, err := trust.CachedExpiries(trustDir, ref.GUN())
	if err != nil {
		return err
	}
	after := map[string]time.Time{}
	for _, e := range exp {
		after[e.Role.String()] = e.Expires
	}
	parts := make([]string, 0, len(plan.Roles))
	for _, e := range plan.Roles {
		parts = append(parts, fmt.Sprintf("%s until %s", e.Role, after[e.Role.String()].UTC().Format(time.DateOnly)))
	}
	_, _ = fmt.Fprintf(out, "Successfully refreshed %s: %s\n", gun, strings.Join(parts, ", "))
	return nil
}

// missingKeysRemedy says where the keys to re-sign a role can come from.
func missingKeysRemedy(e *trust.MissingKeysError) string {
	switch {
	case e.Role.String() == "root":
		return "Run refresh where the root key is, or restore it first (docker acrtrust key restore BACKUP)."
	case e.Role.String() == "targets":
		return "Run refresh where the repository key is, or restore it first (docker acrtrust key restore BACKUP, or key load)."
	}
	return "Run refresh where a key of that signer is (docker acrtrust key load KEY on this machine), or ask its holder to."
}
