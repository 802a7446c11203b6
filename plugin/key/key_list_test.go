package key

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/theupdateframework/notary/cryptoservice"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"
	"gotest.tools/v3/assert"
)

// writeMetadata caches root.json and targets.json for gun the way notary
// does: root keys as certificates (whose TUF IDs differ from the key file
// IDs), targets keys and delegation keys as plain keys.
func writeMetadata(t *testing.T, trustDir, gun string, root, targets, signer data.PrivateKey) {
	t.Helper()
	c, err := cryptoservice.GenerateCertificate(root, data.GUN(gun), time.Now(), time.Now().Add(time.Hour))
	assert.NilError(t, err)
	rootCert := utils.CertToKey(c)
	targetsPub := data.PublicKeyFromPrivate(targets)
	signerPub := data.PublicKeyFromPrivate(signer)
	rootJSON := map[string]any{"signed": map[string]any{
		"keys": map[string]data.PublicKey{rootCert.ID(): rootCert, targetsPub.ID(): targetsPub},
		"roles": map[string]any{
			"root":    map[string]any{"keyids": []string{rootCert.ID()}},
			"targets": map[string]any{"keyids": []string{targetsPub.ID()}},
		},
	}}
	targetsJSON := map[string]any{"signed": map[string]any{
		"delegations": map[string]any{
			"keys": map[string]data.PublicKey{signerPub.ID(): signerPub},
			"roles": []map[string]any{
				{"name": "targets/releases", "keyids": []string{signerPub.ID()}},
				{"name": "targets/alice", "keyids": []string{signerPub.ID()}},
			},
		},
	}}
	dir := filepath.Join(trustDir, "tuf", filepath.FromSlash(gun), "metadata")
	assert.NilError(t, os.MkdirAll(dir, 0o700))
	for name, v := range map[string]any{"root.json": rootJSON, "targets.json": targetsJSON} {
		b, err := json.Marshal(v)
		assert.NilError(t, err)
		assert.NilError(t, os.WriteFile(filepath.Join(dir, name), b, 0o600))
	}
}

// rootCertID is the ID of the root certificate writeMetadata lists for
// gun: the ID inspect shows under Root.
func rootCertID(t *testing.T, trustDir, gun string) string {
	t.Helper()
	var root struct {
		Signed struct {
			Roles map[string]struct {
				KeyIDs []string `json:"keyids"`
			} `json:"roles"`
		} `json:"signed"`
	}
	b, err := os.ReadFile(filepath.Join(trustDir, "tuf", filepath.FromSlash(gun), "metadata", "root.json"))
	assert.NilError(t, err)
	assert.NilError(t, json.Unmarshal(b, &root))
	ids := root.Signed.Roles["root"].KeyIDs
	assert.Assert(t, len(ids) == 1)
	return ids[0]
}

// TestCachedSigning: which repository roles key list says each key signs
// for, from the cached trust data of two repositories.
func TestCachedSigning(t *testing.T) {
	trustDir := filepath.Join(t.TempDir(), "trust")
	newKey := func() data.PrivateKey {
		k, err := utils.GenerateECDSAKey(nil)
		assert.NilError(t, err)
		return k
	}
	signer, targets, root := newKey(), newKey(), newKey()
	writeMetadata(t, trustDir, "reg.example/app", root, targets, signer)
	writeMetadata(t, trustDir, "reg.example:5000/other", root, targets, signer)

	signing := cachedSigning(trustDir)
	// The root key is listed under each repository's certificate ID, one
	// certificate per repository, neither of them the key file's ID.
	appCert, otherCert := rootCertID(t, trustDir, "reg.example/app"), rootCertID(t, trustDir, "reg.example:5000/other")
	assert.Assert(t, appCert != root.ID() && otherCert != root.ID() && appCert != otherCert)
	assert.DeepEqual(t, signing[root.ID()], []KeyListSigning{
		{Repository: "reg.example/app", Role: "root", KeyID: appCert},
		{Repository: "reg.example:5000/other", Role: "root", KeyID: otherCert},
	})
	assert.DeepEqual(t, signing[targets.ID()], []KeyListSigning{
		{Repository: "reg.example/app", Role: "targets", KeyID: targets.ID()},
		{Repository: "reg.example:5000/other", Role: "targets", KeyID: targets.ID()},
	})
	assert.DeepEqual(t, signing[signer.ID()], []KeyListSigning{
		{Repository: "reg.example/app", Role: "targets/releases", KeyID: signer.ID()},
		{Repository: "reg.example/app", Role: "targets/alice", KeyID: signer.ID()},
		{Repository: "reg.example:5000/other", Role: "targets/releases", KeyID: signer.ID()},
		{Repository: "reg.example:5000/other", Role: "targets/alice", KeyID: signer.ID()},
	})
}
