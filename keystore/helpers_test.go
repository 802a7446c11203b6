package keystore

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/theupdateframework/notary"
	"github.com/theupdateframework/notary/tuf/data"
	"github.com/theupdateframework/notary/tuf/utils"
	"gotest.tools/v3/assert"
)

const fixturePass = "fixture-passphrase"

// envRetriever is what a pipeline with both variables set gets.
func envRetriever(root, repo string) notary.PassRetriever {
	r, _ := Retriever(Env{RootPassphrase: root, RepositoryPassphrase: repo}, Prompter{})
	return r
}

// fixture copies testdata/name into a temporary file with mode 0600, as a
// user's key file would be.
func fixture(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	assert.NilError(t, err)
	p := filepath.Join(t.TempDir(), name)
	assert.NilError(t, os.WriteFile(p, b, 0o600))
	return p
}

// fixtureID is the key ID of an unencrypted fixture.
func fixtureID(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	assert.NilError(t, err)
	k, err := utils.ParsePEMPrivateKey(b, "")
	assert.NilError(t, err)
	return k.ID()
}

// addKey puts a new ECDSA key for role (and gun) into trustDir's store.
func addKey(t testing.TB, trustDir string, role data.RoleName, gun data.GUN, pass string) data.PrivateKey {
	t.Helper()
	k, err := utils.GenerateKey(data.ECDSAKey)
	assert.NilError(t, err)
	_, err = storeKey(trustDir, k, role, gun, FixedRetriever(pass, SourceStdin))
	assert.NilError(t, err)
	return k
}

// assertStoredKey checks what Docker and notary need of a stored key:
// <id>.key, 0600 in a 0700 folder, encrypted PKCS#8 with role and gun
// headers, decrypting with pass to the key with that ID.
func assertStoredKey(t *testing.T, trustDir, id string, role data.RoleName, gun data.GUN, pass string) {
	t.Helper()
	p := KeyFile(trustDir, id)
	fi, err := os.Stat(p)
	assert.NilError(t, err)
	assert.Equal(t, fi.Mode().Perm(), fs.FileMode(0o600))
	di, err := os.Stat(PrivateDir(trustDir))
	assert.NilError(t, err)
	assert.Equal(t, di.Mode().Perm(), fs.FileMode(0o700))
	b, err := os.ReadFile(p)
	assert.NilError(t, err)
	gotRole, gotGUN, err := utils.ExtractPrivateKeyAttributes(b)
	assert.NilError(t, err)
	assert.Equal(t, gotRole, role)
	assert.Equal(t, gotGUN, gun)
	assert.Assert(t, isEncrypted(mustBlock(t, b)), "stored key is not encrypted")
	k, err := utils.ParsePEMPrivateKey(b, pass)
	assert.NilError(t, err)
	assert.Equal(t, k.ID(), id)
}

func mustBlock(t *testing.T, b []byte) *pem.Block {
	t.Helper()
	blk, err := keyBlock(b)
	assert.NilError(t, err)
	return blk
}

// tree is a snapshot of a folder: relative path -> mode and content hash.
func tree(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		v := fi.Mode().String()
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			v += " " + hex.EncodeToString(sum[:])
		}
		out[rel] = v
		return nil
	})
	assert.NilError(t, err)
	return out
}
