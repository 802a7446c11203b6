package trust

import (
	"context"
	"errors"
	"testing"

	"github.com/theupdateframework/notary/storage"
	"github.com/theupdateframework/notary/tuf/data"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/trust/trusttest"
)

func TestRotateTargetsMakesLocalKey(t *testing.T) {
	repo := trusttest.NewRotating()
	res, err := Rotate(context.Background(), repo, data.CanonicalTargetsRole, RotateOptions{})
	assert.NilError(t, err)
	assert.DeepEqual(t, res.Previous, []string{"old-targets"})
	assert.Assert(t, is.Len(res.KeyIDs, 1))
	// The new key is in the local store, as a targets key of this gun, and
	// it is the one the rotation published.
	assert.DeepEqual(t, repo.Crypto.ListKeys(data.CanonicalTargetsRole), res.KeyIDs)
	assert.DeepEqual(t, repo.Rotations, []string{"targets local"})
	assert.Check(t, is.Equal(res.LocalKeyID, res.KeyIDs[0]))
}

func TestRotateServerManaged(t *testing.T) {
	for _, role := range []data.RoleName{data.CanonicalSnapshotRole, data.CanonicalTimestampRole} {
		t.Run(role.String(), func(t *testing.T) {
			repo := trusttest.NewRotating()
			res, err := Rotate(context.Background(), repo, role, RotateOptions{ServerManaged: true})
			assert.NilError(t, err)
			assert.DeepEqual(t, res.KeyIDs, []string{"server-made-" + role.String()})
			assert.Assert(t, is.Len(repo.Crypto.ListAllKeys(), 0), "a server-managed rotation made a local key")
			assert.Check(t, is.Equal(res.LocalKeyID, ""))
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
			repo := trusttest.NewRotating()
			_, err := Rotate(context.Background(), repo, tc.role, RotateOptions{ServerManaged: tc.serverManaged})
			assert.ErrorContains(t, err, tc.want)
			var re *RotateRoleError
			assert.Assert(t, errors.As(err, &re))
			assert.Assert(t, is.Len(repo.Rotations, 0))
		})
	}
}

func TestRotateFailureIsClassified(t *testing.T) {
	repo := trusttest.NewRotating()
	repo.RotateErr = storage.ErrServerUnavailable{}
	_, err := Rotate(context.Background(), repo, data.CanonicalTargetsRole, RotateOptions{})
	assert.ErrorContains(t, err, "rotating the targets key of reg.example/app: ")
	assert.Equal(t, KindOf(err), KindServer)
}
