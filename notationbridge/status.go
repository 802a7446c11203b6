package notationbridge

import (
	"context"
	"fmt"

	"github.com/notaryproject/notation-go/registry"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Status is a digest's Notation status, as audit reports it per tag.
type Status struct {
	// Signatures counts the Notation signatures of the digest, by any key.
	Signatures int
	// Checked is true when a Verifier was given and there was a signature
	// to verify.
	Checked bool
	// Verified is true when a signature is accepted by the trust policy.
	Verified bool
	// Problem is why none was accepted, when Checked and not Verified.
	Problem string
}

// CheckDigest returns the Notation status of desc in repo, where name is
// REGISTRY/REPOSITORY (the trust policy's scopes match on it). v may be
// nil: then only the signatures are counted. It costs one referrers
// lookup, and a verification when there is a signature and a verifier.
// Errors are the registry's; a signature the policy refuses is a Status.
func CheckDigest(ctx context.Context, repo registry.Repository, name string, desc ocispec.Descriptor, v *Verifier) (Status, error) {
	var listed []ocispec.Descriptor
	err := repo.ListSignatures(ctx, desc, func(manifests []ocispec.Descriptor) error {
		listed = append(listed, manifests...)
		return nil
	})
	if err != nil {
		return Status{}, fmt.Errorf("listing the Notation signatures of %s: %w", desc.Digest, err)
	}
	st := Status{Signatures: len(listed)}
	if len(listed) == 0 || v == nil {
		return st, nil
	}
	st.Checked = true
	// The verification lists the same signatures again: from here.
	listedRepo := listedSignatures{Repository: repo, digest: desc.Digest, manifests: listed}
	if _, err := v.Verify(ctx, listedRepo, name+"@"+desc.Digest.String()); err != nil {
		st.Problem = err.Error()
		return st, nil
	}
	st.Verified = true
	return st, nil
}

// listedSignatures answers ListSignatures for one digest with the
// signatures already listed, so that one check costs one referrers lookup.
type listedSignatures struct {
	registry.Repository
	digest    digest.Digest
	manifests []ocispec.Descriptor
}

func (r listedSignatures) ListSignatures(ctx context.Context, desc ocispec.Descriptor, fn func([]ocispec.Descriptor) error) error {
	if desc.Digest != r.digest {
		return r.Repository.ListSignatures(ctx, desc, fn)
	}
	return fn(r.manifests)
}
