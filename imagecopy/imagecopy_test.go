package imagecopy_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"oras.land/oras-go/v2"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/acrtrust/docker-acrtrust/imagecopy"
	"github.com/acrtrust/docker-acrtrust/sandbox"
)

const signatureType = "application/vnd.cncf.notary.signature"

func startSandbox(t *testing.T, opts sandbox.Options) *sandbox.Sandbox {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: starts a sandbox registry")
	}
	sb, err := sandbox.Start(opts)
	assert.NilError(t, err)
	t.Cleanup(func() { _ = sb.Close() })
	return sb
}

// repo is an oras-go client of repository name in sb, logged in as admin.
func repo(t *testing.T, sb *sandbox.Sandbox, name string) *remote.Repository {
	t.Helper()
	r, err := remote.NewRepository(sb.Host() + "/" + name)
	assert.NilError(t, err)
	r.Client = &auth.Client{
		Client:     sb.HTTPClient(),
		Cache:      auth.NewCache(),
		Credential: auth.StaticCredential(sb.Host(), auth.Credential{Username: sandbox.UserAdmin, Password: sandbox.Password}),
	}
	return r
}

// attach pushes an artifact whose subject is subject, as notation pushes a
// signature, and returns its manifest descriptor.
func attach(t *testing.T, r *remote.Repository, subject ocispec.Descriptor, payload string) ocispec.Descriptor {
	t.Helper()
	ctx := context.Background()
	blob := []byte(payload)
	layer := ocispec.Descriptor{MediaType: "application/jose+json", Digest: digest.FromBytes(blob), Size: int64(len(blob))}
	assert.NilError(t, r.Push(ctx, layer, bytes.NewReader(blob)))
	desc, err := oras.PackManifest(ctx, r, oras.PackManifestVersion1_1, signatureType, oras.PackManifestOptions{
		Subject: &subject,
		Layers:  []ocispec.Descriptor{layer},
	})
	assert.NilError(t, err)
	return desc
}

// graph lists root and every node under it: manifests and blobs.
func graph(t *testing.T, src content.ReadOnlyStorage, root ocispec.Descriptor) (manifests, blobs []ocispec.Descriptor) {
	t.Helper()
	next, err := content.Successors(context.Background(), src, root)
	assert.NilError(t, err)
	if root.MediaType == ocispec.MediaTypeImageIndex || root.MediaType == ocispec.MediaTypeImageManifest ||
		root.MediaType == "application/vnd.docker.distribution.manifest.v2+json" {
		manifests = append(manifests, root)
	} else {
		blobs = append(blobs, root)
	}
	for _, n := range next {
		if n.Digest == root.Digest {
			continue
		}
		m, b := graph(t, src, n)
		manifests, blobs = append(manifests, m...), append(blobs, b...)
	}
	return manifests, blobs
}

func assertHolds(t *testing.T, dst *remote.Repository, nodes []ocispec.Descriptor) {
	t.Helper()
	for _, d := range nodes {
		ok, err := dst.Exists(context.Background(), d)
		assert.NilError(t, err)
		assert.Check(t, ok, "%s %s missing in the destination", d.MediaType, d.Digest)
	}
}

