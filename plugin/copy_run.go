package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/docker/go-units"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/acrtrust/docker-acrtrust/imagecopy"
	"github.com/acrtrust/docker-acrtrust/notationbridge"
	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// withRepositories runs fn with oras-go clients of j's SRC and DST
// repositories, with the plugin's auth and TLS.
func withRepositories(d *cmdutil.Deps, j copyJob, fn func(src, dst *remote.Repository) error) error {
	return d.ORAS.WithRepository(j.src, func(sr *remote.Repository) error {
		return d.ORAS.WithRepository(j.dst, func(dr *remote.Repository) error {
			return fn(sr, dr)
		})
	})
}

// copyImageOptions mounts blobs from SRC when DST is in the same registry.
func copyImageOptions(j copyJob, opts copyOptions, progress func(imagecopy.Event)) imagecopy.Options {
	o := imagecopy.Options{NoReferrers: opts.noReferrers, Progress: progress}
	if j.src.Registry() == j.dst.Registry() && j.src.Path() != j.dst.Path() {
		o.MountFrom = j.src.Path()
	}
	return o
}

// sourceRoot is the verified digest's descriptor, as SRC serves it.
func sourceRoot(ctx context.Context, d *cmdutil.Deps, j copyJob, sr *remote.Repository) (ocispec.Descriptor, error) {
	root, err := sr.Resolve(ctx, j.target.Digest.String())
	if err != nil {
		return root, d.Fail(trust.OpRegistryRead, j.src, err)
	}
	return root, nil
}

// countNotationSignatures counts the Notation signatures SRC has for root.
func countNotationSignatures(ctx context.Context, sr *remote.Repository, root ocispec.Descriptor) (int, error) {
	refs, err := sr.Predecessors(ctx, root)
	n := 0
	for _, r := range refs {
		if r.ArtifactType == notationSignatureType {
			n++
		}
	}
	return n, err
}

