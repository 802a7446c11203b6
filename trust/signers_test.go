package trust

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/client/changelist"
	"github.com/theupdateframework/notary/passphrase"
	"github.com/theupdateframework/notary/trustpinning"
	"github.com/theupdateframework/notary/tuf/data"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"

	"github.com/acrtrust/docker-acrtrust/trust/trusttest"
)

func TestValidateSignerName(t *testing.T) {
	for _, tc := range []struct {
		name    string
		wantErr string
	}{
		{name: "alice"},
		{name: "ci-bot_2"},
		{name: "0day"},
		{name: "releases", wantErr: "releases is a reserved keyword, use a different signer name"},
		{name: "Alice", wantErr: `signer name "Alice" must start with lowercase alphanumeric characters`},
		{name: "-alice", wantErr: "must start with lowercase alphanumeric characters"},
		{name: "team/alice", wantErr: "must start with lowercase alphanumeric characters"},
		{name: "", wantErr: "must start with lowercase alphanumeric characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateSignerName(tc.name)
			if tc.wantErr == "" {
				assert.Check(t, err)
				return
			}
			assert.Check(t, is.ErrorContains(err, tc.wantErr))
		})
	}
}

// offlineRepo is a real notary repository with no server, for checking
// what gets staged.
func offlineRepo(t *testing.T) client.Repository {
	t.Helper()
	r, err := client.NewFileCachedRepository(t.TempDir(), "reg.example/app", "https://notary.invalid", nil,
		passphrase.ConstantRetriever("pass-1234"), trustpinning.TrustPinConfig{})
	assert.NilError(t, err)
	return r
}

func TestStageSigner(t *testing.T) {
	repo := offlineRepo(t)
	var _ Repository = repo // notary's repository is what the plugin opens
	_, keys := keyedRepo(t, "alice", "alice2")
	pubs := []data.PublicKey{keys["alice"], keys["alice2"]}

	assert.NilError(t, stageSigner(repo, SignerRole("alice"), pubs))

	cl, err := repo.GetChangelist()
	assert.NilError(t, err)
	type staged struct {
		Scope  string
		Keys   int
		Paths  []string
		Type   string
		Action string
	}
	var got []staged
	for _, c := range cl.List() {
		var td changelist.TUFDelegation
		assert.NilError(t, json.Unmarshal(c.Content(), &td))
		got = append(got, staged{Scope: c.Scope().String(), Keys: len(td.AddKeys), Paths: td.AddPaths, Type: c.Type(), Action: c.Action()})
	}
	assert.Check(t, is.DeepEqual(got, []staged{
		{Scope: "targets/alice", Keys: 2, Type: changelist.TypeTargetsDelegation, Action: changelist.ActionCreate},
		{Scope: "targets/alice", Paths: []string{""}, Type: changelist.TypeTargetsDelegation, Action: changelist.ActionCreate},
		{Scope: "targets/releases", Keys: 2, Type: changelist.TypeTargetsDelegation, Action: changelist.ActionCreate},
		{Scope: "targets/releases", Paths: []string{""}, Type: changelist.TypeTargetsDelegation, Action: changelist.ActionCreate},
	}))
}

func TestAddSignerRejectsBadInput(t *testing.T) {
	_, keys := keyedRepo(t, "alice")
	for _, tc := range []struct {
		name, signer string
		keys         []data.PublicKey
		want         error
	}{
		{name: "reserved", signer: "releases", keys: []data.PublicKey{keys["alice"]}, want: ErrReleasesReserved},
		{name: "no key", signer: "alice", want: ErrNoSignerKeys},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := &trusttest.Repo{}
			_, err := AddSigner(context.Background(), repo, tc.signer, tc.keys, AddSignerOptions{})
			assert.Check(t, is.ErrorIs(err, tc.want))
			assert.Check(t, is.Equal(repo.Publishes, 0))
		})
	}
}

