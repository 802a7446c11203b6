package imagecopy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
)

// Source is what a copy reads: content by descriptor and the referrers of
// a manifest. oras-go's *remote.Repository is one.
type Source interface {
	content.ReadOnlyGraphStorage
}

// Destination is what a copy writes: content and tags. oras-go's
// *remote.Repository is one; when it can mount blobs (registry.Mounter),
// Options.MountFrom is used.
type Destination interface {
	oras.Target
}

// Options configures Copy and Plan. The zero value copies the image and
// its referrers, uploads every missing blob, and uses oras-go's default
// concurrency.
type Options struct {
	// MountFrom is a repository of the destination's registry that holds
	// the source's blobs (the source repository, when both are in one
	// registry): missing blobs are mounted from it instead of uploaded.
	// Empty: no mounts.
	MountFrom string
	// NoReferrers leaves out the referrers (Notation signatures and other
	// artifacts whose subject is the image).
	NoReferrers bool
	// Concurrency is how many nodes are copied at once; 0 means oras-go's
	// default.
	Concurrency int
	// Progress, when non-nil, is told about each node as it is copied,
	// mounted or found present, and about the bytes of uploads. Calls are
	// serialised.
	Progress func(Event)
}

// Kind says what happened to a node.
type Kind int

// What happens to the nodes of a copy.
const (
	Copying Kind = iota // about to upload the node
	Copied              // uploaded
	Mounted             // mounted from Options.MountFrom
	Exists              // the destination already held it (and what it references)
	Bytes               // Done bytes of the node have been read from the source
)

// Event is one step of a copy.
type Event struct {
	Kind Kind
	Desc ocispec.Descriptor
	Done int64 // for Bytes: bytes read so far
}

// Result says what a copy did.
type Result struct {
	Copied  []ocispec.Descriptor // uploaded
	Mounted []ocispec.Descriptor // mounted from Options.MountFrom
	Exists  []ocispec.Descriptor // already in the destination
	// Referrers are the referrers of the image found in the source, each
	// now in the destination.
	Referrers []ocispec.Descriptor
	Tagged    bool // the tag was set (false: it already named the image)
}

// Uploaded is the number of bytes uploaded.
func (r Result) Uploaded() int64 {
	var n int64
	for _, d := range r.Copied {
		n += d.Size
	}
	return n
}

// Copy copies root (a manifest or index the caller has verified) and
// everything it references from src to dst, then its referrers unless
// opts.NoReferrers, and finally tags it tag in dst ("" tags nothing). The
// tag is set last, so that a copy that fails part way never leaves the tag
// pointing at an incomplete image.
func Copy(ctx context.Context, src Source, dst Destination, root ocispec.Descriptor, tag string, opts Options) (Result, error) {
	rec := &recorder{progress: opts.Progress, seen: map[string]bool{}}
	graph := opts.graphOptions(rec)
	err := oras.CopyGraph(ctx, counting{src, rec}, dst, root, graph)
	if err == nil && !opts.NoReferrers {
		err = copyReferrers(ctx, counting{src, rec}, dst, root, oras.ExtendedCopyGraphOptions{
			CopyGraphOptions: graph,
			FindPredecessors: rec.findReferrers,
		})
	}
	res := rec.result()
	if err != nil {
		return res, fmt.Errorf("copying %s: %w", root.Digest, err)
	}
	if tag == "" {
		return res, nil
	}
	cur, err := dst.Resolve(ctx, tag)
	switch {
	case err == nil && cur.Digest == root.Digest:
		return res, nil
	case err != nil && !errors.Is(err, errdef.ErrNotFound):
		return res, fmt.Errorf("reading tag %q: %w", tag, err)
	}
	if err := dst.Tag(ctx, root, tag); err != nil {
		return res, fmt.Errorf("tagging %s as %q: %w", root.Digest, tag, err)
	}
	res.Tagged = true
	return res, nil
}

// copyReferrers copies the referrers of root, and of each platform's
// manifest when root is an index (a signature may be on either), with
// theirs: everything under them is copied too, what dst has is skipped.
func copyReferrers(ctx context.Context, src Source, dst Destination, root ocispec.Descriptor, opts oras.ExtendedCopyGraphOptions) error {
	subjects, err := subjectsOf(ctx, src, root)
	if err != nil {
		return err
	}
	for _, s := range subjects {
		if err := oras.ExtendedCopyGraph(ctx, src, dst, s, opts); err != nil {
			return err
		}
	}
	return nil
}

