package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/acrtrust/docker-acrtrust/internal/safetext"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"

	"github.com/acrtrust/docker-acrtrust/trust"
)

type pullOptions struct {
	remote              string
	all                 bool
	platform            string
	quiet               bool
	disableContentTrust bool
	requireOptions
}

func newPullCommand(d *cmdutil.Deps) *cobra.Command {
	var opts pullOptions
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] NAME[:TAG|@DIGEST]",
		Short: "Pull a signed image, verified against its trust data",
		Long: `Resolve the tag to a digest from verified trust data (targets/releases first,
then targets), have the engine pull NAME@DIGEST, and tag it NAME:TAG.
An unsigned tag is an error and nothing is pulled. A digest reference is
pulled as it is: the engine verifies the content against the digest.`,
		Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.remote = args[0]
			return runPull(cmd.Context(), d, opts, pullTrusted(d, cmd, opts))
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.all, "all-tags", "a", false, "Download all signed tags in the repository")
	flags.StringVar(&opts.platform, "platform", "", "Set platform if server is multi-platform capable")
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Suppress verbose output")
	cmdutil.AddContentTrustFlag(flags, &opts.disableContentTrust)
	addRequireFlags(flags, &opts.requireOptions)
	return cmd
}

func runPull(ctx context.Context, d *cmdutil.Deps, opts pullOptions, trusted bool) error {
	ref, err := trust.ParseRef(opts.remote)
	if err != nil {
		return err
	}
	out := io.Writer(d.CLI.Out())
	if opts.quiet {
		out = io.Discard
	}
	switch {
	case opts.all && (ref.Tag != "" || ref.Digest != ""):
		return errors.New("tag can't be used with --all-tags/-a")
	case opts.all && !trusted:
		return errors.New("--all-tags needs content trust: without it there is no list of signed tags to pull")
	case ref.Digest != "":
		// A digest pins the content; the engine verifies it.
		if err := d.Engine.Pull(ctx, ref.String(), opts.platform, out); err != nil {
			return d.Fail(trust.OpRegistryRead, ref, err)
		}
		_, _ = fmt.Fprintln(d.CLI.Out(), ref.String())
		return nil
	case !opts.all && ref.Tag == "":
		ref = ref.WithTag("latest")
		_, _ = fmt.Fprintln(out, "Using default tag: latest")
	}
	if !trusted {
		d.WarnUnverified(ref.String() + " is pulled without verifying its signature")
		if err := d.Engine.Pull(ctx, ref.String(), opts.platform, out); err != nil {
			return d.Fail(trust.OpRegistryRead, ref, err)
		}
		_, _ = fmt.Fprintln(d.CLI.Out(), ref.String())
		return nil
	}

	// One token for the trust data and the pull: the engine is handed it
	// (cmdutil.DockerEngine), and asks the token service nothing.
	ctx = trust.WithNeeds(ctx, trust.Needs{RegistryPull: true})
	targets, err := requiredTargets(ctx, d, ref, opts.all, opts.requireOptions)
	if err != nil {
		return d.WithNotSignedRemedy(d.Fail(trust.OpTrustRead, ref, err), ref,
			", so nothing was pulled", ", or pull with --disable-content-trust to accept an unverified image")
	}
	for i, t := range targets {
		_, _ = fmt.Fprintf(out, "Pull (%d of %d): %s:%s@%s\n", i+1, len(targets), ref.Familiar(), safetext.Escape(t.Name), t.Digest)
		byDigest := ref.Name.Name() + "@" + t.Digest.String()
		if err := d.Engine.Pull(ctx, byDigest, opts.platform, out); err != nil {
			return d.Fail(trust.OpRegistryRead, ref, err)
		}
		tagged := ref.WithTag(t.Name)
		_, _ = fmt.Fprintf(d.CLI.Err(), "Tagging %s@%s as %s:%s\n", ref.Familiar(), t.Digest, ref.Familiar(), safetext.Escape(t.Name))
		if err := d.Engine.Tag(ctx, byDigest, tagged.String()); err != nil {
			return err
		}
	}
	if opts.all {
		_, _ = fmt.Fprintln(d.CLI.Out(), ref.Name.Name())
	} else {
		_, _ = fmt.Fprintln(d.CLI.Out(), ref.String())
	}
	return nil
}

// trustedTargets resolves ref's tag, or every signed tag, from verified
// trust data, before anything is pulled.
func trustedTargets(ctx context.Context, d *cmdutil.Deps, ref trust.Ref, all bool) ([]trust.Target, error) {
	repo, err := d.OpenRepo(ctx, ref, false)
	if err != nil {
		return nil, d.Explained(cmdutil.ConnectionError(err))
	}
	if all {
		targets, err := trust.ResolveAll(ctx, repo)
		return targets, d.Explained(err)
	}
	t, err := trust.Resolve(ctx, repo, ref.Tag)
	if err != nil {
		return nil, d.Explained(d.UnsignedOrMissing(ctx, ref, err))
	}
	return []trust.Target{t}, nil
}
