package sandbox

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"testing"

	"github.com/theupdateframework/notary/client"
	"github.com/theupdateframework/notary/cryptoservice"
	"github.com/theupdateframework/notary/passphrase"
	"github.com/theupdateframework/notary/trustmanager"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/signed"
	tufutils "github.com/theupdateframework/notary/tuf/utils"
	"gotest.tools/v3/assert"
	is "gotest.tools/v3/assert/cmp"
)

const (
	releasesRole = data.RoleName("targets/releases")
	aliceRole    = data.RoleName("targets/alice")
)

// signedTarget is the target "tag" for content.
func signedTarget(tag string, content []byte) *client.Target {
	sum := sha256.Sum256(content)
	return &client.Target{Name: tag, Hashes: data.Hashes{"sha256": sum[:]}, Length: int64(len(content))}
}

// addSigner does what `docker trust signer add alice` does as the
// repository owner: the signer's key goes into targets/releases and
// targets/alice, for every path.
func addSigner(t *testing.T, owner client.Repository, key data.PublicKey) {
	t.Helper()
	for _, role := range []data.RoleName{releasesRole, aliceRole} {
		assert.NilError(t, owner.AddDelegation(role, []data.PublicKey{key}, []string{""}))
	}
	assert.NilError(t, owner.Publish())
}

// delegateRepo is a signer's machine: a notary client whose key store holds
// only the delegation key.
func delegateRepo(t *testing.T, sb *Sandbox, rt http.RoundTripper, repo string, key data.PrivateKey) client.Repository {
	t.Helper()
	r := newNotaryRepo(t, sb, rt, repo)
	assert.NilError(t, r.GetCryptoService().AddKey("alice", "", key))
	return r
}

