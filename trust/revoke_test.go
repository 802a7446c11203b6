package trust

import (
	"context"
	"errors"
	"testing"

	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/tuf/data"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/trust/trusttest"
)

func TestRevoke(t *testing.T) {
	alice := SignerRole("alice")
	cs, keys := keyedRepo(t, data.CanonicalTargetsRole, alice)
	_, foreign := keyedRepo(t, data.CanonicalTargetsRole, alice)
	in := func(tag string, r data.RoleName, k data.PublicKey) client.TargetSignedStruct {
		s := trusttest.SignedIn(tag, tag+"-digest", r)
		s.Role.Keys = map[string]data.PublicKey{k.ID(): k}
		return s
	}

	for _, tc := range []struct {
		name        string
		targets     []client.TargetSignedStruct
		tag         string
		wantRemoved map[string][]data.RoleName
		wantErr     string
		wantKind    Kind
	}{
		{
			name:        "admin revokes one tag",
			targets:     []client.TargetSignedStruct{in("v1", data.CanonicalTargetsRole, keys[data.CanonicalTargetsRole]), in("v2", data.CanonicalTargetsRole, keys[data.CanonicalTargetsRole])},
			tag:         "v1",
			wantRemoved: map[string][]data.RoleName{"v1": {data.CanonicalTargetsRole}},
		},
		{
			name: "delegate revokes from releases and its own role",
			targets: []client.TargetSignedStruct{
				in("v1", ReleasesRole, keys[alice]),
				in("v1", alice, keys[alice]),
			},
			tag:         "v1",
			wantRemoved: map[string][]data.RoleName{"v1": {ReleasesRole, alice}},
		},
		{
			name: "all tags, from every role whose key is here",
			targets: []client.TargetSignedStruct{
				in("v1", ReleasesRole, keys[alice]),
				in("v1", alice, keys[alice]),
				in("v2", data.CanonicalTargetsRole, keys[data.CanonicalTargetsRole]),
				in("v3", SignerRole("bob"), foreign[alice]),
			},
			wantRemoved: map[string][]data.RoleName{"v1": {ReleasesRole, alice}, "v2": {data.CanonicalTargetsRole}},
		},
		{
			name:     "signed into targets with a key that is not here",
			targets:  []client.TargetSignedStruct{in("v1", data.CanonicalTargetsRole, foreign[data.CanonicalTargetsRole]), in("v1", alice, keys[alice])},
			tag:      "v1",
			wantErr:  "cannot remove the signature of v1 in targets",
			wantKind: KindKeyNotFound,
		},
		{
			name:     "tag not signed",
			targets:  []client.TargetSignedStruct{in("v1", data.CanonicalTargetsRole, keys[data.CanonicalTargetsRole])},
			tag:      "v9",
			wantErr:  "No valid trust data for v9",
			wantKind: KindNotSigned,
		},
		{
			name:    "nothing signed at all",
			wantErr: ErrNoSignedTags.Error(),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := &trusttest.Repo{Targets: tc.targets, Crypto: cs}
			revoked, err := Revoke(context.Background(), repo, tc.tag)
			if tc.wantErr != "" {
				assert.Check(t, is.ErrorContains(err, tc.wantErr))
				assert.Check(t, is.Equal(KindOf(err), tc.wantKind))
				assert.Check(t, is.Equal(repo.Publishes, 0), "nothing may be published")
				assert.Check(t, is.Len(repo.Removed, 0))
				return
			}
			assert.NilError(t, err)
			assert.Check(t, is.DeepEqual(repo.Removed, tc.wantRemoved))
			assert.Check(t, is.Equal(repo.Publishes, 1), "one publish for every tag")
			assert.Check(t, is.Len(revoked, len(tc.wantRemoved)))
		})
	}
}

func TestRevokePublishFailure(t *testing.T) {
	cs, keys := keyedRepo(t, data.CanonicalTargetsRole)
	s := trusttest.SignedIn("v1", "d", data.CanonicalTargetsRole)
	s.Role.Keys = map[string]data.PublicKey{keys[data.CanonicalTargetsRole].ID(): keys[data.CanonicalTargetsRole]}
	repo := &trusttest.Repo{Targets: []client.TargetSignedStruct{s}, Crypto: cs, PublishErr: errors.New("boom")}
	_, err := Revoke(context.Background(), repo, "v1")
	assert.Check(t, is.ErrorContains(err, "boom"))
	assert.Check(t, is.Equal(repo.Publishes, 1), "only a lost race is retried")
}
