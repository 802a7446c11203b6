package plugin

import (
	"context"
	"fmt"

	"github.com/acrtrust/docker-acrtrust/internal/safetext"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/explain"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"

	"github.com/acrtrust/docker-acrtrust/trust"
)

type resolveOptions struct {
	images  []string
	format  string
	require requireOptions
}

// resolvedImage is one line of `resolve --format json` (schema in docs/reference/acrtrust_resolve.md).
type resolvedImage struct {
	Reference string // the argument as typed
	Name      string // repository name, as docker prints it
	Tag       string
	Digest    string // sha256:...
	Size      int64
	Role      string // the role that signed it: targets or targets/releases; empty with --require notation
	Pinned    string // Name@Digest: what a deploy step pins
}

func newResolveCommand(d *cmdutil.Deps) *cobra.Command {
	var opts resolveOptions
	cmd := &cobra.Command{
		Use:   "resolve [OPTIONS] IMAGE:TAG [IMAGE:TAG...]",
		Short: "Print the verified digest reference of signed tags",
		Long: `Print NAME@sha256:... for each IMAGE:TAG from verified trust data: the line a
deploy step pins. Nothing is pulled. An argument that cannot be resolved
prints nothing on stdout and an error on stderr; the exit code is then 1.

With --require notation, the tag is resolved in the registry and its digest
must carry a Notation signature that the trust policy accepts (content trust
is not read, so this works on registries without it); with --require both,
content trust's digest must carry one.`,
		Args: cli.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.images = args
			return runResolve(cmd.Context(), d, opts)
		},
	}
	addRequireFlags(cmd.Flags(), &opts.require)
	cmdutil.AddFormatFlag(cmd, &opts.format, cmdutil.JSONOrTemplate)
	return cmd
}

func runResolve(ctx context.Context, d *cmdutil.Deps, opts resolveOptions) error {
	req, err := requirement(d, opts.require)
	if err != nil {
		return err
	}
	if req != requireDCT {
		// The policy is read once, before any argument.
		if _, err := notationVerifier(d, opts.require); err != nil {
			return err
		}
	}
	repos := map[string]trust.Repository{}
	var (
		results []resolvedImage
		failed  int
	)
	for _, image := range opts.images {
		r, err := resolveOne(ctx, d, repos, image, req, opts.require)
		if err != nil {
			failed++
			_, _ = fmt.Fprintf(d.CLI.Err(), "%s: %s\n", safetext.Escape(image), explain.Error(d, err))
			continue
		}
		results = append(results, r)
		if opts.format == "" {
			_, _ = fmt.Fprintln(d.CLI.Out(), r.Pinned)
		}
	}
	if results == nil {
		results = []resolvedImage{}
	}
	if _, err := cmdutil.WriteFormatted(d.CLI.Out(), opts.format, results); err != nil {
		return err
	}
	if failed > 0 {
		return cli.StatusError{StatusCode: cmdutil.ExitFailure, Status: fmt.Sprintf("%d of %d references could not be resolved", failed, len(opts.images))}
	}
	return nil
}

func resolveOne(ctx context.Context, d *cmdutil.Deps, repos map[string]trust.Repository, image, req string, ro requireOptions) (resolvedImage, error) {
	ref, err := cmdutil.ParseTrustRef(image, true)
	if err != nil {
		return resolvedImage{}, err
	}
	if req != requireDCT {
		targets, err := requiredTargets(ctx, d, ref, false, ro)
		if err != nil {
			return resolvedImage{}, err
		}
		return resolvedOf(image, ref, targets[0]), nil
	}
	repo, ok := repos[ref.GUN().String()]
	if !ok {
		if repo, err = cmdutil.OpenTrust(ctx, d, ref, false); err != nil {
			return resolvedImage{}, err
		}
		repos[ref.GUN().String()] = repo
	}
	t, err := trust.Resolve(ctx, repo, ref.Tag)
	if err != nil {
		return resolvedImage{}, d.WithNotSignedRemedy(d.Fail(trust.OpTrustRead, ref, d.UnsignedOrMissing(ctx, ref, err)), ref,
			", so nothing was printed for it: resolve never gives an unverified digest", "")
	}
	return resolvedOf(image, ref, t), nil
}

func resolvedOf(image string, ref trust.Ref, t trust.Target) resolvedImage {
	return resolvedImage{
		Reference: image,
		Name:      ref.Familiar(),
		Tag:       t.Name,
		Digest:    t.Digest.String(),
		Size:      t.Size,
		Role:      t.Role.String(),
		Pinned:    ref.Familiar() + "@" + t.Digest.String(),
	}
}
