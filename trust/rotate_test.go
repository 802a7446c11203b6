package trust

import (
	"context"
	"errors"
	"testing"

	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/cryptoservice"
	"github.com/theupdateframework/notary/passphrase"
	"github.com/theupdateframework/notary/storage"
	"github.com/theupdateframework/notary/trustmanager"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/signed"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// rotatingRepo is a repository whose root lists one key per role, and
// whose RotateKey replaces it as notary's would after a publish.
type rotatingRepo struct {
	Repository
	cs        signed.CryptoService
	keys      map[data.RoleName][]string
	rotations []string
	rotateErr error
}

func (r *rotatingRepo) GetGUN() data.GUN                       { return "reg.example/app" }
func (r *rotatingRepo) GetCryptoService() signed.CryptoService { return r.cs }

func (r *rotatingRepo) ListRoles() ([]client.RoleWithSignatures, error) {
	var out []client.RoleWithSignatures
	for name, ids := range r.keys {
		out = append(out, client.RoleWithSignatures{Role: data.Role{Name: name, RootRole: data.RootRole{KeyIDs: ids, Threshold: 1}}})
	}
	return out, nil
}

func (r *rotatingRepo) RotateKey(role data.RoleName, serverManaged bool, keyList []string) error {
	if r.rotateErr != nil {
		return r.rotateErr
	}
	kind := "local"
	if serverManaged {
		kind = "server"
		keyList = []string{"server-made-" + role.String()}
	}
	r.rotations = append(r.rotations, role.String()+" "+kind)
	r.keys[role] = keyList
	return nil
}

func newRotatingRepo() *rotatingRepo {
	return &rotatingRepo{
		cs: cryptoservice.NewCryptoService(trustmanager.NewKeyMemoryStore(passphrase.ConstantRetriever("pass-1234"))),
		keys: map[data.RoleName][]string{
			data.CanonicalRootRole: {"old-root"}, data.CanonicalTargetsRole: {"old-targets"},
			data.CanonicalSnapshotRole: {"old-snapshot"}, data.CanonicalTimestampRole: {"old-timestamp"},
		},
	}
}

func TestRotateTargetsMakesLocalKey(t *testing.T) {
	repo := newRotatingRepo()
	res, err := Rotate(context.Background(), repo, data.CanonicalTargetsRole, RotateOptions{})
	assert.NilError(t, err)
	assert.DeepEqual(t, res.Previous, []string{"old-targets"})
	assert.Assert(t, is.Len(res.KeyIDs, 1))
	// The new key is in the local store, as a targets key of this gun, and
	// it is the one the rotation published.
	assert.DeepEqual(t, repo.cs.ListKeys(data.CanonicalTargetsRole), res.KeyIDs)
	assert.DeepEqual(t, repo.rotations, []string{"targets local"})
}

func TestRotateServerManaged(t *testing.T) {
	for _, role := range []data.RoleName{data.CanonicalSnapshotRole, data.CanonicalTimestampRole} {
		t.Run(role.String(), func(t *testing.T) {
			repo := newRotatingRepo()
			res, err := Rotate(context.Background(), repo, role, RotateOptions{ServerManaged: true})
			assert.NilError(t, err)
			assert.DeepEqual(t, res.KeyIDs, []string{"server-made-" + role.String()})
			assert.Assert(t, is.Len(repo.cs.ListAllKeys(), 0), "a server-managed rotation made a local key")
		})
	}
}

func TestRotateRefusedRoles(t *testing.T) {
	for _, tc := range []struct {
		role          data.RoleName
		serverManaged bool
		want          string
	}{
		{data.CanonicalRootRole, true, "the root key is held only by its owner"},
		{data.CanonicalTargetsRole, true, "the trust server cannot manage it"},
		{data.CanonicalSnapshotRole, false, "the snapshot key is held by the trust server"},
		{data.CanonicalTimestampRole, false, "the timestamp key is held by the trust server"},
		{"targets/releases", false, "only the root, targets, snapshot and timestamp keys can be rotated"},
	} {
		t.Run(tc.role.String(), func(t *testing.T) {
			repo := newRotatingRepo()
			_, err := Rotate(context.Background(), repo, tc.role, RotateOptions{ServerManaged: tc.serverManaged})
			assert.ErrorContains(t, err, tc.want)
			var re *RotateRoleError
			assert.Assert(t, errors.As(err, &re))
			assert.Assert(t, is.Len(repo.rotations, 0))
		})
	}
}

func TestRotateFailureIsClassified(t *testing.T) {
	repo := newRotatingRepo()
	repo.rotateErr = storage.ErrServerUnavailable{}
	_, err := Rotate(context.Background(), repo, data.CanonicalTargetsRole, RotateOptions{})
	assert.ErrorContains(t, err, "rotating the targets key of reg.example/app: ")
	assert.Equal(t, KindOf(err), KindServer)
}
