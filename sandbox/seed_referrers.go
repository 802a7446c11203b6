package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Referrer is an artifact that [Sandbox.Seed] attaches to a tag's digest as
// an OCI referrer: one blob (a Notation signature envelope, an SBOM, ...)
// in an image manifest with the empty config, artifactType and subject, as
// notation and oras push them. It is indexed for the Referrers API; the
// referrers tag schema is not written, so seed a sandbox that serves the
// API (the default) when the clients should see it.
type Referrer struct {
	// ArtifactType is the manifest's artifactType, such as
	// "application/vnd.cncf.notary.signature". Required.
	ArtifactType string
	// MediaType is the blob's media type, such as
	// "application/jose+json". Required.
	MediaType string
	// Blob is the blob's content.
	Blob []byte
	// Annotations go on the manifest. Nil means none.
	Annotations map[string]string
}

// emptyConfig is the OCI empty descriptor's content.
var emptyConfig = []byte("{}")

// putSeedReferrer pushes ref in process as a referrer of subject in repo
// and indexes it for the Referrers API.
func (s *Sandbox) putSeedReferrer(repo string, subject ocispec.Descriptor, ref Referrer) error {
	if ref.ArtifactType == "" || ref.MediaType == "" {
		return fmt.Errorf("sandbox: seed: a referrer of %s@%s needs an artifact type and a media type", repo, subject.Digest)
	}
	cfg, err := s.putSeedBlob(repo, emptyConfig, ocispec.MediaTypeEmptyJSON)
	if err != nil {
		return err
	}
	layer, err := s.putSeedBlob(repo, ref.Blob, ref.MediaType)
	if err != nil {
		return err
	}
	subj := ocispec.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size}
	m := ocispec.Manifest{
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: ref.ArtifactType,
		Config:       cfg,
		Layers:       []ocispec.Descriptor{layer},
		Subject:      &subj,
		Annotations:  ref.Annotations,
	}
	m.SchemaVersion = 2
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	req := httptest.NewRequest(http.MethodPut, "/v2/"+repo+"/manifests/"+digest.FromBytes(b).String(), bytes.NewReader(b))
	req.Header.Set("Content-Type", ocispec.MediaTypeImageManifest)
	rec := httptest.NewRecorder()
	// Through the index, as a push over the network goes.
	if !s.referrers.serve(rec, req, s.registry) || rec.Code != http.StatusCreated {
		return fmt.Errorf("sandbox: seed: pushing a referrer of %s@%s: %d %s", repo, subject.Digest, rec.Code, rec.Body.String())
	}
	return nil
}

// seedReferrers attaches r.Referrers' artifacts to the digests served.
func (s *Sandbox) seedReferrers(r SeedRepo, served map[string]ocispec.Descriptor) error {
	if r.Referrers == nil {
		return nil
	}
	for tag, desc := range served {
		refs, err := r.Referrers(tag, desc)
		if err != nil {
			return fmt.Errorf("sandbox: seed: referrers of %s:%s: %w", r.Name, tag, err)
		}
		for _, ref := range refs {
			if err := s.putSeedReferrer(r.Name, desc, ref); err != nil {
				return err
			}
		}
	}
	return nil
}
