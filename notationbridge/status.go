package notationbridge

import (
	"context"

	"github.com/notaryproject/notation-go/registry"
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
	n, err := CountSignatures(ctx, repo, desc)
	if err != nil {
		return Status{}, err
	}
	st := Status{Signatures: n}
	if n == 0 || v == nil {
		return st, nil
	}
	st.Checked = true
	if _, err := v.Verify(ctx, repo, name+"@"+desc.Digest.String()); err != nil {
		st.Problem = err.Error()
		return st, nil
	}
	st.Verified = true
	return st, nil
}
