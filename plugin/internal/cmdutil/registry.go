package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/acrtrust/docker-acrtrust/trust"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/errdef"
)

// What the commands read from the registry: the tags of a repository, and
// the digest and size a tag serves.

// WithoutReferrersTags drops the referrers tag schema's tags from a tag list.
func WithoutReferrersTags(tags []string) []string {
	out := tags[:0:0]
	for _, t := range tags {
		if !trust.IsReferrersTag(t) {
			out = append(out, t)
		}
	}
	return out
}

// TagNotFoundError: a tag that is neither signed nor in the registry.
type TagNotFoundError struct {
	Ref trust.Ref
	err error // the trust data's "not signed"
}

func (e *TagNotFoundError) Error() string {
	return fmt.Sprintf("%s:%s does not exist: the registry has no such tag, and no signature names it", e.Ref.Familiar(), e.Ref.Tag)
}

func (e *TagNotFoundError) Unwrap() error { return e.err }

// Remedy points to the command that lists the repository's tags.
func (e *TagNotFoundError) Remedy() string {
	return fmt.Sprintf("Check the tag: `docker acrtrust verify %s` lists the repository's tags and whether each is signed.", e.Ref.Familiar())
}

// UnsignedOrMissing says "does not exist" rather than "not signed" when the
// registry answers that it has no such tag (a typo, a deleted tag).
func (d *Deps) UnsignedOrMissing(ctx context.Context, ref trust.Ref, err error) error {
	if trust.KindOf(err) != trust.KindNotSigned || ref.Tag == "" {
		return err
	}
	if _, rerr := d.Registry.Resolve(ctx, ref); errors.Is(rerr, errdef.ErrNotFound) {
		return &TagNotFoundError{Ref: ref, err: err}
	}
	return err
}

// RegistryTags is the tags to look at in ref's repository: ref's tag, or,
// when ref names none, every tag the registry lists, sorted and without the
// referrers tag schema's tags. A failure carries the registry read's remedy.
func (d *Deps) RegistryTags(ctx context.Context, ref trust.Ref) ([]string, error) {
	if ref.Tag != "" {
		return []string{ref.Tag}, nil
	}
	tags, err := d.Registry.Tags(ctx, ref)
	if err != nil {
		return nil, d.Fail(trust.OpRegistryRead, ref, err)
	}
	tags = WithoutReferrersTags(tags)
	sort.Strings(tags)
	return tags, nil
}

// RegistryTarget is the digest and size the registry serves for tag of
// ref's repository, as a target to sign or verify.
func (d *Deps) RegistryTarget(ctx context.Context, ref trust.Ref, tag string) (trust.Target, error) {
	desc, err := d.RegistryDescriptor(ctx, ref, tag)
	if err != nil {
		return trust.Target{}, err
	}
	return trust.Target{Name: tag, Digest: desc.Digest, Size: desc.Size}, nil
}

// RegistryDescriptor is what the registry serves for tag of ref's
// repository. A failure carries the registry read's remedy;
// trust.IsNotFound tells a tag the registry does not have.
func (d *Deps) RegistryDescriptor(ctx context.Context, ref trust.Ref, tag string) (ocispec.Descriptor, error) {
	desc, err := d.Registry.Resolve(ctx, ref.WithTag(tag))
	if err != nil {
		return ocispec.Descriptor{}, d.Fail(trust.OpRegistryRead, ref, err)
	}
	return desc, nil
}
