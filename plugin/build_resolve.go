package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/acrtrust/docker-acrtrust/plugin/internal/cmdutil"

	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
	"oras.land/oras-go/v2/errdef"

	"github.com/acrtrust/docker-acrtrust/internal/buildfile"
	"github.com/acrtrust/docker-acrtrust/notationbridge"
	"github.com/acrtrust/docker-acrtrust/trust"
)

// baseRequirement is what build requires of its base images (--require):
// the requirement, and the Notation verifier when it needs one.
type baseRequirement struct {
	req string
	v   *notationbridge.Verifier
}

// describe says how a base was verified, for the line build prints.
func (r baseRequirement) describe(bt baseTarget) string {
	switch r.req {
	case requireNotation:
		return "Notation signature verified"
	case requireBoth:
		return fmt.Sprintf("signed by %s; Notation signature verified on the same digest", bt.target.Role)
	}
	return "signed by " + bt.target.Role.String()
}

// resolveBuildSources resolves every image the build reads as the
// requirement says (content trust, Notation, or both on the same digest)
// and returns, per source, the NAME@DIGEST to build from ("" for a
// reference already pinned by digest, whose Notation signature is checked
// when Notation is required). It prints one line per image on stderr.
// Nothing is built when any image cannot be verified: the first failure is
// returned, naming its Dockerfile line.
func resolveBuildSources(ctx context.Context, d *cmdutil.Deps, sources []buildfile.Source, r baseRequirement) ([]string, error) {
	pins := make([]string, len(sources))
	repos := map[string]trust.Repository{}
	resolved := map[string]baseTarget{} // by image, so that each is resolved once
	for i, s := range sources {
		if s.Pinned() {
			if err := r.checkPinned(ctx, d, s); err != nil {
				return nil, &buildBaseError{source: s, err: err}
			}
			_, _ = fmt.Fprintf(d.CLI.Err(), "%s %s (pinned by digest)\n", s.Instruction(), s.Written)
			continue
		}
		key := s.Image.String()
		bt, ok := resolved[key]
		if !ok {
			var err error
			if bt, err = r.resolve(ctx, d, repos, s); err != nil {
				return nil, &buildBaseError{source: s, err: err}
			}
			resolved[key] = bt
		}
		if bt.drifted != "" {
			_, _ = fmt.Fprintf(d.CLI.Err(), "WARNING: %s: the registry's tag %s now serves %s, which is not what was signed; building from the signed %s\n",
				sourcePlace(s), reference.FamiliarString(s.Image), bt.drifted, bt.target.Digest)
		}
		pins[i] = bt.pinned
		_, _ = fmt.Fprintf(d.CLI.Err(), "%s %s → %s (%s)\n", s.Instruction(), s.Written, bt.pinned, r.describe(bt))
	}
	return pins, nil
}

// resolve resolves one base image's tag as required.
func (r baseRequirement) resolve(ctx context.Context, d *cmdutil.Deps, repos map[string]trust.Repository, s buildfile.Source) (baseTarget, error) {
	if r.req == requireNotation {
		// Content trust is not read: this works where it is gone.
		ref, err := trust.ParseRef(s.Image.String())
		if err != nil {
			return baseTarget{}, err
		}
		t, err := d.RegistryTarget(ctx, ref, ref.Tag)
		if err != nil {
			return baseTarget{}, err
		}
		bt := baseTarget{target: t, ref: ref, pinned: ref.Familiar() + "@" + t.Digest.String()}
		return bt, verifyNotation(ctx, d, r.v, ref, t.Digest)
	}
	bt, err := resolveBase(ctx, d, repos, s)
	if err != nil || r.req == requireDCT {
		return bt, err
	}
	return bt, verifyNotation(ctx, d, r.v, bt.ref, bt.target.Digest)
}

// checkPinned checks the Notation signature of a base pinned by digest
// when Notation is required; content trust cannot vouch for a digest.
func (r baseRequirement) checkPinned(ctx context.Context, d *cmdutil.Deps, s buildfile.Source) error {
	if r.req == requireDCT {
		return nil
	}
	ref, err := trust.ParseRef(s.Image.String())
	if err != nil {
		return err
	}
	return verifyNotation(ctx, d, r.v, ref, ref.Digest)
}

// baseTarget is a base image resolved through trust.
type baseTarget struct {
	target  trust.Target
	pinned  string        // familiar NAME@DIGEST
	ref     trust.Ref     // the tag
	drifted digest.Digest // what the registry's tag serves instead, if it moved
}

