package plugin

import (
	"context"
	"fmt"

	"github.com/docker/cli/cli"
	"github.com/spf13/cobra"

	"github.com/acrtrust/docker-acrtrust/notationbridge"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// envCopySign is the default of copy's --sign. The formats issue (#18)
// gives every signing command --sign and this variable; copy takes them
// the same way. TODO: use cmdutil's SignMode once it is on main.
const envCopySign = "ACRTRUST_SIGN"

// The formats copy signs DST in.
const (
	copySignDCT      = "dct"
	copySignNotation = "notation"
	copySignBoth     = "both"
)

// notationSignatureType is the artifact type of Notation signatures.
const notationSignatureType = "application/vnd.cncf.notary.signature"

type copyOptions struct {
	src, dst    string
	all         bool
	noReferrers bool
	dryRun      bool
	sign        string
	key         cmdutil.NotationKeyOptions
	keyGiven    bool
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
formats --sign names: content trust made anew at DST with the keys here (a
content trust signature is bound to the repository's name and cannot be
copied), and Notation: SRC's signatures copied, and a new one when a Notation
key is given. DST's tag defaults to SRC's. With -a every signed tag is copied.
An unsigned or drifted SRC tag copies nothing; DST is signed only for the
digest it serves, which must be the one verified at SRC. A copy that stopped
part way is finished by running it again.`,
		Args: cli.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.src, opts.dst = args[0], args[1]
			for _, f := range []string{"key", "cert", "plugin", "id", "plugin-config"} {
				opts.keyGiven = opts.keyGiven || cmd.Flags().Changed(f)
			}
			return runCopy(cmd.Context(), d, opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.all, "all-tags", "a", false, "Copy every signed tag of SRC")
	flags.BoolVar(&opts.noReferrers, "no-referrers", false, "Do not copy the referrers of the image (Notation signatures, SBOMs)")
	flags.BoolVar(&opts.dryRun, "dry-run", false, "Say what would be copied and signed, and change nothing")
	flags.StringVar(&opts.sign, "sign", "", `Signature formats at DST: "dct" (content trust), "notation", or "both" (default $`+envCopySign+`, else "dct")`)
	cmdutil.AddNotationKeyFlags(flags, &opts.key)
	addRequireFlags(flags, &opts.requireOptions)
	return cmd
}

// copyJob is one tag: SRC verified, DST to be written.
type copyJob struct {
	src, dst trust.Ref
	target   trust.Target // verified at SRC
}

func runCopy(ctx context.Context, d *cmdutil.Deps, opts copyOptions) error {
	src, dst, mode, err := parseCopy(d, opts)
	if err != nil {
		return err
	}
	if mode != copySignNotation && d.Offline() && !opts.dryRun {
		return d.Explained(trust.ErrOfflineWrite)
	}
	jobs, err := verifiedSources(ctx, d, src, dst, opts)
	if err != nil {
		return err
	}
	var signer *notationbridge.Signer
	if opts.keyGiven && mode != copySignDCT {
		if signer, err = d.NotationSigner(ctx, opts.key, d.NotationDir(opts.notationDir)); err != nil {
			return err
		}
	}
	if opts.dryRun {
		return planCopies(ctx, d, jobs, mode, signer, opts)
	}
	var done []copyJob
	for _, j := range jobs {
		if err := copyOne(ctx, d, j, mode, signer, opts); err != nil {
			return &copyIncompleteError{jobs: jobs, done: done, failed: j, mode: mode, err: err}
		}
		done = append(done, j)
	}
	if mode == copySignDCT || mode == copySignBoth {
		if err := signCopies(ctx, d, jobs); err != nil {
			return &copyIncompleteError{jobs: jobs, done: jobs, mode: mode, dctFailed: true, err: err}
		}
	}
	return nil
}

// parseCopy reads SRC, DST and --sign before anything is contacted.
func parseCopy(d *cmdutil.Deps, opts copyOptions) (trust.Ref, trust.Ref, string, error) {
	usage := func(format string, a ...any) (trust.Ref, trust.Ref, string, error) {
		return trust.Ref{}, trust.Ref{}, "", cmdutil.UsageError{Err: fmt.Errorf(format, a...)}
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
	mode, from := opts.sign, "--sign"
	if mode == "" {
		mode, from = d.Getenv(envCopySign), envCopySign
	}
	switch mode {
	case "":
		mode = copySignDCT
	case copySignDCT, copySignNotation, copySignBoth:
	default:
		return usage("invalid %s %q: use dct, notation or both", from, mode)
	}
	if mode == copySignDCT && opts.keyGiven {
		return usage("--key, --cert, --plugin and --id name a Notation key: add --sign notation or --sign both to sign DST with it")
	}
	if mode != copySignDCT && opts.noReferrers && !opts.keyGiven {
		return usage("--sign %s with --no-referrers leaves nothing to sign DST with Notation: give a Notation key (--key and --cert, or --plugin and --id)", mode)
	}
	return src, dst, mode, nil
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