// TestCopyBetweenRegistries copies a two-platform index with a signature
// (and a signature of the signature) from one sandbox to another: every
// manifest and blob of both platforms, the referrers, and the tag last.
func TestCopyBetweenRegistries(t *testing.T) {
	ctx := context.Background()
	srcSB, dstSB := startSandbox(t, sandbox.Options{}), startSandbox(t, sandbox.Options{})
	root, err := srcSB.PushRandomIndex(ctx, "build/app", "v1")
	assert.NilError(t, err)
	src, dst := repo(t, srcSB, "build/app"), repo(t, dstSB, "prod/app")
	sig := attach(t, src, root, `{"signature":1}`)
	sigOfSig := attach(t, src, sig, `{"countersignature":1}`)
	manifests, blobs := graph(t, src, root)
	assert.Check(t, is.Len(manifests, 3), "an index and two platform manifests")
	platformSig := attach(t, src, manifests[1], `{"platform signature":1}`)

	var events []imagecopy.Event
	dstSB.ResetStats()
	res, err := imagecopy.Copy(ctx, src, dst, root, "v1", imagecopy.Options{Progress: func(e imagecopy.Event) { events = append(events, e) }})
	assert.NilError(t, err)

	got, err := dst.Resolve(ctx, "v1")
	assert.NilError(t, err)
	assert.Check(t, is.Equal(got.Digest, root.Digest))
	assertHolds(t, dst, manifests)
	assertHolds(t, dst, blobs)
	assertHolds(t, dst, []ocispec.Descriptor{sig, sigOfSig, platformSig})
	refs, err := dst.Predecessors(ctx, root)
	assert.NilError(t, err)
	assert.Check(t, is.Len(refs, 1))
	assert.Check(t, is.Equal(refs[0].Digest, sig.Digest))
	assert.Check(t, is.Len(res.Referrers, 3), "the signature, the signature's signature, a platform's signature")
	assert.Check(t, res.Tagged)
	assert.Check(t, is.Len(res.Mounted, 0))
	// The image's blobs and each signature's blob, each uploaded once.
	assert.Check(t, is.Equal(dstSB.Stats().BlobUploads, len(blobs)+4), "the image's %d blobs, 3 signature blobs and their shared empty config", len(blobs))
	assert.Check(t, is.Len(res.Copied, len(manifests)+len(blobs)+7), "every node once")
	assert.Check(t, is.Len(res.Exists, 0), "nothing counted twice")
	var sawBytes, sawCopied bool
	for _, e := range events {
		sawBytes = sawBytes || e.Kind == imagecopy.Bytes && e.Done > 0
		sawCopied = sawCopied || e.Kind == imagecopy.Copied
	}
	assert.Check(t, sawBytes && sawCopied, "progress reports bytes and copied nodes")

	// Run again: everything is there, nothing is uploaded, the tag stays.
	dstSB.ResetStats()
	again, err := imagecopy.Copy(ctx, src, dst, root, "v1", imagecopy.Options{})
	assert.NilError(t, err)
	assert.Check(t, is.Len(again.Copied, 0))
	assert.Check(t, !again.Tagged)
	assert.Check(t, is.Equal(dstSB.Stats().BlobUploads, 0))
}

// TestCopyResumes stops a copy after its first upload and runs it again:
// the second run uploads only what the first did not, and finishes.
func TestCopyResumes(t *testing.T) {
	ctx := context.Background()
	srcSB, dstSB := startSandbox(t, sandbox.Options{}), startSandbox(t, sandbox.Options{})
	root, err := srcSB.PushRandomIndex(ctx, "app", "v1")
	assert.NilError(t, err)
	src, dst := repo(t, srcSB, "app"), repo(t, dstSB, "app")
	_, blobs := graph(t, src, root)

	stop, cancel := context.WithCancel(ctx)
	_, err = imagecopy.Copy(stop, src, dst, root, "v1", imagecopy.Options{
		Concurrency: 1,
		NoReferrers: true,
		Progress: func(e imagecopy.Event) {
			if e.Kind == imagecopy.Copied {
				cancel()
			}
		},
	})
	assert.Check(t, errors.Is(err, context.Canceled), "got %v", err)
	_, err = dst.Resolve(ctx, "v1")
	assert.Check(t, err != nil, "an interrupted copy sets no tag")
	first := dstSB.Stats().BlobUploads
	assert.Check(t, first >= 1 && first < len(blobs), "first run uploaded %d of %d blobs", first, len(blobs))

	dstSB.ResetStats()
	res, err := imagecopy.Copy(ctx, src, dst, root, "v1", imagecopy.Options{NoReferrers: true})
	assert.NilError(t, err)
	assert.Check(t, is.Equal(dstSB.Stats().BlobUploads, len(blobs)-first), "nothing uploaded twice")
	assert.Check(t, res.Tagged)
}

