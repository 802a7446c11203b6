package sandbox

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// PushRandomImage pushes a random single-layer image (1 KiB layer) as
// <host>/<repo>:<tag>, authenticated as [UserAdmin], and returns the
// descriptor of the manifest as the registry serves it.
func (s *Sandbox) PushRandomImage(ctx context.Context, repo, tag string) (ocispec.Descriptor, error) {
	ref, err := s.tag(repo, tag)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	img, err := random.Image(1024, 1)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if err := remote.Write(ref, img, s.remoteOptions(ctx)...); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("sandbox: pushing %s: %w", ref, err)
	}
	return s.head(ctx, ref)
}

// PushRandomImageOfSize pushes a random image of layers layers of
// layerSize bytes each as <host>/<repo>:<tag>, authenticated as
// [UserAdmin], for benchmarks that need a realistic size.
func (s *Sandbox) PushRandomImageOfSize(ctx context.Context, repo, tag string, layerSize, layers int64) (ocispec.Descriptor, error) {
	ref, err := s.tag(repo, tag)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	img, err := random.Image(layerSize, layers)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	if err := remote.Write(ref, img, s.remoteOptions(ctx)...); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("sandbox: pushing %s: %w", ref, err)
	}
	return s.head(ctx, ref)
}

// PushRandomIndex pushes a multi-platform OCI image index with two random
// images (linux/amd64 and linux/arm64) as <host>/<repo>:<tag>, authenticated
// as [UserAdmin], and returns the descriptor of the index as the registry
// serves it.
func (s *Sandbox) PushRandomIndex(ctx context.Context, repo, tag string) (ocispec.Descriptor, error) {
	ref, err := s.tag(repo, tag)
	if err != nil {
		return ocispec.Descriptor{}, err
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}} {
		img, err := randomOCIImage(p)
		if err != nil {
			return ocispec.Descriptor{}, err
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &p},
		})
	}
	if err := remote.WriteIndex(ref, idx, s.remoteOptions(ctx)...); err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("sandbox: pushing %s: %w", ref, err)
	}
	return s.head(ctx, ref)
}

// randomOCIImage is a one-layer OCI image whose config names platform p.
func randomOCIImage(p v1.Platform) (v1.Image, error) {
	layer, err := random.Layer(1024, types.OCILayer)
	if err != nil {
		return nil, err
	}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.AppendLayers(img, layer)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant = p.OS, p.Architecture, p.Variant
	return mutate.ConfigFile(img, cfg)
}

func (s *Sandbox) tag(repo, tag string) (name.Tag, error) {
	ref, err := name.NewTag(s.host+"/"+repo+":"+tag, name.StrictValidation)
	if err != nil {
		return name.Tag{}, fmt.Errorf("sandbox: %w", err)
	}
	return ref, nil
}

func (s *Sandbox) remoteOptions(ctx context.Context) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(s.transport),
		remote.WithAuth(&authn.Basic{Username: UserAdmin, Password: Password}),
	}
}

// head returns the manifest descriptor the registry serves for ref.
func (s *Sandbox) head(ctx context.Context, ref name.Reference) (ocispec.Descriptor, error) {
	d, err := remote.Head(ref, s.remoteOptions(ctx)...)
	if err != nil {
		return ocispec.Descriptor{}, fmt.Errorf("sandbox: HEAD %s: %w", ref, err)
	}
	return ocispec.Descriptor{
		MediaType: string(d.MediaType),
		Digest:    digest.Digest(d.Digest.String()),
		Size:      d.Size,
	}, nil
}
