package notationbridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/notaryproject/notation-core-go/signature"
	"github.com/notaryproject/notation-core-go/signature/cose"
	"github.com/notaryproject/notation-core-go/signature/jws"
	"github.com/notaryproject/notation-go"
	"github.com/notaryproject/notation-go/registry"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/registry/remote"
)

// Signature formats, by the names notation's --signature-format uses.
const (
	FormatJWS  = "jws"
	FormatCOSE = "cose"
)

// MediaType returns the envelope media type of a signature format.
func MediaType(format string) (string, error) {
	switch format {
	case "", FormatJWS:
		return jws.MediaTypeEnvelope, nil
	case FormatCOSE:
		return cose.MediaTypeEnvelope, nil
	}
	return "", fmt.Errorf("unknown signature format %q: use %s or %s", format, FormatJWS, FormatCOSE)
}

// NewRepository is notation's view of an oras-go repository: signatures
// are listed through the Referrers API where the registry serves it, else
// the referrers tag schema, and pushed the same way (oras-go decides, as in
// notation).
func NewRepository(repo *remote.Repository) registry.Repository {
	return registry.NewRepository(repo)
}

// errFound stops a listing of signatures at the first match.
var errFound = errors.New("found")

// SignedBy reports whether desc already has an intact Notation signature
// (its envelope verifies against the certificate it carries) for desc,
// made with s's key. It costs one referrers lookup, plus two fetches for
// each signature whose manifest names s's certificate: a certificate
// renewed for the same key therefore signs again, which adds a signature
// and loses nothing.
func SignedBy(ctx context.Context, repo registry.Repository, desc ocispec.Descriptor, s *Signer) (bool, error) {
	err := repo.ListSignatures(ctx, desc, func(manifests []ocispec.Descriptor) error {
		for _, m := range manifests {
			if !mayBeBy(m, s) {
				continue
			}
			blob, blobDesc, err := repo.FetchSignatureBlob(ctx, m)
			if err != nil {
				return fmt.Errorf("fetching signature %s of %s: %w", m.Digest, desc.Digest, err)
			}
			if ownIntactSignature(blob, blobDesc.MediaType, desc, s) {
				return errFound
			}
		}
		return nil
	})
	if errors.Is(err, errFound) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("listing the Notation signatures of %s: %w", desc.Digest, err)
	}
	return false, nil
}

// thumbprintAnnotation lists the SHA-256 thumbprints of a signature's
// certificate chain on its manifest (notation-go's generateAnnotations); the
// Referrers API returns manifest annotations, so signatures by other
// certificates are passed over without fetching them.
const thumbprintAnnotation = "io.cncf.notary.x509chain.thumbprint#S256"

// mayBeBy: an annotation is unsigned, so it only rules out; what it lets
// through is verified.
func mayBeBy(m ocispec.Descriptor, s *Signer) bool {
	v, ok := m.Annotations[thumbprintAnnotation]
	if !ok {
		return true
	}
	var thumbprints []string
	if json.Unmarshal([]byte(v), &thumbprints) != nil {
		return true
	}
	return slices.Contains(thumbprints, s.Thumbprint())
}

// ownIntactSignature: a signature that does not parse, does not verify, is
// about another digest or is by another key is somebody else's business.
func ownIntactSignature(blob []byte, mediaType string, desc ocispec.Descriptor, s *Signer) bool {
	env, err := signature.ParseEnvelope(mediaType, blob)
	if err != nil {
		return false
	}
	content, err := env.Verify()
	if err != nil || len(content.SignerInfo.CertificateChain) == 0 {
		return false
	}
	if !samePublicKey(content.SignerInfo.CertificateChain[0], s.Leaf()) {
		return false
	}
	var payload struct {
		TargetArtifact ocispec.Descriptor `json:"targetArtifact"`
	}
	if err := json.Unmarshal(content.Payload.Content, &payload); err != nil {
		return false
	}
	return payload.TargetArtifact.Digest == desc.Digest
}

// SignOptions are the choices of one signature.
type SignOptions struct {
	// Format is FormatJWS (also when empty) or FormatCOSE.
	Format string
	// Provenance goes into the user metadata; a zero Provenance (no
	// Repository) records none.
	Provenance Provenance
	// UserMetadata is more user metadata. Nil means none. A key that
	// Provenance also sets is an error.
	UserMetadata map[string]string
	// SigningAgent is recorded in the envelope; empty means notation-go's.
	SigningAgent string
	// PluginConfig is passed to a plugin signer. Nil means the
	// configuration the Signer was opened with.
	PluginConfig map[string]string
}

// userMetadata merges the provenance and the extra metadata.
func (o SignOptions) userMetadata() (map[string]string, error) {
	if o.Provenance.Repository == "" && len(o.UserMetadata) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	if o.Provenance.Repository != "" {
		m = o.Provenance.UserMetadata()
	}
	for k, v := range o.UserMetadata {
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("user metadata %q is set twice", k)
		}
		m[k] = v
	}
	return m, nil
}

// Sign signs exactly desc's digest with s and pushes the signature to repo
// as a referrer of desc.
func Sign(ctx context.Context, s *Signer, repo registry.Repository, desc ocispec.Descriptor, opts SignOptions) error {
	mediaType, err := MediaType(opts.Format)
	if err != nil {
		return err
	}
	metadata, err := opts.userMetadata()
	if err != nil {
		return err
	}
	pluginConfig := opts.PluginConfig
	if pluginConfig == nil {
		pluginConfig = s.pluginConfig
	}
	ns, err := s.signer()
	if err != nil {
		return err
	}
	_, err = notation.Sign(ctx, ns, repo, notation.SignOptions{
		SignerSignOptions: notation.SignerSignOptions{
			SignatureMediaType: mediaType,
			SigningAgent:       opts.SigningAgent,
			PluginConfig:       pluginConfig,
		},
		// A digest: notation resolves it and refuses any other.
		ArtifactReference: desc.Digest.String(),
		UserMetadata:      metadata,
	})
	if err != nil {
		return fmt.Errorf("signing %s with Notation: %w", desc.Digest, err)
	}
	return nil
}