// resolveBase resolves s's tag from verified trust data, then checks the
// registry: the signed image must still be there. A tag that moved to
// other content is built from the signed digest, with a warning; a tag
// whose signed image is gone stops the build.
func resolveBase(ctx context.Context, d *cmdutil.Deps, repos map[string]trust.Repository, s buildfile.Source) (baseTarget, error) {
	ref, err := trust.ParseRef(s.Image.String())
	if err != nil {
		return baseTarget{}, err
	}
	gun := ref.GUN().String()
	repo, ok := repos[gun]
	if !ok {
		if repo, err = cmdutil.OpenTrust(ctx, d, ref, false); err != nil {
			return baseTarget{}, err
		}
		repos[gun] = repo
	}
	t, err := trust.Resolve(ctx, repo, ref.Tag)
	if err != nil {
		return baseTarget{}, d.Fail(trust.OpTrustRead, ref, err)
	}
	bt := baseTarget{target: t, ref: ref, pinned: ref.Familiar() + "@" + t.Digest.String()}

	desc, err := d.Registry.Resolve(ctx, ref)
	switch {
	case err == nil && desc.Digest == t.Digest:
		return bt, nil
	case err != nil && !errors.Is(err, errdef.ErrNotFound):
		return baseTarget{}, d.Fail(trust.OpRegistryRead, ref, err)
	}
	// The tag moved, or is gone: is the signed image still there?
	byDigest := trust.Ref{Original: bt.pinned, Name: ref.Name, Digest: t.Digest}
	if _, derr := d.Registry.Resolve(ctx, byDigest); derr != nil {
		if errors.Is(derr, errdef.ErrNotFound) {
			return baseTarget{}, &driftError{ref: ref, signed: t.Digest, serves: desc.Digest}
		}
		return baseTarget{}, d.Fail(trust.OpRegistryRead, ref, derr)
	}
	if err == nil {
		bt.drifted = desc.Digest
	}
	return bt, nil
}

// driftError: the registry no longer serves the signed image of a tag.
type driftError struct {
	ref    trust.Ref
	signed digest.Digest
	serves digest.Digest // "" when the tag is gone too
}

func (e *driftError) Error() string {
	if e.serves == "" {
		return fmt.Sprintf("%s is signed for %s, but the registry serves neither the tag nor that image", e.ref.Familiar()+":"+e.ref.Tag, e.signed)
	}
	return fmt.Sprintf("the registry's tag %s has drifted from its signed digest: it serves %s, signed is %s, and the registry no longer has the signed image",
		e.ref.Familiar()+":"+e.ref.Tag, e.serves, e.signed)
}

// buildBaseError is a base image that cannot be built from, with the
// Dockerfile line that reads it.
type buildBaseError struct {
	source buildfile.Source
	err    error
}

func (e *buildBaseError) Error() string {
	return fmt.Sprintf("%s: %s %s: %v", sourcePlace(e.source), e.source.Instruction(), e.source.Written, e.err)
}
func (e *buildBaseError) Unwrap() error { return e.err }

// sourcePlace names a source's place: its Dockerfile line, or the flag.
func sourcePlace(s buildfile.Source) string {
	if s.Line == 0 {
		return "--build-context"
	}
	return fmt.Sprintf("Dockerfile:%d", s.Line)
}

// Remedy says how to proceed with a base image that cannot be verified:
// sign it, or build without content trust.
func (e *buildBaseError) Remedy() string {
	const plain = "add --disable-content-trust to build from it unverified (a plain build, with a warning)."
	image := reference.FamiliarString(e.source.Image)
	var te *trust.Error
	var drift *driftError
	switch {
	case errors.As(e.err, &te) && te.Kind == trust.KindNotSigned:
		return fmt.Sprintf("Nothing was built. Sign it (`docker acrtrust sign %s`, with the repository's key), or %s", image, plain)
	case errors.Is(e.err, errNotationUnverified):
		return fmt.Sprintf("Nothing was built. Sign it with Notation (`docker acrtrust sign --sign notation %s`, with a key the trust policy trusts), or %s", image, plain)
	case errors.As(e.err, &drift):
		return fmt.Sprintf("Nothing was built. Push the signed image to the tag again, or sign what the tag serves now if it is meant to be used (`docker acrtrust sign %s`), or %s", image, plain)
	}
	r := cmdutil.RemedyOf(e.err)
	if r != "" {
		r += "\n"
	}
	return r + "Nothing was built. To go ahead anyway, " + plain
}

// pushBuilt pushes (classic builder) and signs (with trust) the built
// tags, one publish per repository. buildx pushed them itself.
func pushBuilt(ctx context.Context, d *cmdutil.Deps, opts buildOptions, kind cmdutil.BuilderKind, groups [][]trust.Ref, plan *signPlan) error {
	out := io.Writer(d.CLI.Out())
	if opts.quiet {
		out = io.Discard
	}
	var errs []error
	for _, refs := range groups {
		var err error
		switch {
		case plan == nil:
			err = pushUnsigned(ctx, d, refs, kind, out)
		case kind == cmdutil.BuildxBuilder:
			// buildx pushed them: sign what the registry serves (for a
			// multi-platform build, the index).
			err = signServed(ctx, d, refs, nil, plan, out)
		default:
			err = pushAndSign(ctx, d, refs, plan, out, nil)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// pushUnsigned pushes without signing, with a warning.
func pushUnsigned(ctx context.Context, d *cmdutil.Deps, refs []trust.Ref, kind cmdutil.BuilderKind, out io.Writer) error {
	for _, ref := range refs {
		if kind == cmdutil.ClassicBuilder {
			if _, err := d.Engine.Push(ctx, ref.String(), out); err != nil {
				return d.Fail(trust.OpRegistryPush, ref, err)
			}
		}
		d.WarnUnverified(ref.String() + " was pushed without a signature")
	}
	return nil
}