// TestDelegatePublish is notaryproject/notary#1630: notary v0.7.0's
// handler, built with Go 1.17 or later, refuses every publish carrying
// targets/<name>.json as INVALID_ROLE. The sandbox must take it, check it
// as a notary server does, and serve it to other clients.
func TestDelegatePublish(t *testing.T) {
	t.Parallel() // it owns its sandbox
	sb := start(t, Options{})
	signer := sb.testTransport(UserSigner, Password)
	owner := newNotaryRepo(t, sb, signer, "app")
	assert.NilError(t, publishTarget(t, owner, []byte("owner's v1")))
	alice, err := tufutils.GenerateKey(data.ECDSAKey)
	assert.NilError(t, err)
	addSigner(t, owner, data.PublicKeyFromPrivate(alice))

	sb.ResetStats()
	delegate := delegateRepo(t, sb, signer, "app", alice)
	assert.NilError(t, delegate.AddTarget(signedTarget("v2", []byte("alice's v2")), releasesRole, aliceRole))
	assert.NilError(t, delegate.Publish(), "a delegate publish into targets/releases and targets/alice")
	assert.Check(t, is.Equal(sb.Stats().Publishes, 1), "a delegate publish is a publish")

	reader := newNotaryRepo(t, sb, sb.testTransport(UserPull, Password), "app")
	got, err := reader.GetTargetByName("v2", releasesRole)
	assert.NilError(t, err, "a fresh client resolves v2 from targets/releases")
	want := signedTarget("v2", []byte("alice's v2"))
	assert.Check(t, is.Equal(got.Role, releasesRole))
	assert.Check(t, is.DeepEqual(got.Hashes, want.Hashes))
	assert.Check(t, is.Equal(got.Length, want.Length))
	all, err := reader.GetAllTargetMetadataByName("v2")
	assert.NilError(t, err)
	var roles []data.RoleName
	for _, s := range all {
		roles = append(roles, s.Role.Name)
	}
	assert.Check(t, is.DeepEqual(roles, []data.RoleName{releasesRole, aliceRole}))
	v1, err := reader.GetTargetByName("v1")
	assert.NilError(t, err, "the owner's signature is still there")
	assert.Check(t, is.Equal(v1.Role, data.CanonicalTargetsRole))

	t.Run("a second delegate publish builds on the first", func(t *testing.T) {
		d := delegateRepo(t, sb, signer, "app", alice)
		assert.NilError(t, d.AddTarget(signedTarget("v3", []byte("alice's v3")), releasesRole))
		assert.NilError(t, d.Publish())
		reader := newNotaryRepo(t, sb, sb.testTransport(UserPull, Password), "app")
		for _, tag := range []string{"v2", "v3"} {
			got, err := reader.GetTargetByName(tag, releasesRole)
			assert.NilError(t, err, tag)
			assert.Check(t, is.Equal(got.Role, releasesRole), tag)
		}
	})

	t.Run("the owner publishes after a delegate", func(t *testing.T) {
		assert.NilError(t, owner.AddTarget(signedTarget("v4", []byte("owner's v4")), data.CanonicalTargetsRole))
		assert.NilError(t, owner.Publish())
		got, err := newNotaryRepo(t, sb, sb.testTransport(UserPull, Password), "app").GetTargetByName("v4")
		assert.NilError(t, err)
		assert.Check(t, is.Equal(got.Role, data.CanonicalTargetsRole))
	})

	for _, tc := range []struct {
		name      string
		publish   func(t *testing.T) string // what the publisher sees
		want      string
		publishes int
	}{
		{
			// The front handler refuses before notary sees the publish.
			name: "without signer rights",
			publish: func(t *testing.T) string {
				d := delegateRepo(t, sb, sb.testTransport(UserPush, Password), "app", alice)
				assert.NilError(t, d.AddTarget(signedTarget("evil", []byte("not alice's")), releasesRole))
				return fmt.Sprint(d.Publish())
			},
			want:      "not authorized",
			publishes: 0,
		},
		{
			// A notary client does not sign with a key the role does not
			// list, so this one is made by hand.
			name: "signed with a key the delegation does not list",
			publish: func(t *testing.T) string {
				status, body := postMetadata(t, sb, signer, "app", releasesRole, forgedTargets(t, sb.Host()+"/app", releasesRole, "evil"))
				return fmt.Sprintf("%d %s", status, body)
			},
			want:      `400 {"errors":[{"code":"INVALID_UPDATE"`,
			publishes: 1,
		},
	} {
		t.Run("refused "+tc.name, func(t *testing.T) {
			sb.ResetStats()
			assert.Check(t, is.Contains(tc.publish(t), tc.want))
			assert.Check(t, is.Equal(sb.Stats().Publishes, tc.publishes))
			_, err := newNotaryRepo(t, sb, sb.testTransport(UserPull, Password), "app").GetTargetByName("evil")
			var notSigned client.ErrNoSuchTarget
			assert.Check(t, errors.As(err, &notSigned), "nothing was stored: %v", err)
		})
	}
}

// forgedTargets is role's metadata listing tag, signed with a new key.
func forgedTargets(t *testing.T, gun string, role data.RoleName, tag string) []byte {
	t.Helper()
	cs := cryptoservice.NewCryptoService(trustmanager.NewKeyMemoryStore(passphrase.ConstantRetriever("forger")))
	key, err := cs.Create(role, data.GUN(gun), data.ECDSAKey)
	assert.NilError(t, err)
	meta := data.NewTargets()
	meta.Signed.Version = 100
	target := signedTarget(tag, []byte(tag))
	meta.Signed.Targets[tag] = data.FileMeta{Length: target.Length, Hashes: target.Hashes}
	s, err := meta.ToSigned()
	assert.NilError(t, err)
	assert.NilError(t, signed.Sign(cs, s, []data.PublicKey{key}, 1, nil))
	out, err := json.Marshal(s)
	assert.NilError(t, err)
	return out
}

// postMetadata publishes one metadata file the way notary's client does
// and returns the answer.
func postMetadata(t *testing.T, sb *Sandbox, rt http.RoundTripper, repo string, role data.RoleName, meta []byte) (int, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreateFormFile("files", role.String())
	assert.NilError(t, err)
	_, err = part.Write(meta)
	assert.NilError(t, err)
	assert.NilError(t, mw.Close())
	req, err := http.NewRequest(http.MethodPost, sb.URL()+"/v2/"+sb.Host()+"/"+repo+"/_trust/tuf/", &body)
	assert.NilError(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := (&http.Client{Transport: rt}).Do(req)
	assert.NilError(t, err)
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	assert.NilError(t, err)
	return resp.StatusCode, string(answer)
}
