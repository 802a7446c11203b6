package plugin

import (
	"context"
	"errors"
	"fmt"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"

	"github.com/acrtrust/docker-acrtrust/notationbridge"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// notationSignatureType is the artifact type of Notation signatures.
const notationSignatureType = "application/vnd.cncf.notary.signature"

type copyOptions struct {
	src, dst    string
	all         bool
	noReferrers bool
	dryRun      bool
	sign        cmdutil.SignOptions
	requireOptions
}

func newCopyCommand(d *cmdutil.Deps) *cobra.Command {
	var opts copyOptions
	cmd := &cobra.Command{
		Use:   "copy [OPTIONS] SRC[:TAG] DST[:TAG]",
		Short: "Copy a signed image to another repository or registry, with its signatures",
		Long: `Verify SRC's tag (content trust, or Notation with --require; pins and
fail-closed as for pull), then copy the verified digest to DST with oras-go:
every manifest, index and blob (all platforms), mounted from SRC when both are
in one registry, nothing uploaded that DST already has, and the referrers of
the image (Notation signatures) unless --no-referrers. Then sign DST in the
formats --sign names, with the flags of push and sign: content trust made
anew at DST with the keys here (a content trust signature is bound to the
repository's name and cannot be copied), and Notation: SRC's signatures
copied, and a new one when a Notation key is given or notation's
configuration has a default key. DST's tag defaults to SRC's. With -a every
signed tag is copied. An unsigned or drifted SRC tag copies nothing; DST is
signed only for the digest it serves, which must be the one verified at SRC. A
copy that stopped part way is finished by running it again.`,
		Args: cli.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.src, opts.dst = args[0], args[1]
			opts.sign.NotationDir = opts.notationDir // one --notation-dir: trust policy, keys and plugins
			return runCopy(cmd.Context(), d, opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.all, "all-tags", "a", false, "Copy every signed tag of SRC")
	flags.BoolVar(&opts.noReferrers, "no-referrers", false, "Do not copy the referrers of the image (Notation signatures, SBOMs)")
	flags.BoolVar(&opts.dryRun, "dry-run", false, "Say what would be copied and signed, and change nothing")
	addRequireFlags(flags, &opts.requireOptions)
	cmdutil.AddSignFlags(flags, &opts.sign)
	return cmd
}

// copyJob is one tag: SRC verified, DST to be written.
type copyJob struct {
	src, dst trust.Ref
	target   trust.Target // verified at SRC
}

func runCopy(ctx context.Context, d *cmdutil.Deps, opts copyOptions) error {
	src, dst, err := parseCopy(opts)
	if err != nil {
		return err
	}
	plan, err := newCopyPlan(ctx, d, opts)
	if err != nil {
		return err
	}
	if plan.dct() && d.Offline() && !opts.dryRun {
		return d.Explained(trust.ErrOfflineWrite)
	}
	jobs, err := verifiedSources(ctx, d, src, dst, opts)
	if err != nil {
		return err
	}
	if plan.notation() && plan.signer == nil {
		if err := notationToCopy(ctx, d, jobs); err != nil {
			return err
		}
	}
	if opts.dryRun {
		return planCopies(ctx, d, jobs, plan, opts)
	}
	var done []copyJob
	for _, j := range jobs {
		if err := copyOne(ctx, d, j, opts); err != nil {
			return &copyIncompleteError{jobs: jobs, done: done, failed: j, plan: plan, err: err}
		}
		done = append(done, j)
	}
	return signCopied(ctx, d, plan, jobs, opts)
}

// parseCopy reads SRC and DST before anything is contacted.
func parseCopy(opts copyOptions) (trust.Ref, trust.Ref, error) {
	usage := func(format string, a ...any) (trust.Ref, trust.Ref, error) {
		return trust.Ref{}, trust.Ref{}, cmdutil.UsageError{Err: fmt.Errorf(format, a...)}
	}
	src, err := trust.ParseRef(opts.src)
	if err != nil {
		return usage("%v", err)
	}
	dst, err := trust.ParseRef(opts.dst)
	if err != nil {
		return usage("%v", err)
	}
	switch {
	case src.Digest != "" || dst.Digest != "":
		return usage("copy verifies a signed tag of SRC and signs that tag at DST: give SRC[:TAG] and DST[:TAG], not digests")
	case opts.all && (src.Tag != "" || dst.Tag != ""):
		return usage("--all-tags copies every signed tag: give SRC and DST without tags")
	case !opts.all && src.Tag == "":
		src = src.WithTag("latest")
	}
	if !opts.all && dst.Tag == "" {
		dst = dst.WithTag(src.Tag)
	}
	return src, dst, nil
}

// newCopyPlan reads --sign as every command that signs does, and opens the
// Notation key that signs DST anew: the one the key flags name, else
// notation's default key. Without either, Notation at DST is SRC's
// signatures copied (the plan has no signer); with --no-referrers too,
// nothing would give DST one, and the copy is refused before it starts.
func newCopyPlan(ctx context.Context, d *cmdutil.Deps, opts copyOptions) (*signPlan, error) {
	mode, err := d.SignMode(opts.sign)
	if err != nil {
		return nil, err
	}
	p := &signPlan{mode: mode, opts: opts.sign}
	if !p.notation() {
		return p, nil
	}
	p.signer, err = d.NotationSigner(ctx, opts.sign.Key, opts.sign.NotationDir)
	switch {
	case err == nil:
	case !errors.Is(err, notationbridge.ErrNoSigningKey) || opts.sign.Key.Given():
		return nil, err
	case opts.noReferrers:
		return nil, cmdutil.UsageError{Err: fmt.Errorf("--sign %s with --no-referrers leaves nothing to give DST a Notation signature: "+
			"give a Notation key to sign DST anew (--key and --cert, --plugin and --id, or --key-name), make one notation's default (`notation key add --default`), "+
			"or copy SRC's Notation signatures by leaving out --no-referrers", mode)}
	default:
		p.signer = nil // SRC's Notation signatures are copied
	}
	return p, nil
}

// verifiedSources verifies every SRC tag before anything is copied: an
// unsigned tag, or one whose registry digest drifted from its signature,
// copies nothing.
func verifiedSources(ctx context.Context, d *cmdutil.Deps, src, dst trust.Ref, opts copyOptions) ([]copyJob, error) {
	targets, err := requiredTargets(ctx, d, src, opts.all, opts.requireOptions)
	if err != nil {
		return nil, d.WithNotSignedRemedy(d.Fail(trust.OpTrustRead, src, err), src, ", so nothing was copied", "")
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("No trusted tags for %s", src.Name.Name())
	}
	jobs := make([]copyJob, 0, len(targets))
	for _, t := range targets {
		served, err := d.Registry.Resolve(ctx, src.WithTag(t.Name))
		if err != nil {
			return nil, d.Fail(trust.OpRegistryRead, src.WithTag(t.Name), err)
		}
		if served.Digest != t.Digest {
			return nil, &copyDriftError{src: src.WithTag(t.Name), signed: t, served: served.Digest.String()}
		}
		to := dst
		if opts.all {
			to = dst.WithTag(t.Name)
		}
		jobs = append(jobs, copyJob{src: src.WithTag(t.Name), dst: to, target: t})
	}
	return jobs, nil
}

// copyDriftError is a SRC tag whose registry digest is not the signed one.
type copyDriftError struct {
	src    trust.Ref
	signed trust.Target
	served string
}

func (e *copyDriftError) Error() string {
	return fmt.Sprintf("%s:%s is signed for %s but the registry serves %s; nothing was copied", e.src.Familiar(), e.src.Tag, e.signed.Digest, e.served)
}

func (e *copyDriftError) Remedy() string {
	return fmt.Sprintf("If %s is the image you want, sign it (`docker acrtrust sign %s`) and copy again; otherwise push the signed image to the tag again.",
		e.served, e.src.Familiar()+":"+e.src.Tag)
}
