package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"

	"github.com/acrtrust/docker-acrtrust/trust"
)

type pushOptions struct {
	remote              string
	quiet               bool
	disableContentTrust bool
	sign                cmdutil.SignOptions
}

func newPushCommand(d *cmdutil.Deps) *cobra.Command {
	var opts pushOptions
	cmd := &cobra.Command{
		Use:   "push [OPTIONS] NAME[:TAG]",
		Short: "Push an image and sign the pushed tag",
		Long: `Push an image with the docker engine, then sign the tag with the digest and
size that the registry now serves for it. The first signed push to a
repository initialises its trust data (root key reused or created, new
repository key, snapshot key managed by the server).

With --sign notation, the digest the registry serves is signed with Notation
instead (an OCI referrer; no trust server is involved, so this works on
registries without content trust); with --sign both, content trust is
published once and each new digest gets one Notation signature. A tag already
signed in a format is not signed again in it. The Notation key is --key and
--cert, --plugin and --id, or else notation's default key.

If signing fails after the image was pushed, the command fails, says which
format is missing, and gives the sign command that completes it.`,
		Args: cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.remote = args[0]
			return runPush(cmd.Context(), d, opts, signTrusted(d, cmd, opts.disableContentTrust, opts.sign))
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Suppress verbose output")
	cmdutil.AddContentTrustFlag(flags, &opts.disableContentTrust)
	cmdutil.AddSignFlags(flags, &opts.sign)
	return cmd
}

func runPush(ctx context.Context, d *cmdutil.Deps, opts pushOptions, trusted bool) error {
	ref, err := trust.ParseRef(opts.remote)
	if err != nil {
		return err
	}
	if ref.Digest != "" {
		return errors.New("cannot push a digest reference")
	}
	var plan *signPlan
	if trusted {
		// Refused before the image is pushed, not after.
		if plan, err = newSignPlan(ctx, d, opts.sign); err != nil {
			return err
		}
		if plan.dct() && d.Offline() {
			return d.Explained(trust.ErrOfflineWrite)
		}
	}
	// One token for the digest lookup and the trust data.
	ctx = trust.WithNeeds(ctx, trust.Needs{TrustWrite: true, RegistryPull: true})
	out := io.Writer(d.CLI.Out())
	if opts.quiet {
		out = io.Discard
	}
	if ref.Tag == "" {
		ref = ref.WithTag("latest")
		_, _ = fmt.Fprintln(out, "Using default tag: latest")
	}
	pushed, err := d.Engine.Push(ctx, ref.String(), out)
	if err != nil {
		return d.Fail(trust.OpRegistryPush, ref, err)
	}
	if !trusted {
		d.WarnUnverified(ref.String() + " was pushed without a signature")
	} else if err := signServed(ctx, d, []trust.Ref{ref}, []string{pushed}, plan, out); err != nil {
		return err
	}
	if opts.quiet {
		_, _ = fmt.Fprintln(d.CLI.Out(), ref.String())
	}
	return nil
}

// signServed signs refs' tags (one repository) with what the
// registry serves for them, in plan's formats: engines with the containerd
// image store send no digest in the push stream, and the registry is the
// authority anyway. When pushed[i] is a digest the engine reported, the two
// must agree, or someone pushed the tag in between. It fails closed: an
// error says that the images are in the registry without the formats
// missing.
func signServed(ctx context.Context, d *cmdutil.Deps, refs []trust.Ref, pushed []string, plan *signPlan, out io.Writer) error {
	if plan.dct() {
		_, _ = fmt.Fprintln(out, "Signing and pushing trust metadata")
	}
	targets, err := registryTargets(ctx, d, refs, pushed)
	if err != nil {
		err = d.Fail(trust.OpRegistryRead, refs[0], err)
	} else {
		err = plan.run(ctx, d, refs, targets, out, func() error { return signTargets(ctx, d, refs[0], targets, out) })
	}
	if err == nil {
		return nil
	}
	var mf *missingFormatsError
	if errors.As(err, &mf) {
		mf.lead = "the image was pushed to the registry, but it is "
		return mf
	}
	return newPushedUnsigned(refs, err, plan)
}

// signTrusted is whether a command that pushes signs: as docker decided
// it (DOCKER_CONTENT_TRUST, --disable-content-trust), except that asking
// for Notation by flag or variable is signing too; only
// --disable-content-trust turns it off then. After content trust is gone
// from a registry, pipelines may well set DOCKER_CONTENT_TRUST=0.
func signTrusted(d *cmdutil.Deps, cmd *cobra.Command, disable bool, o cmdutil.SignOptions) bool {
	if !cmd.Flags().Changed(cmdutil.DisableContentTrustFlag) {
		// An invalid mode is signing too: the command then stops on it
		// before pushing anything.
		if mode, err := d.SignMode(o); err != nil || mode != cmdutil.SignDCT {
			return true
		}
	}
	return d.Trusted(cmd, disable) // also remembers what turned trust off, for the warning
}

// signTargets signs targets of ref's repository in one publish and prints
// what Docker printed.
func signTargets(ctx context.Context, d *cmdutil.Deps, ref trust.Ref, targets []trust.Target, out io.Writer) error {
	repo, err := cmdutil.OpenTrust(ctx, d, ref, true)
	if err != nil {
		return err
	}
	res, err := trust.Sign(ctx, repo, targets)
	if err != nil {
		err = d.Fail(trust.OpTrustWrite, ref, err)
		if len(targets) == 1 {
			return signError{ref: ref.Name.Name() + ":" + targets[0].Name, err: err}
		}
		return signError{ref: ref.Name.Name(), err: err}
	}
	if res.Initialized {
		_, _ = fmt.Fprintf(out, "Finished initializing %q\n", ref.Name.Name())
	}
	reportSigned(out, ref, targets, res)
	return nil
}

// signError keeps Docker's "failed to sign REPO:TAG: ..." wording while
// letting the trust error kind through for explanations.
type signError struct {
	ref string
	err error
}

func (e signError) Error() string { return fmt.Sprintf("failed to sign %s: %v", e.ref, e.err) }
func (e signError) Unwrap() error { return e.err }
