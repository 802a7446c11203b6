package trust

import (
	"context"
	"encoding/hex"
	"testing"

	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/cryptoservice"
	"github.com/theupdateframework/notary/passphrase"
	"github.com/theupdateframework/notary/trustmanager"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/signed"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/trust/trusttest"
)

// loadedRepo: red signed by releases, alice and bob; blue by releases and
// alice; green by targets only; v10 and v2 by releases; grey only by bob,
// never released.
func loadedRepo() *trusttest.Repo {
	alice, bob := SignerRole("alice"), SignerRole("bob")
	return &trusttest.Repo{
		Targets: []client.TargetSignedStruct{
			trusttest.SignedIn("red", "red-digest", ReleasesRole),
			trusttest.SignedIn("red", "red-digest", alice),
			trusttest.SignedIn("red", "red-digest", bob),
			trusttest.SignedIn("blue", "blue-digest", ReleasesRole),
			trusttest.SignedIn("blue", "blue-digest", alice),
			trusttest.SignedIn("green", "green-digest", data.CanonicalTargetsRole),
			trusttest.SignedIn("v10", "ten", ReleasesRole),
			trusttest.SignedIn("v2", "two", ReleasesRole),
			trusttest.SignedIn("grey", "grey-digest", bob),
		},
		Roles: []client.RoleWithSignatures{
			{Role: trusttest.Role(data.CanonicalRootRole, "rootID")},
			{Role: trusttest.Role(data.CanonicalTargetsRole, "targetsID2", "targetsID1")},
			{Role: trusttest.Role(data.CanonicalSnapshotRole, "snapshotID")},
			{Role: trusttest.Role(alice, "A")},
			{Role: trusttest.Role(bob, "B")},
			{Role: trusttest.Role(ReleasesRole, "A", "B"), Signatures: []data.Signature{{KeyID: "A"}}},
		},
		Delegations: []data.Role{trusttest.Role(bob, "B2", "B1"), trusttest.Role(ReleasesRole, "A", "B1", "B2"), trusttest.Role(alice, "A")},
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
	repo := trusttest.NoTrustData()
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
