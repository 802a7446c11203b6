package trust

import (
	"context"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/client/changelist"
	"github.com/theupdateframework/notary/cryptoservice"
	"github.com/theupdateframework/notary/passphrase"
	"github.com/theupdateframework/notary/trustmanager"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/signed"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

// fixtureRepo is a fake notary repository holding fixed trust data, in the
// spirit of docker/cli's LoadedNotaryRepository: it overrides the reads and
// records the writes; anything else panics through the nil interface.
type fixtureRepo struct {
	Repository
	targets     []client.TargetSignedStruct
	roles       []client.RoleWithSignatures
	delegations []data.Role
	readErr     error
	cs          signed.CryptoService

	removed    map[string][]data.RoleName
	delegOps   []string
	publishes  int
	publishErr error
}

func (r *fixtureRepo) GetGUN() data.GUN { return "reg.example/app" }

func (r *fixtureRepo) GetAllTargetMetadataByName(name string) ([]client.TargetSignedStruct, error) {
	if r.readErr != nil {
		return nil, r.readErr
	}
	var out []client.TargetSignedStruct
	for _, t := range r.targets {
		if name == "" || t.Target.Name == name {
			out = append(out, t)
		}
	}
	if len(out) == 0 {
		return nil, client.ErrNoSuchTarget(name)
	}
	return out, nil
}

func (r *fixtureRepo) ListRoles() ([]client.RoleWithSignatures, error) {
	if r.readErr != nil {
		return nil, r.readErr
	}
	return r.roles, nil
}

func (r *fixtureRepo) GetDelegationRoles() ([]data.Role, error) {
	if r.readErr != nil {
		return nil, r.readErr
	}
	return r.delegations, nil
}

func (r *fixtureRepo) GetCryptoService() signed.CryptoService { return r.cs }

func (r *fixtureRepo) GetChangelist() (changelist.Changelist, error) {
	return nil, errors.New("no changelist in the fixture")
}

func (r *fixtureRepo) RemoveTarget(name string, roles ...data.RoleName) error {
	if r.removed == nil {
		r.removed = map[string][]data.RoleName{}
	}
	r.removed[name] = append(r.removed[name], roles...)
	return nil
}

func (r *fixtureRepo) RemoveDelegationKeys(name data.RoleName, keyIDs []string) error {
	r.delegOps = append(r.delegOps, "remove keys "+name.String()+" "+joinIDs(keyIDs))
	return nil
}

func (r *fixtureRepo) RemoveDelegationRole(name data.RoleName) error {
	r.delegOps = append(r.delegOps, "remove role "+name.String())
	return nil
}

func (r *fixtureRepo) Publish() error {
	r.publishes++
	return r.publishErr
}

func joinIDs(ids []string) string {
	s := ""
	for i, id := range ids {
		if i > 0 {
			s += ","
		}
		s += id
	}
	return s
}

func role(name data.RoleName, keyIDs ...string) data.Role {
	return data.Role{Name: name, RootRole: data.RootRole{KeyIDs: keyIDs, Threshold: 1}}
}

func signedIn(tag, hash string, r data.RoleName) client.TargetSignedStruct {
	return client.TargetSignedStruct{
		Role:   data.DelegationRole{BaseRole: data.BaseRole{Name: r}},
		Target: client.Target{Name: tag, Hashes: data.Hashes{"sha256": []byte(hash)}},
	}
}

// loadedRepo: red signed by releases, alice and bob; blue by releases and
// alice; green by targets only; v10 and v2 by releases; grey only by bob,
// never released.
func loadedRepo() *fixtureRepo {
	alice, bob := SignerRole("alice"), SignerRole("bob")
	return &fixtureRepo{
		targets: []client.TargetSignedStruct{
			signedIn("red", "red-digest", ReleasesRole),
			signedIn("red", "red-digest", alice),
			signedIn("red", "red-digest", bob),
			signedIn("blue", "blue-digest", ReleasesRole),
			signedIn("blue", "blue-digest", alice),
			signedIn("green", "green-digest", data.CanonicalTargetsRole),
			signedIn("v10", "ten", ReleasesRole),
			signedIn("v2", "two", ReleasesRole),
			signedIn("grey", "grey-digest", bob),
		},
		roles: []client.RoleWithSignatures{
			{Role: role(data.CanonicalRootRole, "rootID")},
			{Role: role(data.CanonicalTargetsRole, "targetsID2", "targetsID1")},
			{Role: role(data.CanonicalSnapshotRole, "snapshotID")},
			{Role: role(alice, "A")},
			{Role: role(bob, "B")},
			{Role: role(ReleasesRole, "A", "B"), Signatures: []data.Signature{{KeyID: "A"}}},
		},
		delegations: []data.Role{role(bob, "B2", "B1"), role(ReleasesRole, "A", "B1", "B2"), role(alice, "A")},
	}
}

func TestInspect(t *testing.T) {
	info, err := Inspect(context.Background(), loadedRepo(), "")
	assert.NilError(t, err)
	hexOf := func(s string) string { return hex.EncodeToString([]byte(s)) }
	assert.Check(t, is.DeepEqual(info.SignedTags, []SignedTag{
		{Tag: "blue", Digest: hexOf("blue-digest"), Signers: []string{"alice"}},
		{Tag: "green", Digest: hexOf("green-digest"), Signers: []string{}},
		{Tag: "red", Digest: hexOf("red-digest"), Signers: []string{"alice", "bob"}},
		{Tag: "v2", Digest: hexOf("two"), Signers: []string{}},
		{Tag: "v10", Digest: hexOf("ten"), Signers: []string{}},
	}), "grey is not released; v2 sorts before v10")
	assert.Check(t, is.DeepEqual(info.Signers, []Signer{
		{Name: "alice", KeyIDs: []string{"A"}},
		{Name: "bob", KeyIDs: []string{"B1", "B2"}},
	}), "releases is not a signer; names and keys sorted")
	assert.Check(t, is.DeepEqual(info.RootKeyIDs, []string{"rootID"}))
	assert.Check(t, is.DeepEqual(info.RepositoryKeyIDs, []string{"targetsID1", "targetsID2"}))
}

func TestInspectOneTag(t *testing.T) {
	for _, tc := range []struct {
		name string
		tag  string
		want []SignedTag
	}{
		{name: "signed", tag: "red", want: []SignedTag{{Tag: "red", Digest: hex.EncodeToString([]byte("red-digest")), Signers: []string{"alice", "bob"}}}},
		{name: "unsigned", tag: "nope", want: []SignedTag{}},
		{name: "only in a delegation", tag: "grey", want: []SignedTag{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := Inspect(context.Background(), loadedRepo(), tc.tag)
			assert.NilError(t, err)
			assert.Check(t, is.DeepEqual(info.SignedTags, tc.want))
			assert.Check(t, is.Len(info.Signers, 2), "signers are listed for a single tag too")
		})
	}
}

func TestInspectWithoutTrustData(t *testing.T) {
	repo := &fixtureRepo{readErr: client.ErrRepositoryNotExist{}}
	_, err := Inspect(context.Background(), repo, "")
	assert.Check(t, is.Equal(KindOf(err), KindNoTrustData))
	assert.Check(t, is.ErrorContains(err, "remote trust data does not exist for reg.example/app"))
}

// keyedRepo returns a crypto service holding a private key for each of
// the named roles, and their public keys.
func keyedRepo(t *testing.T, roles ...data.RoleName) (signed.CryptoService, map[data.RoleName]data.PublicKey) {
	t.Helper()
	cs := cryptoservice.NewCryptoService(trustmanager.NewKeyMemoryStore(passphrase.ConstantRetriever("pass-1234")))
	keys := map[data.RoleName]data.PublicKey{}
	for _, r := range roles {
		k, err := cs.Create(r, "reg.example/app", data.ECDSAKey)
		assert.NilError(t, err)
		keys[r] = k
	}
	return cs, keys
}
