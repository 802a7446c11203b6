package keystore

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
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
	dir := filepath.Join(MetadataDir(trustDir), filepath.FromSlash(gun), "metadata")
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
	assert.NilError(t, readJSON(filepath.Join(MetadataDir(trustDir), filepath.FromSlash(gun), "metadata", "root.json"), &root))
	ids := root.Signed.Roles["root"].KeyIDs
	assert.Assert(t, len(ids) == 1)
	return ids[0]
}

func TestList(t *testing.T) {
	trustDir := filepath.Join(t.TempDir(), "trust")
	signer := addKey(t, trustDir, "alice", "", fixturePass)
	targets := addKey(t, trustDir, data.CanonicalTargetsRole, "reg.example/app", fixturePass)
	root := addKey(t, trustDir, data.CanonicalRootRole, "", fixturePass)
	writeMetadata(t, trustDir, "reg.example/app", root, targets, signer)
	writeMetadata(t, trustDir, "reg.example:5000/other", root, targets, signer)
	// Not keys, or not safe ones: reported, not hidden.
	assert.NilError(t, os.WriteFile(filepath.Join(PrivateDir(trustDir), "junk.key"), []byte("junk"), 0o600))
	assert.NilError(t, os.Chmod(KeyFile(trustDir, signer.ID()), 0o644))

	keys, err := List(trustDir)
	assert.NilError(t, err)
	assert.Equal(t, len(keys), 4)
	// The root key is listed under each repository's certificate ID, one
	// certificate per repository, neither of them the key file's ID.
	appCert, otherCert := rootCertID(t, trustDir, "reg.example/app"), rootCertID(t, trustDir, "reg.example:5000/other")
	assert.Assert(t, appCert != root.ID() && otherCert != root.ID() && appCert != otherCert)
	assert.DeepEqual(t, keys[0], Key{
		ID: root.ID(), Role: "root", File: KeyFile(trustDir, root.ID()), Encrypted: true,
		SignsFor: []Signing{
			{Repository: "reg.example/app", Role: "root", KeyID: appCert},
			{Repository: "reg.example:5000/other", Role: "root", KeyID: otherCert},
		},
	})
	assert.DeepEqual(t, keys[1], Key{
		ID: targets.ID(), Role: "targets", Repository: "reg.example/app", File: KeyFile(trustDir, targets.ID()), Encrypted: true,
		SignsFor: []Signing{
			{Repository: "reg.example/app", Role: "targets", KeyID: targets.ID()},
			{Repository: "reg.example:5000/other", Role: "targets", KeyID: targets.ID()},
		},
	})
	assert.Equal(t, keys[2].Role, "") // junk sorts after the roles
	assert.Equal(t, keys[2].ID, "junk")
	assert.Assert(t, strings.HasPrefix(keys[2].Problem, "not a private key"), keys[2].Problem)
	assert.DeepEqual(t, keys[3], Key{
		ID: signer.ID(), Role: "alice", File: KeyFile(trustDir, signer.ID()), Encrypted: true,
		SignsFor: []Signing{
			{Repository: "reg.example/app", Role: "targets/releases", KeyID: signer.ID()},
			{Repository: "reg.example/app", Role: "targets/alice", KeyID: signer.ID()},
			{Repository: "reg.example:5000/other", Role: "targets/releases", KeyID: signer.ID()},
			{Repository: "reg.example:5000/other", Role: "targets/alice", KeyID: signer.ID()},
		},
		Problem: "readable or writable by others (mode -rw-r--r--)",
	})
}

func TestListEmpty(t *testing.T) {
	keys, err := List(filepath.Join(t.TempDir(), "missing"))
	assert.NilError(t, err)
	assert.Equal(t, len(keys), 0)
}
