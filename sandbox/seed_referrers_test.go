package sandbox

import (
	"context"
	"net/http"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// TestSeedReferrers: artifacts seeded as referrers are listed by the
// Referrers API for the digest the tag serves, with their artifact type and
// annotations, and their manifests are served by digest.
func TestSeedReferrers(t *testing.T) {
	sb := start(t, Options{})
	const sigType = "application/vnd.cncf.notary.signature"
	subjects := map[string]ocispec.Descriptor{}
	assert.NilError(t, sb.Seed(context.Background(), []SeedRepo{{
		Name: "team/app", Signed: []string{"v1"}, Unsigned: []string{"dev"},
		Referrers: func(tag string, served ocispec.Descriptor) ([]Referrer, error) {
			subjects[tag] = served
			if tag == "dev" {
				return nil, nil
			}
			return []Referrer{{ArtifactType: sigType, MediaType: "application/jose+json", Blob: []byte(`{"sig":"` + tag + `"}`),
				Annotations: map[string]string{"k": tag}}}, nil
		},
	}}, 1))
	assert.Assert(t, is.Len(subjects, 2))

	var idx ocispec.Index
	resp := getAs(t, sb, UserPull, "/v2/team/app/referrers/"+subjects["v1"].Digest.String(), &idx)
	assert.Equal(t, resp.StatusCode, http.StatusOK)
	assert.Assert(t, is.Len(idx.Manifests, 1))
	got := idx.Manifests[0]
	assert.Check(t, is.Equal(got.ArtifactType, sigType))
	assert.Check(t, is.DeepEqual(got.Annotations, map[string]string{"k": "v1"}))

	var m ocispec.Manifest
	resp = getAs(t, sb, UserPull, "/v2/team/app/manifests/"+got.Digest.String(), &m)
	assert.Equal(t, resp.StatusCode, http.StatusOK)
	assert.Assert(t, m.Subject != nil)
	assert.Check(t, is.Equal(m.Subject.Digest, subjects["v1"].Digest))

	resp = getAs(t, sb, UserPull, "/v2/team/app/referrers/"+subjects["dev"].Digest.String(), &idx)
	assert.Equal(t, resp.StatusCode, http.StatusOK)
	assert.Check(t, is.Len(idx.Manifests, 0))
}
