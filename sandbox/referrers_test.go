package sandbox

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

func putManifest(t *testing.T, sb *Sandbox, repo string, m map[string]any) ocispec.Descriptor {
	t.Helper()
	b, err := json.Marshal(m)
	assert.NilError(t, err)
	d := digest.FromBytes(b)
	req, err := http.NewRequest(http.MethodPut, sb.URL()+"/v2/"+repo+"/manifests/"+d.String(), bytes.NewReader(b))
	assert.NilError(t, err)
	req.Header.Set("Content-Type", ocispec.MediaTypeImageManifest)
	resp, err := sb.HTTPClient().Do(req)
	assert.NilError(t, err)
	_ = resp.Body.Close()
	assert.Equal(t, resp.StatusCode, http.StatusCreated)
	return ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: d, Size: int64(len(b))}
}

func referrers(t *testing.T, sb *Sandbox, path string) (ocispec.Index, http.Header) {
	t.Helper()
	resp, body := do(t, sb, http.MethodGet, path, "", nil)
	assert.Equal(t, resp.StatusCode, http.StatusOK, string(body))
	assert.Check(t, is.Equal(resp.Header.Get("Content-Type"), ocispec.MediaTypeImageIndex))
	var idx ocispec.Index
	assert.NilError(t, json.Unmarshal(body, &idx))
	return idx, resp.Header
}

func TestReferrersAPI(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := start(t, Options{Anonymous: true})
	empty := map[string]any{"mediaType": "application/vnd.oci.empty.v1+json", "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "size": 2}
	subject := putManifest(t, sb, "app", map[string]any{"schemaVersion": 2, "mediaType": ocispec.MediaTypeImageManifest, "config": empty, "layers": []any{}})
	manifest := func(artifactType string, annotations map[string]string) map[string]any {
		return map[string]any{"schemaVersion": 2, "mediaType": ocispec.MediaTypeImageManifest, "artifactType": artifactType,
			"config": empty, "layers": []any{}, "subject": subject, "annotations": annotations}
	}
	sig := putManifest(t, sb, "app", manifest("application/vnd.cncf.notary.signature", map[string]string{"k": "v"}))
	sbom := putManifest(t, sb, "app", manifest("application/spdx+json", nil))
	putManifest(t, sb, "other", manifest("application/vnd.cncf.notary.signature", nil))

	idx, hdr := referrers(t, sb, "/v2/app/referrers/"+subject.Digest.String())
	assert.Check(t, is.Equal(hdr.Get("OCI-Filters-Applied"), ""))
	assert.Assert(t, is.Len(idx.Manifests, 2), "only app's referrers")
	assert.Check(t, is.Equal(idx.Manifests[0].Digest, sig.Digest))
	assert.Check(t, is.Equal(idx.Manifests[0].Size, sig.Size))
	assert.Check(t, is.Equal(idx.Manifests[0].ArtifactType, "application/vnd.cncf.notary.signature"))
	assert.Check(t, is.DeepEqual(idx.Manifests[0].Annotations, map[string]string{"k": "v"}))
	assert.Check(t, is.Equal(idx.Manifests[1].Digest, sbom.Digest))

	idx, hdr = referrers(t, sb, "/v2/app/referrers/"+subject.Digest.String()+"?artifactType=application/spdx%2Bjson")
	assert.Check(t, is.Equal(hdr.Get("OCI-Filters-Applied"), "artifactType"))
	assert.Check(t, is.Len(idx.Manifests, 1))

	idx, _ = referrers(t, sb, "/v2/app/referrers/"+sig.Digest.String())
	assert.Check(t, is.Len(idx.Manifests, 0), "no referrers: an empty index")

	resp, _ := do(t, sb, http.MethodDelete, "/v2/app/manifests/"+sig.Digest.String(), "", nil)
	assert.Equal(t, resp.StatusCode/100, 2)
	idx, _ = referrers(t, sb, "/v2/app/referrers/"+subject.Digest.String())
	assert.Check(t, is.Len(idx.Manifests, 1), "a deleted manifest is no referrer")

	resp, _ = do(t, sb, http.MethodGet, "/v2/app/referrers/latest", "", nil)
	assert.Check(t, is.Equal(resp.StatusCode, http.StatusBadRequest))
}

func TestNoReferrersAPI(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := start(t, Options{Anonymous: true, NoReferrersAPI: true})
	resp, _ := do(t, sb, http.MethodGet, "/v2/app/referrers/sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", "", nil)
	assert.Check(t, is.Equal(resp.StatusCode, http.StatusNotFound))
}