// TestCopyMountsWithinRegistry copies between two repositories of one
// registry where blobs belong to repositories (as on ACR): with MountFrom
// every blob is mounted and none uploaded; without, every blob is uploaded.
func TestCopyMountsWithinRegistry(t *testing.T) {
	ctx := context.Background()
	sb := startSandbox(t, sandbox.Options{RepositoryBlobs: true})
	root, err := sb.PushRandomIndex(ctx, "build/app", "v1")
	assert.NilError(t, err)
	src := repo(t, sb, "build/app")
	_, blobs := graph(t, src, root)

	sb.ResetStats()
	res, err := imagecopy.Copy(ctx, src, repo(t, sb, "prod/app"), root, "v1", imagecopy.Options{MountFrom: "build/app"})
	assert.NilError(t, err)
	st := sb.Stats()
	assert.Check(t, is.Equal(st.BlobUploads, 0))
	assert.Check(t, is.Equal(st.BlobMounts, len(blobs)))
	assert.Check(t, is.Len(res.Mounted, len(blobs)))
	assert.Check(t, is.Equal(res.Uploaded(), sizes(res.Copied)), "only the manifests were uploaded")
	assert.Check(t, is.Len(res.Copied, 3))

	sb.ResetStats()
	_, err = imagecopy.Copy(ctx, src, repo(t, sb, "other/app"), root, "v1", imagecopy.Options{})
	assert.NilError(t, err)
	assert.Check(t, is.Equal(sb.Stats().BlobUploads, len(blobs)), "without mounts each blob is uploaded")
	assert.Check(t, is.Equal(sb.Stats().BlobMounts, 0))
}

func sizes(ds []ocispec.Descriptor) int64 {
	var n int64
	for _, d := range ds {
		n += d.Size
	}
	return n
}

// TestCopyNoReferrers leaves the signature behind.
func TestCopyNoReferrers(t *testing.T) {
	ctx := context.Background()
	srcSB, dstSB := startSandbox(t, sandbox.Options{}), startSandbox(t, sandbox.Options{})
	root, err := srcSB.PushRandomImage(ctx, "app", "v1")
	assert.NilError(t, err)
	src, dst := repo(t, srcSB, "app"), repo(t, dstSB, "app")
	sig := attach(t, src, root, `{"signature":1}`)
	res, err := imagecopy.Copy(ctx, src, dst, root, "v1", imagecopy.Options{NoReferrers: true})
	assert.NilError(t, err)
	assert.Check(t, is.Len(res.Referrers, 0))
	ok, err := dst.Exists(ctx, sig)
	assert.NilError(t, err)
	assert.Check(t, !ok, "the signature is not copied")
}

// TestPlan reports what a copy would do and writes nothing.
func TestPlan(t *testing.T) {
	ctx := context.Background()
	srcSB, dstSB := startSandbox(t, sandbox.Options{}), startSandbox(t, sandbox.Options{})
	root, err := srcSB.PushRandomIndex(ctx, "app", "v1")
	assert.NilError(t, err)
	src, dst := repo(t, srcSB, "app"), repo(t, dstSB, "app")
	sig := attach(t, src, root, `{"signature":1}`)
	manifests, blobs := graph(t, src, root)

	dstSB.ResetStats()
	p, err := imagecopy.MakePlan(ctx, src, dst, root, imagecopy.Options{})
	assert.NilError(t, err)
	assert.Check(t, is.Len(p.Missing, len(manifests)+len(blobs)+3), "the image, the signature, its layer and config")
	assert.Check(t, is.Len(p.Referrers, 1))
	assert.Check(t, is.Equal(p.Referrers[0].Digest, sig.Digest))
	assert.Check(t, is.Equal(dstSB.Stats().BlobUploads, 0), "a plan writes nothing")
	_, err = dst.Resolve(ctx, "v1")
	assert.Check(t, err != nil)

	_, err = imagecopy.Copy(ctx, src, dst, root, "v1", imagecopy.Options{})
	assert.NilError(t, err)
	p, err = imagecopy.MakePlan(ctx, src, dst, root, imagecopy.Options{})
	assert.NilError(t, err)
	assert.Check(t, is.Len(p.Missing, 0))
	assert.Check(t, is.Equal(p.Bytes(), int64(0)))
}