// notationToCopy checks, before anything is copied, that SRC has a
// Notation signature of every image when there is no key to sign DST anew:
// the copied signatures are then DST's only Notation signatures.
func notationToCopy(ctx context.Context, d *cmdutil.Deps, jobs []copyJob) error {
	for _, j := range jobs {
		err := d.ORAS.WithRepository(j.src, func(sr *remote.Repository) error {
			root, err := sourceRoot(ctx, d, j, sr)
			if err != nil {
				return err
			}
			n, err := countNotationSignatures(ctx, sr, root)
			if err != nil {
				return d.Fail(trust.OpRegistryRead, j.src, err)
			}
			if n == 0 {
				return cmdutil.WithRemedy(fmt.Errorf("%s has no Notation signature to copy, and no Notation key was given, so nothing was copied", refName(j.src)),
					"Give a Notation key to sign DST anew (--key and --cert, --plugin and --id, --key-name, or notation's default key: `notation key add --default`), or copy with --sign dct.")
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// copyOne copies one verified image, with its referrers unless
// --no-referrers.
func copyOne(ctx context.Context, d *cmdutil.Deps, j copyJob, opts copyOptions) error {
	return withRepositories(d, j, func(sr, dr *remote.Repository) error {
		root, err := sourceRoot(ctx, d, j, sr)
		if err != nil {
			return err
		}
		p := newCopyProgress(d.CLI.Err(), d.CLI.Err().IsTerminal(), refName(j.dst))
		res, err := imagecopy.Copy(ctx, sr, dr, root, j.dst.Tag, copyImageOptions(j, opts, p.event))
		p.end()
		if err != nil {
			return d.Fail(trust.OpRegistryPush, j.dst, err)
		}
		_, _ = fmt.Fprintf(d.CLI.Out(), "Copied %s to %s@%s: %s\n", refName(j.src), refName(j.dst), root.Digest, copySummary(res))
		return nil
	})
}

// signCopied signs DST once every copy is done, in plan's formats:
// content trust in one publish (signCopies), and a Notation signature per
// digest that the plan's key has not signed yet; without a key, Notation at
// DST is the signatures copied from SRC. A format that fails comes back as
// a *missingFormatsError: which DST tags miss which format, and the copy
// that completes them.
func signCopied(ctx context.Context, d *cmdutil.Deps, plan *signPlan, jobs []copyJob, opts copyOptions) error {
	p := plan
	if p.notation() && p.signer == nil {
		if !p.dct() {
			return nil
		}
		p = &signPlan{mode: cmdutil.SignDCT, opts: plan.opts}
	}
	refs := make([]trust.Ref, len(jobs))
	targets := make([]trust.Target, len(jobs))
	for i, j := range jobs {
		refs[i] = j.dst
		targets[i] = trust.Target{Name: j.dst.Tag, Digest: j.target.Digest, Size: j.target.Size}
	}
	var signDCT func() error
	if p.dct() {
		signDCT = func() error { return signCopies(ctx, d, jobs) }
	}
	err := p.run(ctx, d, refs, targets, d.CLI.Out(), signDCT)
	if err == nil {
		return nil
	}
	var mf *missingFormatsError
	if !errors.As(err, &mf) {
		mf = &missingFormatsError{missing: []missingFormat{{format: cmdutil.SignDCT, refs: refs, err: err}}, plan: p}
	}
	copied := make([]string, len(jobs))
	for i, j := range jobs {
		copied[i] = refName(j.dst) + "@" + j.target.Digest.String()
	}
	mf.lead = "the copy is in DST (" + strings.Join(copied, ", ") + "), but it is "
	req, _ := requirement(d, opts.requireOptions) // read before SRC was verified
	mf.complete = func(mode string) []string { return copyCommand(opts, mode, req != requireDCT) }
	return mf
}

// copyCommand is the copy again, signing in mode only: it copies nothing
// that DST has, checks again that DST serves what SRC's signature names,
// and signs only what is missing. verifiesNotation says SRC's Notation
// verification needs --notation-dir.
func copyCommand(opts copyOptions, mode string, verifiesNotation bool) []string {
	args := []string{"docker", "acrtrust", "copy"}
	if opts.all {
		args = append(args, "-a")
	}
	if opts.noReferrers {
		args = append(args, "--no-referrers")
	}
	if opts.require != "" {
		args = append(args, "--require", opts.require)
	}
	if opts.notationDir != "" && verifiesNotation && !cmdutil.SignsNotation(mode) {
		args = append(args, "--notation-dir", opts.notationDir) // for --require; opts.sign.Args names it otherwise
	}
	args = append(args, opts.sign.Args(mode)...)
	return append(args, opts.src, opts.dst)
}

// signCopies signs DST's tags with content trust, in one publish, for the
// digests verified at SRC, after checking that DST serves exactly those:
// a signature that does not match what DST serves is never written.
func signCopies(ctx context.Context, d *cmdutil.Deps, jobs []copyJob) error {
	targets := make([]trust.Target, 0, len(jobs))
	for _, j := range jobs {
		served, err := d.Registry.Resolve(ctx, j.dst)
		if err != nil {
			return d.Fail(trust.OpRegistryRead, j.dst, err)
		}
		if served.Digest != j.target.Digest || served.Size != j.target.Size {
			return fmt.Errorf("%s serves %s (%d bytes), not the %s (%d bytes) verified at %s: not signing it",
				refName(j.dst), served.Digest, served.Size, j.target.Digest, j.target.Size, refName(j.src))
		}
		targets = append(targets, trust.Target{Name: j.dst.Tag, Digest: j.target.Digest, Size: j.target.Size})
	}
	dst := jobs[0].dst
	_, _ = fmt.Fprintln(d.CLI.Out(), "Signing and pushing trust metadata")
	repo, err := cmdutil.OpenTrust(ctx, d, dst, true)
	if err != nil {
		return err
	}
	res, err := trust.Sign(ctx, repo, targets)
	if err != nil {
		return d.Fail(trust.OpTrustWrite, dst, err)
	}
	if res.Initialized {
		_, _ = fmt.Fprintln(d.CLI.Out(), "Finished initializing signed repository for", dst.Name.Name())
	}
	reportSigned(d.CLI.Out(), dst, targets, res)
	return nil
}

// planCopies is --dry-run: what each copy would upload and how DST would
// be signed; nothing is written.
func planCopies(ctx context.Context, d *cmdutil.Deps, jobs []copyJob, plan *signPlan, opts copyOptions) error {
	out := d.CLI.Out()
	for _, j := range jobs {
		err := withRepositories(d, j, func(sr, dr *remote.Repository) error {
			root, err := sourceRoot(ctx, d, j, sr)
			if err != nil {
				return err
			}
			o := copyImageOptions(j, opts, nil)
			p, err := imagecopy.MakePlan(ctx, sr, dr, root, o)
			if err != nil {
				return d.Fail(trust.OpRegistryRead, j.dst, err)
			}
			how := "uploaded"
			if o.MountFrom != "" {
				how = "mounted from " + j.src.Familiar() + " where possible"
			}
			_, _ = fmt.Fprintf(out, "Would copy %s@%s to %s: %d of %d manifests and blobs missing (%s, %s), %d referrers\n",
				refName(j.src), root.Digest, refName(j.dst), len(p.Missing), len(p.Missing)+len(p.Present), units.HumanSize(float64(p.Bytes())), how, len(p.Referrers))
			if plan.notation() {
				planNotation(out, j, p, plan.signer)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if plan.dct() {
		for _, j := range jobs {
			_, _ = fmt.Fprintf(out, "Would sign %s with content trust for %s\n", refName(j.dst), j.target.Digest)
		}
	}
	_, _ = fmt.Fprintln(out, "Nothing was copied or signed (--dry-run).")
	return nil
}

func planNotation(out io.Writer, j copyJob, p imagecopy.Plan, signer *notationbridge.Signer) {
	n := 0
	for _, r := range p.Referrers {
		if r.ArtifactType == notationSignatureType {
			n++
		}
	}
	_, _ = fmt.Fprintf(out, "Would copy %d Notation signature(s) of %s\n", n, refName(j.src))
	if signer != nil {
		_, _ = fmt.Fprintf(out, "Would sign %s@%s with Notation (key %s)\n", j.dst.Familiar(), j.target.Digest, signer.Thumbprint())
	}
}

func refName(r trust.Ref) string { return r.Familiar() + ":" + r.Tag }

func copySummary(res imagecopy.Result) string {
	parts := []string{
		fmt.Sprintf("%d copied (%s)", len(res.Copied), units.HumanSize(float64(res.Uploaded()))),
		fmt.Sprintf("%d mounted", len(res.Mounted)),
		fmt.Sprintf("%d already there", len(res.Exists)),
		fmt.Sprintf("%d referrers", len(res.Referrers)),
	}
	return strings.Join(parts, ", ")
}