func TestPlanSignerRemoval(t *testing.T) {
	alice, bob, carol := SignerRole("alice"), SignerRole("bob"), SignerRole("carol")
	for _, tc := range []struct {
		name    string
		repo    func() *trusttest.Repo
		signer  string
		want    SignerRemoval
		wantErr string
	}{
		{
			name:   "releases last signed by the signer",
			repo:   loadedDocker,
			signer: "alice",
			want:   SignerRemoval{Name: "alice", Role: alice, KeyIDs: []string{"A"}, ReleasesKeyIDs: []string{"A"}, LastReleasesSigner: true},
		},
		{
			name:   "another signer signed releases",
			repo:   loadedDocker,
			signer: "bob",
			want:   SignerRemoval{Name: "bob", Role: bob, KeyIDs: []string{"B"}, ReleasesKeyIDs: []string{"B"}},
		},
		{
			name: "only signer, releases never signed",
			repo: func() *trusttest.Repo {
				r := loadedDocker()
				r.Roles = []client.RoleWithSignatures{{Role: trusttest.Role(alice, "A")}, {Role: trusttest.Role(ReleasesRole, "A")}}
				r.Delegations = []data.Role{trusttest.Role(alice, "A"), trusttest.Role(ReleasesRole, "A")}
				return r
			},
			signer: "alice",
			want:   SignerRemoval{Name: "alice", Role: alice, KeyIDs: []string{"A"}, ReleasesKeyIDs: []string{"A"}, DeletesReleases: true},
		},
		{
			name: "key shared with another signer stays in releases",
			repo: func() *trusttest.Repo {
				r := loadedDocker()
				r.Delegations = append(r.Delegations, trusttest.Role(carol, "A"))
				r.Roles = append(r.Roles, client.RoleWithSignatures{Role: trusttest.Role(carol, "A")})
				return r
			},
			signer: "alice",
			want:   SignerRemoval{Name: "alice", Role: alice, KeyIDs: []string{"A"}},
		},
		{
			name: "signature made with a certificate's TUF ID",
			repo: func() *trusttest.Repo {
				r := loadedDocker()
				// the metadata names bob's key by its certificate ID "B-cert"; its canonical ID is "B"
				r.Roles[3] = client.RoleWithSignatures{Role: trusttest.Role(bob, "B-cert")}
				r.Roles[4] = client.RoleWithSignatures{Role: trusttest.Role(ReleasesRole, "A", "B-cert"), Signatures: []data.Signature{{KeyID: "B-cert"}}}
				return r
			},
			signer: "bob",
			want:   SignerRemoval{Name: "bob", Role: bob, KeyIDs: []string{"B"}, ReleasesKeyIDs: []string{"B"}, LastReleasesSigner: true},
		},
		{name: "unknown signer", repo: loadedDocker, signer: "mallory", wantErr: "no signer mallory for repository reg.example/app"},
		{name: "releases", repo: loadedDocker, signer: "releases", wantErr: "releases is a reserved keyword and cannot be removed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := PlanSignerRemoval(context.Background(), tc.repo(), tc.signer)
			if tc.wantErr != "" {
				assert.Check(t, is.ErrorContains(err, tc.wantErr))
				return
			}
			assert.NilError(t, err)
			assert.Check(t, is.DeepEqual(plan, tc.want))
		})
	}
}

// loadedDocker is docker/cli's test repository: alice (A) and bob (B),
// both in releases, whose metadata alice signed last.
func loadedDocker() *trusttest.Repo {
	alice, bob := SignerRole("alice"), SignerRole("bob")
	return &trusttest.Repo{
		Roles: []client.RoleWithSignatures{
			{Role: trusttest.Role(data.CanonicalRootRole, "rootID")},
			{Role: trusttest.Role(data.CanonicalTargetsRole, "targetsID")},
			{Role: trusttest.Role(alice, "A")},
			{Role: trusttest.Role(bob, "B")},
			{Role: trusttest.Role(ReleasesRole, "A", "B"), Signatures: []data.Signature{{KeyID: "A"}}},
		},
		Delegations: []data.Role{trusttest.Role(alice, "A"), trusttest.Role(bob, "B"), trusttest.Role(ReleasesRole, "A", "B")},
	}
}

func TestRemoveSigner(t *testing.T) {
	for _, tc := range []struct {
		name string
		plan SignerRemoval
		want []string
	}{
		{
			name: "keys leave releases",
			plan: SignerRemoval{Name: "bob", Role: SignerRole("bob"), ReleasesKeyIDs: []string{"B"}},
			want: []string{"remove keys targets/releases B", "remove role targets/bob"},
		},
		{
			name: "releases goes with its last key",
			plan: SignerRemoval{Name: "alice", Role: SignerRole("alice"), ReleasesKeyIDs: []string{"A"}, DeletesReleases: true},
			want: []string{"remove role targets/releases", "remove role targets/alice"},
		},
		{
			name: "shared key stays",
			plan: SignerRemoval{Name: "alice", Role: SignerRole("alice")},
			want: []string{"remove role targets/alice"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := loadedDocker()
			assert.NilError(t, RemoveSigner(context.Background(), repo, tc.plan))
			assert.Check(t, is.DeepEqual(repo.DelegationOps, tc.want))
			assert.Check(t, is.Equal(repo.Publishes, 1))
		})
	}
}
