package imagecopy

import (
	"context"
	"fmt"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
)

// Plan is what Copy would do, found without writing anything.
type Plan struct {
	Missing []ocispec.Descriptor // nodes Copy would upload or mount
	Present []ocispec.Descriptor // nodes the destination holds (with what they reference)
	// Referrers are the referrers of the image in the source; those not in
	// the destination are in Missing too.
	Referrers []ocispec.Descriptor
}

// Bytes is the size of what is missing.
func (p Plan) Bytes() int64 {
	var n int64
	for _, d := range p.Missing {
		n += d.Size
	}
	return n
}

// MakePlan walks root (and its referrers unless opts.NoReferrers) as Copy
// would, and reports what the destination lacks. It reads manifests from
// src and asks dst which nodes exist; it writes nothing.
func MakePlan(ctx context.Context, src Source, dst Destination, root ocispec.Descriptor, opts Options) (Plan, error) {
	var p Plan
	seen := map[string]bool{}
	var walk func(d ocispec.Descriptor) error
	walk = func(d ocispec.Descriptor) error {
		if seen[d.Digest.String()] {
			return nil
		}
		seen[d.Digest.String()] = true
		ok, err := dst.Exists(ctx, d)
		if err != nil {
			return fmt.Errorf("checking %s in the destination: %w", d.Digest, err)
		}
		if ok {
			p.Present = append(p.Present, d)
			return nil
		}
		p.Missing = append(p.Missing, d)
		next, err := content.Successors(ctx, src, d)
		if err != nil {
			return fmt.Errorf("reading %s in the source: %w", d.Digest, err)
		}
		for _, n := range next {
			if err := walk(n); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root); err != nil {
		return p, err
	}
	if opts.NoReferrers {
		return p, nil
	}
	// Referrers, and theirs (a signature of a signature), as Copy finds them.
	queue, err := subjectsOf(ctx, src, root)
	if err != nil {
		return p, fmt.Errorf("reading %s in the source: %w", root.Digest, err)
	}
	for len(queue) > 0 {
		found, err := src.Predecessors(ctx, queue[0])
		if err != nil {
			return p, fmt.Errorf("listing the referrers of %s: %w", queue[0].Digest, err)
		}
		queue = queue[1:]
		for _, r := range found {
			if seen[r.Digest.String()] {
				continue
			}
			p.Referrers = append(p.Referrers, r)
			queue = append(queue, r)
			if err := walk(r); err != nil {
				return p, err
			}
		}
	}
	return p, nil
}
