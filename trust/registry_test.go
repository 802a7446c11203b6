package trust

import (
	"context"
	"path/filepath"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
	"oras.land/oras-go/v2/registry/remote"

	"github.com/acrtrust/docker-acrtrust/sandbox"
)

// TestRegistryWithoutTrustServer: what Notation signing and verification
// need from the registry (a tag's digest, the tag list, the referrers of a
// digest) works on a registry without content trust, and never asks a
// trust server.
func TestRegistryWithoutTrustServer(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: needs the in-process sandbox")
	}
	for _, noReferrersAPI := range []bool{false, true} {
		t.Run(map[bool]string{false: "referrers API", true: "referrers tag schema"}[noReferrersAPI], func(t *testing.T) {
			sb, err := sandbox.Start(sandbox.Options{NoReferrersAPI: noReferrersAPI})
			assert.NilError(t, err)
			defer sb.Close()
			sb.SetContentTrust(false)
			ctx := context.Background()
			pushed, err := sb.PushRandomImage(ctx, "app", "v1")
			assert.NilError(t, err)
			config := t.TempDir()
			assert.NilError(t, sb.InstallCA(config))
			r := NewRegistry(Network{
				CertsDir: filepath.Join(config, "tls"),
				Credentials: func(string) (Credential, error) {
					return Credential{Username: sandbox.UserPull, Password: sandbox.Password}, nil
				},
			}, nil)
			ref, err := ParseRef(sb.Host() + "/app:v1")
			assert.NilError(t, err)
			sb.ResetStats()

			desc, err := r.Resolve(ctx, ref)
			assert.NilError(t, err)
			assert.Check(t, is.Equal(desc.Digest, pushed.Digest))
			tags, err := r.Tags(ctx, ref)
			assert.NilError(t, err)
			assert.Check(t, is.DeepEqual(tags, []string{"v1"}))
			referrers := -1
			assert.NilError(t, r.WithRepository(ref, func(repo *remote.Repository) error {
				referrers = 0
				return repo.Referrers(ctx, desc, "", func(got []ocispec.Descriptor) error {
					referrers += len(got)
					return nil
				})
			}))
			assert.Check(t, is.Equal(referrers, 0))
			st := sb.Stats()
			assert.Check(t, is.Equal(st.TrustRequests, 0))
			assert.Check(t, st.RegistryRequests > 0)
		})
	}
}