// subjectsOf is root and, for an index, the manifests it lists: the
// digests whose referrers a copy carries.
func subjectsOf(ctx context.Context, src content.Fetcher, root ocispec.Descriptor) ([]ocispec.Descriptor, error) {
	subjects := []ocispec.Descriptor{root}
	if root.MediaType != ocispec.MediaTypeImageIndex && root.MediaType != mediaTypeDockerManifestList {
		return subjects, nil
	}
	children, err := content.Successors(ctx, src, root)
	if err != nil {
		return nil, err
	}
	for _, c := range children {
		switch c.MediaType {
		case ocispec.MediaTypeImageManifest, ocispec.MediaTypeImageIndex, mediaTypeDockerManifest, mediaTypeDockerManifestList:
			subjects = append(subjects, c)
		}
	}
	return subjects, nil
}

// Docker's manifest media types, which oras-go copies like OCI's.
const (
	mediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	mediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
)

func (o Options) graphOptions(rec *recorder) oras.CopyGraphOptions {
	g := oras.CopyGraphOptions{
		Concurrency: o.Concurrency,
		PreCopy: func(_ context.Context, d ocispec.Descriptor) error {
			rec.event(Event{Kind: Copying, Desc: d}, nil)
			return nil
		},
		PostCopy: func(_ context.Context, d ocispec.Descriptor) error {
			rec.event(Event{Kind: Copied, Desc: d}, &rec.res.Copied)
			return nil
		},
		OnCopySkipped: func(_ context.Context, d ocispec.Descriptor) error {
			rec.event(Event{Kind: Exists, Desc: d}, &rec.res.Exists)
			return nil
		},
		OnMounted: func(_ context.Context, d ocispec.Descriptor) error {
			rec.event(Event{Kind: Mounted, Desc: d}, &rec.res.Mounted)
			return nil
		},
	}
	if o.MountFrom != "" {
		g.MountFrom = func(context.Context, ocispec.Descriptor) ([]string, error) {
			return []string{o.MountFrom}, nil
		}
	}
	return g
}

// recorder gathers the result and serialises progress events; oras-go
// calls the hooks from several goroutines.
type recorder struct {
	progress func(Event)
	mu       sync.Mutex
	res      Result
	seen     map[string]bool // nodes in res: the referrers pass meets the image again
}

func (r *recorder) event(e Event, list *[]ocispec.Descriptor) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if list != nil {
		if r.seen[e.Desc.Digest.String()] {
			return
		}
		r.seen[e.Desc.Digest.String()] = true
		*list = append(*list, e.Desc)
	}
	if r.progress != nil {
		r.progress(e)
	}
}

func (r *recorder) result() Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.res
}

// findReferrers is oras-go's default (the source's Predecessors, through
// the Referrers API or the referrers tag schema), recording what it finds.
func (r *recorder) findReferrers(ctx context.Context, src content.ReadOnlyGraphStorage, d ocispec.Descriptor) ([]ocispec.Descriptor, error) {
	found, err := src.Predecessors(ctx, d)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.res.Referrers = append(r.res.Referrers, found...)
	r.mu.Unlock()
	return found, nil
}

// counting is src with Fetch reporting the bytes read (Event Bytes).
type counting struct {
	Source
	rec *recorder
}

func (c counting) Fetch(ctx context.Context, d ocispec.Descriptor) (io.ReadCloser, error) {
	rc, err := c.Source.Fetch(ctx, d)
	if err != nil || c.rec.progress == nil {
		return rc, err
	}
	return &countingReader{ReadCloser: rc, desc: d, rec: c.rec}, nil
}

type countingReader struct {
	io.ReadCloser
	desc ocispec.Descriptor
	rec  *recorder
	done int64
}

func (r *countingReader) Read(p []byte) (int, error) {
	n, err := r.ReadCloser.Read(p)
	if n > 0 {
		r.done += int64(n)
		r.rec.event(Event{Kind: Bytes, Desc: r.desc, Done: r.done}, nil)
	}
	return n, err
}
